"""The 3D CNN of DeSumNet (Panda et al., ICCV 2017; desumnet.txt, section 3.2).

conv1(64)-pool1(1,1)-conv2(128)-pool2(2,2)-conv3(256)-pool3(2,2)-conv4(256)-pool4(2,2)-
conv5(256)-pool5(2,2)-fc6(2048)-fc7(2048)-fc8(C): 3x3x3 convolutions (stride 1, padding 1,
ReLU), max pooling 2x2 with stride 2 in space and pool(temporal kernel, temporal stride) in time,
dropout 0.5 after fc6 and fc7 (the paper found it essential).

Input: float clips (B, 3, T, H, W), normalised by :func:`normalize_clips` (the data pipeline hands
uint8 clips over, so augmentation and caching stay in bytes). ``width`` scales every layer
(tests use tiny models); the fc6 input size follows from ``clip_len`` and ``crop``.
"""

from __future__ import annotations

import torch
from torch import nn

from vsumlab.errors import ConfigError

#: (conv channels, temporal pool kernel = stride) per block, from the paper
BLOCKS: tuple[tuple[int, int], ...] = ((64, 1), (128, 2), (256, 2), (256, 2), (256, 2))
FC_DIM = 2048

# Per-channel statistics used to normalise uint8 RGB clips; the paper (Caffe C3D) subtracts a
# mean clip, which is not given, so the usual ImageNet RGB statistics stand in for it.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def normalize_clips(clips: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, T, H, W) -> float (B, 3, T, H, W), per-channel standardised."""
    x = clips.float() / 255.0
    mean = x.new_tensor(MEAN).view(1, 3, 1, 1, 1)
    std = x.new_tensor(STD).view(1, 3, 1, 1, 1)
    return (x - mean) / std


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def output_shape(clip_len: int, crop: int) -> tuple[int, int, int]:
    """(T, H, W) after pool5 for a (clip_len, crop, crop) input; raises if a pool empties it."""
    t, h, w = clip_len, crop, crop
    for index, (_, t_pool) in enumerate(BLOCKS, start=1):
        t, h, w = t // t_pool, h // 2, w // 2
        if min(t, h, w) < 1:
            raise ConfigError(
                f"C3D input clip_len={clip_len}, crop={crop} is too small: pool{index} leaves "
                f"(T, H, W) = ({t}, {h}, {w}); expected clip_len >= 16 and crop >= 32"
            )
    return t, h, w


class C3D(nn.Module):
    """DeSumNet's 3D CNN; ``forward(clips (B,3,T,H,W) float) -> logits (B, num_classes)``."""

    def __init__(
        self,
        num_classes: int,
        clip_len: int = 16,
        crop: int = 112,
        width: float = 1.0,
        fc_dim: int | None = None,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"C3D num_classes={num_classes}: expected >= 1")
        if width <= 0:
            raise ConfigError(f"C3D width={width}: expected a positive multiplier")
        self.num_classes = num_classes
        self.clip_len = clip_len
        self.crop = crop
        layers: list[nn.Module] = []
        in_channels = 3
        for channels, t_pool in BLOCKS:
            out_channels = _scaled(channels, width)
            layers += [
                nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(t_pool, 2, 2), stride=(t_pool, 2, 2)),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        t, h, w = output_shape(clip_len, crop)
        hidden = fc_dim if fc_dim is not None else _scaled(FC_DIM, width)
        self.fc6 = nn.Linear(in_channels * t * h * w, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, num_classes)
        self.dropout = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)
        self._init_weights()
        self.reset_classifier(num_classes)

    def _init_weights(self) -> None:
        # The paper does not state an initialisation; He init keeps the signal alive through
        # eight ReLU layers without batch norm, so training from scratch starts.
        for module in self.modules():
            if isinstance(module, (nn.Conv3d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh fc8 for ``num_classes``, N(0, 0.01) as the paper's fine-tuning stage."""
        self.num_classes = num_classes
        self.fc8 = nn.Linear(self.fc7.out_features, num_classes)
        nn.init.normal_(self.fc8.weight, mean=0.0, std=0.01)
        nn.init.zeros_(self.fc8.bias)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.ndim != 5 or clips.shape[1] != 3:
            raise ValueError(f"C3D expects clips (B, 3, T, H, W), got {tuple(clips.shape)}")
        x = self.features(clips).flatten(1)
        x = self.dropout(self.relu(self.fc6(x)))
        x = self.dropout(self.relu(self.fc7(x)))
        return self.fc8(x)
