"""`vsumlab fit|test|predict` end to end, including DDP on two CPU processes (gloo) and bf16."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset
from vsumlab.evaluation.metrics import evaluate_dataset
from vsumlab.evaluation.predictions import read_predictions

RECIPE = Path(__file__).resolve().parents[2] / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'

pytestmark = pytest.mark.slow


def _common(data: Path, root: Path) -> list[str]:
    return [
        "--config", str(RECIPE),
        f"--data.init_args.dataset={data}",
        "--model.init_args.input_dim=64",
        f"--model.init_args.summarizer_args={TINY}",
        "--trainer.accelerator=cpu",
        "--trainer.max_epochs=2",
        "--trainer.enable_progress_bar=false",
        f"--trainer.default_root_dir={root}",
        f"--trainer.logger.init_args.save_dir={root}",
    ]


def _vsumlab(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "vsumlab.cli.main", *args], capture_output=True, text=True,
        env=env, timeout=600,
    )


def _last_metrics(root: Path) -> dict[str, float]:
    files = sorted(root.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime)
    assert files, f"no metrics.csv under {root}"
    values: dict[str, float] = {}
    with files[-1].open() as handle:
        for row in csv.DictReader(handle):
            values.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return values


def test_fit_test_predict_and_ddp_gives_same_metrics(small_tvsum_h5, tmp_path) -> None:
    fit_root = tmp_path / "fit"
    done = _vsumlab("fit", *_common(small_tvsum_h5, fit_root))
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = sorted(fit_root.rglob("*.ckpt"))[-1]

    single_root, ddp_root = tmp_path / "test1", tmp_path / "test2"
    one = _vsumlab("test", *_common(small_tvsum_h5, single_root), f"--ckpt_path={ckpt}")
    assert one.returncode == 0, one.stderr[-2000:]
    two = _vsumlab(
        "test", *_common(small_tvsum_h5, ddp_root), f"--ckpt_path={ckpt}",
        "--trainer.devices=2", "--trainer.strategy=ddp",
    )
    assert two.returncode == 0, two.stderr[-2000:]
    single, ddp = _last_metrics(single_root), _last_metrics(ddp_root)
    for name in ("test/f1", "test/kendall", "test/spearman"):
        assert ddp[name] == pytest.approx(single[name], abs=1e-6), name

    # predict writes a file `vsumlab eval` scores to the same numbers as `test`
    out = tmp_path / "pred.h5"
    pred = _vsumlab("predict", *_common(small_tvsum_h5, tmp_path / "p"), f"--ckpt_path={ckpt}",
                    f"--predictions={out}")
    assert pred.returncode == 0, pred.stderr[-2000:]
    predictions = read_predictions(out)
    dataset = read_dataset(small_tvsum_h5)
    scores = evaluate_dataset(dataset, predictions, keys=list(predictions)).mean
    assert scores.f1 == pytest.approx(single["test/f1"], abs=1e-4)
    assert scores.kendall == pytest.approx(single["test/kendall"], abs=1e-4)


def test_ddp_training_with_bf16_on_two_cpu_processes(small_tvsum_h5, tmp_path) -> None:
    root = tmp_path / "ddp"
    done = _vsumlab(
        "fit", *_common(small_tvsum_h5, root), "--trainer.devices=2", "--trainer.strategy=ddp",
        "--trainer.precision=bf16-mixed",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = _last_metrics(root)
    assert 0.0 <= metrics["val/f1"] <= 100.0
    assert sorted(root.rglob("*.ckpt"))


def test_config_typo_is_one_line_error(small_tvsum_h5, tmp_path, capsys) -> None:
    code = main(["fit", *_common(small_tvsum_h5, tmp_path), "--model.init_args.lrr=1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "lrr" in err[0]
    code = main(["fit", "--config", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "nope.yaml: recipe not found" in err[-1]


@pytest.mark.parametrize("typo", ["--trainer.max_epoch=1", "--trainer.max_epo=1",
                                  "--data.init_args.datase=x.h5"])
def test_an_abbreviated_key_is_a_typo_not_the_key_it_starts(small_tvsum_h5, tmp_path, capsys,
                                                            typo) -> None:
    """argparse takes any unambiguous prefix of an option unless told not to: max_epoch would
    silently mean max_epochs. Both entry points refuse it, naming the key."""
    for command in (["fit", *_common(small_tvsum_h5, tmp_path)],
                    ["cv", *_common(small_tvsum_h5, tmp_path), "--out", str(tmp_path / "cv")]):
        code = main([*command, typo])
        err = capsys.readouterr().err.strip().splitlines()
        key = typo.split("=")[0].rsplit(".", 1)[1]  # max_epoch, max_epo, datase
        assert code == 2 and len(err) == 1 and key in err[0], err
    assert not (tmp_path / "cv").exists()  # nothing written


def test_fit_follows_the_quiet_rules_of_cv(small_tvsum_h5, tmp_path) -> None:
    """Banners, tips, the model summary and third-party warnings only with --verbose."""
    quiet = _vsumlab("fit", *_common(small_tvsum_h5, tmp_path / "q"), "--trainer.max_epochs=1")
    assert quiet.returncode == 0, quiet.stderr
    text = quiet.stdout + quiet.stderr
    for banner in ("GPU available", "Tip:", "Trainable params", "LeafSpec"):
        assert banner not in text, banner
    loud = _vsumlab("fit", *_common(small_tvsum_h5, tmp_path / "v"), "--trainer.max_epochs=1",
                    "--verbose")
    assert loud.returncode == 0, loud.stderr
    assert "GPU available" in loud.stdout + loud.stderr


def test_missing_checkpoint_names_the_path(small_tvsum_h5, tmp_path, capsys) -> None:
    missing = tmp_path / "gone.ckpt"
    code = main(["test", *_common(small_tvsum_h5, tmp_path), f"--ckpt_path={missing}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == f"vsumlab: error: --ckpt_path: checkpoint not found: {missing}"


def test_errors_raised_while_building_the_model_are_one_line(small_tvsum_h5, tmp_path, capsys):
    code = main(["fit", *_common(small_tvsum_h5, tmp_path), "--model.init_args.summarizer=lstm"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == ("vsumlab: error: unknown summarizer 'lstm'; expected one of csta, "
                       "transformer or a class path such as mypkg.MyNet")


def test_impossible_trainer_settings_are_one_line(small_tvsum_h5, tmp_path, capsys):
    # FSDP needs GPUs: on a CPU-only run Lightning refuses, and the user gets its reason in one line
    code = main(["fit", *_common(small_tvsum_h5, tmp_path), "--trainer.accelerator=cpu",
                 "--trainer.strategy=fsdp"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("vsumlab: error: trainer configuration: The strategy `fsdp` requires")
