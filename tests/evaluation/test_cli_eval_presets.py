"""`vsumlab eval --preset NAME`: the preset's options, explicit flags over it, the label in
the table and JSON, and the one-line error for an unknown preset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset, write_dataset
from vsumlab.evaluation.metrics import evaluate_dataset
from vsumlab.evaluation.predictions import write_predictions
from vsumlab.protocol.options import Protocol

from ._records import random_record


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval_presets")
    rng = np.random.default_rng(5)
    records = [random_record(rng, f"video_{i + 1}", int(rng.integers(400, 900))) for i in range(3)]
    dataset = write_dataset(
        folder / "mini.h5", records, attrs={"dataset_name": "mini", "annotation_style": "tvsum"}
    )
    preds = write_predictions(folder / "p.h5", {r.key: rng.random(r.n_steps) for r in records})
    return dataset, preds


def _run(capsys, *argv: str):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("preset", ["vsumlab", "dsnet", "pglsum", "csta"])
def test_eval_preset_json_equals_library_with_the_preset(files, capsys, preset):
    dataset, preds = files
    code, out, _ = _run(capsys, "eval", "--dataset", str(dataset), "--predictions", str(preds),
                        "--preset", preset, "--json")
    assert code == 0
    payload = json.loads(out)
    protocol = Protocol.from_preset(preset)
    assert payload["protocol"] == protocol.to_dict()
    from vsumlab.evaluation.predictions import read_predictions

    expected = evaluate_dataset(read_dataset(dataset), read_predictions(preds), protocol)
    assert payload["mean"] == pytest.approx(expected.mean.to_dict())


def test_explicit_flag_overrides_preset_and_table_says_so(files, capsys):
    dataset, preds = files
    code, out, _ = _run(capsys, "eval", "--dataset", str(dataset), "--predictions", str(preds),
                        "--preset", "dsnet", "--capacity-from", "last_change_point")
    assert code == 0
    assert ("protocol: preset dsnet; capacity_from=last_change_point; "
            "model selection: best test epoch (not comparable)") in out
    code, out, _ = _run(capsys, "eval", "--dataset", str(dataset), "--predictions", str(preds),
                        "--preset", "dsnet", "--capacity-from", "last_change_point", "--json")
    protocol = json.loads(out)["protocol"]
    assert protocol["capacity_from"] == "last_change_point"
    assert protocol["knapsack_values"] == "int1000" and protocol["preset"] == "dsnet"


def test_baselines_header_labels_the_preset(files, capsys):
    dataset, _ = files
    code, out, _ = _run(capsys, "eval", "baselines", "--dataset", str(dataset), "--draws", "2",
                        "--preset", "pglsum")
    assert code == 0 and "protocol: preset pglsum\n" in out


def test_unknown_preset_is_one_line_exit_2(files, capsys):
    dataset, preds = files
    code, out, err = _run(capsys, "eval", "--dataset", str(dataset), "--predictions", str(preds),
                          "--preset", "vasnet")
    assert code == 2 and out == ""
    assert "'vasnet' is unknown; known presets: vsumlab, dsnet, pglsum, csta" in err
    assert err.count("\n") == 1 and "Traceback" not in err
