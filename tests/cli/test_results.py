"""`vsumlab results A B ...`: one table per (dataset, setting, split source, protocol), each
with its own reference rows; runs that cannot be compared printed apart; older folders still
print, named by what they record; bad folders are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.training._results_folders import comparison, write_old_run, write_run

from vsumlab.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CAP2SUM = {"class_path": "vsumlab.models.cap2sum.Cap2SumModule",
           "init_args": {"mode": "supervised"}}


def _tables(text: str) -> dict[str, list[str]]:
    """Each table's lines, by its heading."""
    tables: dict[str, list[str]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("### "):
            heading = line[4:]
            tables[heading] = []
        elif line.startswith("| ") and heading:
            tables[heading].append(line)
    return tables


def _row(lines: list[str], start: str) -> str:
    (found,) = [line for line in lines if line.startswith(start)]
    return found


def test_a_summe_run_is_never_printed_beside_tvsum_reference_rows(tmp_path, capsys) -> None:
    # the wrong number of the issue: Cap2Sum on SumMe (F1 47) beside TVSum's random (26) read
    # 21 points above random; on its own test videos random reaches 61: 14 below
    tvsum = write_run(tmp_path / "tvsum", [60.0, 60.0], [26.0, 26.0], name="transformer_tvsum",
                      compared=comparison("Transformer", "tvsum"))
    summe = write_run(tmp_path / "summe", [47.0, 47.0], [61.0, 61.0], name="finetune_summe",
                      compared=comparison("Cap2Sum (sup.)", "summe"), human=80.0)
    assert main(["results", str(tvsum), str(summe)]) == 0
    tables = _tables(capsys.readouterr().out)
    summe_table = tables["summe · canonical · 2 folds, split seed 0 · protocol: vsumlab defaults"]
    tvsum_table = tables["tvsum · canonical · 2 folds, split seed 0 · protocol: vsumlab defaults"]
    assert _row(summe_table, "| random").startswith("| random | 61.00 ± 0.00 | 100.0 ± 0.0 |")
    assert _row(summe_table, "| human").startswith("| human | 80.00 ± 0.00 |")
    # PoR 100 · 47 / 61 = 77.0: below random, as on its own data
    assert _row(summe_table, "| Cap2Sum (sup.) · summe").startswith(
        "| Cap2Sum (sup.) · summe · canonical · 2 folds, split seed 0 | 47.00 ± 0.00 | "
        "77.0 ± 0.0 |")
    assert not any(line.startswith("| Cap2Sum") for line in tvsum_table)
    assert _row(tvsum_table, "| random").startswith("| random | 26.00 ± 0.00 |")
    # --json carries the same groups
    assert main(["results", "--json", str(tvsum), str(summe)]) == 0
    data = json.loads(capsys.readouterr().out)
    groups = {g["description"]["dataset"]: g for g in data["groups"]}
    assert sorted(groups) == ["summe", "tvsum"] and data["apart"] == []
    random = next(r for r in groups["summe"]["rows"] if r["label"] == "random")
    model = groups["summe"]["rows"][0]
    assert random["f1"] == 61.0 and model["por"] == pytest.approx(100 * 47 / 61)
    assert [r["folder"] for r in groups["summe"]["runs"]] == [str(summe)]


def test_runs_of_one_group_share_reference_rows_or_say_they_differ(tmp_path, capsys) -> None:
    a = write_run(tmp_path / "a", [50.0, 52.0], [40.0, 42.0], name="csta",
                  compared=comparison("CSTA", "tvsum"))
    b = write_run(tmp_path / "b", [55.0, 57.0], [40.0, 42.0], name="visp",
                  compared=comparison("ViSP+CSTA", "tvsum"))
    assert main(["results", str(a), str(b)]) == 0
    (table,) = _tables(capsys.readouterr().out).values()
    assert len([line for line in table if line.startswith("| random |")]) == 1
    assert _row(table, "| ViSP+CSTA")
    # the same group, other reference draws: each run keeps its own, and the report says so
    c = write_run(tmp_path / "c", [55.0, 57.0], [41.0, 43.0], name="visp",
                  compared=comparison("ViSP+CSTA", "tvsum"))
    assert main(["results", str(a), str(c)]) == 0
    out = capsys.readouterr().out
    assert "The runs of this group have different reference rows" in out
    (table,) = _tables(out).values()
    assert _row(table, "| random (of csta)").startswith("| random (of csta) | 41.00 ±")
    assert _row(table, "| random (of visp)").startswith("| random (of visp) | 42.00 ±")


def test_another_protocol_or_setting_is_another_table(tmp_path, capsys) -> None:
    a = write_run(tmp_path / "a", [50.0, 52.0], [40.0, 42.0], compared=comparison("CSTA", "tvsum"))
    dsnet = comparison("CSTA", "tvsum")
    dsnet["protocol"] = {**dsnet["protocol"], "preset": "dsnet"}
    b = write_run(tmp_path / "b", [50.0, 52.0], [40.0, 42.0], compared=dsnet)
    c = write_run(tmp_path / "c", [50.0, 52.0], [40.0, 42.0],
                  compared=comparison("CSTA", "tvsum", "transfer", "one split: all videos"))
    assert main(["results", str(a), str(b), str(c)]) == 0
    assert len(_tables(capsys.readouterr().out)) == 3


def test_runs_that_record_no_dataset_are_printed_apart(tmp_path, capsys) -> None:
    grouped = write_run(tmp_path / "a", [50.0, 52.0], [40.0, 42.0],
                        compared=comparison("CSTA", "tvsum"))
    bare = write_run(tmp_path / "bare", [47.0, 47.0], [61.0, 61.0], name="mystery")
    assert main(["results", str(grouped), str(bare / "results.json")]) == 0
    out = capsys.readouterr().out
    assert "Printed apart, compared with no other run: its dataset is not recorded" in out
    apart = _tables(out)[f"mystery ({bare})"]
    assert _row(apart, "| random").startswith("| random | 61.00 ± 0.00 |")  # its own


def test_older_folders_print_named_by_their_records(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    # three runs of recipes all called finetune_tvsum, written before results.json recorded
    # what they are: their config.yaml (and fold result.json) tell
    clipit = {"class_path": "vsumlab.models.clipit.CLIPItModule", "init_args": {}}
    csta = {"class_path": "vsumlab.models.summarizer.SummarizerModule",
            "init_args": {"summarizer": "csta"}}
    data = {"dataset": "data/tvsum.h5"}
    folders = [write_old_run(tmp_path / "cap2sum", [50.0, 52.0], [40.0, 42.0],
                             name="finetune_tvsum", model=CAP2SUM, data=data),
               write_old_run(tmp_path / "clipit", [54.0, 56.0], [40.0, 42.0],
                             name="finetune_tvsum", model=clipit, data=data),
               write_old_run(tmp_path / "visp", [58.0, 60.0], [40.0, 42.0],
                             name="finetune_tvsum", model=csta, data=data,
                             in_fold_results=False)]  # older still: config.yaml alone
    (folders[2] / "run.json").write_text(
        json.dumps({"pretrain": {"recipe": "experiments/visp/pretrain.yaml"}}))
    assert main(["results", *map(str, folders)]) == 0
    out = capsys.readouterr().out
    (table,) = _tables(out).values()
    labels = [line.split(" | ")[0][2:] for line in table[1:]]  # after the header
    assert labels == ["Cap2Sum (sup.) · tvsum · canonical · 2 folds, split seed 0",
                      "CLIP-It · tvsum · canonical · 2 folds, split seed 0",
                      "ViSP+CSTA · tvsum · canonical · 2 folds, split seed 0",
                      "random", "uniform", "human"]
    # PoR of CLIP-It: 100·54/40 = 135, 100·56/42 = 133.3 -> 134.2
    assert _row(table, "| CLIP-It").split(" | ")[2].startswith("134.2 ±")


def test_same_labels_add_the_experiment(tmp_path, capsys) -> None:
    a = write_run(tmp_path / "a", [50.0, 52.0], [40.0, 42.0], name="lr_small",
                  compared=comparison("CSTA", "tvsum"))
    b = write_run(tmp_path / "b", [51.0, 53.0], [40.0, 42.0], name="lr_large",
                  compared=comparison("CSTA", "tvsum"))
    assert main(["results", str(a), str(b)]) == 0
    (table,) = _tables(capsys.readouterr().out).values()
    assert _row(table, "| CSTA · tvsum · canonical · 2 folds, split seed 0 [lr_small] |")
    assert _row(table, "| CSTA · tvsum · canonical · 2 folds, split seed 0 [lr_large] |")


@pytest.mark.parametrize(("make", "named", "expected"), [
    (lambda d: d.mkdir(), "results.json", "no results.json"),
    (lambda d: (d.mkdir(), (d / "results.json").write_text('{"rows": [')), "results.json",
     "not a vsumlab results file"),
    (lambda d: (d.mkdir(), (d / "results.json").write_text('{"rows": [{"name": "m", '
                                                           '"folds": 3}]}')),
     "results.json", "not a vsumlab results file"),
    (lambda d: None, "", "no such results folder"),
])
def test_bad_folders_are_one_line_errors(tmp_path, capsys, make, named, expected) -> None:
    folder = tmp_path / "bad"
    make(folder)
    assert main(["results", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("vsumlab: error: ") and str(folder / named).rstrip("/") in line
    assert expected in line


def test_a_corrupt_fold_result_of_an_older_folder_is_a_one_line_error(tmp_path, capsys) -> None:
    folder = write_old_run(tmp_path / "old", [50.0, 52.0], [40.0, 42.0], name="x",
                           model=CAP2SUM, data={"dataset": "data/tvsum.h5"})
    broken = folder / "seed_default" / "fold_1" / "result.json"
    broken.write_text("{not json")
    assert main(["results", str(folder)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"vsumlab: error: {broken}: not a readable fold result")
