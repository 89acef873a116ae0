"""The one results report: every table of `vsumlab cv` (its end-of-run print and results.md),
`vsumlab results` and `vsumlab reproduce` shows each row as mean ± 95% interval over its
replicas, with n, its Performance over Random, and the reference rows of its own test videos.

A replica is one (split, seed) fold result of a model row. Reference rows (random, uniform,
human) depend on the test videos only, so they count one value per split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vsumlab.evaluation.intervals import CONFIDENCE, Interval, t_interval
from vsumlab.evaluation.metric_registry import METRICS, PRIMARY, REGISTRY
from vsumlab.evaluation.over_random import per_split
from vsumlab.training.fold_results import ResultRow, ranked_lines
from vsumlab.training.result_groups import Group, LoadedRun, reference_split_ids
from vsumlab.training.run_labels import RunDescription

POR_HEADER = "PoR (%)"
POR_DIGITS = 1

EXPLANATION = (
    f"mean ± half-width of the {CONFIDENCE:.0%} Student-t interval over the n replicas "
    "(one per split and seed; reference rows: one per split). PoR: Performance over Random, "
    "100 × F1 / the random summarizer's expected F1 on the same split, mean over replicas "
    "(Apostolidis et al., ACM MM 2020)."
)


@dataclass
class RowReport:
    """A row's figures as every table prints them."""

    label: str
    kind: str
    metrics: dict[str, Interval]
    por: Interval | None
    per_split_por: list[float]
    note: str = ""

    @property
    def n(self) -> int:
        return max((i.n for i in self.metrics.values()), default=0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "kind": self.kind, "n": self.n}
        for name, interval in self.metrics.items():
            out[name] = _number(interval.mean)
            out[f"{name}_ci95"] = _number(interval.half_width)
        out["por"] = _number(self.por.mean) if self.por else None
        out["por_ci95"] = _number(self.por.half_width) if self.por else None
        out["por_per_split"] = [_number(v) for v in self.per_split_por]
        if self.note:
            out["note"] = self.note
        return out


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _values(row: ResultRow, positions: Sequence[int]) -> dict[str, list[float]]:
    return {m: [float(row.folds[i].get(m, math.nan)) for i in positions] for m in METRICS}


def _first_per_split(ids: Sequence[Any] | None, n: int) -> list[int]:
    """Positions of each split's first value (all positions without split ids)."""
    if ids is None or len(ids) != n:
        return list(range(n))
    seen: dict[str, int] = {}
    for position, split in enumerate(ids):
        seen.setdefault(str(split), position)
    return sorted(seen.values())


def row_report(row: ResultRow, random: ResultRow | None, label: str,
               split_ids: Sequence[Any] | None = None) -> RowReport:
    """Intervals of each metric and PoR of a row. ``random``: the random row of the same run
    (its values in the same order); ``split_ids``: for a reference row, the split of each value
    (one value per split counts)."""
    positions = (_first_per_split(split_ids, len(row.folds)) if row.kind == "reference"
                 else list(range(len(row.folds))))
    values = _values(row, positions)
    metrics = {m: t_interval(v) for m, v in values.items()}
    por: Interval | None = None
    ratios: list[float] = []
    if random is not None and len(random.folds) == len(row.folds):
        ratios = per_split(values[PRIMARY], _values(random, positions)[PRIMARY])
        por = t_interval(ratios)
    note = row.note
    return RowReport(label, row.kind, metrics, por, ratios, note)


def _cell(interval: Interval | None, digits: int) -> str:
    if interval is None or math.isnan(interval.mean):
        return "-"
    text = f"{interval.mean:.{digits}f}"
    return text + (f" ± {interval.half_width:.{digits}f}" if interval.defined else "")


def table_lines(reports: Sequence[RowReport]) -> list[str]:
    """The markdown table: one column per registered metric, PoR after the primary one."""
    header, rule = ["method"], ["---"]
    for name in METRICS:
        header.append(REGISTRY[name].header)
        if name == PRIMARY:
            header.append(POR_HEADER)
    header.append("n")
    rule += ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for report in reports:
        cells = [report.label + (f" ({report.note})" if report.note else "")]
        for name in METRICS:
            cells.append(_cell(report.metrics.get(name), REGISTRY[name].digits))
            if name == PRIMARY:
                cells.append(_cell(report.por, POR_DIGITS))
        cells.append(str(report.n))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _unique_labels(pairs: list[tuple[LoadedRun, ResultRow]]) -> list[str]:
    """Row labels, with the experiment (else the folder) added where two would read alike."""
    base = [run.label(row) for run, row in pairs]
    labels = list(base)
    for suffix in (lambda run, row: row.name, lambda run, row: str(run.folder)):
        counts = {label: labels.count(label) for label in labels}
        if max(counts.values(), default=1) < 2:
            break
        labels = [f"{plain} [{suffix(run, row)}]" if counts[label] > 1 else label
                  for label, plain, (run, row) in zip(labels, base, pairs, strict=True)]
    return labels


