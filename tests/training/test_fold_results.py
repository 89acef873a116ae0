"""CV results tables state which annotations the rank correlations compared with."""

from __future__ import annotations

import pytest

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


# ------------------------------------------------------------------ a fold's result.json
def _fold_result() -> dict:
    metrics = {"f1": 50.0, "kendall": 0.1, "spearman": 0.2}
    return {"fold": 0, "seed": None, "model": dict(metrics), "model_selection": "last",
            "references": {"random": dict(metrics)}}


@pytest.mark.parametrize(("text", "message"), [
    ('{"fold": 0, "mod', r"not valid JSON \(line 1"),
    ("{}", "key 'fold': expected the fold's number, got nothing"),
    ("[]", "expected a JSON object, got list"),
    ('{"fold": 0, "fold": 0}', "key 'fold' appears twice"),
])
def test_a_broken_fold_result_is_refused_naming_file_and_key(tmp_path, text, message) -> None:
    from vsumlab.errors import VsumError
    from vsumlab.training.fold_results import read_fold_result

    file = tmp_path / "result.json"
    file.write_text(text)
    with pytest.raises(VsumError, match=f"^{file}: (fold result )?.*{message}.*remove it to "
                                        "run the fold again"):
        read_fold_result(file)


@pytest.mark.parametrize(("edit", "key"), [
    (lambda r: r["model"].pop("kendall"), "model"),
    (lambda r: r["model"].update(f1="50"), "model"),
    (lambda r: r["references"]["random"].update(f1=None), "references.random"),
    (lambda r: r.update(fold="0"), "fold"),
    (lambda r: r.update(model_selection=3), "model_selection"),
])
def test_a_fold_result_of_the_wrong_kinds_is_refused(tmp_path, edit, key) -> None:
    import json

    from vsumlab.errors import VsumError
    from vsumlab.training.fold_results import read_fold_result

    file = tmp_path / "result.json"
    file.write_text(json.dumps(_fold_result()))
    assert read_fold_result(file) == _fold_result()
    result = _fold_result()
    edit(result)
    file.write_text(json.dumps(result))
    with pytest.raises(VsumError, match=f"^{file}: key '{key}': expected"):
        read_fold_result(file)
