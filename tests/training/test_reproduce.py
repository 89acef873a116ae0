"""`vsumlab reproduce`: planning cells (placeholders, settings, unavailable reasons), failures
that do not stop the other cells, and a quick end-to-end run of the supervised CSTA rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.errors import ConfigError
from vsumlab.training.published_tables import Column, Row
from vsumlab.training.reproduce import (
    DataSources,
    ReproduceOptions,
    RunSpec,
    Unavailable,
    fill,
    plan_cell,
    reproduce,
    run_overrides,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(small_tvsum_h5: Path, small_summe_h5: Path) -> DataSources:
    return DataSources.from_env({"TVSUM_H5": str(small_tvsum_h5),
                                 "SUMME_H5": str(small_summe_h5)})


def test_placeholders_and_plans(data: DataSources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert fill("experiments/x/{dataset}.yaml", {"dataset": "tvsum"}) == "experiments/x/tvsum.yaml"
    with pytest.raises(Unavailable, match=r"no value for \{ovp\}"):
        fill("[{ovp}]", data.placeholders("tvsum"))
    column = Column("c", "TVSum", dataset="tvsum", setting="augmented")
    row = Row("visp", {}, {"recipe": "experiments/visp/finetune_{dataset}.yaml",
                           "pretrain": "experiments/visp/pretrain.yaml",
                           "pretrain_overrides": ["--data.init_args.datasets=[{tvsum},{summe}]"]})
    spec = plan_cell(row, column, data)
    assert spec == RunSpec(
        recipe="experiments/visp/finetune_tvsum.yaml", dataset="tvsum", setting="augmented",
        pretrain="experiments/visp/pretrain.yaml",
        pretrain_overrides=(f"--data.init_args.datasets=[{data.datasets['tvsum']},"
                            f"{data.datasets['summe']}]",),
    )
    overrides = run_overrides(spec, data, ReproduceOptions(quick=True, overrides=["--x=1"]))
    assert overrides == [
        f"--data.init_args.dataset={data.datasets['tvsum']}",
        "--data.init_args.setting=augmented",
        f"--data.init_args.extra_datasets=[{data.datasets['summe']}]",
        "--model.init_args.input_dim=64",  # the fixtures' 64-d features, not the recipe's 1024
        "--trainer.max_epochs=1", "--trainer.limit_train_batches=8", "--data.init_args.n_folds=2",
        "--x=1",
    ]
    quick = Row("q", {}, {**row.ours, "quick": {"pretrain": "experiments/visp/pretrain_fit.yaml"}})
    assert plan_cell(quick, column, data).pretrain == "experiments/visp/pretrain.yaml"
    assert plan_cell(quick, column, data, quick=True).pretrain == "experiments/visp/pretrain_fit.yaml"
    needs = Row("n", {}, {**row.ours, "quick": {"unavailable": "needs CLIP weights"}})
    assert plan_cell(needs, column, data).recipe == "experiments/visp/finetune_tvsum.yaml"
    with pytest.raises(Unavailable, match="needs CLIP weights"):
        plan_cell(needs, column, data, quick=True)
    zero = Row("z", {}, {"recipe": "experiments/supervised/csta_{dataset}.yaml",
                         "setting": "zero_shot"})
    assert plan_cell(zero, column, data).setting == "zero_shot"  # the row's setting wins
    missing = Row("m", {}, {"recipe": "experiments/nowhere/{dataset}.yaml"})
    with pytest.raises(Unavailable, match="recipe experiments/nowhere/tvsum.yaml is neither a file"):
        plan_cell(missing, column, data)
    with pytest.raises(Unavailable, match="no ovp dataset configured"):
        plan_cell(zero, Column("o", "OVP", dataset="ovp"), data)
    lonely = DataSources.from_env({"TVSUM_H5": str(data.datasets["tvsum"]),
                                   "SUMME_H5": "/nonexistent.h5"})
    with pytest.raises(Unavailable, match="needs a dataset besides tvsum"):
        run_overrides(spec, lonely, ReproduceOptions())


PUBLISHED = """
paper: Toy
source: papers/toy.txt
tables:
  - id: table1
    caption: "Table 1: toy"
    columns:
      - {id: tvsum, label: TVSum, dataset: tvsum, setting: canonical}
    rows:
      - name: typo
        published: {tvsum: 60.0}
        ours:
          recipe: experiments/supervised/transformer_{dataset}.yaml
          overrides: [--model.init_args.lrr=0.1]
      - name: future
        published: {tvsum: 61.0}
        ours: {recipe: "experiments/future/{dataset}.yaml"}
      - name: other paper's method
        published: {tvsum: 62.0}
