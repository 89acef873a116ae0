"""`vsumlab eval`, `eval human`, `eval baselines`: outputs and one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset, write_dataset
from vsumlab.evaluation.metrics import evaluate_dataset, human_reference
from vsumlab.evaluation.predictions import write_predictions
from vsumlab.protocol.options import Protocol

from ._records import random_record


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("eval_cli")
    rng = np.random.default_rng(11)
    records = [random_record(rng, f"video_{i + 1}", int(rng.integers(400, 900))) for i in range(3)]
    dataset = write_dataset(
        folder / "mini.h5", records, attrs={"dataset_name": "mini", "annotation_style": "tvsum"}
    )
    scores = {r.key: rng.random(r.n_steps) for r in records}
    return {
        "dataset": dataset,
        "preds": write_predictions(folder / "preds.h5", scores),
        "short": write_predictions(folder / "short.npz", {"video_1": scores["video_1"]}),
        "long": write_predictions(
            folder / "long.npz", {**scores, "video_2": np.append(scores["video_2"], 0.5)}
        ),
    }


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors exit (code 2) from inside main
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_prints_table_with_every_video_and_mean(files, capsys):
    code, out, _ = _run(
        capsys, "eval", "--dataset", str(files["dataset"]), "--predictions", str(files["preds"])
    )
    assert code == 0
    assert all(f"video_{i}" in out for i in (1, 2, 3)) and "\nmean" in out
    assert "F1 reduction over users: mean" in out and "Kendall tau-b (full)" in out


def test_eval_json_matches_library_with_options(files, capsys):
    code, out, _ = _run(
        capsys,
        "eval",
        "--dataset",
        str(files["dataset"]),
        "--predictions",
        str(files["preds"]),
        "--json",
        "--rank-rate",
        "2fps",
        "--f1-reduction",
        "max",
        "--budget",
        "0.2",
        "--keys",
        "video_1,video_3",
    )
    assert code == 0
    payload = json.loads(out)
    from vsumlab.evaluation.predictions import read_predictions

    protocol = Protocol(rank_rate="2fps", f1_reduction="max", budget=0.2)
    expected = evaluate_dataset(
        read_dataset(files["dataset"]),
        read_predictions(files["preds"]),
        protocol,
        keys=["video_1", "video_3"],
    )
    assert list(payload["videos"]) == ["video_1", "video_3"]
    assert payload["protocol"]["budget"] == 0.2 and payload["rank_rate"] == "2fps"
    assert payload["mean"]["f1"] == pytest.approx(expected.mean.f1)
    assert payload["mean"]["kendall"] == pytest.approx(expected.mean.kendall)


def test_eval_human_both_argument_orders(files, capsys):
    code, out, _ = _run(capsys, "eval", "human", "--dataset", str(files["dataset"]), "--json")
    assert code == 0
    expected = human_reference(read_dataset(files["dataset"]))
    assert json.loads(out)["mean"]["spearman"] == pytest.approx(expected.mean.spearman)
    code, out, _ = _run(capsys, "eval", "--dataset", str(files["dataset"]), "human")
    assert code == 0 and out.startswith("human on mini")


def test_eval_baselines_rows(files, capsys):
    code, out, _ = _run(
        capsys,
        "eval",
        "baselines",
        "--dataset",
        str(files["dataset"]),
        "--draws",
        "3",
        "--seed",
        "1",
    )
    assert code == 0
    for row in ("random (3 draws, seed 1)", "uniform", "human (leave-one-out)"):
        assert row in out
    code, out, _ = _run(
        capsys, "eval", "baselines", "--dataset", str(files["dataset"]), "--draws", "2", "--json"
    )
    assert code == 0 and set(json.loads(out)["rows"]) == {
        "random (2 draws, seed 0)",
        "uniform",
        "human (leave-one-out)",
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--predictions", "{short}"], "short.npz: missing video(s) video_2, video_3"),
        (["--predictions", "{long}"], "long.npz: video 'video_2': expected shape"),
        (["--predictions", "{preds}", "--tie-break", "coin"], "invalid choice: 'coin'"),
        (["--predictions", "{preds}", "--budget", "2"], "budget=2.0 must be in (0, 1]"),
        (["--predictions", "{preds}", "--keys", "video_8"], "unknown video key(s) video_8"),
        (["--predictions", "{dataset}.missing.h5"], "no such predictions file"),
        ([], "--predictions FILE is required"),
    ],
)
def test_bad_input_is_one_line_exit_2(files, capsys, extra, message):
    argv = ["eval", "--dataset", str(files["dataset"])]
    argv += [arg.format(**{k: str(v) for k, v in files.items()}) for arg in extra]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_missing_dataset_file_is_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "eval", "human", "--dataset", str(tmp_path / "none.h5"))
    assert code == 2 and "none.h5: no such file" in err and err.count("\n") == 1


def test_unknown_style_and_subcommand(files, capsys):
    code, _, err = _run(
        capsys, "eval", "human", "--dataset", str(files["dataset"]), "--style", "ovp"
    )
    assert code == 2 and "invalid choice: 'ovp'" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "eval", "humans", "--dataset", str(files["dataset"]))
    assert code == 2 and "invalid choice: 'humans'" in err


def test_eval_scores_a_cv_folds_predictions_with_its_recorded_protocol(files, tmp_path, capsys):
    """Predictions of a `vsumlab cv` fold carry their protocol in the fold's result.json: eval
    uses it by default (one home for the protocol), and options given override it."""
    import shutil

    from vsumlab.evaluation.predictions import read_predictions

    fold = tmp_path / "fold_0"
    fold.mkdir()
    preds = shutil.copy(files["preds"], fold / "predictions.h5")
    recorded = Protocol(budget=0.3, f1_reduction="max").to_dict()
    (fold / "result.json").write_text(json.dumps({"fold": 0, "protocol": recorded}))
    dataset, predictions = read_dataset(files["dataset"]), read_predictions(preds)
    base = ["eval", "--dataset", str(files["dataset"]), "--predictions", str(preds), "--json"]

    code, out, _ = _run(capsys, *base)
    assert code == 0
    payload = json.loads(out)
    expected = evaluate_dataset(dataset, predictions, Protocol(budget=0.3, f1_reduction="max"))
    assert payload["protocol"]["budget"] == 0.3
    assert payload["mean"]["f1"] == pytest.approx(expected.mean.f1)
    default = evaluate_dataset(dataset, predictions, Protocol())
    assert expected.mean.f1 != pytest.approx(default.mean.f1)  # the budget made a difference

    code, out, _ = _run(capsys, *base, "--budget", "0.15")
    explicit = evaluate_dataset(dataset, predictions, Protocol(budget=0.15, f1_reduction="max"))
    assert code == 0 and json.loads(out)["mean"]["f1"] == pytest.approx(explicit.mean.f1)
