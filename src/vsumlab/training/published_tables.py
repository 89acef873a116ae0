"""Published tables (``experiments/published/<paper>.yaml``) and the markdown that puts our
figures beside them.

A file records one paper: ``paper``, ``title``, ``source`` and ``tables``. A table has an
``id``, a ``caption`` (the source table), a default ``metric`` (f1 | kendall | spearman),
``digits``, ``columns`` and ``rows``. A column has ``id`` and ``label``, and when we can
reproduce it: ``dataset`` (tvsum | summe | ... or a ``predictions`` column) and ``setting``
(canonical | augmented | transfer | zero_shot), optionally its own ``metric``; ``mean_of``
makes a column the mean of others (e.g. ViSP's "Avg."); a ``metric`` of
:data:`PREDICTION_METRICS` scores a ``predictions`` row by the paper's own measure (DeSumNet's
top-5 mAP relative to the average human). A row has ``name``, ``published``
(column id -> value) and optionally ``ours``: how to reproduce it (see
:mod:`vsumlab.training.reproduce`); ``ours.by_setting`` maps a column setting to fields that
replace ours' own in those columns (a paper whose "Augmented" means something else, e.g.
Cap2Sum's: ActivityNet pretraining, then fine-tuning on 80% of the target); ``ours.best_of_rounds:
N`` says the paper reports the best of N rounds of its cross-validation for that row: our run
repeats the CV N times (seeds 0..N-1, unless ``--seeds`` says otherwise) and the cell shows the
best round's mean beside the mean over rounds, labelled as the paper's choice.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsumlab.errors import ConfigError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.yamlfile import read_yaml

SETTINGS = ("canonical", "augmented", "transfer", "zero_shot")
OURS_KEYS = {"recipe", "pretrain", "overrides", "pretrain_overrides", "setting", "reference",
             "of", "predictions", "dataset_file", "quick", "unavailable", "pretrain_into",
             "by_setting", "best_of_rounds"}
REFERENCES = ("random", "uniform", "human")
#: column metrics of predictions rows scored by a paper's own measure -> its k: DeSumNet's
#: "top-5 mAP scores, relative to the average human score (in %)" (desumnet.txt, Table 3)
PREDICTION_METRICS = {"map5_rel_human": 5}
BEST_ROUND_LEGEND = (
    "best of N rounds: the mean over folds of the best of the N CV rounds (seeds), shown beside "
    "the mean over all rounds because the paper reports the best round (its choice; it favours "
    "the method with the luckiest seed, the mean does not)."
)
MAX_REASON = 240  # footnotes stay readable; cells.json keeps the whole message


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    dataset: str | None = None
    setting: str | None = None
    metric: str | None = None
    mean_of: tuple[str, ...] = ()

    @property
    def reproducible(self) -> bool:
        return self.dataset is not None or bool(self.mean_of)


@dataclass
class Row:
    name: str
    published: dict[str, float | None]
    ours: dict[str, Any] | None = None


@dataclass
class Table:
    id: str
    caption: str
    metric: str
    digits: int
    columns: list[Column]
    rows: list[Row]

    def column(self, column_id: str) -> Column:
        return next(c for c in self.columns if c.id == column_id)

    def metric_of(self, column: Column) -> str:
        return column.metric or self.metric


@dataclass
class Paper:
    key: str
    paper: str
    title: str
    source: str
    tables: list[Table]
    note: str = ""
    path: Path | None = None


@dataclass
class Cell:
    """Our figure for one (table, row, column): a value, or why there is none."""

    status: str  # ok | unavailable | failed | skipped (filtered out) | none (no run of ours)
    value: float | None = None
    std: float | None = None
    folds: int = 0  # n: the replicas (model rows) or splits (reference rows) of the mean
    synthetic: bool = False
    reason: str = ""
    run: str | None = None  # results folder
    half_width: float | None = None  # of the 95% Student-t interval of the mean (the report's)
    por: float | None = None  # Performance over Random (F1 cells), percent
    note: str = ""  # footnoted on an ok cell, e.g. rows sharing one run under --quick
    best_round: float | None = None  # the best CV round's mean (tables with best_of_rounds)
    rounds: int = 0  # the rounds best_round was chosen among

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class RenderContext:
    """What the markdown says about the whole reproduction."""

    datasets: dict[str, str] = field(default_factory=dict)  # name -> "path (synthetic)"
    quick: bool = False
    notes: list[str] = field(default_factory=list)


def _fail(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {message}")


def _column(raw: Any, path: Path, where: str) -> Column:
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise _fail(path, where, "a column needs at least an 'id' (and 'label')")
    unknown = sorted(set(raw) - {"id", "label", "dataset", "setting", "metric", "mean_of"})
    if unknown:
        raise _fail(path, f"{where} column {raw['id']!r}", f"unknown field(s) {unknown}")
    setting = raw.get("setting")
    if setting is not None and setting not in SETTINGS:
        raise _fail(path, f"{where} column {raw['id']!r}",
                    f"setting={setting!r}; expected one of {', '.join(SETTINGS)}")
    metric = raw.get("metric")
    if metric is not None and metric not in METRICS and metric not in PREDICTION_METRICS:
        raise _fail(path, f"{where} column {raw['id']!r}",
                    f"metric={metric!r}; expected one of "
                    f"{', '.join([*METRICS, *PREDICTION_METRICS])}")
    return Column(str(raw["id"]), str(raw.get("label", raw["id"])), raw.get("dataset"), setting,
                  metric, tuple(raw.get("mean_of") or ()))


def _row(raw: Any, columns: Sequence[Column], path: Path, where: str) -> Row:
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise _fail(path, where, "a row needs a 'name' and 'published' values")
    name = str(raw["name"])
    published = dict(raw.get("published") or {})
    ids = {c.id for c in columns}
    unknown = sorted(set(published) - ids)
    if unknown:
        raise _fail(path, f"{where} row {name!r}",
                    f"published has unknown column(s) {unknown}; columns: {sorted(ids)}")
    for key, value in published.items():
        if value is not None and not isinstance(value, int | float):
            raise _fail(path, f"{where} row {name!r}", f"published {key}={value!r} is not a number")
    ours = raw.get("ours")
    if ours is not None:
        if not isinstance(ours, Mapping):
            raise _fail(path, f"{where} row {name!r}", "ours must be a mapping")
        unknown = sorted(set(ours) - OURS_KEYS)
        if unknown:
            raise _fail(path, f"{where} row {name!r}",
                        f"ours has unknown field(s) {unknown}; known: {sorted(OURS_KEYS)}")
        if "reference" in ours and ours["reference"] not in REFERENCES:
            raise _fail(path, f"{where} row {name!r}",
                        f"ours.reference={ours['reference']!r}; expected one of {REFERENCES}")
        quick = ours.get("quick")
        if quick is not None and (not isinstance(quick, Mapping)
                                  or set(quick) - OURS_KEYS or "quick" in quick):
            raise _fail(path, f"{where} row {name!r}",
                        "ours.quick must map fields of ours to their quick-mode values")
        if not ({"recipe", "reference", "predictions", "unavailable"} & set(ours)):
            raise _fail(path, f"{where} row {name!r}",
                        "ours needs a recipe, a reference (with 'of') or predictions")
        best = ours.get("best_of_rounds")
        if best is not None and (isinstance(best, bool) or not isinstance(best, int) or best < 2):
            raise _fail(path, f"{where} row {name!r}",
                        f"ours.best_of_rounds={best!r}; expected a number of rounds >= 2")
        by_setting = ours.get("by_setting")
        if by_setting is not None and (
            not isinstance(by_setting, Mapping) or set(by_setting) - set(SETTINGS)
            or any(not isinstance(v, Mapping) or set(v) - OURS_KEYS or {"quick", "by_setting"}
                   & set(v) for v in by_setting.values())):
            raise _fail(path, f"{where} row {name!r}",
                        "ours.by_setting must map a column setting "
                        f"({', '.join(SETTINGS)}) to fields of ours for those columns")
        ours = dict(ours)
    return Row(name, {k: (None if v is None else float(v)) for k, v in published.items()}, ours)


def load_paper(path: str | os.PathLike) -> Paper:
    """Read and check one published-tables file (errors name the file, table, row, field)."""
    path = Path(path)
    data = read_yaml(path, "published tables file")
    if not isinstance(data, Mapping) or not isinstance(data.get("tables"), list):
        raise ConfigError(f"{path}: expected a mapping with 'paper', 'source' and a 'tables' list")
    tables = []
    for index, raw in enumerate(data["tables"]):
        where = f"table {raw.get('id', index)!r}" if isinstance(raw, Mapping) else f"table {index}"
        if not isinstance(raw, Mapping) or "columns" not in raw or "rows" not in raw:
            raise _fail(path, where, "a table needs 'id', 'caption', 'columns' and 'rows'")
        columns = [_column(c, path, where) for c in raw["columns"]]
        ids = {c.id for c in columns}
        for column in columns:
            missing = sorted(set(column.mean_of) - ids)
            if missing:
                raise _fail(path, f"{where} column {column.id!r}", f"mean_of names {missing}")
        metric = raw.get("metric", "f1")
        if metric not in METRICS:
            raise _fail(path, where, f"metric={metric!r}; expected one of {', '.join(METRICS)}")
        rows = [_row(r, columns, path, where) for r in raw["rows"]]
        digits = int(raw.get("digits", 1 if metric == "f1" else 3))
        tables.append(Table(str(raw.get("id", index)), str(raw.get("caption", "")).strip(),
                            metric, digits, columns, rows))
    return Paper(path.stem, str(data.get("paper", path.stem)), str(data.get("title", "")),
                 str(data.get("source", "")), tables, str(data.get("note", "")).strip(), path)


def load_papers(folder: str | os.PathLike, names: Sequence[str] | None = None) -> list[Paper]:
    """Every ``*.yaml`` of the folder (or the named ones, by file stem)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if names:
        known = {f.stem: f for f in files}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ConfigError(f"--papers: unknown {unknown}; published tables: {sorted(known)}")
        files = [known[n] for n in names]
    if not files:
        raise ConfigError(f"{folder}: no published tables (*.yaml)")
    return [load_paper(f) for f in files]


