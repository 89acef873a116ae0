"""Pooling CV rounds kept in separate folders (one split seed / pretraining seed each) into
one Welch's t-test sample per method."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vsumlab.errors import VsumError
from vsumlab.evaluation.rounds import compare_round_folders, pooled_row


def write_round(folder: Path, name: str, split_seed: int, kendalls: list[float]) -> Path:
    """A results.json of one CV round: one fine-tuning seed (= the split seed), 2 folds."""
    folder.mkdir(parents=True)
    folds = [{"f1": 50.0 + k, "kendall": k, "spearman": 2 * k} for k in kendalls]
    row = {"name": name, "kind": "model", "folds": folds, "seeds": [split_seed] * len(folds),
           "seeds_used": [{"seed_everything": split_seed, "split_seed": split_seed}] * len(folds)}
    reference = {"name": "random", "kind": "reference", "folds": folds}
    (folder / "results.json").write_text(json.dumps({"rows": [reference, row]}))
    return folder


def test_each_folder_is_one_round_with_its_split_seed(tmp_path):
    base = [write_round(tmp_path / f"csta/round_{s}", "csta", s, k)
            for s, k in ((0, [0.1, 0.3]), (1, [0.2, 0.2]), (2, [0.3, 0.5]))]  # fmt: skip
    other = [write_round(tmp_path / f"visp/round_{s}", "visp", s, k)
             for s, k in ((0, [0.3, 0.5]), (1, [0.4, 0.4]), (2, [0.6, 0.4]))]  # fmt: skip
    row = pooled_row(base)
    assert row["seeds"] == ["round_0/seed=0"] * 2 + ["round_1/seed=1"] * 2 + ["round_2/seed=2"] * 2
    assert row["split_seeds"] == [0, 1, 2] and row["name"] == "csta"
    text = compare_round_folders(base, other, metrics=("kendall",))
    # round means: base 0.2, 0.2, 0.4; other 0.4, 0.4, 0.5 -> scipy's Welch test on them
    expected = stats.ttest_ind([0.4, 0.4, 0.5], [0.2, 0.2, 0.4], equal_var=False)
    assert f"| {expected.pvalue:.4f} |" in text and "(n=3)" in text
    assert f"{np.mean([0.4, 0.4, 0.5]) - np.mean([0.2, 0.2, 0.4]):+.4f}" in text
    assert "base split seeds [0, 1, 2]" in text


def test_missing_folders_are_named(tmp_path):
    with pytest.raises(VsumError, match="no results folders"):
        pooled_row([])
    with pytest.raises(VsumError, match="round_9.*no results.json"):
        pooled_row([tmp_path / "round_9"])
