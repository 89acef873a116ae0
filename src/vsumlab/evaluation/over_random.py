"""Performance over Random (PoR; Apostolidis et al., "Performance over Random: A Robust
Evaluation Protocol for Video Summarization Methods", ACM MM 2020).

On each split, a method's F1 is divided by the F1 a random summarizer is expected to reach on the
same test videos (its mean over many random draws), in percent: PoR = 100 · F1 / F1_random.
A split whose videos are easy lifts both, so the ratio compares runs across splits of
different difficulty where raw F1 cannot; 100 means no better than random. A run's PoR is the
mean of its per-split values (the reference implementation, e-apostolidis/
PoR-Summarization-Measure, computes it per split; the paper averages over splits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vsumlab.errors import VsumError


def performance_over_random(f1: float, random_f1: float) -> float:
    """PoR of one split in percent (NaN when the random F1 is not positive: undefined)."""
    if not random_f1 > 0 or math.isnan(f1):
        return math.nan
    return 100.0 * f1 / random_f1


def per_split(f1: Sequence[float], random_f1: Sequence[float]) -> list[float]:
    """PoR of each split: the i-th F1 against the i-th random F1 (the same test videos)."""
    if len(f1) != len(random_f1):
        raise VsumError(
            f"Performance over Random: {len(f1)} F1 values but {len(random_f1)} random F1 "
            "values; each split needs the random summarizer's F1 on its own test videos"
        )
    return [performance_over_random(a, b) for a, b in zip(f1, random_f1, strict=True)]
