"""The one registry of evaluation metrics: name, direction, reduction over videos, format.

Logging (``val/<name>``, ``test/<name>``), results tables, sweeps, significance tests and the
published-table comparisons all read this registry, so adding a metric touches one place: an
entry here and the per-video value :func:`vsumlab.evaluation.metrics.evaluate_video` returns
under that name.

Reductions over videos (../docs/EVALUATION.md): F1 is the mean over all videos; a rank
correlation is undefined on a video whose annotators are all constant (NaN), so it is the mean
over the videos where it is defined (``nanmean``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from vsumlab.errors import ConfigError

DIRECTIONS = ("max", "min")
REDUCTIONS = ("mean", "nanmean")


@dataclass(frozen=True)
class MetricSpec:
    """One metric: how it is named, which way is better, how videos reduce, how it prints."""

    name: str
    label: str  # column header of tables
    short: str  # in one-line summaries ("F1 57.64  tau 0.242")
    direction: str = "max"  # "max": higher is better
    reduction: str = "mean"  # over videos: "mean" or "nanmean" (undefined videos left out)
    digits: int = 3  # decimals in tables
    unit: str = ""  # e.g. "%" (shown in the header)

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name}: direction {self.direction!r} not in {DIRECTIONS}")
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"metric {self.name}: reduction {self.reduction!r} not in {REDUCTIONS}")

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "max"

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def reduce(self, values: Iterable[float]) -> float:
        """The dataset value of per-video values (NaN when none is defined)."""
        array = np.asarray(list(values), dtype=np.float64)
        if self.reduction == "nanmean":
            array = array[~np.isnan(array)]
        return float(array.mean()) if array.size else math.nan

    def format(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "nan"
        return f"{value:.{self.digits}f}"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b


#: every metric of the protocol, in table order
REGISTRY: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("f1", "F1", "F1", unit="%", digits=2),
        MetricSpec("kendall", "Kendall tau", "tau", reduction="nanmean"),
        MetricSpec("spearman", "Spearman rho", "rho", reduction="nanmean"),
        # Mr. HiSum's highlight detection (vsumlab.evaluation.highlight_map): AP of the top
        # 50% / 15% five-step clips by gtscore, mean over the videos that have highlights
        MetricSpec("map50", "mAP@50", "mAP50", reduction="nanmean"),
        MetricSpec("map15", "mAP@15", "mAP15", reduction="nanmean"),
    )
}

#: the metrics every video of every protocol gets, in table order
METRICS: tuple[str, ...] = ("f1", "kendall", "spearman")
#: the metrics of highlight-detection protocols (the mrhisum preset), from gtscore alone
HIGHLIGHT_METRICS: tuple[str, ...] = ("map50", "map15")

#: the metric model selection, sweeps and Performance over Random use unless told otherwise
PRIMARY = "f1"


def metric(name: str) -> MetricSpec:
    """The registered metric ``name`` (a one-line error listing the known ones otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"metric {name!r} is unknown; expected one of {', '.join(REGISTRY)}"
        ) from None


def logged_name(stage: str, name: str) -> str:
    """The name a metric is logged under: ``val/f1``, ``test/kendall``."""
    return f"{stage}/{metric(name).name}"


def one_line(values: Mapping[str, float]) -> str:
    """``F1 57.64  tau 0.242  rho 0.318``: the registered metrics ``values`` holds, in order."""
    return "  ".join(f"{REGISTRY[name].short} {REGISTRY[name].format(values[name])}"
                     for name in METRICS if name in values)


def reduce_videos(per_video: Mapping[str, Iterable[float]]) -> dict[str, float]:
    """Each metric's dataset value from its per-video values (metric name -> values)."""
    return {name: metric(name).reduce(values) for name, values in per_video.items()}
