"""Welch's t-test between repeated CV rounds (vsumlab.evaluation.significance)."""

import math

import pytest
from scipy import stats

from vsumlab.errors import VsumError
from vsumlab.evaluation.significance import (
    compare_results,
    compare_rounds,
    format_comparison,
    round_scores,
    welch_t_test,
)


def test_welch_by_hand():
    base, other = [1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0]
    # means 2.5 and 5; variances 5/3 and 4; standard error sqrt(5/12 + 4/3) = sqrt(1.75)
    t = 2.5 / math.sqrt(1.75)
    dof = 1.75**2 / ((5 / 12) ** 2 / 3 + (4 / 3) ** 2 / 2)
    result = welch_t_test(base, other)
    assert result.t == pytest.approx(t, rel=1e-9)
    assert result.dof == pytest.approx(dof, rel=1e-9)
    assert result.dof == pytest.approx(3.2347, abs=1e-4)
    assert result.p_value == pytest.approx(2 * stats.t.sf(t, dof), rel=1e-6)
    assert result.difference == pytest.approx(2.5)
    assert (result.n_base, result.n_other) == (4, 3)


def test_identical_samples_are_not_significant():
    result = welch_t_test([1.0, 2.0, 4.0], [4.0, 1.0, 2.0])
    assert result.t == pytest.approx(0.0) and result.p_value == pytest.approx(1.0)


def rows():
    base = {
        "name": "csta",
        "folds": [{"f1": 50, "kendall": 0.10, "spearman": 0.11}, {"f1": 52, "kendall": 0.12, "spearman": 0.12},
                  {"f1": 51, "kendall": 0.11, "spearman": 0.13}, {"f1": 53, "kendall": 0.13, "spearman": 0.10},
                  {"f1": 49, "kendall": 0.09, "spearman": 0.12}, {"f1": 50, "kendall": 0.10, "spearman": 0.14}],
        "seeds": [0, 0, 1, 1, 2, 2],
    }  # fmt: skip
    other = {
        "name": "visp+csta",
        "folds": [{"f1": 55, "kendall": 0.15, "spearman": 0.2}, {"f1": 57, "kendall": 0.17, "spearman": 0.2},
                  {"f1": 56, "kendall": 0.14, "spearman": 0.3}, {"f1": 57, "kendall": 0.16, "spearman": 0.3}],
        "seeds": [7, 7, 8, 8],
    }  # fmt: skip
    return base, other


def test_round_scores_are_per_seed_fold_means():
    base, other = rows()
    assert round_scores(base, "f1") == [51.0, 52.0, 49.5]
    assert round_scores(other, "kendall") == pytest.approx([0.16, 0.15])


def test_compare_rounds_tests_each_metric():
    base, other = rows()
    results = compare_rounds(base, other)
    assert set(results) == {"f1", "kendall", "spearman"}
    expected = welch_t_test([51.0, 52.0, 49.5], [56.0, 56.5])
    assert results["f1"] == expected
    text = format_comparison("csta", "visp+csta", results)
    assert "| f1 | 50.8333 (n=3) | 56.2500 (n=2) | +5.4167 |" in text


def test_a_single_round_is_refused_with_the_fix():
    base, other = rows()
    other["seeds"] = [None] * 4
    with pytest.raises(VsumError, match="other sample needs at least 2 rounds.*--seeds"):
        compare_rounds(base, other)


def test_malformed_rows_are_named():
    base, _ = rows()
    with pytest.raises(VsumError, match="'csta': field 'seeds' has 2 entries.*6"):
        round_scores({**base, "seeds": [0, 1]}, "f1")
    with pytest.raises(VsumError, match="'x': field 'folds'"):
        round_scores({"name": "x", "folds": []}, "f1")
    with pytest.raises(VsumError, match="unknown metric 'acc'"):
        round_scores(base, "acc")


def test_compare_results_reads_model_rows_of_results_folders(tmp_path):
    import json

    base, other = rows()
    for name, row in (("base", base), ("other", other)):
        (tmp_path / name).mkdir()
        reference = {"name": "random", "kind": "reference", "folds": row["folds"]}
        payload = {"rows": [{**row, "kind": "model"}, reference]}
        (tmp_path / name / "results.json").write_text(json.dumps(payload))
    text = compare_results(tmp_path / "base", tmp_path / "other")
    assert "visp+csta vs csta" in text and "| f1 | 50.8333 (n=3) | 56.2500 (n=2) |" in text
    with pytest.raises(VsumError, match="no results.json"):
        compare_results(tmp_path / "missing", tmp_path / "other")


def test_results_command_prints_the_t_test_for_several_seeds(tmp_path, capsys):
    import json

    from vsumlab.cli.main import main

    base, other = rows()
    for name, row in (("base", base), ("other", other)):
        (tmp_path / name).mkdir()
        means = {m: sum(f[m] for f in row["folds"]) / len(row["folds"])
                 for m in ("f1", "kendall", "spearman")}
        # both runs scored the same test videos: `vsumlab results` groups (and tests) them
        comparison = {"method": name, "dataset": "tvsum", "dataset_path": "tvsum.h5",
                      "setting": "canonical", "split_source": "5 folds, split seed 0",
                      "protocol": None}
        payload = {"comparison": comparison, "rows": [{**row, **means, "kind": "model"}]}
        (tmp_path / name / "results.json").write_text(json.dumps(payload))
    assert main(["results", str(tmp_path / "base"), str(tmp_path / "other")]) == 0
    out = capsys.readouterr().out
    assert "Welch's t-test, visp+csta vs csta" in out
    assert "| f1 | 50.8333 (n=3) | 56.2500 (n=2) | +5.4167 |" in out
    assert main(["results", "--json", str(tmp_path / "base"), str(tmp_path / "other")]) == 0
    tests = json.loads(capsys.readouterr().out)["significance"]
    assert tests[0]["base"] == "csta" and tests[0]["other"] == "visp+csta"
    assert tests[0]["f1"]["p_value"] == pytest.approx(
        welch_t_test([51.0, 52.0, 49.5], [56.0, 56.5]).p_value)
    # one folder, or single-seed runs: the table alone
    assert main(["results", str(tmp_path / "base")]) == 0
    assert "Welch" not in capsys.readouterr().out