def _number(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _footnote(text: str, footnotes: dict[str, int]) -> int:
    reason = text if len(text) <= MAX_REASON else text[:MAX_REASON] + " ..."
    return footnotes.setdefault(reason, len(footnotes) + 1)


def format_cell(cell: Cell | None, digits: int, footnotes: dict[str, int]) -> str:
    """``mean ± 95% interval half-width`` (the results report's), the PoR of F1 cells, † for
    synthetic data and a footnoted note; or a footnoted reason."""
    if cell is None or cell.status == "none":
        return ""
    if cell.status == "ok":
        text = _number(cell.value, digits)
        if cell.half_width is not None and not math.isnan(cell.half_width) and cell.folds > 1:
            text += f" ± {_number(cell.half_width, digits)}"
        if cell.por is not None and not math.isnan(cell.por):
            text += f" (PoR {cell.por:.0f}%)"
        if cell.best_round is not None and not math.isnan(cell.best_round):
            text += f"; best of {cell.rounds} rounds {_number(cell.best_round, digits)} ‡"
        text += " †" if cell.synthetic else ""
        return text + (f" [{_footnote(cell.note, footnotes)}]" if cell.note else "")
    label = {"unavailable": "n/a", "failed": "failed", "skipped": "not run"}[cell.status]
    if not cell.reason:
        return label
    return f"{label} [{_footnote(cell.reason, footnotes)}]"


CLIPIT_GUIDE_OVERRIDE = "--model.init_args.guide"
TITLE_ABLATION = " (ours: guided by titles, an ablation)"
GUIDE_NOTES = {
    "captions": "CLIP-It (ours) is guided, as in the paper, by dense captions generated from each "
    "video's features, here by this project's Cap2Sum PDVC captioner pretrained on ActivityNet "
    "Captions.",
    "title": f"{TITLE_ABLATION.strip()}: CLIP-It guided by each video's title (SumMe: its name) "
    "instead of generated dense captions; not the paper's setting.",
}


def clipit_guide(row: Row) -> str | None:
    """The guiding text our run of a CLIP-It row uses (captions | title), None for other rows:
    the row's ``--model.init_args.guide=`` override, else its recipe file's ``guide``, else the
    default (captions)."""
    ours = row.ours or {}
    recipe = str(ours.get("recipe", ""))
    if "experiments/clipit/" not in recipe.replace(os.sep, "/"):
        return None
    for override in reversed([str(o) for o in ours.get("overrides") or ()]):
        name, _, value = override.partition("=")
        if name == CLIPIT_GUIDE_OVERRIDE:
            return value
    for dataset in ("tvsum", "summe"):
        file = Path(recipe.replace("{dataset}", dataset))
        if file.is_file():
            model = (read_yaml(file, "recipe") or {}).get("model") or {}
            guide = (model.get("init_args") or {}).get("guide")
            if guide:
                return str(guide)
    return "captions"


def render_table(
    paper: Paper, table: Table, cells: Mapping[tuple[str, str], Cell], context: RenderContext
) -> str:
    """One markdown table: each column's published value, and ours where reproducible."""
    footnotes: dict[str, int] = {}
    header, rule = ["method"], ["---"]
    for column in table.columns:
        if any(row.published.get(column.id) is not None for row in table.rows):
            header.append(f"{column.label} (paper)")
            rule.append("---:")
        if column.reproducible:
            header.append(f"{column.label} (ours)")
            rule.append("---:")
    ours = [c for c in table.columns if c.dataset is not None]
    metric_names = sorted({table.metric_of(c) for c in ours}) or [table.metric]
    lines = [
        f"### {paper.paper}: {table.caption}",
        "",
        f"Source: {paper.source}, {table.id}. Our metric: {', '.join(metric_names)}"
        + (" (F1 in %)" if "f1" in metric_names else "")
        + "; mean ± half-width of the 95% Student-t interval over the run's replicas (folds "
        "and seeds), as in the results report; PoR: Performance over Random (F1 cells).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rule) + "|",
    ]
    synthetic = False
    guides = {clipit_guide(row) for row in table.rows} - {None}
    for row in table.rows:
        out = [row.name + (TITLE_ABLATION if clipit_guide(row) == "title" else "")]
        for column in table.columns:
            if any(r.published.get(column.id) is not None for r in table.rows):
                out.append(_number(row.published.get(column.id), table.digits))
            if column.reproducible:
                cell = cells.get((row.name, column.id))
                synthetic |= bool(cell and cell.status == "ok" and cell.synthetic)
                out.append(format_cell(cell, table.digits, footnotes))
        lines.append("| " + " | ".join(out) + " |")
    lines.append("")
    if any(cell.status == "ok" and cell.best_round is not None for cell in cells.values()):
        lines.append(f"‡ {BEST_ROUND_LEGEND}")
    if synthetic:
        lines.append("† ran on synthetic data (a dataset flagged synthetic_features): it shows "
                     "the pipeline works, not a reproduction of the paper's figure.")
    lines += [GUIDE_NOTES[g] for g in sorted(guides) if g in GUIDE_NOTES]
    for reason, number in footnotes.items():
        lines.append(f"[{number}] {reason}")
    return "\n".join(lines).rstrip() + "\n"


def render_paper(
    paper: Paper, cells: Mapping[tuple[str, str, str], Cell], context: RenderContext,
    runs_report: str = "",
) -> str:
    """The markdown report of one paper: every table, with the datasets used; then, when
    given, the results report of every run behind our cells (``runs_report``: one table per
    dataset, setting, split source and protocol, with their own reference rows)."""
    parts = [f"# {paper.paper}: published vs ours", ""]
    if paper.title:
        parts += [f"{paper.title}", ""]
    if context.quick:
        parts += ["**Quick run** (2 folds, one short epoch): checks the pipeline end to end; "
                  "the figures are not comparable with the paper.", ""]
    if context.datasets:
        parts += ["Datasets: " + "; ".join(f"{k} = {v}" for k, v in context.datasets.items()), ""]
    if paper.note:
        parts += [paper.note, ""]
    parts += context.notes + ([""] if context.notes else [])
    for table in paper.tables:
        table_cells = {(r, c): cell for (t, r, c), cell in cells.items() if t == table.id}
        parts += [render_table(paper, table, table_cells, context), ""]
    if runs_report:
        parts += ["## Our runs", "", runs_report]
    return "\n".join(parts).rstrip() + "\n"