def group_reports(group: Group) -> list[RowReport]:
    """The rows of a group's table: each run's models, then the reference rows (shared when
    they agree, each run's own otherwise)."""
    pairs = [(run, row) for run in group.runs for row in run.models]
    reports = [row_report(row, run.random, label)
               for (run, row), label in zip(pairs, _unique_labels(pairs), strict=True)]
    owners = group.runs[:1] if group.references_agree else group.runs
    for run in owners:
        for name, row in run.references.items():
            label = name if group.references_agree else f"{name} (of {run.title})"
            reports.append(row_report(row, run.random, label, reference_split_ids(run, row)))
    return reports


def _ranked(group_runs: Sequence[LoadedRun]) -> list[str]:
    rows = []
    for run in group_runs:
        for row in run.models:
            rows.append(ResultRow(run.label(row), row.folds, extra=row.extra))
    return ranked_lines(rows)


def format_group(group: Group) -> str:
    lines = [f"### {group.description.group_title}", ""]
    lines += [f"Dataset file: {group.description.dataset_path}; runs: "
              + ", ".join(f"{run.folder} ({run.title})" for run in group.runs) + ".", ""]
    lines += table_lines(group_reports(group))
    lines += ["", EXPLANATION]
    if not group.references_agree:
        lines += ["", f"The runs of this group have different reference rows "
                  f"({group.disagreement}): each run's own are shown."]
    lines += _ranked(group.runs)
    return "\n".join(lines) + "\n"


def format_apart(run: LoadedRun) -> str:
    """A run that cannot be compared: its own table, with why it stands apart."""
    lines = [f"### {run.title} ({run.folder})", "",
             f"Printed apart, compared with no other run: {run.why_apart}.", ""]
    reports = [row_report(row, run.random, run.label(row),
                          reference_split_ids(run, row) if row.kind == "reference" else None)
               for row in run.rows]
    lines += table_lines(reports) + ["", EXPLANATION] + _ranked([run])
    return "\n".join(lines) + "\n"


def format_report(groups: Sequence[Group], apart: Sequence[LoadedRun]) -> str:
    parts = [format_group(group) for group in groups] + [format_apart(run) for run in apart]
    return "\n".join(parts)


def report_json(groups: Sequence[Group], apart: Sequence[LoadedRun]) -> dict[str, Any]:
    """The same groups as data (what `vsumlab results --json` prints)."""
    return {
        "groups": [{
            "title": group.description.group_title,
            "description": {k: v for k, v in group.description.to_dict().items()
                            if k not in ("method", "label", "train_share")},
            "runs": [{"folder": str(run.folder), "title": run.title,
                      "description": run.description.to_dict() if run.description else None}
                     for run in group.runs],
            "references_agree": group.references_agree,
            **({"disagreement": group.disagreement} if group.disagreement else {}),
            "rows": [report.to_dict() for report in group_reports(group)],
        } for group in groups],
        "apart": [{
            "folder": str(run.folder), "title": run.title, "reason": run.why_apart,
            "rows": [row_report(row, run.random, run.label(row),
                                reference_split_ids(run, row) if row.kind == "reference"
                                else None).to_dict() for row in run.rows],
        } for run in apart],
    }


def _single(rows: Sequence[ResultRow], title: str, meta: Mapping[str, Any]) -> tuple[
        LoadedRun, Group | None]:
    from pathlib import Path

    recorded = meta.get("comparison")
    description = (RunDescription.from_dict(recorded) if isinstance(recorded, Mapping)
                   else None)
    run = LoadedRun(Path("."), title, list(rows), dict(meta), description)
    return run, (Group(description, [run]) if description is not None else None)


def _single_reports(run: LoadedRun, group: Group | None) -> list[RowReport]:
    if group is not None:
        return group_reports(group)
    return [row_report(row, run.random, run.label(row),
                       reference_split_ids(run, row) if row.kind == "reference" else None)
            for row in run.rows]


def format_run(rows: Sequence[ResultRow], title: str, meta: Mapping[str, Any]) -> str:
    """The report of one run (results.md, the end of `vsumlab cv`): a group of its own."""
    run, group = _single(rows, title, meta)
    lines = [f"### {title}", ""] if title else []
    if group is not None:
        lines += [f"{group.description.group_title}; dataset file "
                  f"{group.description.dataset_path}.", ""]
    lines += table_lines(_single_reports(run, group))
    lines += ["", EXPLANATION] + _ranked([run])
    return "\n".join(lines) + "\n"


def report_fields(rows: Sequence[ResultRow], meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per row, the report's figures that results.json adds (label, n, ci95s, PoR)."""
    run, group = _single(rows, "", meta)
    reports = _single_reports(run, group)
    by_row = dict(zip([id(r) for r in [*run.models, *run.references.values()]]
                      if group is not None else [id(r) for r in run.rows], reports, strict=True))
    out = []
    for row in rows:
        report = by_row.get(id(row))
        fields = report.to_dict() if report is not None else {}
        fields.pop("kind", None)
        fields.pop("note", None)
        for name in METRICS:
            fields.pop(name, None)  # the row's own mean stays as it was
        out.append(fields)
    return out
