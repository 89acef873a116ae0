"""``vsumlab data kts FEATURES.npy``: output forms and one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from vsumlab.cli.data_kts import add_kts_parser
from vsumlab.cli.main import main


@pytest.fixture
def features(tmp_path: Path) -> Path:
    # three noise-free scenes of 4, 6 and 5 steps: KTS cuts at steps 4 and 10
    rng = np.random.default_rng(0)
    x = np.repeat(np.abs(rng.normal(size=(3, 16))), [4, 6, 5], axis=0).astype(np.float32)
    path = tmp_path / "clip.npy"
    np.save(path, x)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["data", "kts", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_change_points_on_one_line(features, capsys):
    assert run(capsys, str(features)) == (0, "4 10\n", "")
    # one cut leaves scatter 0.1302 per step, plus penalty 0.1236 > 0.2327 for no cut at all;
    # two cuts cost only their penalty, 0.2010
    assert run(capsys, str(features), "--max-change-points", "1") == (0, "\n", "")
    assert run(capsys, str(features), "--max-change-points", "1", "--vmax", "0.3") == (0, "10\n", "")
    assert run(capsys, str(features), "--vmax", "100") == (0, "\n", "")


def test_json(features, capsys):
    code, out, _ = run(capsys, str(features), "--json")
    assert code == 0
    assert json.loads(out) == {"change_points": [4, 10], "n_steps": 15}


def test_own_parser_without_the_main_cli(features, capsys):
    parser = argparse.ArgumentParser()
    add_kts_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["kts", str(features), "--json", "--vmax", "0.5"])
    assert args.handler(args) == 0
    assert json.loads(capsys.readouterr().out)["change_points"] == [4, 10]


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (None, [], "missing.npy: no such file"),
        ("text", [], "clip.txt: expected a .npy file of (steps, dim) features"),
        ("1d", [], "clip.npy: expected a 2-D (steps, dim) feature array, got (7,)"),
        ("garbage", [], "clip.npy: not a readable .npy array"),
        ("nan", [], "clip.npy: features contain NaN or inf (first at step 2)"),
        ("ok", ["--vmax", "-1"], "--vmax: expected a finite number >= 0, got -1.0"),
        ("ok", ["--max-change-points", "-3"], "--max-change-points: expected >= 0, got -3"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, make, extra, message):
    path = tmp_path / ("clip.txt" if make == "text" else "clip.npy")
    if make is None:
        path = tmp_path / "missing.npy"
    elif make == "text":
        path.write_text("1 2 3\n")
    elif make == "1d":
        np.save(path, np.arange(7.0))
    elif make == "garbage":
        path.write_bytes(b"not an npy file")
    elif make == "nan":
        np.save(path, np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, 1.0]]))
    else:
        np.save(path, np.eye(3))
    code, out, err = run(capsys, str(path), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("vsumlab: error: "), err
    assert message in err, err
