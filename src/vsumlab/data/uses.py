"""What a benchmark file can be used for: training, F1 evaluation, rank correlation.

The published ``eccv16_dataset_*`` files differ in what they hold (see
:mod:`vsumlab.data.schema`): OVP and YouTube are training data only, SumMe is fully evaluable,
TVSum is evaluable by F1 but needs its per-user scores attached (``vsumlab data
attach-annotations``) before rank correlation means what the literature reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vsumlab.data.annotation_styles import annotation_style
from vsumlab.data.schema import ATTACH_COMMAND, USES, Dataset, missing_fields
from vsumlab.errors import ConfigError, DatasetError

#: how each level of support is called in ``data validate`` / ``data info``
LABELS = {"rank": "rank-evaluable", "evaluate": "evaluable", "train": "train-only"}


def known_style(dataset: Dataset) -> str | None:
    """The annotation style (summe/tvsum) when the file tells it, else None."""
    try:
        return annotation_style(dataset)
    except (ConfigError, DatasetError):
        return None


@dataclass
class Uses:
    """Which uses every video of a file supports, and for each unsupported use the first video
    that blocks it with the fields it lacks."""

    supported: dict[str, bool]
    missing: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    style: str | None = None

    @property
    def label(self) -> str:
        """rank-evaluable, evaluable, train-only, or features-only."""
        for use in ("rank", "evaluate", "train"):
            if self.supported[use]:
                return LABELS[use]
        return "features-only"

    def blocker(self, use: str) -> str:
        key, fields = self.missing[use]
        return f"video '{key}' lacks {', '.join(fields)}"

    def describe(self) -> str:
        """One line: the label, and why the next use up is not supported."""
        text = self.label
        for use in ("train", "evaluate", "rank"):
            if not self.supported[use]:
                text += f" (not {LABELS.get(use, use).replace('-only', '')}: {self.blocker(use)}"
                if use == "rank":
                    text += f"; add them with `{ATTACH_COMMAND}`"
                return text + ")"
        return text


def dataset_uses(dataset: Dataset, keys: list[str] | None = None) -> Uses:
    """The uses every selected video (default: all) supports."""
    style = known_style(dataset)
    supported = {use: True for use in USES}
    missing: dict[str, tuple[str, list[str]]] = {}
    for key in keys if keys is not None else dataset.keys:
        fields = dataset.fields_of(key)  # from the index of a lazy dataset: no video is read
        for use in USES:
            lacking = missing_fields(fields, use, style)
            if lacking and supported[use]:
                supported[use] = False
                missing[use] = (key, lacking)
    return Uses(supported=supported, missing=missing, style=style)


def require_evaluable(
    dataset: Dataset, role: str, keys: list[str] | None = None, source: str | os.PathLike | None = None
) -> None:
    """A one-line :class:`DatasetError` when ``dataset`` (the evaluation target, ``role`` e.g.
    ``data.dataset``) cannot be scored, naming the missing fields."""
    uses = dataset_uses(dataset, keys)
    if uses.supported["evaluate"]:
        return
    where = source or dataset.path or dataset.name
    raise DatasetError(
        f"{where}: {role} cannot be evaluated, the file is {uses.label}: "
        f"{uses.blocker('evaluate')} (F1 needs picks, n_frames, change_points, n_frame_per_seg, "
        "user_summary); files like the published OVP/YouTube ones are training data: "
        "give them as data.extra_datasets with setting augmented or transfer"
    )
