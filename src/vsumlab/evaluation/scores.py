"""Score containers and their tables: per-video rows, the mean, markdown/plain text and JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vsumlab.errors import ConfigError
from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol

TABLE_FORMATS = ("plain", "markdown")


@dataclass(frozen=True)
class VideoScores:
    """F1 in percent; Kendall tau-b and Spearman rho averaged over annotators (NaN when every
    annotator is constant: undefined); ``undefined_annotators`` left out as constant."""

    f1: float
    kendall: float
    spearman: float
    undefined_annotators: int = 0

    def to_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "f1": self.f1,
            "kendall": _json_number(self.kendall),
            "spearman": _json_number(self.spearman),
        }
        if self.undefined_annotators:
            values["undefined_annotators"] = self.undefined_annotators
        return values


def _json_number(value: float) -> float | None:
    """NaN (an undefined correlation) as null, so the JSON stays valid."""
    return None if math.isnan(value) else value


def mean_scores(rows: Mapping[str, VideoScores] | list[VideoScores]) -> VideoScores:
    """F1 over all videos; correlations over the videos where they are defined."""
    values = list(rows.values()) if isinstance(rows, Mapping) else list(rows)
    if not values:
        return VideoScores(math.nan, math.nan, math.nan)
    defined = [v for v in values if not math.isnan(v.kendall)]
    n = len(defined)
    return VideoScores(
        f1=sum(v.f1 for v in values) / len(values),
        kendall=sum(v.kendall for v in defined) / n if n else math.nan,
        spearman=sum(v.spearman for v in defined) / n if n else math.nan,
        undefined_annotators=sum(v.undefined_annotators for v in values),
    )


def undefined_counts(rows: Mapping[str, VideoScores]) -> dict[str, int]:
    """Videos whose rank correlation is undefined (left out of the mean) and constant
    annotators left out within videos; empty when there are none."""
    videos = sum(1 for v in rows.values() if math.isnan(v.kendall))
    annotators = sum(v.undefined_annotators for v in rows.values())
    return {"videos": videos, "annotators": annotators} if videos or annotators else {}


@dataclass
class DatasetScores:
    """Per-video scores of one method on one dataset, the protocol that produced them and the
    mean over videos (the dataset score)."""

    rows: dict[str, VideoScores]
    label: str = "model"
    protocol: Protocol = DEFAULT_PROTOCOL
    style: str | None = None
    dataset: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    #: the annotations rank correlation compared with: user_anno, user_summary (or both, "+")
    ranked_by: str | None = None

    @property
    def mean(self) -> VideoScores:
        return mean_scores(self.rows)

    def columns(self) -> tuple[str, str, str]:
        """Column names that state the rank-correlation rate, as EVALUATION.md asks."""
        rate = self.protocol.rank_rate
        if rate == "stride":
            rate = f"every {self.protocol.rank_stride}th frame"
        return ("F1 (%)", f"Kendall tau-b ({rate})", f"Spearman rho ({rate})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "dataset": self.dataset,
            "style": self.style,
            "f1_reduction": self.f1_reduction,
            "rank_rate": self.protocol.rank_rate,
            "ranked_by": self.ranked_by,
            **({"rank_undefined": undefined_counts(self.rows)} if undefined_counts(self.rows) else {}),
            "protocol": self.protocol.to_dict(),
            **({"notes": dict(self.notes)} if self.notes else {}),
            "videos": {key: row.to_dict() for key, row in self.rows.items()},
            "mean": self.mean.to_dict(),
        }

    @property
    def f1_reduction(self) -> str:
        """The reduction over users actually applied (resolves ``auto`` through the style)."""
        if self.protocol.f1_reduction != "auto":
            return self.protocol.f1_reduction
        return {"summe": "max", "tvsum": "mean"}.get(self.style or "", "auto")

    def _ranked_note(self) -> str:
        note = f"; ranked against: {self.ranked_by}" if self.ranked_by else ""
        undefined = undefined_counts(self.rows)
        if undefined:
            note += (
                f"; rank correlation undefined (constant annotations) for "
                f"{undefined['annotators']} annotator(s), {undefined['videos']} video(s) left "
                "out of the mean"
            )
        return note

    def to_table(self, fmt: str = "plain", per_video: bool = True) -> str:
        """The per-video rows (optional) and the mean, as a plain or markdown table."""
        rows = [(key, row) for key, row in self.rows.items()] if per_video else []
        rows.append(("mean", self.mean))
        header = f"{self.label}"
        if self.dataset:
            header += f" on {self.dataset}"
        header += (
            f" ({len(self.rows)} videos; F1 reduction over users: {self.f1_reduction};"
            f" rank rate: {self.protocol.rank_rate}{self._ranked_note()})"
        )
        if self.protocol.describe():
            header += f"\nprotocol: {self.protocol.describe()}"
        return header + "\n" + format_table(("video", *self.columns()), rows, fmt)


def _correlation(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.3f}"


def format_table(
    header: tuple[str, ...], rows: list[tuple[str, VideoScores]], fmt: str = "plain"
) -> str:
    """Rows of (name, scores): F1 with 2 decimals, correlations with 3."""
    if fmt not in TABLE_FORMATS:
        raise ConfigError(f"table format {fmt!r} is unknown; expected one of {TABLE_FORMATS}")
    cells = [list(header)] + [
        [name, f"{s.f1:.2f}", _correlation(s.kendall), _correlation(s.spearman)]
        for name, s in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str], sep: str) -> str:
        padded = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        return sep.join(padded)

    if fmt == "markdown":
        rule = ["-" * widths[0]] + ["-" * (w - 1) + ":" for w in widths[1:]]
        body = [cells[0], rule, *cells[1:]]
        return "\n".join("| " + line(row, " | ") + " |" for row in body)
    rule_line = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0], "  "), rule_line, *(line(r, "  ") for r in cells[1:])])


def comparison_table(results: Mapping[str, DatasetScores], fmt: str = "plain") -> str:
    """One mean row per method (e.g. random / uniform / human), with shared column names."""
    if not results:
        return ""
    first = next(iter(results.values()))
    rows = [(name, scores.mean) for name, scores in results.items()]
    return format_table(("method", *first.columns()), rows, fmt)