"""


def test_plans_outside_a_checkout_use_the_installed_recipes(
    data: DataSources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)  # no experiments/ here: published tables and recipes by name
    monkeypatch.setenv("TVSUM_H5", str(data.datasets["tvsum"]))
    monkeypatch.setenv("SUMME_H5", str(data.datasets["summe"]))
    assert main(["reproduce", "--dry-run", "--papers", "visp", "--rows", "csta",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "planned" in out and "installed recipe" not in out
    column = Column("c", "TVSum", dataset="tvsum", setting="canonical")
    row = Row("csta", {}, {"recipe": "experiments/supervised/csta_{dataset}.yaml"})
    spec = plan_cell(row, column, data)
    assert "--model.init_args.input_dim=64" in run_overrides(spec, data, ReproduceOptions())


@pytest.mark.slow  # ~8 s: config validation imports Lightning
def test_a_failing_run_is_reported_and_the_rest_still_renders(
    tmp_path: Path, data: DataSources, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TVSUM_H5", str(data.datasets["tvsum"]))
    monkeypatch.setenv("SUMME_H5", str(data.datasets["summe"]))
    published = tmp_path / "published"
    published.mkdir()
    (published / "toy.yaml").write_text(PUBLISHED)
    code = main(["reproduce", "--published", str(published), "--out", str(tmp_path / "out"),
                 "--quick", "--wandb-mode", "disabled"])
    assert code == 1  # a failed run makes the command fail, after writing the tables
    assert "lrr" in capsys.readouterr().out
    lines = (tmp_path / "out" / "toy.md").read_text().splitlines()
    assert any(line.startswith("| typo | 60.0 | failed [1] |") for line in lines)
    assert "| future | 61.0 | n/a [2] |" in lines
    assert "| other paper's method | 62.0 |  |" in lines
    assert any("[2] recipe experiments/future/tvsum.yaml is neither a file here nor an installed recipe" == line
               for line in lines)
    cells = json.loads((tmp_path / "out" / "cells.json").read_text())
    assert {c["row"]: c["status"] for c in cells["cells"]["toy"]} == {
        "typo": "failed", "future": "unavailable", "other paper's method": "none"}
    with pytest.raises(ConfigError, match="--rows: 'nothing' matches no reproducible row"):
        reproduce(ReproduceOptions(published=published, rows=["nothing"]))


@pytest.mark.slow
def test_quick_reproduction_of_the_csta_rows(
    tmp_path: Path, data: DataSources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TVSUM_H5", str(data.datasets["tvsum"]))
    monkeypatch.setenv("SUMME_H5", str(data.datasets["summe"]))
    out = tmp_path / "reproduce"
    code = main(["reproduce", "--quick", "--papers", "visp", "--rows", "CSTA",
                 "--out", str(out), "--wandb-mode", "disabled"])
    assert code == 0
    text = (out / "visp.md").read_text()
    lines = {line.split(" |")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    cells = {(c["row"], c["column"]): c for c in
             json.loads((out / "cells.json").read_text())["cells"]["visp"]}
    for row in ("CSTA (Son et al., 2024)", "ViSP+CSTA", "Random", "Human (Otani et al., 2019)"):
        for column in ("summe_tau", "summe_rho", "tvsum_tau", "tvsum_rho", "avg"):
            cell = cells[(row, column)]
            assert cell["status"] == "ok" and cell["synthetic"], (row, column)
        assert lines[row].count("†") == 5  # four metrics and their average, synthetic data
    assert "| 0.246 |" in lines["CSTA (Son et al., 2024)"]  # the published value beside ours
    # then the runs' own report: one table per dataset, rows named by what ran (ViSP+CSTA from
    # its pretraining's record), with their own reference rows
    runs = text.split("## Our runs", 1)[1]
    assert runs.count("| random |") == 2
    # scored with CSTA's protocol preset (as the paper's rows), labelled in the runs' report
    assert ("| ViSP+CSTA · synthetic_tvsum · canonical · 2 folds, split seed 0 (protocol preset "
            "csta; best test epoch: not comparable) |") in runs
    # --quick ran the CPU demos, and each cell says so
    assert ("--quick ran experiments/supervised/csta_tvsum.yaml instead of "
            "experiments/supervised/csta_tvsum_paper.yaml") in text
    assert cells[("CLIP-It* (Narasimhan et al., 2021)", "tvsum_tau")]["status"] == "skipped"
    assert "not run" in lines["CLIP-It* (Narasimhan et al., 2021)"]  # filtered out by --rows
    # ViSP+CSTA on SumMe and TVSum fine-tune from ONE pretraining on both sets (as the paper)
    (pretraining,) = (out / "pretrain").iterdir()
    checkpoint = pretraining / "pretrain" / "checkpoints" / "last.ckpt"
    for dataset in ("summe", "tvsum"):
        visp = Path(cells[("ViSP+CSTA", f"{dataset}_tau")]["run"])
        run = json.loads((visp / "run.json").read_text())
        assert run["pretrained"] == str(checkpoint.resolve())  # a typed field of the plan
    # the reference rows are those of the CSTA runs (same folder), 2 quick folds each
    csta = cells[("CSTA (Son et al., 2024)", "tvsum_tau")]
    human = cells[("Human (Otani et al., 2019)", "tvsum_tau")]
    assert human["run"] == csta["run"] and csta["folds"] == 2
    assert -1.0 <= csta["value"] <= 1.0 and human["value"] > 0.1  # annotators agree
    results = json.loads((Path(csta["run"]) / "results.json").read_text())
    assert results["rows"][0]["kendall"] == pytest.approx(csta["value"])


def test_no_op_overrides_do_not_split_a_shared_pretraining() -> None:
    from vsumlab.training.reproduce import _no_op

    composed = {"model": {"init_args": {"use_prior": False, "lr": 5e-5,
                                        "captioner": {"d_model": 64}}}}
    assert _no_op(composed, "--model.init_args.use_prior=false")  # the recipe's own value
    assert _no_op(composed, "--model.init_args.lr=5.0e-5")
    assert _no_op(composed, "--model.init_args.captioner.d_model=64")
    assert not _no_op(composed, "--model.init_args.use_prior=true")
    assert not _no_op(composed, "--trainer.max_epochs=1")  # not in the recipe: it changes it
    assert not _no_op(composed, "--model.init_args.lr")  # no value


def test_cap2sum_rows_run_the_papers_settings(data: DataSources,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Cap2Sum's "Augmented" = ANet pretraining, then fine-tuning on 80% of the target in the
    # canonical folds (no OVP/YouTube); "sup. p%" = p% of all target videos; Transfer stays
    from vsumlab.training.published_tables import load_paper

    monkeypatch.chdir(ROOT)
    paper = load_paper(ROOT / "experiments/published/cap2sum.yaml")
    tables = {t.id: t for t in paper.tables}
    share = "--data.init_args.train_share="

    def plan(table, row, column, quick=False):
        t = tables[table]
        found = next(r for r in t.rows if r.name == row)
        return plan_cell(found, t.column(column), data, quick)

    for row in ("Cap2Sum_sup", "Cap2Sum_wsup"):
        augmented = plan("table3", row, "tvsum_augmented")
        assert augmented.setting == "canonical" and augmented.overrides == (f"{share}0.8",)
        assert augmented.pretrain == "experiments/cap2sum/pretrain.yaml"
        assert "extra_datasets" not in " ".join(run_overrides(augmented, data, ReproduceOptions()))
        transfer = plan("table3", row, "tvsum_transfer")
        assert transfer.setting == "transfer" and transfer.overrides == ()
        quick = plan("table3", row, "summe_augmented", quick=True)  # 2 folds hold 50 % only
        assert quick.setting == "canonical" and quick.overrides == ()
        assert quick.pretrain == "experiments/cap2sum/pretrain_small.yaml"
    for percent in (5, 25, 50, 80):
        spec = plan("table1", f"sup. {percent}% videos", "summe")
        assert spec.setting == "canonical" and spec.overrides == (f"{share}{percent / 100}",)
    assert plan("table1", "weak sup.", "tvsum").overrides == (f"{share}0.8",)
    assert plan("table1", "unsup.", "tvsum").setting == "zero_shot"
    assert plan("table4", "Cap2Sum_unsup", "tvsum").setting == "zero_shot"
    both = plan("table2", "prior: pre-training yes, fine-tuning yes", "tvsum")
    assert both.overrides == ("--model.init_args.use_prior=true", f"{share}0.8")
    assert both.pretrain_overrides == ("--model.init_args.use_prior=true",)


def test_cells_show_the_reports_interval_n_and_por() -> None:
    from vsumlab.training.reproduce import _metric_cell

    def folds(values):
        return [{"f1": v, "kendall": 0.1, "spearman": 0.2} for v in values]

    results = {"rows": [
        {"name": "run", "kind": "model", "folds": folds([48.0, 54.0, 60.0]),
         "fold_ids": [0, 1, 2]},
        {"name": "random", "kind": "reference", "folds": folds([40.0, 45.0, 40.0])}]}
    cell = _metric_cell(results, "run", "f1", True, "out/run")
    # 54.00 ± 14.90 (t(0.975, 2) · 6 / sqrt(3)); PoR mean of 120, 120, 150
    assert (cell.value, cell.folds) == (54.0, 3)
    assert cell.half_width == pytest.approx(14.904826, abs=1e-5)
    assert cell.por == pytest.approx(130.0)
    assert _metric_cell(results, "run", "kendall", True, "out/run").por is None  # F1 only
    assert _metric_cell(results, "random", "f1", True, "out/run").por == pytest.approx(100.0)


def test_quick_rows_that_share_one_run_say_so(data: DataSources,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Cap2Sum Table 1's "sup. p% videos" rows: --quick drops their train_share overrides, so
    # all four would show one figure; the table says they share one run and why
    from vsumlab.training.published_tables import Cell, RenderContext, load_paper, render_table
    from vsumlab.training.reproduce import Reproducer

    monkeypatch.chdir(ROOT)
    paper = load_paper(ROOT / "experiments/published/cap2sum.yaml")
    table = next(t for t in paper.tables if t.id == "table1")
    environ = {"TVSUM_H5": str(data.datasets["tvsum"]), "SUMME_H5": str(data.datasets["summe"])}
    reproducer = Reproducer(ReproduceOptions(quick=True, environ=environ))
    shares = [f"sup. {p}% videos" for p in (5, 25, 50, 80)]
    done = {(name, column.id): Cell("ok", 50.0, run=f"out/runs/{column.id}-shared")
            for name in shares for column in table.columns}
    done.update({("weak sup.", c.id): Cell("ok", 51.0, run=f"out/runs/{c.id}-weak")
                 for c in table.columns})
    reproducer._mark_shared_runs(table, done)
    note = done[("sup. 5% videos", "summe")].note
    assert note.startswith("rows 'sup. 5% videos', 'sup. 25% videos', 'sup. 50% videos', "
                           "'sup. 80% videos' share one run (summe-shared): --quick runs them "
                           "with the quick settings, which drop their own overrides")
    assert done[("weak sup.", "summe")].note == ""  # its own run
    lines = render_table(paper, table, {k: v for k, v in done.items()},
                         RenderContext()).splitlines()
    assert any(line.startswith("| sup. 25% videos |") and "50.0 [1]" in line for line in lines)
    assert any(line.startswith("[1] rows 'sup. 5% videos'") for line in lines)
    # a full reproduction plans each row's own train_share: four runs, nothing shared
    rows = [next(r for r in table.rows if r.name == name) for name in shares]
    assert len({plan_cell(r, table.column("summe"), data) for r in rows}) == 4
    assert len({plan_cell(r, table.column("summe"), data, quick=True) for r in rows}) == 1


def test_quick_cells_that_drop_their_rows_settings_say_so(data: DataSources,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Cap2Sum Table 3's "Augmented" columns of its own rows train on 80% of the target videos
    in a full run; --quick drops that override, so the cell is footnoted as not the row's
    configuration (a label the figure does not have is never printed silently)."""
    from vsumlab.training.published_tables import Cell, load_paper
    from vsumlab.training.reproduce import Reproducer

    monkeypatch.chdir(ROOT)
    paper = load_paper(ROOT / "experiments/published/cap2sum.yaml")
    table = next(t for t in paper.tables if t.id == "table3")
    environ = {"TVSUM_H5": str(data.datasets["tvsum"]), "SUMME_H5": str(data.datasets["summe"])}
    ours = [r.name for r in table.rows if r.ours and "reference" not in r.ours]
    assert {"Cap2Sum_wsup", "Cap2Sum_sup"} <= set(ours)

    def notes(quick: bool) -> dict[tuple[str, str], str]:
        done = {(name, c.id): Cell("ok", 50.0, run=f"out/runs/{name}-{c.id}")
                for name in ours for c in table.columns}
        Reproducer(ReproduceOptions(quick=quick, environ=environ))._mark_quick_changes(table, done)
        return {key: cell.note for key, cell in done.items()}

    quick = notes(True)
    for name in ("Cap2Sum_wsup", "Cap2Sum_sup"):
        for column in ("summe_augmented", "tvsum_augmented"):
            assert quick[(name, column)] == (
                "--quick ran experiments/cap2sum/pretrain_small.yaml instead of "
                "experiments/cap2sum/pretrain.yaml and without "
                "--data.init_args.train_share=0.8; a full reproduction runs the row's own "
                "configuration")
        # transfer keeps its configuration but for the CPU-sized pretraining
        assert quick[(name, "summe_transfer")] == (
            "--quick ran experiments/cap2sum/pretrain_small.yaml instead of "
            "experiments/cap2sum/pretrain.yaml; a full reproduction runs the row's own "
            "configuration")
    assert set(notes(False).values()) == {""}  # a full run is what the row says
