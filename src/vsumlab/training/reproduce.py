"""`vsumlab reproduce`: run the recipes behind the papers' main tables on the configured
datasets and write one markdown table per paper, our figures beside the published ones.

Published figures and how to reproduce each row live in ``experiments/published/<paper>.yaml``
(:mod:`vsumlab.training.published_tables`). A row's ``ours`` is one of:

* ``recipe`` (+ ``pretrain``, ``overrides``, ``pretrain_overrides``, ``setting``,
  ``pretrain_into``: the model argument receiving the pretraining's checkpoint, ``pretrained``
  by default, ``captioner`` for CLIP-It's Cap2Sum captioner): a `vsumlab cv` run per column, on the column's dataset and setting. Placeholders ``{dataset}`` (column
  target), ``{target}`` (its h5), ``{tvsum}``, ``{summe}``, ... (configured h5 files),
  ``{other}`` (the other one of TVSum and SumMe: ViSP's "(+) FSA" pretrains on one, fine-tunes
  on the other) and ``{desumnet_data}``, ``{desumnet_runs}`` are filled in.
* ``reference: random|uniform|human`` with ``of: <row name>``: that row's reference rows.
* ``predictions`` (+ ``dataset_file``): a predictions file scored with the evaluation module
  (or, for a column metric of ``PREDICTION_METRICS``, by the paper's own measure).

A row with ``best_of_rounds: N`` runs its recipe N times (seeds 0..N-1; ``--seeds`` replaces
them, ``--quick`` runs one round) and its cells add the best round beside the mean.
* ``unavailable: reason``: no run here (the cell says why); ``quick`` maps any of these fields
  to the value used by ``--quick`` (e.g. a CPU-sized pretraining recipe); ``by_setting`` maps a
  column's setting to fields used in those columns (applied before ``quick``).

Datasets come from the environment (make variables): ``TVSUM_H5``, ``SUMME_H5``, ``OVP_H5``,
``YOUTUBE_H5``; TVSum and SumMe default to the embedded synthetic sets. A missing recipe, dataset
or file makes the cell "n/a" with the reason; a failing run makes it "failed" (and the command
exit non-zero) while the other cells still run. Runs are ordinary cv folders under
``OUT/runs/<slug>`` shared by every cell that needs them, so a rerun resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vsumlab.errors import ConfigError, VsumError
from vsumlab.io import read_json, write_json_atomic, write_text_atomic
from vsumlab.training.earlier_class_paths import with_earlier_class_paths
from vsumlab.training.published_tables import (
    PREDICTION_METRICS,
    Cell,
    Column,
    Paper,
    RenderContext,
    Row,
    Table,
    load_papers,
    render_paper,
)
from vsumlab.training.recipes import resolve_recipe

DATASET_VARS = {"tvsum": "TVSUM_H5", "summe": "SUMME_H5", "ovp": "OVP_H5", "youtube": "YOUTUBE_H5"}
DEFAULT_DATASETS = {"tvsum": "data/generated/synthetic_tvsum.h5",
                    "summe": "data/generated/synthetic_summe.h5"}
#: ``{other}``: the dataset a cross-dataset row's pretraining reads (ViSP Table 3 "(+) FSA")
OTHER_DATASET = {"tvsum": "summe", "summe": "tvsum"}
PATH_VARS = {"desumnet_data": ("DESUMNET_DATA", "data/generated/desumnet"),
             "desumnet_runs": ("DESUMNET_RUNS", "runs/desumnet")}
# --quick checks the pipeline: 2 folds, one short epoch (every test video is still scored)
QUICK_FOLDS = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=8",
               "--data.init_args.n_folds=2"]
QUICK_PRETRAIN = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=16",
                  "--trainer.limit_val_batches=4"]


class Unavailable(Exception):
    """A cell we cannot produce here (missing recipe, dataset or file), with the reason."""


@dataclass
class DataSources:
    """The h5 files of the benchmark datasets, and path variables for recipes' files."""

    datasets: dict[str, Path]
    paths: dict[str, str]
    _attrs: dict[Path, tuple[bool, int]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DataSources:
        env = os.environ if environ is None else environ
        datasets = {}
        for name, var in DATASET_VARS.items():
            value = env.get(var) or DEFAULT_DATASETS.get(name)
            if value:
                datasets[name] = Path(value)
        paths = {key: env.get(var) or default for key, (var, default) in PATH_VARS.items()}
        return cls(datasets, paths)

    def path(self, name: str) -> Path:
        if name not in self.datasets:
            raise Unavailable(f"no {name} dataset configured (set {DATASET_VARS.get(name, name)})")
        path = self.datasets[name]
        if not path.is_file():
            hint = " (make data-synth builds the synthetic sets)" if name in DEFAULT_DATASETS else ""
            raise Unavailable(f"{DATASET_VARS.get(name, name)}={path}: file not found{hint}")
        return path

    def _read_attrs(self, path: Path) -> tuple[bool, int]:
        if path not in self._attrs:
            import h5py

            with h5py.File(path, "r") as handle:
                synthetic = bool(handle.attrs.get("synthetic_features", False))
                groups = [k for k in handle if isinstance(handle[k], h5py.Group)]
                dim = int(handle[groups[0]]["features"].shape[1]) if groups else 0
            self._attrs[path] = (synthetic, dim)
        return self._attrs[path]

    def synthetic(self, path: Path) -> bool:
        return self._read_attrs(path)[0]

    def feature_dim(self, path: Path) -> int:
        return self._read_attrs(path)[1]

    def describe(self) -> dict[str, str]:
        out = {}
        for name, path in self.datasets.items():
            if path.is_file():
                out[name] = f"{path}" + (" (synthetic)" if self.synthetic(path) else "")
            else:
                out[name] = f"{path} (missing)"
        return out

    def placeholders(self, target: str | None) -> dict[str, str]:
        values = {name: str(path) for name, path in self.datasets.items()}
        values.update(self.paths)
        if target is not None:
            values["dataset"] = target
            values["target"] = str(self.datasets.get(target, ""))
            other = OTHER_DATASET.get(target)
            if other in self.datasets:
                values["other"] = str(self.datasets[other])
        return values


def fill(text: str, values: Mapping[str, str]) -> str:
    """``str.format`` of the placeholders; an unknown one makes the cell unavailable."""
    names = {field_name for _, field_name, _, _ in string.Formatter().parse(text) if field_name}
    missing = sorted(names - set(values))
    if missing:
        raise Unavailable(f"{text}: no value for {', '.join('{' + m + '}' for m in missing)}")
    return text.format(**values)


@dataclass(frozen=True)
class RunSpec:
    """One `vsumlab cv` run: a recipe on a target dataset and setting."""

    recipe: str
    dataset: str
    setting: str
    overrides: tuple[str, ...] = ()
    pretrain: str | None = None
    pretrain_overrides: tuple[str, ...] = ()
    #: the model argument receiving the pretraining's checkpoint (CLIP-It: its ``captioner``)
    pretrain_into: str = "pretrained"
    #: the CV rounds (seeds) a best-of-rounds table runs; None: --seeds, else the recipe's seed
    seeds: tuple[int, ...] | None = None

    @property
    def slug(self) -> str:
        # optional fields join the digest only when set: earlier runs keep their folders
        into = [] if self.pretrain_into == "pretrained" else [self.pretrain_into]
        rounds = [] if self.seeds is None else [["seeds", list(self.seeds)]]
        digest = hashlib.sha256(json.dumps(
            [self.recipe, self.dataset, self.setting, self.overrides, self.pretrain,
             self.pretrain_overrides, *into, *rounds]).encode()).hexdigest()[:8]
        recipe = Path(self.recipe)
        return f"{recipe.parent.name}-{recipe.stem}-{self.setting}-{digest}"


@dataclass(frozen=True)
class PredictionSpec:
    predictions: str
    dataset_file: str


@dataclass(frozen=True)
class ReferenceSpec:
    reference: str
    row: str


@dataclass
class ReproduceOptions:
    out_dir: Path = Path("runs/reproduce")
    published: Path = Path("experiments/published")
    papers: list[str] | None = None
    rows: list[str] | None = None  # case-insensitive substrings of row names
    quick: bool = False
    force: bool = False
    dry_run: bool = False
    seeds: list[int] | None = None
    overrides: list[str] = field(default_factory=list)  # every fold run
    wandb_mode: str | None = None
    environ: Mapping[str, str] | None = None
    quiet: bool = False


@dataclass
class ReproduceReport:
    tables: dict[str, Path]  # paper key -> markdown
    cells: dict[str, dict[tuple[str, str, str], Cell]]
    runs: dict[str, str]  # slug -> status

    @property
    def failed(self) -> list[str]:
        return [slug for slug, status in self.runs.items() if status.startswith("failed")]


def plan_cell(
    row: Row, column: Column, data: DataSources, quick: bool = False
) -> RunSpec | PredictionSpec | ReferenceSpec:
    """What produces our figure of a row in a column (raises :class:`Unavailable`). In quick
    mode, the row's ``quick`` entries replace its own (e.g. a CPU-sized pretraining recipe)."""
    ours = dict(row.ours or {})
    ours.update((ours.pop("by_setting", None) or {}).get(column.setting or "", {}))
    if quick:
        ours.update(ours.pop("quick", None) or {})
    if ours.get("unavailable"):  # stated in the published file, e.g. needs weights we lack
        raise Unavailable(str(ours["unavailable"]))
    if "reference" in ours:
        return ReferenceSpec(ours["reference"], str(ours.get("of", "")))
    if column.dataset is None:
        raise Unavailable(f"{column.label}: no dataset for our runs")
    values = data.placeholders(column.dataset)
    if "predictions" in ours:
        return PredictionSpec(fill(ours["predictions"], values),
                              fill(ours.get("dataset_file", "{target}"), values))
    data.path(column.dataset)  # the target must be configured and exist
    recipe = fill(ours["recipe"], values)
    if not _recipe_exists(recipe):
        raise Unavailable(f"recipe {recipe} is neither a file here nor an installed recipe")
    pretrain = fill(ours["pretrain"], values) if ours.get("pretrain") else None
    if pretrain is not None and not _recipe_exists(pretrain):
        raise Unavailable(
            f"pretraining recipe {pretrain} is neither a file here nor an installed recipe")
    setting = ours.get("setting") or column.setting or "canonical"
    return RunSpec(
        recipe=recipe,
        dataset=column.dataset,
        setting=setting,
        overrides=tuple(fill(o, values) for o in ours.get("overrides") or ()),
        pretrain=pretrain,
        pretrain_overrides=tuple(fill(o, values) for o in ours.get("pretrain_overrides") or ()),
        pretrain_into=str(ours.get("pretrain_into") or "pretrained"),
    )


def _recipe_exists(recipe: str) -> bool:
    """A path here or an installed recipe (``experiments/...`` paths work outside a checkout)."""
    try:
        return resolve_recipe(recipe).is_file()
    except ConfigError:
        return False


def _has_input_dim(recipe: str) -> bool:
    from vsumlab.training.recipes import compose_recipe

    init = (compose_recipe(recipe).get("model") or {}).get("init_args") or {}
    return "input_dim" in init


def run_overrides(spec: RunSpec, data: DataSources, options: ReproduceOptions) -> list[str]:
    """LightningCLI overrides of the folds: target, setting, other datasets, feature size."""
    target = data.path(spec.dataset)
    out = [f"--data.init_args.dataset={target}", f"--data.init_args.setting={spec.setting}"]
    if spec.setting in ("augmented", "transfer"):
        others = [str(p) for name, p in data.datasets.items() if name != spec.dataset and p.is_file()]
        if not others:
            raise Unavailable(f"the {spec.setting} setting needs a dataset besides {spec.dataset}")
        out.append(f"--data.init_args.extra_datasets=[{','.join(others)}]")
    if _has_input_dim(spec.recipe):  # the model must fit the data's features
        out.append(f"--model.init_args.input_dim={data.feature_dim(target)}")
    out += list(spec.overrides)
    if options.quick:
        out += QUICK_FOLDS
    return out + list(options.overrides)


def pretrain_overrides(spec: RunSpec, data: DataSources, options: ReproduceOptions) -> list[str]:
    if not spec.pretrain:
        return []
    out = []
    if _has_input_dim(spec.pretrain):
        out.append(f"--model.init_args.input_dim={data.feature_dim(data.path(spec.dataset))}")
    out += list(spec.pretrain_overrides)
    return out + (QUICK_PRETRAIN if options.quick else [])


def _synthetic_inputs(spec: RunSpec, data: DataSources, overrides: Sequence[str]) -> bool:
    """Whether any h5 file the run reads (target, extra and pretraining data) is synthetic."""
    paths = [data.path(spec.dataset)]
    for item in overrides:
        for part in item.split("=", 1)[-1].strip("[]").split(","):
            if part.endswith(".h5") and Path(part).is_file():
                paths.append(Path(part))
    return any(data.synthetic(p) for p in paths)


def _metric_cell(results: Mapping[str, Any], row_name: str, metric: str, synthetic: bool,
                 run: str, best_of_rounds: bool = False) -> Cell:
    """A cell from a run's results.json: the results report's figures of one row (mean, 95%
    interval, n, and for F1 the PoR against the same run's random row); with
    ``best_of_rounds``, a model row run over 2 or more seeds also gets its best round (the
    mean over folds of each seed, the best by the metric's direction)."""
    from vsumlab.evaluation.metric_registry import PRIMARY
    from vsumlab.evaluation.metric_registry import metric as metric_spec
    from vsumlab.evaluation.significance import round_scores
    from vsumlab.training.fold_results import ResultRow
    from vsumlab.training.result_report import row_report

    try:
        rows = [ResultRow.from_dict(r) for r in results["rows"]]
    except (KeyError, TypeError) as exc:
        return Cell("failed", reason=f"{run}: results.json has no readable rows ({exc})")
    row = next((r for r in rows if r.name == row_name), None)
    if row is None:
        return Cell("failed", reason=f"{run}: no '{row_name}' row in results.json")
    random = next((r for r in rows if r.kind == "reference" and r.name == "random"), None)
    ids = None
    if row.kind == "reference":  # one value per split: the model row knows which split
        ids = next((r.extra.get("fold_ids") for r in (row, *rows)
                    if isinstance(r.extra.get("fold_ids"), list)
                    and len(r.extra["fold_ids"]) == len(row.folds)), None)
    report = row_report(row, random, row_name, ids)
    interval = report.metrics[metric]
    por = report.por.mean if metric == PRIMARY and report.por is not None else None
    cell = Cell("ok", interval.mean, row.std(metric), interval.n, synthetic, run=run,
                half_width=interval.half_width if interval.defined else None, por=por)
    seeds = row.extra.get("seeds")
    if best_of_rounds and row.kind == "model" and isinstance(seeds, list) and len(set(seeds)) > 1:
        rounds = round_scores(row, metric)
        cell.best_round = max(rounds) if metric_spec(metric).higher_is_better else min(rounds)
        cell.rounds = len(rounds)
    return cell


def _no_op(composed: Mapping[str, Any], override: str) -> bool:
    """Whether ``--a.b=value`` sets what the composed recipe already says (so two spellings of
    one pretraining share it)."""
    import yaml

    key, sep, raw = override.removeprefix("--").partition("=")
    node: Any = composed
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    try:
        return bool(sep) and yaml.safe_load(raw) == node
    except yaml.YAMLError:
        return False


def _one_line(exc: BaseException) -> str:
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return message if isinstance(exc, VsumError) else f"{exc.__class__.__name__}: {message}"


class Reproducer:
    """Plans, runs (once per distinct run) and tabulates the cells of the published tables."""

    def __init__(self, options: ReproduceOptions):
        self.options = options
        self.data = DataSources.from_env(options.environ)
        self.runs: dict[str, str] = {}
        self._results: dict[str, tuple[dict[str, Any] | None, str, bool]] = {}
        self._pretrained: dict[str, Path | Exception] = {}

    def _wanted(self, row: Row) -> bool:
        patterns = [p.lower() for p in self.options.rows or []]
        return not patterns or any(p in row.name.lower() for p in patterns)

    def run(self, spec: RunSpec) -> tuple[dict[str, Any] | None, str, bool]:
        """(results.json, folder, synthetic) of a run, running it the first time it is needed."""
        if spec.slug in self._results:
            return self._results[spec.slug]
        from vsumlab.training.cv import CVOptions, run_cv

        folder = self.options.out_dir / "runs" / spec.slug
        fold_overrides = run_overrides(spec, self.data, self.options)
        pre_overrides = pretrain_overrides(spec, self.data, self.options)
        synthetic = _synthetic_inputs(spec, self.data, [*fold_overrides, *pre_overrides])
        seeds = list(spec.seeds) if spec.seeds is not None else self.options.seeds
        if self.options.dry_run:
            pretrain = f" (after pretraining {spec.pretrain} {' '.join(pre_overrides)})"
            rounds = [f"--seeds {','.join(map(str, seeds))}"] if seeds else []
            self.runs[spec.slug] = "planned: vsumlab cv --config " + " ".join(
                [spec.recipe, *fold_overrides, *rounds]) + (pretrain if spec.pretrain else "")
            self._results[spec.slug] = (None, str(folder), synthetic)
            return self._results[spec.slug]
        try:
            checkpoint = None
            if spec.pretrain:  # one pretraining serves every run that names the same one
                checkpoint = self.pretrained(spec.pretrain, pre_overrides)
            run_cv(CVOptions(
                recipe=Path(spec.recipe), out_dir=folder, overrides=fold_overrides,
                name=spec.slug, seeds=seeds, force=self.options.force,
                wandb_mode=self.options.wandb_mode, quiet=True,
                pretrained=checkpoint, pretrain_into=spec.pretrain_into,
            ))
            results = read_json(folder / "results.json", "results file")
            self.runs[spec.slug] = "ok"
        except Exception as exc:  # one failing recipe must not stop the other tables
            self.runs[spec.slug] = f"failed: {_one_line(exc)}"
            results = None
        self._results[spec.slug] = (results, str(folder), synthetic)
        return self._results[spec.slug]

    def pretrained(self, recipe: str, overrides: Sequence[str]) -> Path:
        """The checkpoint of a pretraining (recipe + overrides), fitted once and cached."""
        from vsumlab.training.cv import CVOptions, run_pretrain
        from vsumlab.training.plan import RecipeConfig
        from vsumlab.training.recipes import compose_recipe

        composed = compose_recipe(recipe)
        effective = [o for o in overrides if not _no_op(composed, o)]
        # earlier class paths: pretrainings cached before the moves are found again
        hashed = with_earlier_class_paths([composed, effective])
        digest = hashlib.sha256(json.dumps(hashed, sort_keys=True,
                                           default=str).encode()).hexdigest()[:8]
        slug = f"{Path(recipe).parent.name}-{Path(recipe).stem}-{digest}"
        if slug not in self._pretrained:
            try:
                options = CVOptions(recipe=Path(recipe), out_dir=self.options.out_dir / "pretrain"
                                    / slug, name=slug, pretrain=Path(recipe),
                                    pretrain_overrides=list(overrides),
                                    wandb_mode=self.options.wandb_mode, quiet=True)
                self._pretrained[slug] = run_pretrain(
                    options, RecipeConfig(recipe, list(overrides)))
                self.runs[slug] = "ok"
            except Exception as exc:
                self._pretrained[slug] = exc
                self.runs[slug] = f"failed: {_one_line(exc)}"
        found = self._pretrained[slug]
        if isinstance(found, Exception):
            raise ConfigError(f"pretraining {slug} failed: {_one_line(found)}")
        return found

    def cell(self, table: Table, row: Row, column: Column, done: Mapping[tuple[str, str], Cell],
             rows_run: set[str]) -> Cell:
        if row.ours is None:
            return Cell("none")  # another paper's method: nothing of ours to show
        if column.mean_of:
            parts = [done.get((row.name, c)) for c in column.mean_of]
            if not parts or any(p is None or p.status != "ok" for p in parts):
                return Cell("skipped")
            values = [p.value for p in parts if p is not None and p.value is not None]
            mean = Cell("ok", sum(values) / len(values), None, 1,
                        any(p.synthetic for p in parts if p is not None))
            bests = [p.best_round for p in parts if p is not None and p.best_round is not None]
            if len(bests) == len(parts):  # each metric's best round, as the paper's columns
                mean.best_round = sum(bests) / len(bests)
                mean.rounds = min(p.rounds for p in parts if p is not None)
            return mean
        is_reference = "reference" in row.ours
        if not is_reference and not self._wanted(row):
            return Cell("skipped")
        try:
            spec = plan_cell(row, column, self.data, self.options.quick)
            if isinstance(spec, ReferenceSpec):
                source = next((r for r in table.rows if r.name == spec.row), None)
                if source is None:
                    raise Unavailable(f"reference of unknown row {spec.row!r}")
                if source.name not in rows_run:
                    return Cell("skipped")
                inner = self.cell(table, source, column, done, rows_run)
                if inner.status != "ok" or inner.run is None or self.options.dry_run:
                    return Cell(inner.status, reason=inner.reason)
                results = read_json(Path(inner.run) / "results.json", "results file")
                return _metric_cell(results, spec.reference, table.metric_of(column),
                                    inner.synthetic, inner.run)
            if isinstance(spec, PredictionSpec):
                return self._score_predictions(spec, table.metric_of(column))
            rounds = self.rounds(row)
            if rounds is not None:
                spec = replace(spec, seeds=rounds)
            results, folder, synthetic = self.run(spec)
            if self.options.dry_run:
                return Cell("skipped", reason="dry run", run=folder, synthetic=synthetic)
            if results is None:
                return Cell("failed", reason=f"{spec.slug}: {self.runs[spec.slug][8:]}",
                            run=folder)
            return _metric_cell(results, spec.slug, table.metric_of(column), synthetic, folder,
                                bool(row.ours.get("best_of_rounds")))
        except Unavailable as exc:
            return Cell("unavailable", reason=str(exc))

    def rounds(self, row: Row) -> tuple[int, ...] | None:
        """The seeds of a best-of-rounds row's run: 0..N-1, unless --seeds sets them (then every
        run uses those) or --quick (one round: a pipeline check)."""
        best = (row.ours or {}).get("best_of_rounds")
        if not best or self.options.seeds is not None or self.options.quick:
            return None
        return tuple(range(int(best)))

    def _score_predictions(self, spec: PredictionSpec, metric: str) -> Cell:
        from vsumlab.data.schema import read_dataset
        from vsumlab.evaluation.metrics import evaluate_dataset
        from vsumlab.evaluation.predictions import read_predictions
        from vsumlab.evaluation.shot_map import relative_to_human

        for path in (spec.predictions, spec.dataset_file):
            if not Path(path).is_file():
                raise Unavailable(f"{path} not found (run the method's pipeline first)")
        if self.options.dry_run:
            return Cell("skipped", reason="dry run")
        dataset = read_dataset(spec.dataset_file)
        predictions = read_predictions(spec.predictions)
        if metric in PREDICTION_METRICS:  # the paper's own measure, e.g. DeSumNet's
            try:
                value = relative_to_human(dataset, predictions, PREDICTION_METRICS[metric])
            except VsumError as exc:  # e.g. a test set without the annotators' scores
                raise Unavailable(f"{spec.dataset_file}: {_one_line(exc)}") from exc
            return Cell("ok", value, None, 1, dataset.synthetic, run=spec.predictions)
        scores = evaluate_dataset(dataset, predictions, keys=list(predictions))
        return Cell("ok", float(getattr(scores.mean, metric)), None, 1, dataset.synthetic,
                    run=spec.predictions)

    def paper_cells(self, paper: Paper) -> dict[tuple[str, str, str], Cell]:
        cells: dict[tuple[str, str, str], Cell] = {}
        for table in paper.tables:
            done: dict[tuple[str, str], Cell] = {}
            rows_run = {r.name for r in table.rows if r.ours and "reference" not in r.ours
                        and self._wanted(r)}
            # plain columns first, so mean_of columns see them
            ordered = sorted(table.columns, key=lambda c: bool(c.mean_of))
            for row in table.rows:
                for column in ordered:
                    if not column.reproducible:
                        continue
                    done[(row.name, column.id)] = self.cell(table, row, column, done, rows_run)
            self._mark_quick_changes(table, done)
            self._mark_shared_runs(table, done)
            cells.update({(table.id, r, c): cell for (r, c), cell in done.items()})
        return cells

    def _mark_shared_runs(self, table: Table, done: Mapping[tuple[str, str], Cell]) -> None:
        """Rows of one column whose figure comes from one run say so (a footnote), e.g.
        Cap2Sum's "sup. p% videos" rows under --quick, which drops their own overrides."""
        by_run: dict[tuple[str, str], list[str]] = {}
        for row in table.rows:
            if not row.ours or "reference" in row.ours:
                continue  # reference rows show their source row's run by design
            for column in table.columns:
                cell = done.get((row.name, column.id))
                if cell is not None and cell.status == "ok" and cell.run and not column.mean_of:
                    by_run.setdefault((column.id, cell.run), []).append(row.name)
        for (column_id, run), names in by_run.items():
            if len(names) < 2:
                continue
            column = table.column(column_id)
            note = (f"rows {', '.join(repr(n) for n in names)} share one run "
                    f"({Path(run).name}): " + self._why_shared(table, names, column))
            for name in names:
                done[(name, column_id)].note = note

    def _mark_quick_changes(self, table: Table, done: Mapping[tuple[str, str], Cell]) -> None:
        """Under --quick, a cell whose run drops the row's own setting or overrides (e.g.
        Cap2Sum's "Augmented" columns, which train on 80% of the videos in a full run) says so:
        its figure is not of the configuration the row names."""
        if not self.options.quick:
            return
        for row in table.rows:
            for column in table.columns:
                cell = done.get((row.name, column.id))
                if cell is None or cell.status != "ok" or not cell.run or column.mean_of:
                    continue
                try:
                    full = plan_cell(row, column, self.data, quick=False)
                    quick = plan_cell(row, column, self.data, quick=True)
                except Unavailable:
                    continue
                if not (isinstance(full, RunSpec) and isinstance(quick, RunSpec)):
                    continue
                dropped = [o for o in full.overrides if o not in quick.overrides]
                if full.setting != quick.setting:
                    dropped.insert(0, f"setting {full.setting}")
                swapped = [f"{q} instead of {f}" for f, q in
                           ((full.recipe, quick.recipe), (full.pretrain, quick.pretrain))
                           if f != q and f is not None and q is not None]
                # e.g. the CPU-demo CSTA instead of the published one, a row's own override
                ran = "; ".join(swapped) if swapped else "it"
                if dropped:
                    ran += f"{' and' if swapped else ''} without {', '.join(dropped)}"
                if swapped or dropped:
                    cell.note = (f"--quick ran {ran}; a full reproduction runs the row's own "
                                 "configuration")

    def _why_shared(self, table: Table, names: Sequence[str], column: Column) -> str:
        """Whether --quick merged runs that differ in a full reproduction."""
        if not self.options.quick:
            return "they are the same configuration"
        full = set()
        for name in names:
            row = next(r for r in table.rows if r.name == name)
            try:
                full.add(plan_cell(row, column, self.data, quick=False))
            except Unavailable:
                full.add(name)  # a row without a full-mode run: counted as its own
        if len(full) > 1:
            return ("--quick runs them with the quick settings, which drop their own "
                    "overrides; a full reproduction runs each row's own settings")
        return "they are the same configuration"


def reproduce(options: ReproduceOptions) -> ReproduceReport:
    """Run every published table's reproducible cells; write OUT/<paper>.md and OUT/cells.json."""
    papers = load_papers(resolve_recipe(options.published, "published-tables folder"),
                         options.papers)
    if options.rows:
        check_rows(papers, options.rows)
    reproducer = Reproducer(options)
    context = RenderContext(datasets=reproducer.data.describe(), quick=options.quick)
    report = ReproduceReport({}, {}, reproducer.runs)
    for paper in papers:
        cells = reproducer.paper_cells(paper)
        report.cells[paper.key] = cells
        if options.dry_run:
            continue
        path = options.out_dir / f"{paper.key}.md"
        write_text_atomic(path, render_paper(paper, cells, context, _runs_report(cells)))
        report.tables[paper.key] = path
    if not options.dry_run:
        write_json_atomic(options.out_dir / "cells.json", {
            "quick": options.quick,
            "datasets": context.datasets,
            "runs": reproducer.runs,
            "cells": {key: [{"table": t, "row": r, "column": c, **cell.to_dict()}
                            for (t, r, c), cell in cells.items()]
                      for key, cells in report.cells.items()},
        })
    return report


def _runs_report(cells: Mapping[tuple[str, str, str], Cell]) -> str:
    """The results report of every cv run behind a paper's cells: one table per dataset,
    setting, split source and protocol, with that group's own reference rows."""
    from vsumlab.training.result_groups import group_runs, read_run
    from vsumlab.training.result_report import format_report

    folders = sorted({cell.run for cell in cells.values() if cell.status == "ok" and cell.run
                      and (Path(cell.run) / "results.json").is_file()})
    if not folders:
        return ""
    try:
        runs = [read_run(folder) for folder in folders]
    except VsumError as exc:  # a damaged run must not hide the tables themselves
        return f"(the runs' report could not be read: {exc})\n"
    return format_report(*group_runs(runs))


def check_rows(papers: Sequence[Paper], patterns: Sequence[str]) -> None:
    """--rows must match at least one reproducible row (typos fail early)."""
    for pattern in patterns:
        if not any(pattern.lower() in r.name.lower() for p in papers for t in p.tables
                   for r in t.rows if r.ours):
            raise ConfigError(f"--rows: {pattern!r} matches no reproducible row")
