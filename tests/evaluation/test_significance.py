"""Comparisons of two runs (vsumlab.evaluation.significance): Welch's t-test between repeated
CV rounds, the paired t-test over shared (split, seed) replicas, and which one runs."""

import math

import pytest
from scipy import stats

from vsumlab.errors import VsumError
from vsumlab.evaluation.significance import (
    Replicas,
    compare_models,
    compare_results,
    compare_rounds,
    format_comparison,
    paired_t_test,
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


# ----------------------------------------------------------------------------- paired replicas
def test_paired_t_by_hand():
    base, other = [50.0, 52.0, 51.0, 53.0], [55.0, 56.0, 52.0, 58.0]
    # differences 5, 4, 1, 5: mean 3.75, squared deviations sum 10.75, variance 10.75 / 3,
    # standard error sqrt(10.75 / 3 / 4); t with 3 degrees of freedom, whose two-sided p has
    # the closed form 1 - (2 / pi) * (x / (1 + x^2) + atan(x)), x = t / sqrt(3)
    t = 3.75 / math.sqrt(10.75 / 12)
    x = t / math.sqrt(3)
    p = 1 - (2 / math.pi) * (x / (1 + x * x) + math.atan(x))
    result = paired_t_test(base, other)
    assert result.test == "paired t-test" and result.dof == 3
    assert result.t == pytest.approx(t, rel=1e-12) and result.t == pytest.approx(3.9620, abs=1e-4)
    assert result.p_value == pytest.approx(p, rel=1e-9) and p == pytest.approx(0.02872, abs=1e-5)
    assert (result.n_base, result.n_other, result.difference) == (4, 4, 3.75)
    # the same values unpaired: Welch's test cannot remove what each pair shares
    assert welch_t_test(base, other).p_value > 0.049


def test_paired_needs_two_equal_length_samples():
    with pytest.raises(VsumError, match="equal length, got 3 and 2"):
        paired_t_test([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(VsumError, match="at least 2 pairs"):
        paired_t_test([1.0], [2.0])


def _row(name, f1s, seeds):
    return {"name": name, "seeds": seeds,
            "folds": [{"f1": v, "kendall": v / 100, "spearman": v / 200} for v in f1s]}


def test_shared_replicas_pair_by_split_and_seed_not_by_position():
    base = _row("a", [50.0, 52.0, 51.0, 53.0], [0, 0, 0, 0])
    # the other run lists the same four replicas in another order
    other = _row("b", [58.0, 52.0, 55.0, 56.0], [0, 0, 0, 0])
    keys = Replicas((("s0", 0), ("s1", 0), ("s2", 0), ("s3", 0)))
    shuffled = Replicas((("s3", 0), ("s2", 0), ("s0", 0), ("s1", 0)))
    results = compare_models(base, other, keys, shuffled)
    assert results["f1"] == paired_t_test([50, 52, 51, 53], [55, 56, 52, 58])
    assert results["kendall"].test == "paired t-test"
    text = format_comparison("a", "b", results)
    assert text.startswith("Paired t-test (scipy.stats.ttest_rel), b vs a over 4 (split, seed)")
    assert "| f1 | 51.5000 (n=4) | 55.2500 (n=4) | +3.7500 | 3.962 | 3.0 | 0.0287 |" in text


def test_a_replica_repeated_within_a_run_pairs_in_order():
    base = _row("a", [50.0, 52.0, 51.0], [0, 0, 1])
    other = _row("b", [55.0, 56.0, 52.0], [0, 0, 1])
    keys = Replicas((("s0", 0), ("s0", 0), ("s0", 1)))
    assert compare_models(base, other, keys, keys)["f1"] == paired_t_test([50, 52, 51],
                                                                         [55, 56, 52])


def test_runs_on_other_splits_are_never_paired():
    base, other = rows()  # seeds 0,0,1,1,2,2 and 7,7,8,8
    base_keys = Replicas(tuple((f"s{i % 2}", s) for i, s in enumerate(base["seeds"])))
    other_keys = Replicas(tuple((f"s{i % 2}", s) for i, s in enumerate(other["seeds"])))
    results = compare_models(base, other, base_keys, other_keys)
    assert results["f1"].test == "Welch's t-test"
    assert results["f1"].p_value == welch_t_test([51.0, 52.0, 49.5], [56.0, 56.5]).p_value
    assert "do not share their (split, seed) replicas (0 of 6 and 4 in common)" in (
        results["f1"].note)
    text = format_comparison("csta", "visp+csta", results)
    assert "Welch's t-test, visp+csta vs csta" in text and "\nNot paired: the runs do not" in text
    # a partial overlap is not paired either
    partial = Replicas(base_keys.keys[:4] + (("s9", 7), ("s9", 8)))  # type: ignore[operator]
    assert compare_models(base, base, base_keys, partial)["f1"].note.endswith(
        "(4 of 6 and 6 in common)")
    unknown = compare_models(base, other, base_keys, Replicas(None, "fold_0 records no split"))
    assert unknown["f1"].note == "the other run's splits are not known (fold_0 records no split)"


def test_no_test_when_neither_pairs_nor_rounds():
    base = _row("a", [50.0, 52.0], [None, None])
    other = _row("b", [55.0, 56.0], [None, None])
    assert compare_models(base, other, Replicas((("s0", 0), ("s1", 0))),
                          Replicas((("s0", 0), ("s2", 0)))) is None
    one = Replicas((("s0", 0),))
    assert compare_models(_row("a", [1.0], [0]), _row("b", [2.0], [0]), one, one) is None


def _results_folder(root, name, f1s, digests, seed=0):
    """A results folder as `vsumlab cv` writes it: the model row and each fold's result.json
    with its split record."""
    import json

    folder = root / name
    folder.mkdir()
    folds = [{"f1": v, "kendall": v / 100, "spearman": v / 200} for v in f1s]
    row = {"name": name, "kind": "model", "folds": folds, "seeds": [seed] * len(f1s),
           "fold_ids": list(range(len(f1s))), "f1": sum(f1s) / len(f1s),
           "kendall": sum(f1s) / len(f1s) / 100, "spearman": sum(f1s) / len(f1s) / 200}
    # one comparable group (dataset, setting, split source, protocol): `vsumlab results`
    # compares runs within a group only
    comparison = {"method": name, "dataset": "tvsum", "dataset_path": "tvsum.h5",
                  "setting": "canonical", "split_source": "random:4", "protocol": None}
    (folder / "results.json").write_text(json.dumps({"comparison": comparison, "rows": [row]}))
    for fold, digest in enumerate(digests):
        fold_dir = folder / f"seed_{seed}" / f"fold_{fold}"
        fold_dir.mkdir(parents=True)
        result = {"fold": fold, "seed": seed, "seeds": {"seed_everything": seed},
                  "split": {"source": "random", "index": fold, "digest": digest}}
        (fold_dir / "result.json").write_text(json.dumps(result))
    return folder


def test_results_command_pairs_runs_on_identical_splits(tmp_path, capsys):
    import json

    from vsumlab.cli.main import main

    digests = ["d0", "d1", "d2", "d3"]
    base = _results_folder(tmp_path, "base", [50.0, 52.0, 51.0, 53.0], digests)
    other = _results_folder(tmp_path, "other", [55.0, 56.0, 52.0, 58.0], digests)
    elsewhere = _results_folder(tmp_path, "elsewhere", [55.0, 56.0, 52.0, 58.0],
                                ["e0", "e1", "e2", "e3"])
    assert main(["results", str(base), str(other), str(elsewhere)]) == 0
    out = capsys.readouterr().out
    assert "Paired t-test (scipy.stats.ttest_rel), other vs base over 4 (split, seed)" in out
    assert "| f1 | 51.5000 (n=4) | 55.2500 (n=4) | +3.7500 | 3.962 | 3.0 | 0.0287 |" in out
    # single-seed runs on other splits: no test can run, and none is claimed
    assert "elsewhere vs base" not in out and "Welch" not in out
    assert main(["results", "--json", str(base), str(other / "results.json")]) == 0
    (test,) = json.loads(capsys.readouterr().out)["significance"]
    assert test["other"] == "other" and test["f1"]["test"] == "paired t-test"
    assert test["f1"]["p_value"] == pytest.approx(0.0287156, abs=1e-6)
