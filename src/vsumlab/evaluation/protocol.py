"""Every evaluation choice, with its default, in one place (../docs/EVALUATION.md).

Nothing else in the package decides how a score becomes a summary or how a summary is scored:
functions in :mod:`keyshots` and :mod:`metrics` take a :class:`Protocol`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from vsumlab.errors import ConfigError

#: allowed values of each string option; the first is the default
CHOICES: dict[str, tuple[str, ...]] = {
    # knapsack capacity = floor(budget * N), N = n_frames or (last change point end + 1)
    "capacity_from": ("n_frames", "last_change_point"),
    # exact float shot scores, or int(1000 * score) as OR-tools based code bases do
    "knapsack_values": ("exact", "int1000"),
    # equal-value alternatives: "exclude" keeps the solution without the later shot
    # (strict improvement, as the common DP code), "include" takes it (>=)
    "tie_break": ("exclude", "include"),
    # machine summary vs user summary of another length: compare over n_frames (pad/truncate
    # both to it), truncate both to the shorter, or pad the shorter with zeros
    "length_mismatch": ("n_frames", "truncate", "pad"),
    # reduction of per-user F1 over users: auto = max for SumMe-style, mean for TVSum-style
    "f1_reduction": ("auto", "max", "mean"),
    # rank correlation: "full" = upsampled predictions vs annotations at every frame;
    # "2fps" = the step predictions vs the annotations at the steps' frames (picks);
    # "stride" = upsampled predictions and annotations at frames 0, s, 2s, ... (s = rank_stride),
    # as code bases that slice annotations with [::15] do (equal to 2fps when picks = 0, 15, ...)
    "rank_rate": ("full", "2fps", "stride"),
    # annotators for rank correlation: auto = user_anno when present, user_summary for
    # SumMe-style videos; a TVSum-style video without user_anno (the published TVSum file) is
    # refused under auto (metrics.resolve_rank_annotations): user_summary must be asked for
    "rank_annotations": ("auto", "user_anno", "user_summary"),
    # model selection: last epoch, best on a validation subset of training videos, or the
    # literature's "best test epoch" (labelled, never default)
    "model_selection": ("last", "best_val", "best_test"),
}


@dataclass(frozen=True)
class Protocol:
    """The named options of the evaluation protocol; defaults follow EVALUATION.md."""

    budget: float = 0.15
    capacity_from: str = "n_frames"
    knapsack_values: str = "exact"
    tie_break: str = "exclude"
    length_mismatch: str = "n_frames"
    f1_reduction: str = "auto"
    rank_rate: str = "full"
    rank_stride: int = 15
    rank_annotations: str = "auto"
    model_selection: str = "last"

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"evaluation option {name}={value!r} is unknown; expected one of "
                    + ", ".join(allowed)
                )
        if not 0.0 < self.budget <= 1.0:
            raise ConfigError(f"evaluation option budget={self.budget} must be in (0, 1]")
        if self.rank_stride < 1:
            raise ConfigError(f"evaluation option rank_stride={self.rank_stride} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, options: dict[str, Any] | None) -> Protocol:
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown evaluation option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**options)


DEFAULT_PROTOCOL = Protocol()
