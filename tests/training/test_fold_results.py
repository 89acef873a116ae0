"""CV results tables state which annotations the rank correlations compared with."""

from __future__ import annotations

from vsumlab.cli.main import main
from vsumlab.training.fold_results import ResultRow, format_table, read_results, write_results

FOLD = {"f1": 50.0, "kendall": 0.1, "spearman": 0.12}


def test_tables_and_results_files_state_the_ranking_annotations(tmp_path, capsys) -> None:
    rows = [
        ResultRow("model", [FOLD], extra={"ranked_by": "user_anno"}),
        ResultRow("human", [FOLD], kind="reference", extra={"ranked_by": "user_anno"}),
    ]
    assert format_table(rows).endswith("\nRank correlation against: user_anno.\n")
    write_results(tmp_path, rows, {"ranked_by": "user_anno"}, "run")
    _, back, meta = read_results(tmp_path)
    assert meta["ranked_by"] == "user_anno" and back[0].extra["ranked_by"] == "user_anno"
    assert main(["results", str(tmp_path)]) == 0
    assert "Rank correlation against: user_anno." in capsys.readouterr().out
    # merged folders that ranked differently say so per row
    mixed = [rows[0], ResultRow("other", [FOLD], extra={"ranked_by": "user_summary"})]
    assert "model: user_anno; other: user_summary" in format_table(mixed)
    # folders written before this was recorded print no claim about it
    assert "Rank correlation" not in format_table([ResultRow("old", [FOLD])])
