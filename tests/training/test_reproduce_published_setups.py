"""`vsumlab reproduce` runs the papers' own setups (issue 21): ViSP's CSTA rows on the published
CSTA with its protocol preset and ViSP's published pretraining, the best of five rounds beside
the mean, ViSP Table 3's ablations, and DeSumNet's top-5 mAP relative to the average human."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from vsumlab.data.schema import write_dataset
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import ConfigError
from vsumlab.evaluation.predictions import write_predictions
from vsumlab.evaluation.shot_map import relative_to_human
from vsumlab.training.published_tables import (
    BEST_ROUND_LEGEND,
    Cell,
    RenderContext,
    load_paper,
    render_table,
)
from vsumlab.training.reproduce import (
    DataSources,
    ReproduceOptions,
    Reproducer,
    RunSpec,
    _metric_cell,
    plan_cell,
    reproduce,
)

ROOT = Path(__file__).resolve().parents[2]
VISP = ROOT / "experiments" / "published" / "visp.yaml"


@pytest.fixture
def data(small_tvsum_h5: Path, small_summe_h5: Path) -> DataSources:
    return DataSources.from_env({"TVSUM_H5": str(small_tvsum_h5),
                                 "SUMME_H5": str(small_summe_h5)})


def _table(table_id: str):
    return next(t for t in load_paper(VISP).tables if t.id == table_id)


def _row(table, name: str):
    return next(r for r in table.rows if r.name == name)


def test_visp_csta_rows_run_the_published_csta_and_pretraining(data, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    table = _table("table2")
    column = table.column("tvsum_tau")
    csta = plan_cell(_row(table, "CSTA (Son et al., 2024)"), column, data)
    assert csta.recipe == "experiments/supervised/csta_tvsum_paper.yaml"
    assert csta.overrides == ("--protocol.preset=csta",)  # scored as CSTA's code scores
    visp = plan_cell(_row(table, "ViSP+CSTA"), column, data)
    assert visp.recipe == "experiments/visp/finetune_tvsum_paper.yaml"
    assert visp.pretrain == "experiments/visp/pretrain_paper.yaml"
    assert visp.pretrain_overrides == (
        f"--data.init_args.datasets=[{data.datasets['tvsum']},{data.datasets['summe']}]",)
    # --quick: the CPU demos, with the same protocol preset
    quick_csta = plan_cell(_row(table, "CSTA (Son et al., 2024)"), column, data, quick=True)
    assert quick_csta.recipe == "experiments/supervised/csta_tvsum.yaml"
    assert quick_csta.overrides == ("--protocol.preset=csta",)
    quick_visp = plan_cell(_row(table, "ViSP+CSTA"), column, data, quick=True)
    assert (quick_visp.recipe, quick_visp.pretrain) == (
        "experiments/visp/finetune_tvsum.yaml", "experiments/visp/pretrain.yaml")
    assert quick_visp.overrides == ("--protocol.preset=csta",)
    # the paper reports the best of five rounds (visp.txt 4.1) for both CSTA rows
    for name in ("CSTA (Son et al., 2024)", "ViSP+CSTA"):
        assert _row(table, name).ours["best_of_rounds"] == 5


def test_quick_cells_say_they_ran_the_demo_recipes(data, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    table = _table("table2")
    environ = {"TVSUM_H5": str(data.datasets["tvsum"]), "SUMME_H5": str(data.datasets["summe"])}
    names = ["CSTA (Son et al., 2024)", "ViSP+CSTA"]
    done = {(n, c.id): Cell("ok", 0.1, run=f"out/{n}-{c.id}") for n in names
            for c in table.columns}
    Reproducer(ReproduceOptions(quick=True, environ=environ))._mark_quick_changes(table, done)
    assert done[("CSTA (Son et al., 2024)", "summe_tau")].note == (
        "--quick ran experiments/supervised/csta_summe.yaml instead of "
        "experiments/supervised/csta_summe_paper.yaml; a full reproduction runs the row's own "
        "configuration")
    assert done[("ViSP+CSTA", "tvsum_rho")].note == (
        "--quick ran experiments/visp/finetune_tvsum.yaml instead of "
        "experiments/visp/finetune_tvsum_paper.yaml; experiments/visp/pretrain.yaml instead of "
        "experiments/visp/pretrain_paper.yaml; a full reproduction runs the row's own "
        "configuration")


# visp.txt Table 3: each variant's one change to the default ViSP+CSTA pretraining
VARIANTS = {
    "(-) Concrete": "--model.init_args.reparameterization=sigmoid",
    "(+) Gumbel": "--model.init_args.reparameterization=gumbel",
    "(+) STE": "--model.init_args.gradient_flow=ste",
    "(+) Margin": "--model.init_args.gradient_flow=marginalization",
    "(+) HN": "--model.init_args.hard_negative=true",
}


def test_visp_table3_rows_change_one_component_each(data, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    table = _table("table3")
    assert [r.name for r in table.rows] == ["ViSP+CSTA", *VARIANTS, "(+) FSA"]
    column = table.column("summe_tau")
    default = plan_cell(_row(table, "ViSP+CSTA"), column, data)
    assert default == plan_cell(_row(_table("table2"), "ViSP+CSTA"), column, data)  # one run
    for name, change in VARIANTS.items():
        spec = plan_cell(_row(table, name), column, data)
        assert (spec.recipe, spec.pretrain) == (default.recipe, default.pretrain)
        assert spec.pretrain_overrides == (*default.pretrain_overrides, change)
        quick = plan_cell(_row(table, name), column, data, quick=True)
        assert quick.pretrain == "experiments/visp/pretrain.yaml"
        assert quick.pretrain_overrides[-1] == change  # the variant also in the pipeline check
    # (+) FSA: pseudo-summaries of the OTHER dataset's labels (TVSum's for SumMe and back)
    fsa = _row(table, "(+) FSA")
    for target, other in (("summe", "tvsum"), ("tvsum", "summe")):
        spec = plan_cell(fsa, table.column(f"{target}_tau"), data)
        assert spec.pretrain == "experiments/visp/pretrain_fsa_paper.yaml"
        assert spec.recipe == f"experiments/visp/finetune_{target}_paper.yaml"
        assert spec.pretrain_overrides == (
            f"--data.init_args.datasets=[{data.datasets[other]}]",)
    assert all(r.ours["best_of_rounds"] == 5 for r in table.rows)


def test_visp_table3_values_as_printed() -> None:
    # read off papers/visp.txt, Table 3
    printed = {
        "ViSP+CSTA": (0.273, 0.305, 0.201, 0.263, 0.260),
        "(-) Concrete": (0.276, 0.308, 0.192, 0.252, 0.257),
        "(+) Gumbel": (0.270, 0.302, 0.194, 0.255, 0.255),
        "(+) STE": (0.249, 0.278, 0.202, 0.265, 0.249),
        "(+) Margin": (0.260, 0.291, 0.196, 0.256, 0.251),
        "(+) HN": (0.248, 0.277, 0.204, 0.267, 0.249),
        "(+) FSA": (0.241, 0.269, 0.192, 0.252, 0.239),
    }
    table = _table("table3")
    columns = ("summe_tau", "summe_rho", "tvsum_tau", "tvsum_rho", "avg")
    for name, values in printed.items():
        row = _row(table, name)
        assert tuple(row.published[c] for c in columns) == values, name
        assert sum(values[:4]) / 4 == pytest.approx(values[4], abs=0.0011), name


def test_best_round_beside_the_mean_by_hand() -> None:
    def folds(values):
        return [{"f1": 50.0, "kendall": v, "spearman": -v} for v in values]

    # two rounds (seeds 0 and 1) of two folds: round means 0.15 and 0.25
    results = {"rows": [
        {"name": "run", "kind": "model", "folds": folds([0.1, 0.2, 0.2, 0.3]),
         "seeds": [0, 0, 1, 1], "fold_ids": [0, 1, 0, 1]},
        {"name": "random", "kind": "reference", "folds": folds([0.0, 0.0])}]}
    cell = _metric_cell(results, "run", "kendall", True, "out/run", best_of_rounds=True)
    assert cell.value == pytest.approx(0.2) and cell.folds == 4
    assert cell.best_round == pytest.approx(0.25) and cell.rounds == 2
    # the best by the metric's direction (all of ours: higher is better)
    assert _metric_cell(results, "run", "spearman", True, "x", True).best_round == pytest.approx(
        -0.15)
    assert _metric_cell(results, "run", "kendall", True, "x").best_round is None  # not asked
    assert _metric_cell(results, "random", "kendall", True, "x", True).best_round is None
    one_round = {"rows": [{**results["rows"][0], "seeds": [0, 0, 0, 0]}, results["rows"][1]]}
    assert _metric_cell(one_round, "run", "kendall", True, "x", True).best_round is None
    # rendered beside the mean, labelled as the paper's choice
    table = _table("table2")
    cells = {("CSTA (Son et al., 2024)", "tvsum_tau"): cell}
    lines = render_table(load_paper(VISP), table, cells, RenderContext()).splitlines()
    row = next(line for line in lines if line.startswith("| CSTA (Son et al., 2024) |"))
    assert "0.200 ± " in row and "; best of 2 rounds 0.250 ‡" in row
    assert f"‡ {BEST_ROUND_LEGEND}" in lines and "the paper reports the best round" in BEST_ROUND_LEGEND


def test_rounds_of_a_best_of_five_row(data, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    row = _row(_table("table2"), "CSTA (Son et al., 2024)")
    environ = {"TVSUM_H5": str(data.datasets["tvsum"])}
    assert Reproducer(ReproduceOptions(environ=environ)).rounds(row) == (0, 1, 2, 3, 4)
    assert Reproducer(ReproduceOptions(environ=environ, quick=True)).rounds(row) is None
    assert Reproducer(ReproduceOptions(environ=environ, seeds=[3, 4])).rounds(row) is None
    assert Reproducer(ReproduceOptions(environ=environ)).rounds(
        _row(_table("table2"), "CLIP-It* (Narasimhan et al., 2021)")) is None
    # runs without rounds keep their folder names (the digest of the same fields as before)
    spec = RunSpec("experiments/supervised/csta_tvsum.yaml", "tvsum", "canonical")
    digest = hashlib.sha256(json.dumps(
        [spec.recipe, "tvsum", "canonical", (), None, ()]).encode()).hexdigest()[:8]
    assert spec.slug == f"supervised-csta_tvsum-canonical-{digest}"
    assert RunSpec(spec.recipe, "tvsum", "canonical", seeds=(0, 1)).slug != spec.slug


def test_bad_best_of_rounds_is_named(tmp_path) -> None:
    text = VISP.read_text().replace("best_of_rounds: 5  # visp.txt 4.1: \"the best",
                                    "best_of_rounds: 1  # visp.txt 4.1: \"the best")
    path = tmp_path / "visp.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="row 'CSTA .*ours.best_of_rounds=1; expected a number"):
        load_paper(path)


PUBLISHED_MAP = """
paper: DeSumNet
source: papers/desumnet.txt
tables:
  - id: table3
    caption: "Table 3: top-5 mAP relative to the average human (%)"
    metric: f1
    columns:
      - {id: map5, label: top-5 mAP/human (%), dataset: demo, metric: map5_rel_human}
      - {id: f1, label: F1 (%), dataset: demo, metric: f1}
    rows:
      - name: Scratch
        published: {}
        ours: {predictions: "PRED", dataset_file: "DATA"}
