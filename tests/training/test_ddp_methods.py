"""Every method's training step under 2-process CPU DDP (gloo): its LightningCLI fit, devices=2,
strategy=ddp, two optimizer steps (DDP's default find_unused_parameters=False fails on the
second step when a parameter gets no gradient), as the multi-GPU runs of docs/SCALING.md do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
TINY_TRANSFORMER = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64}'
TINY_CSTA = '{"embed_dim": 32, "trunk_channels": 4, "head_hidden": 32}'


def _captions(tmp_path: Path) -> list[str]:
    """A tiny caption set with synthetic caption-aligned features (Cap2Sum pretraining)."""
    from vsumlab.data.captions.format import parse_captions
    from vsumlab.data.synthetic.dense_captions import write_caption_features

    raw = {f"v{i}": {"duration": 20.0 + i, "timestamps": [[1.0, 6.0], [8.0, 15.0]],
                     "sentences": ["a man runs on the road", "the dog jumps over a ball"]}
           for i in range(4)}
    captions = tmp_path / "captions.json"
    captions.write_text(json.dumps(raw))
    features = write_caption_features(tmp_path / "captions.h5", parse_captions(raw), dim=32)
    captioner = ('{"d_model": 16, "n_heads": 2, "n_points": 2, "n_levels": 2, "n_queries": 4, '
                 '"ffn_dim": 32, "max_events": 4, "caption_hidden": 16, "caption_word_dim": 8, '
                 '"norm_groups": 4}')
    return [
        "--model=vsumlab.models.cap2sum.Cap2SumModule",
        "--model.init_args.mode=pretrain", "--model.init_args.input_dim=32",
        f"--model.init_args.summarizer_args={TINY_TRANSFORMER}",
        f"--model.init_args.captioner={captioner}",
        "--data=vsumlab.data.captions.datamodule.CaptionDataModule",
        f"--data.init_args.train_captions={captions}", f"--data.init_args.features={features}",
        "--data.init_args.min_word_count=1", "--data.init_args.batch_size=1",
        "--trainer.max_epochs=2",
    ]


def _desumnet(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    world = tmp_path / "world"
    from vsumlab.cli.main import main

    code = main(["desumnet", "synth", str(world), "--categories", "2", "--videos", "4",
                 "--frames", "32"])
    assert code == 0, "vsumlab desumnet synth failed"
    args = ["--config", str(EXPERIMENTS / "desumnet" / "table3_scratch.yaml"),
            "--config", str(EXPERIMENTS / "desumnet" / "demo.yaml"),
            "--data.init_args.batch_size=2", "--data.init_args.clips_per_video=2",
            "--data.init_args.num_workers=0", "--data.init_args.cache_dir=null"]
    return args, {"DESUMNET_DATA": str(world), "DESUMNET_RUNS": str(tmp_path / "runs")}


def _case(method: str, tmp_path: Path, tvsum: Path) -> tuple[list[str], dict[str, str]]:
    summarization = [f"--data.init_args.dataset={tvsum}", "--model.init_args.input_dim=64",
                     "--data.init_args.batch_size=2"]
    if method == "transformer":
        return ["--config", str(EXPERIMENTS / "supervised" / "transformer_tvsum.yaml"),
                *summarization, f"--model.init_args.summarizer_args={TINY_TRANSFORMER}"], {}
    if method == "csta":
        return ["--config", str(EXPERIMENTS / "supervised" / "csta_tvsum.yaml"),
                *summarization, f"--model.init_args.summarizer_args={TINY_CSTA}"], {}
    if method == "visp":
        return ["--config", str(EXPERIMENTS / "visp" / "pretrain.yaml"),
                f"--data.init_args.datasets=[{tvsum}]", "--data.init_args.batch_size=2",
                "--data.init_args.val_fraction=0", "--model.init_args.input_dim=64",
                f"--model.init_args.summarizer_args={TINY_CSTA}"], {}
    if method == "clipit":
        return ["--config", str(EXPERIMENTS / "clipit" / "finetune_tvsum.yaml"), *summarization,
                "--model.init_args.text_encoder=vsumlab-tiny-clip",
                "--model.init_args.text_encoder_weights=null", "--model.init_args.text_dim=32",
                "--model.init_args.d_model=32", "--model.init_args.n_heads=2",
                # titles: no Cap2Sum captioner checkpoint needed for a DDP check
                "--model.init_args.guide=title",
                f"--model.init_args.text_cache_dir={tmp_path / 'text'}"], {}
    if method == "cap2sum":
        return _captions(tmp_path), {}
    return _desumnet(tmp_path)


METHODS = ["transformer", "csta", "visp", "cap2sum", "clipit", "desumnet"]
COMMON = [
    "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp",
    "--trainer.max_steps=2", "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0",
    "--trainer.logger=false", "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
]
#: DeSumNet also validates after each step: its video accuracy gathers clips over processes
EXTRA = {"desumnet": ["--trainer.limit_val_batches=2", "--trainer.val_check_interval=1"]}


@pytest.fixture(scope="module")
def ddp_report(small_tvsum_h5: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One 2-process launch (torchrun) fitting every method's case in turn."""
    tmp = tmp_path_factory.mktemp("ddp")
    cases = {}
    for method in METHODS:
        folder = tmp / method
        folder.mkdir()
        args, env = _case(method, folder, small_tvsum_h5)
        cases[method] = {"args": [*args, *COMMON, *EXTRA.get(method, []),
                                  f"--trainer.default_root_dir={folder / 'fit'}"], "env": env}
    (tmp / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(Path(__file__).parent / "_ddp_worker.py"), str(tmp / "cases.json"),
         str(tmp / "report.json")],
        cwd=tmp, capture_output=True, text=True, timeout=900,
        env={**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore",
             "OMP_NUM_THREADS": "1"},
    )
    report = json.loads((tmp / "report.json").read_text()) if (tmp / "report.json").is_file() else {}
    report["_launch"] = {"returncode": done.returncode, "stderr": done.stderr[-3000:]}
    return report


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_two_process_ddp_training_steps(method: str, ddp_report: dict) -> None:
    assert method in ddp_report, f"{method} did not finish: {ddp_report['_launch']}"
    result = ddp_report[method]
    assert "error" not in result, result.get("error")
    # both optimizer steps ran in a 2-process group, gradients all-reduced
    accuracies = result.pop("val_video_acc", None)
    assert result == {"global_step": 2, "world_size": 2}
    if method == "desumnet":
        assert accuracies is not None and len(accuracies) == 2
        assert accuracies[0] == accuracies[1]  # one accuracy over every video, on both ranks


