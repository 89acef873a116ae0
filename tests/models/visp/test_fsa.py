"""ViSP's "(+) FSA" ablation: pseudo-summaries are Eq. (13) on the ground truth (15% budget),
the loss is binary cross-entropy, the recipe builds and trains, and fine-tuning loads it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.lightning import expand_recipes, make_cli
from vsumlab.data.pseudo_summaries import FSAPretrainDataModule, pseudo_summary
from vsumlab.data.schema import VideoRecord, write_dataset
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import DatasetError
from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp_fsa import FSAPretrainModule, pseudo_summary_bce
from vsumlab.protocol.options import Protocol
from vsumlab.training.recipes import compose_recipe

RECIPES = Path(__file__).resolve().parents[3] / "experiments" / "visp"
DIM = 16
CSTA_ARGS = {"trunk_channels": 4, "head_hidden": 16, "embed_dim": 16}

# 40 frames sampled every 2nd (20 steps); shots of 6, 6, 6 and 22 frames. Budget 15%:
# floor(0.15 * 40) = 6 frames, so exactly one of the three short shots fits.
STEP_SCORES = np.array(
    [0.5, 0.5, 0.5,  # shot 0 (frames 0-5): mean 0.5
     0.9, 0.8, 0.7,  # shot 1 (frames 6-11): mean 0.8  <- the knapsack's choice
     0.6, 0.6, 0.6,  # shot 2 (frames 12-17): mean 0.6
     *[1.0] * 11],   # shot 3 (frames 18-39): the best frames, but 22 frames > 6
)  # fmt: skip


def record(gtscore: np.ndarray | None = STEP_SCORES) -> VideoRecord:
    return VideoRecord(
        key="video_1",
        features=np.zeros((20, DIM), np.float32),
        picks=np.arange(0, 40, 2),
        n_frames=40,
        fps=1.0,
        change_points=np.array([[0, 5], [6, 11], [12, 17], [18, 39]]),
        n_frame_per_seg=np.array([6, 6, 6, 22]),
        gtscore=gtscore,
    )


def test_pseudo_summary_is_eq13_with_a_15_percent_budget():
    expected = np.zeros(20, np.float32)
    expected[3:6] = 1  # the steps of shot 1, not the top-scored frames of shot 3
    np.testing.assert_array_equal(pseudo_summary(record()), expected)
    # 30%: floor(12) frames -> shots 1 and 2 (0.8 * 6 + 0.6 * 6 beats any other pair)
    wider = pseudo_summary(record(), Protocol(budget=0.30))
    np.testing.assert_array_equal(np.flatnonzero(wider), [3, 4, 5, 6, 7, 8])


def test_pseudo_summary_needs_gtscore():
    with pytest.raises(DatasetError, match="video_1.*'gtscore'"):
        pseudo_summary(record(gtscore=None))


def test_bce_by_hand():
    logits = torch.tensor([[2.0, -1.0, 5.0], [0.0, 3.0, 0.0]])
    target = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    # -log sigmoid(2), -log(1 - sigmoid(-1)) = -log sigmoid(1), -log sigmoid(0); padding ignored
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = -(math.log(sig(2)) + math.log(sig(1)) + math.log(sig(0))) / 3
    assert pseudo_summary_bce(logits, target, mask).item() == pytest.approx(expected, abs=1e-6)


@pytest.fixture(scope="module")
def source_h5(tmp_path_factory) -> Path:
    data = make_synthetic_dataset(
        "tvsum", seed=0, n_videos=6, feature_dim=DIM, min_duration=15, max_duration=40
    )
    folder = tmp_path_factory.mktemp("fsa")
    return write_dataset(folder / "tvsum.h5", data.records.values(), data.attrs)


def test_module_loss_is_the_bce_of_its_logits_on_the_pseudo_summaries(source_h5):
    data = FSAPretrainDataModule([str(source_h5)], batch_size=3)
    batch = next(iter(data.train_dataloader()))
    for i, key in enumerate(batch["keys"]):
        n = int(batch["n_steps"][i])
        expected = pseudo_summary(data.records["train"][key])
        np.testing.assert_array_equal(batch["pseudo"][i, :n].numpy(), expected)
        assert expected.sum() > 0 and np.all(batch["pseudo"][i, n:].numpy() == 0)
    torch.manual_seed(0)
    model = FSAPretrainModule(summarizer="csta", summarizer_args=CSTA_ARGS, input_dim=DIM)
    model.eval()  # no dropout: the logits below are the ones the loss saw
    loss, logs = model.training_loss(batch)
    logits = model.summarizer(batch["features"], batch["mask"])
    manual = []
    for i in range(len(batch["keys"])):
        n = int(batch["n_steps"][i])
        z, t = logits[i, :n], batch["pseudo"][i, :n]
        manual.append(-(t * torch.log(torch.sigmoid(z)) + (1 - t) * torch.log(torch.sigmoid(-z))))
    assert loss.item() == pytest.approx(torch.cat(manual).mean().item(), rel=1e-5)
    assert 0 <= logs["accuracy"].item() <= 1


def test_recipe_trains_and_fine_tuning_loads_it(source_h5, tmp_path):
    args = expand_recipes(
        ["--config", str(RECIPES / "pretrain_fsa.yaml"), "--trainer.max_epochs=2",
         "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
         "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}",
         "--trainer.check_val_every_n_epoch=1", f"--model.init_args.input_dim={DIM}",
         f"--model.init_args.summarizer_args={CSTA_ARGS}", "--data.init_args.batch_size=2",
         f"--data.init_args.datasets=[{source_h5}]", "--data.init_args.val_fraction=0.34"],
        tmp_path,
    )  # fmt: skip
    cli = make_cli(args, run=False, trainer_overrides={"logger": False})
    assert isinstance(cli.model, FSAPretrainModule)
    assert cli.datamodule.protocol.budget == 0.15
    before = {k: v.clone() for k, v in cli.model.summarizer.state_dict().items()}
    cli.trainer.fit(cli.model, cli.datamodule)
    assert "val/loss" in cli.trainer.callback_metrics
    after = cli.model.summarizer.state_dict()
    assert any(not torch.equal(before[k], v) for k, v in after.items())
    path = tmp_path / "fsa.ckpt"
    cli.trainer.save_checkpoint(path)
    finetune = SummarizerModule(
        summarizer="csta", summarizer_args=CSTA_ARGS, input_dim=DIM, pretrained=str(path)
    )
    loaded = finetune.summarizer.state_dict()
    for key, value in after.items():
        if not key.startswith("head."):  # the head is reset (reset_head: true, as ViSP's)
            torch.testing.assert_close(loaded[key], value)


@pytest.mark.parametrize("suffix", ["", "_paper"])  # the CPU demo and the published setup
def test_recipe_differs_from_visp_only_in_the_training_signal(suffix):
    fsa = compose_recipe(RECIPES / f"pretrain_fsa{suffix}.yaml")
    visp = compose_recipe(RECIPES / f"pretrain{suffix}.yaml")
    assert fsa["trainer"] == visp["trainer"]
    for key in ("summarizer", "summarizer_args", "input_dim", "lr", "weight_decay", "reset_head"):
        assert fsa["model"]["init_args"][key] == visp["model"]["init_args"][key], key
    for key in ("batch_size", "fraction", "val_fraction", "seed"):
        assert fsa["data"]["init_args"][key] == visp["data"]["init_args"][key], key
    assert fsa["data"]["init_args"]["budget"] == 0.15
    # the paper's pairing: pseudo-summaries from one dataset, fine-tuning on the other
    assert fsa["data"]["init_args"]["datasets"] == ["data/generated/synthetic_tvsum_generic.h5"]


def test_budget_reaches_the_pseudo_summaries(source_h5):
    narrow = FSAPretrainDataModule([str(source_h5)], budget=0.15)
    wide = FSAPretrainDataModule([str(source_h5)], budget=0.5)
    key, rec = next(iter(narrow.records["train"].items()))
    assert pseudo_summary(rec).sum() < pseudo_summary(wide.records["train"][key], wide.protocol).sum()
    assert dataclasses.replace(Protocol(), budget=0.5) == wide.protocol
