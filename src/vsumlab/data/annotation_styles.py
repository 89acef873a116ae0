"""Annotation styles: how a file's annotations are read (SumMe: binary selections per user;
TVSum: 1..5 scores per user), told by the file attribute, the file or dataset name, or the
fields the videos hold. Evaluation reduces per-user F1 by style (max for SumMe, mean for TVSum)."""

from __future__ import annotations

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.errors import ConfigError, DatasetError

STYLES = ("summe", "tvsum")


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ConfigError(f"annotation style {style!r} is unknown; expected one of summe, tvsum")
    return style


def _style_from_name(name: str) -> str | None:
    name = name.lower()
    found = [style for style in STYLES if style in name]
    return found[0] if len(found) == 1 else None


def annotation_style(dataset: Dataset) -> str:
    """``summe`` or ``tvsum``: the file attribute ``annotation_style``; else ``summe``/``tvsum``
    in the dataset or file name; else ``tvsum`` when any video has ``user_anno``; else an error
    asking for ``--style``."""
    declared = dataset.attrs.get("annotation_style")
    if declared is not None:
        if declared not in STYLES:
            raise DatasetError(
                f"{dataset.path or dataset.name}: file attribute 'annotation_style' is "
                f"{declared!r}; expected 'summe' or 'tvsum'"
            )
        return str(declared)
    if getattr(dataset, "layout", "standard") == "mrhisum":
        # one summary per video, ranked against as the official evaluate_summary does (SumMe's
        # way: against the user_summary rows); max and mean of one user's F1 agree
        return "summe"
    for name in (dataset.name, dataset.path.name if dataset.path else ""):
        style = _style_from_name(name)
        if style is not None:
            return style
    if dataset.any_field("user_anno"):
        return "tvsum"
    raise ConfigError(
        f"{dataset.path or dataset.name}: cannot tell the annotation style (it sets how per-user "
        "F1 is reduced: max for SumMe, mean for TVSum); pass --style summe|tvsum or set the "
        "file attribute 'annotation_style'"
    )


def record_style(key: str, record: VideoRecord) -> str | None:
    """Style of one video without its file: a qualified key ``"<dataset>/<key>"`` naming
    summe/tvsum, else ``tvsum`` when it has ``user_anno``, else None (unknown)."""
    if "/" in key:
        style = _style_from_name(key.rsplit("/", 1)[0])
        if style is not None:
            return style
    return "tvsum" if record.user_anno is not None else None