def test_only_rank_zero_writes_the_results_folder() -> None:
    from vsumlab.training.cv import is_global_zero

    assert is_global_zero({})  # a single process
    assert is_global_zero({"RANK": "0", "LOCAL_RANK": "0"})
    assert not is_global_zero({"RANK": "3", "LOCAL_RANK": "1"})  # torchrun
    assert not is_global_zero({"SLURM_PROCID": "1"})  # srun
    assert not is_global_zero({"LOCAL_RANK": "1"})  # Lightning's re-executed local rank
    assert not is_global_zero({"LOCAL_RANK": "0", "NODE_RANK": "1"})


@pytest.mark.slow
def test_cv_under_ddp_writes_one_complete_results_folder(small_tvsum_h5: Path, tmp_path: Path) -> None:
    from vsumlab.data.schema import read_dataset
    from vsumlab.evaluation.metrics import evaluate_dataset
    from vsumlab.evaluation.predictions import read_predictions

    out = tmp_path / "cv"
    done = subprocess.run(
        [sys.executable, "-m", "vsumlab.cli.main", "cv",
         "--config", str(EXPERIMENTS / "supervised" / "transformer_tvsum.yaml"),
         "--out", str(out), "--reference-draws", "2", "--wandb-mode", "disabled",
         f"--data.init_args.dataset={small_tvsum_h5}", "--data.init_args.n_folds=2",
         "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY_TRANSFORMER}",
         "--trainer.max_epochs=2", "--trainer.accelerator=cpu", "--trainer.devices=2",
         "--trainer.strategy=ddp",
         # every rank takes part in every fold (vectorized replicas divide the folds among the
         # ranks instead: tests/training/replicas/test_ranks.py)
         "--replicas", "sequential"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("| human |") == 1  # one table: only rank 0 reports
    results = json.loads((out / "results.json").read_text())
    model = results["rows"][0]
    dataset = read_dataset(small_tvsum_h5)
    seen = []
    for fold in (0, 1):
        fold_dir = out / "seed_default" / f"fold_{fold}"
        result = json.loads((fold_dir / "result.json").read_text())
        predictions = read_predictions(fold_dir / "predictions.h5")
        # each rank scored half of the test videos; rank 0 gathered all of them
        assert result["data"]["n_test"] == len(predictions) == 6
        scores = evaluate_dataset(dataset, predictions, keys=list(predictions)).mean
        assert scores.f1 == pytest.approx(result["model"]["f1"])
        assert scores.kendall == pytest.approx(result["model"]["kendall"])
        seen += list(predictions)
    assert sorted(seen) == sorted(dataset.keys)  # every video tested once
    assert model["f1"] == pytest.approx(sum(f["f1"] for f in model["folds"]) / 2)


def test_the_documented_fsdp_command_parses(tmp_path: Path) -> None:
    """docs/SCALING.md's FSDP flags reach the Trainer (building it needs CUDA, absent in CI)."""
    from lightning.pytorch.strategies import FSDPStrategy

    from vsumlab.cli.lightning import expand_recipes, make_cli
    from vsumlab.errors import ConfigError

    args = expand_recipes([
        "--config", str(EXPERIMENTS / "supervised" / "transformer_tvsum.yaml"),
        "--trainer.accelerator=gpu", "--trainer.devices=8", "--trainer.precision=bf16-mixed",
        "--trainer.strategy=lightning.pytorch.strategies.FSDPStrategy",
        "--trainer.strategy.init_args.sharding_strategy=FULL_SHARD",
        "--trainer.strategy.init_args.state_dict_type=full",
    ], tmp_path)
    try:
        cli = make_cli(args, run=False, trainer_overrides={"logger": False})
    except ConfigError as exc:  # parsed; only the GPU is missing (one-line trainer error)
        assert str(exc).startswith("trainer configuration:") and "gpu" in str(exc).lower()
    else:
        assert isinstance(cli.trainer.strategy, FSDPStrategy)
