"""Score containers and their tables: per-video rows, the mean, markdown/plain text and JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vsumlab.errors import ConfigError
from vsumlab.evaluation.protocol import DEFAULT_PROTOCOL, Protocol

TABLE_FORMATS = ("plain", "markdown")


@dataclass(frozen=True)
class VideoScores:
    """F1 in percent; Kendall tau-b and Spearman rho averaged over annotators."""

    f1: float
    kendall: float
    spearman: float

    def to_dict(self) -> dict[str, float]:
        return {"f1": self.f1, "kendall": self.kendall, "spearman": self.spearman}


def mean_scores(rows: Mapping[str, VideoScores] | list[VideoScores]) -> VideoScores:
    values = list(rows.values()) if isinstance(rows, Mapping) else list(rows)
    if not values:
        return VideoScores(math.nan, math.nan, math.nan)
    n = len(values)
    return VideoScores(
        f1=sum(v.f1 for v in values) / n,
        kendall=sum(v.kendall for v in values) / n,
        spearman=sum(v.spearman for v in values) / n,
    )


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

    def to_table(self, fmt: str = "plain", per_video: bool = True) -> str:
        """The per-video rows (optional) and the mean, as a plain or markdown table."""
        rows = [(key, row) for key, row in self.rows.items()] if per_video else []
        rows.append(("mean", self.mean))
        header = f"{self.label}"
        if self.dataset:
            header += f" on {self.dataset}"
        header += (
            f" ({len(self.rows)} videos; F1 reduction over users: {self.f1_reduction};"
            f" rank rate: {self.protocol.rank_rate})"
        )
        if self.protocol.describe():
            header += f"\nprotocol: {self.protocol.describe()}"
        return header + "\n" + format_table(("video", *self.columns()), rows, fmt)


def format_table(
    header: tuple[str, ...], rows: list[tuple[str, VideoScores]], fmt: str = "plain"
) -> str:
    """Rows of (name, scores): F1 with 2 decimals, correlations with 3."""
    if fmt not in TABLE_FORMATS:
        raise ConfigError(f"table format {fmt!r} is unknown; expected one of {TABLE_FORMATS}")
    cells = [list(header)] + [
        [name, f"{s.f1:.2f}", f"{s.kendall:.3f}", f"{s.spearman:.3f}"] for name, s in rows
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
