"""Every evaluation choice, with its default, in one place (../docs/EVALUATION.md).

Nothing else in the package decides how a score becomes a summary or how a summary is scored:
functions in :mod:`.keyshots` and :mod:`vsumlab.evaluation.metrics` take a :class:`Protocol`.

Presets (:data:`PRESETS`, ``vsumlab eval --preset NAME``, ``protocol: {preset: NAME}``) set the
options the way a public code base fixes them, so that numbers are comparable to that code's;
explicit options override the preset. Each value and the source line it comes from are listed
in docs/EVALUATION.md ("Protocol presets").
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
    # both to it), truncate both to the shorter, pad the shorter with zeros, or fit the machine
    # summary alone to the user summaries' length (pad or truncate it), as DSNet does
    "length_mismatch": ("n_frames", "truncate", "pad", "users"),
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


# PGL-SUM's evaluation code, which CSTA reuses (its preset differs only in model selection)
_PGLSUM: dict[str, Any] = {
    "capacity_from": "last_change_point",
    "knapsack_values": "exact",
    "tie_break": "exclude",
    "length_mismatch": "pad",
    "f1_reduction": "auto",
    "rank_rate": "stride",
    "rank_stride": 15,
    "model_selection": "last",
}

#: protocol options of public code bases (sources: docs/EVALUATION.md, "Protocol presets");
#: an option a code base does not fix keeps the project default
PRESETS: dict[str, dict[str, Any]] = {
    "vsumlab": {},
    # li-plus/DSNet: OR-tools DP knapsack on int(1000 * shot mean) within int(0.15 * n_frames);
    # the machine summary is cut/padded to the user summaries; mean for tvsum keys, else max;
    # the checkpoint kept is the best F1 on the split's test videos; no rank correlation
    "dsnet": {
        "capacity_from": "n_frames",
        "knapsack_values": "int1000",
        "tie_break": "exclude",
        "length_mismatch": "users",
        "f1_reduction": "auto",
        "model_selection": "best_test",
    },
    # e-apostolidis PGL-SUM / CA-SUM: exact float DP within int(0.15 * (last change point + 1));
    # both summaries zero-padded to the longer; 'max' SumMe, 'avg' TVSum; CA-SUM ranks the
    # step scores against every ydata annotator at [::15]; epochs are picked from the training
    # loss (not implemented here: the preset keeps `last`, which does not look at the test fold)
    "pglsum": _PGLSUM,
    # thswodnjs3/CSTA: PGL-SUM's summary code; TVSum ranks as CA-SUM; the checkpoint kept is the
    # one whose test-fold Kendall and Spearman both improved last
    "csta": {**_PGLSUM, "model_selection": "best_test"},
    # MRHiSum/MR.HiSum (model/utils/generate_summary.py, evaluation_metrics.py, solver.py):
    # knapsack within floor(0.15 * n_frames) on float shot means; the machine and the one
    # gt_summary zero-padded to the longer; per-"user" F1 averaged ('avg'); checkpoints kept per
    # metric at the best validation epoch (val_keys). Its mAP@50/@15 are
    # vsumlab.evaluation.highlight_map (HIGHLIGHT_METRICS of the registry).
    "mrhisum": {
        "capacity_from": "n_frames",
        "knapsack_values": "exact",
        "length_mismatch": "pad",
        "f1_reduction": "mean",
        "model_selection": "best_val",
    },
}


def preset_options(name: str) -> dict[str, Any]:
    """The options a preset sets; an unknown name is a one-line error listing the known ones."""
    if name not in PRESETS:
        raise ConfigError(
            f"evaluation preset {name!r} is unknown; known presets: {', '.join(PRESETS)}"
        )
    return dict(PRESETS[name])


#: the summary length of the protocol (15% of the video, Zhang et al. 2016), the one place this
#: default is set: models, data and tools that need a summary share take it from here
DEFAULT_BUDGET = 0.15


@dataclass(frozen=True)
class Protocol:
    """The named options of the evaluation protocol; defaults follow EVALUATION.md.

    ``preset`` only names the preset the options came from (for the output); build a protocol
    from a preset with :meth:`from_preset` or ``from_dict({"preset": NAME, ...})``.
    """

    budget: float = DEFAULT_BUDGET
    capacity_from: str = "n_frames"
    knapsack_values: str = "exact"
    tie_break: str = "exclude"
    length_mismatch: str = "n_frames"
    f1_reduction: str = "auto"
    rank_rate: str = "full"
    rank_stride: int = 15
    rank_annotations: str = "auto"
    model_selection: str = "last"
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.preset is not None:
            preset_options(self.preset)
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
    def from_preset(cls, name: str | None, **overrides: Any) -> Protocol:
        """The preset's options (``None``: the defaults), then ``overrides`` (None values are
        ignored: "not given")."""
        options = preset_options(name) if name is not None else {}
        options.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict({**options, "preset": name})

    @classmethod
    def from_dict(cls, options: dict[str, Any] | None) -> Protocol:
        """Options by name; a ``preset`` key sets its options first, the others override them."""
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown evaluation option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        name = options.get("preset")
        if name is not None:
            options = {**preset_options(name), **options}
        return cls(**options)

    def overrides(self) -> dict[str, Any]:
        """Options that differ from what the preset (or, without one, the default) sets."""
        base = asdict(Protocol.from_dict({"preset": self.preset}))
        return {k: v for k, v in asdict(self).items() if v != base[k]}

    def describe(self) -> str:
        """A short label for tables: the preset, options set on top of it, and the model
        selection when it looked at the test fold."""
        parts = [f"preset {self.preset}"] if self.preset else []
        changed = self.overrides()
        if changed:
            parts.append(", ".join(f"{k}={v}" for k, v in changed.items()))
        if self.model_selection == "best_test":
            parts.append("model selection: best test epoch (not comparable)")
        return "; ".join(parts)


DEFAULT_PROTOCOL = Protocol()