"""


def test_desumnet_column_is_the_papers_top5_map_relative_to_the_average_human(
    tmp_path: Path,
) -> None:
    dataset = make_synthetic_dataset("tvsum", seed=3, n_videos=3, feature_dim=4)
    data_file = tmp_path / "target_test.h5"
    write_dataset(data_file, dataset.records.values(), dataset.attrs)
    rng = np.random.default_rng(0)
    predictions = {k: rng.random(dataset[k].n_steps) for k in dataset.keys}
    pred_file = write_predictions(tmp_path / "importance.h5", predictions)
    published = tmp_path / "published"
    published.mkdir()
    (published / "desumnet.yaml").write_text(
        PUBLISHED_MAP.replace("PRED", str(pred_file)).replace("DATA", str(data_file)))
    report = reproduce(ReproduceOptions(out_dir=tmp_path / "out", published=published,
                                        environ={}))
    cells = report.cells["desumnet"]
    expected = relative_to_human(dataset, {k: v.astype(np.float32) for k, v in
                                           predictions.items()})
    assert cells[("table3", "Scratch", "map5")].value == pytest.approx(expected, rel=1e-6)
    assert 0 < expected < 200
    assert cells[("table3", "Scratch", "f1")].status == "ok"
    # the published DeSumNet table has the column, on the demo videos
    paper = load_paper(ROOT / "experiments" / "published" / "desumnet.yaml")
    column = paper.tables[0].column("demo_map5")
    assert (column.metric, column.dataset) == ("map5_rel_human", "desumnet_demo")
