"""The results report: mean ± 95% interval over replicas, n, PoR and the reference rows of the
run's own test videos (hand-computed on made-up results folders)."""

from __future__ import annotations

import math

import pytest

from vsumlab.training.fold_results import ResultRow, format_table, read_results, write_results
from vsumlab.training.result_groups import read_run
from vsumlab.training.result_report import format_run, row_report, table_lines

from ._results_folders import comparison, write_run


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def test_interval_and_por_of_a_model_row(tmp_path) -> None:
    # F1 48, 54, 60: mean 54, s = 6, s/sqrt(3) = 3.4641, t(0.975, 2) = 4.302653 -> ± 14.90
    # PoR 100·48/40, 100·54/45, 100·60/40 = 120, 120, 150: mean 130, s/sqrt(3) = 10 -> ± 43.0
    write_run(tmp_path, [48.0, 54.0, 60.0], [40.0, 45.0, 40.0], name="csta",
              compared=comparison("CSTA", "tvsum"))
    title, rows, meta = read_results(tmp_path)
    text = format_table(rows, title, meta)
    assert _line(text, "| CSTA · tvsum") == (
        "| CSTA · tvsum · canonical · 2 folds, split seed 0 | 54.00 ± 14.90 | 130.0 ± 43.0 | "
        "0.100 ± 0.000 | 0.200 ± 0.000 | 3 |")
    # random: 40, 45, 40 -> 41.67, s/sqrt(3) = 1.6667 -> ± 7.17; its own PoR is 100 by definition
    assert _line(text, "| random") == ("| random | 41.67 ± 7.17 | 100.0 ± 0.0 | 0.100 ± 0.000 | "
                                       "0.200 ± 0.000 | 3 |")
    assert text.splitlines()[:3] == ["### csta", "", "tvsum · canonical · 2 folds, split seed 0 · "
                                     "protocol: vsumlab defaults; dataset file data/tvsum.h5."]
    assert "| method | F1 (%) | PoR (%) | Kendall tau | Spearman rho | n |" in text
    assert "95% Student-t interval over the n replicas" in text


def test_reference_rows_count_each_split_once_over_seeds(tmp_path) -> None:
    # 2 folds x 2 seeds: the model has 4 replicas, the references 2 splits
    # model 50, 60, 52, 58: mean 55, s = 4.76095, s/2 = 2.380476, t(0.975, 3) = 3.182446 -> 7.5757
    # PoR 125, 120, 130, 116: mean 122.75, s/2 = 3.037955 -> ± 9.6681
    # random 40, 50 (per split): mean 45, s/sqrt(2) = 5, t(0.975, 1) = 12.7062 -> ± 63.53
    write_run(tmp_path, [50.0, 60.0, 52.0, 58.0], [40.0, 50.0, 40.0, 50.0], name="m",
              compared=comparison("CSTA", "tvsum"), fold_ids=[0, 1, 0, 1], seeds=[0, 0, 1, 1])
    run = read_run(tmp_path)
    (model,) = run.models
    report = row_report(model, run.random, "m")
    assert (report.n, report.metrics["f1"].mean) == (4, 55.0)
    assert report.metrics["f1"].half_width == pytest.approx(7.575738, abs=1e-5)
    assert report.per_split_por == pytest.approx([125.0, 120.0, 130.0, 116.0])
    assert report.por.mean == pytest.approx(122.75)
    assert report.por.half_width == pytest.approx(9.668128, abs=1e-5)
    text = format_run(run.rows, "m", run.meta)
    assert _line(text, "| random").startswith("| random | 45.00 ± 63.53 | 100.0 ± 0.0 |")
    assert _line(text, "| random").endswith("| 2 |")


def test_one_replica_prints_no_interval() -> None:
    rows = [ResultRow("m", [{"f1": 50.0, "kendall": 0.1, "spearman": 0.2}]),
            ResultRow("random", [{"f1": 40.0, "kendall": 0.0, "spearman": 0.0}],
                      kind="reference")]
    report = row_report(rows[0], rows[1], "m")
    assert math.isnan(report.metrics["f1"].half_width)
    assert table_lines([report])[2] == "| m | 50.00 | 125.0 | 0.100 | 0.200 | 1 |"


def test_results_json_keeps_its_fields_and_adds_the_report(tmp_path) -> None:
    rows = [ResultRow("m", [{"f1": 48.0, "kendall": 0.1, "spearman": 0.2},
                            {"f1": 60.0, "kendall": 0.1, "spearman": 0.2}]),
            ResultRow("random", [{"f1": 40.0, "kendall": 0.0, "spearman": 0.0},
                                 {"f1": 40.0, "kendall": 0.0, "spearman": 0.0}],
                      kind="reference")]
    write_results(tmp_path, rows, {"comparison": comparison("CSTA", "tvsum")}, "m")
    import json

    model = json.loads((tmp_path / "results.json").read_text())["rows"][0]
    # the fields older readers use are unchanged: mean, std (over folds), folds
    assert (model["name"], model["f1"], model["f1_std"]) == ("m", 54.0, 6.0)
    # added: n, the interval half-width and PoR (120, 150 -> 135)
    assert model["n"] == 2 and model["f1_ci95"] == pytest.approx(12.706205 * 6.0, abs=1e-4)
    assert model["por"] == pytest.approx(135.0) and model["por_per_split"] == [120.0, 150.0]
    assert model["label"] == "CSTA · tvsum · canonical · 2 folds, split seed 0"
    _, back, _ = read_results(tmp_path)  # the added fields are recomputed, not read back
    assert "por" not in back[0].extra and back[0].mean("f1") == 54.0
