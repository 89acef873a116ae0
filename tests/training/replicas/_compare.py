"""What an exact resume means for a replica run: each fold's predictions, metrics and CSV log
equal the uninterrupted run's."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vsumlab.evaluation.predictions import read_predictions


def assert_same_fold_outputs(full: Path, resumed: Path, folds: Iterable[Path]) -> None:
    """``folds`` (relative fold folders) hold identical outputs under ``full`` and ``resumed``."""
    for fold in folds:
        expected = read_predictions(full / fold / "predictions.h5")
        got = read_predictions(resumed / fold / "predictions.h5")
        assert sorted(got) == sorted(expected)
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
        a, b = (json.loads((d / fold / "result.json").read_text()) for d in (full, resumed))
        assert b["model"] == a["model"] and b["val"] == a["val"]
        assert ((resumed / fold / "csv" / "metrics.csv").read_text()
                == (full / fold / "csv" / "metrics.csv").read_text())
