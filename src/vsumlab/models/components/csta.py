"""CSTA (Son et al., CVPR 2024): the (T x D) feature matrix read as an image by a 2-D CNN.

As docs/METHODS.md describes it: the feature matrix with a prepended learnable CLS row is a
one-channel (or repeated 3-channel) image; a 2-D CNN trunk turns it into an attention map over
(time, feature); softmax over the time axis and over the feature axis give two maps that are
combined and applied element-wise to value projections of the rows; a positional encoding and
the input (the "mixing" residual) are added; an MLP head scores every step. The CLS row's final
state is the video vector that ViSP uses as its encoder output.

``cls_readout``: with ``"pool"`` (default) the CLS row's output is the time-softmax-weighted sum
of all rows' values (per feature), so the video vector sees the whole video; with ``"row"`` it
is the CLS row's own element-wise output as for any step. Why: the small trunk's receptive field
is a few rows, so the CLS row alone would only see the first steps, whereas GoogLeNet's reaches
hundreds of rows (the original reads the row).

Choices the paper leaves open are config values, with the simplest faithful default:
``combine`` ("sum" of the two softmax maps, or "product"), ``scale_attention`` (each softmax map
is multiplied by its axis length so its mean is 1: the value magnitude then does not shrink with
the video length), ``residual`` (mixing with the input), ``embed_dim`` (features are first
projected to this width, like the original's optional key embedding; 128 by default because a
1024-wide image costs ~10x more on CPU; None keeps the raw feature matrix as the image).

Trunks: ``small`` (default; same-size convolutions, for CPU demos) and ``googlenet``
(torchvision's GoogLeNet body). ``googlenet_readout="channels"`` reads the body's 1024 output
channels, average-pooled to (T, 1), as the attention map's feature axis, as CSTA's code does
(needs a 1024-wide image, ``embed_dim: 1024``); ``"map"`` maps them to one channel and resizes
it to any width. The published configuration is ``experiments/_base/model_csta_paper.yaml``
(widths, lr, epochs and batch with their sources; the remaining deviations are listed there).

``trunk_weights`` (GoogLeNet trunk): ``None`` (default) loads torchvision's ImageNet weights
from the torch hub cache (``$TORCH_HOME/hub/checkpoints/googlenet-1378be20.pth``, where
``vsumlab features extract --model googlenet`` looks too) when the file is there, else starts
from random weights; ``"imagenet"`` requires them (fetched by torch.hub only with
``VSUMLAB_DOWNLOAD_WEIGHTS=1``); a path loads that torchvision-layout state dict; ``"random"``
never loads. CSTA fine-tunes an ImageNet GoogLeNet; which weights were used is in
``trunk_weights_used``.

Padding: the small CNN trunk zeroes padded rows after every layer, which is exactly what the
convolution's zero padding does at the end of a single video, so a batch of N equals N batches
of one. GoogLeNet's strided layers and batch norm cannot be masked that way, so that trunk runs
each video on its own rows (and keeps batch norm on running statistics by default).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.transformer_summarizer import check_inputs, sinusoidal_positions

TRUNKS = ("small", "googlenet")
COMBINE = ("sum", "product")
POSITIONAL = ("sinusoidal", "none")
CLS_READOUTS = ("pool", "row")
GOOGLENET_READOUTS = ("map", "channels")


class SmallCNNTrunk(nn.Module):
    """Same-size 2-D convolutions -> one-channel attention logits; padded rows kept at zero."""

    def __init__(self, in_channels: int, channels: int, n_layers: int, kernel_size: int) -> None:
        super().__init__()
        if n_layers < 1 or kernel_size % 2 == 0:
            raise ConfigError(
                f"csta summarizer: trunk_layers={n_layers} must be >= 1 and "
                f"kernel_size={kernel_size} odd (same-size convolutions)"
            )
        widths = [in_channels] + [channels] * (n_layers - 1) + [1]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size, padding=kernel_size // 2)
            for a, b in zip(widths[:-1], widths[1:])
        )

    def forward(self, image: Tensor, rows: Tensor) -> Tensor:
        keep = rows[:, None, :, None].to(image.dtype)
        x = image * keep
        for conv in self.convs[:-1]:
            x = F.gelu(conv(x)) * keep
        return self.convs[-1](x)[:, 0]


def trunk_weights_file(weights: str | None) -> Path | None:
    """The GoogLeNet state dict the trunk starts from (see the module docstring), or None."""
    from vsumlab.video.encoders import googlenet_imagenet_file

    if weights == "random":
        return None
    if weights is None:
        return googlenet_imagenet_file(download=False)
    if weights == "imagenet":
        path = googlenet_imagenet_file()
        if path is None:
            from vsumlab.video.encoders import googlenet_cache_file
            from vsumlab.video.weights import FETCH_HINT

            raise ConfigError(
                f"csta summarizer: trunk_weights='imagenet' needs GoogLeNet ImageNet weights at "
                f"{googlenet_cache_file()}; {FETCH_HINT}"
            )
        return path
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"csta summarizer: trunk_weights={weights!r}: no such file (expected a torchvision "
            "GoogLeNet state dict, 'imagenet', 'random' or null)"
        )
    return path


class GoogLeNetTrunk(nn.Module):
    """torchvision GoogLeNet body (ImageNet weights when available) turned into a (T, E)
    attention map.

    ``readout="map"``: a 1x1 conv to one map, resized back to (T, E) (any width E).
    ``readout="channels"``: as CSTA's code does, the body's 1024 output channels *are* the
    feature axis, average-pooled to (T, 1) over space (needs E = 1024)."""

    MIN_SIZE = 32
    CHANNELS = 1024

    def __init__(
        self, freeze_batchnorm: bool = True, readout: str = "map", weights: str | None = None
    ) -> None:
        super().__init__()
        from torchvision.models import googlenet

        from vsumlab.video.encoders import load_googlenet_weights

        path = trunk_weights_file(weights)
        net = googlenet(weights=None, aux_logits=False, init_weights=path is None)
        if path is not None:
            load_googlenet_weights(net, path)
        self.weights_used = "random" if path is None else str(path)
        names = (
            "conv1 maxpool1 conv2 conv3 maxpool2 inception3a inception3b maxpool3 inception4a "
            "inception4b inception4c inception4d inception4e maxpool4 inception5a inception5b"
        ).split()
        self.body = nn.Sequential(*(getattr(net, name) for name in names))
        self.readout = readout
        self.to_map = nn.Conv2d(self.CHANNELS, 1, kernel_size=1) if readout == "map" else None
        self.freeze_batchnorm = freeze_batchnorm

    def train(self, mode: bool = True) -> GoogLeNetTrunk:
        super().train(mode)
        if self.freeze_batchnorm:
            # Batch statistics of one short video are noisy and differ with padding; running
            # statistics make the trunk a fixed function of each video, as CSTA fine-tunes it.
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self

    def forward(self, image: Tensor, rows: Tensor) -> Tensor:
        out = image.new_zeros(image.shape[0], image.shape[2], image.shape[3])
        for i, n in enumerate(rows.sum(1).tolist()):
            one = image[i : i + 1, :3, :n]
            if one.shape[1] == 1:
                one = one.expand(-1, 3, -1, -1)
            # GoogLeNet downsamples by 32; shorter (or narrower) images are stretched to 32 so
            # that every video still yields a map (a function of that video alone).
            if n < self.MIN_SIZE or one.shape[3] < self.MIN_SIZE:
                size = (max(n, self.MIN_SIZE), max(one.shape[3], self.MIN_SIZE))
                one = F.interpolate(one, size=size, mode="nearest")
            if self.to_map is None:  # (1, 1024, h, w) -> (n, 1024)
                pooled = F.adaptive_avg_pool2d(self.body(one), (n, 1))
                out[i, :n] = pooled[0, :, :, 0].T
                continue
            small = self.to_map(self.body(one))
            out[i, :n] = F.interpolate(small, size=(n, image.shape[3]), mode="bilinear")[0, 0]
        return out


class CSTA(nn.Module):
    """CNN-based spatio-temporal attention summarizer; defaults sized for CPU training."""

    def __init__(
        self,
        input_dim: int,
        embed_dim: int | None = 128,
        trunk: str = "small",
        trunk_channels: int = 8,
        trunk_layers: int = 3,
        kernel_size: int = 3,
        image_channels: int = 1,
        freeze_batchnorm: bool = True,
        trunk_weights: str | None = None,
        googlenet_readout: str = "map",
        combine: str = "sum",
        scale_attention: bool = True,
        positional: str = "sinusoidal",
        residual: bool = True,
        cls_readout: str = "pool",
        head_hidden: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value, allowed in (
            ("trunk", trunk, TRUNKS),
            ("combine", combine, COMBINE),
            ("positional", positional, POSITIONAL),
            ("cls_readout", cls_readout, CLS_READOUTS),
            ("googlenet_readout", googlenet_readout, GOOGLENET_READOUTS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"csta summarizer: {name}={value!r} is unknown; expected one of "
                    + ", ".join(allowed)
                )
        if image_channels not in (1, 3):
            raise ConfigError(f"csta summarizer: image_channels={image_channels} must be 1 or 3")
        if input_dim < 1 or (embed_dim is not None and embed_dim < 1):
            raise ConfigError(
                f"csta summarizer: input_dim={input_dim} and embed_dim={embed_dim} must be >= 1"
            )
        self.input_dim = input_dim
        self.embed_dim = width = embed_dim or input_dim
        if trunk == "googlenet" and googlenet_readout == "channels" and width != GoogLeNetTrunk.CHANNELS:
            raise ConfigError(
                f"csta summarizer: googlenet_readout='channels' reads GoogLeNet's "
                f"{GoogLeNetTrunk.CHANNELS} channels as the feature axis; the feature width is "
                f"{width} (set embed_dim: {GoogLeNetTrunk.CHANNELS})"
            )
        self.encode_dim = width
        self.image_channels = image_channels
        self.combine = combine
        self.scale_attention = scale_attention
        self.positional = positional
        self.residual = residual
        self.cls_readout = cls_readout
        self.project = nn.Linear(input_dim, width) if embed_dim is not None else nn.Identity()
        self.cls = nn.Parameter(torch.randn(width) * 0.02)
        if trunk == "small":
            if trunk_weights not in (None, "random"):
                raise ConfigError(
                    f"csta summarizer: trunk_weights={trunk_weights!r} needs trunk='googlenet'"
                )
            self.trunk: nn.Module = SmallCNNTrunk(
                image_channels, trunk_channels, trunk_layers, kernel_size
            )
            self.trunk_weights_used = "random"
        else:
            self.trunk = GoogLeNetTrunk(freeze_batchnorm, googlenet_readout, trunk_weights)
            self.trunk_weights_used = self.trunk.weights_used
        self.value = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, head_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, 1),
        )
        nn.init.xavier_uniform_(self.head[1].weight)
        nn.init.xavier_uniform_(self.head[4].weight)

    def hidden(self, features: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(CLS state (B, E), step states (B, T, E)); padded steps' states are zero."""
        check_inputs("csta", self.input_dim, features, mask)
        batch = features.shape[0]
        x = self.project(features)
        rows = torch.cat([mask.new_ones(batch, 1), mask], dim=1)  # the CLS row is always valid
        x = torch.cat([self.cls.to(x.dtype).expand(batch, 1, -1), x], dim=1)
        x = x * rows[..., None].to(x.dtype)
        image = x[:, None].expand(-1, self.image_channels, -1, -1)
        logits = self.trunk(image, rows)  # (B, T+1, E)

        invalid = ~rows[..., None]
        over_time = torch.softmax(logits.masked_fill(invalid, float("-inf")), dim=1)
        over_feat = torch.softmax(logits, dim=2)
        if self.scale_attention:
            over_time = over_time * rows.sum(1).to(x.dtype)[:, None, None]
            over_feat = over_feat * x.shape[2]
        values = self.value(x)
        if self.scale_attention:
            pooled = (over_time * values).sum(1) / rows.sum(1).to(x.dtype)[:, None]
        else:
            pooled = (over_time * values).sum(1)
        attention = over_time + over_feat if self.combine == "sum" else over_time * over_feat
        out = self.dropout(attention) * values
        if self.cls_readout == "pool":
            out = torch.cat([pooled[:, None], out[:, 1:]], dim=1)
        if self.positional == "sinusoidal":
            out = out + sinusoidal_positions(out.shape[1], out.shape[2], out.device, out.dtype)
        if self.residual:
            out = out + x
        out = out * rows[..., None].to(out.dtype)
        return out[:, 0], out[:, 1:]

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        _, states = self.hidden(features, mask)
        # Padded logits are set to 0; they carry no meaning and must be masked by the caller.
        return self.head(states).squeeze(-1).masked_fill(~mask, 0.0)

    def encode(self, features: Tensor, mask: Tensor) -> Tensor:
        """The CLS row's final state (B, E): one vector per video."""
        return self.hidden(features, mask)[0]
