from __future__ import annotations

from pathlib import Path

from vsumlab.training.progress import CVProgress

MODEL = {"f1": 50.0, "kendall": 0.1, "spearman": 0.2}


def test_a_fold_finished_by_an_earlier_run_says_it_was_skipped(capsys) -> None:
    progress = CVProgress(3, None)
    progress.header("demo", Path("r.yaml"), 3, 3, 1, "last", Path("runs/x"))
    progress.skipped(0, None)
    progress.skipped(1, 7)  # another seed: fold 1 of seed None below ran
    for fold in (0, 1):
        progress.fold_done({"fold": fold, "seed": None, "model": MODEL})
    progress.fold_done({"fold": 1, "seed": 7, "model": MODEL})
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("fold 0: F1 50.00") and lines[1].endswith(
        "  (finished earlier: skipped)")
    assert "skipped" not in lines[2]
    assert lines[3].startswith("fold 1 seed 7: ") and lines[3].endswith("(finished earlier: skipped)")
