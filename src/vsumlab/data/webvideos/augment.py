"""Crops and flips of uint8 clips: the paper's training augmentations as options.

Training (desumnet.txt, "Enhanced Data Augmentation"): a random ``crop x crop`` crop (C3D);
optionally horizontal flipping of the whole clip with probability 0.5, multi-scale jittering
(crop height and width each drawn from ``scales``, e.g. {128, 112, 96, 84}, then resized to
``crop x crop``) and corner cropping (the crop is taken at the centre or one of the four
corners instead of anywhere). Evaluation: the centre crop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vsumlab.errors import ConfigError

POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right")


def crop_origin(position: str, height: int, width: int, crop_h: int, crop_w: int) -> tuple[int, int]:
    """Top-left corner of a named crop position."""
    if position == "center":
        return (height - crop_h) // 2, (width - crop_w) // 2
    top = 0 if position.startswith("top") else height - crop_h
    left = 0 if position.endswith("left") else width - crop_w
    return top, left


@dataclass(frozen=True)
class ClipAugment:
    """``__call__(clip uint8 (T, H, W, 3)) -> uint8 tensor (3, T, crop, crop)``."""

    crop: int = 112
    train: bool = True
    flip: bool = False
    scales: Sequence[int] | None = None
    corner_crops: bool = False

    def __post_init__(self) -> None:
        if self.crop < 1:
            raise ConfigError(f"augmentation: crop={self.crop} must be positive")
        if self.scales is not None:
            if not self.scales or min(self.scales) < 1:
                raise ConfigError(f"augmentation: scales={self.scales} must be positive sizes")
            object.__setattr__(self, "scales", tuple(int(s) for s in self.scales))

    def check_input(self, height: int, width: int) -> None:
        """Raise when clips of ``height x width`` cannot give the configured crops."""
        largest = max(self.scales) if (self.scales and self.train) else self.crop
        if min(height, width) < largest:
            raise ConfigError(
                f"augmentation: clips of {height}x{width} are smaller than the crop size "
                f"{largest}; expected resize >= crop (and >= every jitter scale)"
            )

    def __call__(self, clip: np.ndarray, generator: torch.Generator | None = None) -> torch.Tensor:
        frames = torch.from_numpy(np.ascontiguousarray(clip))  # (T, H, W, 3)
        _, height, width, _ = frames.shape
        self.check_input(height, width)

        def draw(n: int) -> int:
            return int(torch.randint(n, (1,), generator=generator).item())

        if not self.train:
            top, left = crop_origin("center", height, width, self.crop, self.crop)
            out = frames[:, top : top + self.crop, left : left + self.crop]
            return out.permute(3, 0, 1, 2).contiguous()
        crop_h = crop_w = self.crop
        if self.scales:
            crop_h, crop_w = self.scales[draw(len(self.scales))], self.scales[draw(len(self.scales))]
        if self.corner_crops:
            top, left = crop_origin(POSITIONS[draw(len(POSITIONS))], height, width, crop_h, crop_w)
        else:
            top, left = draw(height - crop_h + 1), draw(width - crop_w + 1)
        out = frames[:, top : top + crop_h, left : left + crop_w].permute(3, 0, 1, 2)  # (3,T,h,w)
        if (crop_h, crop_w) != (self.crop, self.crop):
            resized = F.interpolate(
                out.permute(1, 0, 2, 3).float(),  # frames as a batch of images
                size=(self.crop, self.crop),
                mode="bilinear",
                align_corners=False,
            )
            out = resized.round().clamp(0, 255).to(torch.uint8).permute(1, 0, 2, 3)
        if self.flip and draw(2) == 1:
            out = out.flip(-1)
        return out.contiguous()
