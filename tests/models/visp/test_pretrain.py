"""ViSPPretrainModule and its data: every Table 1 variant trains, checkpoints carry the
summarizer weights that the supervised harness loads, bad input is named."""

from itertools import product
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from vsumlab.data.schema import write_dataset
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.data.unlabeled_videos import ViSPPretrainDataModule, collate_unlabeled
from vsumlab.errors import ConfigError
from vsumlab.models.components.registry import build_summarizer
from vsumlab.models.components.visp import random_summary
from vsumlab.models.loading import load_summarizer
from vsumlab.models.losses.contrastive import binary_penalty, info_nce, size_penalty
from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp import ViSPPretrainModule, planted_lift

DIM = 16
CSTA_ARGS = {"trunk_channels": 4, "head_hidden": 16}
TRANSFORMER_ARGS = {"d_model": 16, "n_heads": 2, "dim_feedforward": 32, "head_hidden": 16}


def small_set(kind: str, seed: int, dim: int = DIM, n_videos: int = 6):
    return make_synthetic_dataset(
        kind, seed=seed, n_videos=n_videos, feature_dim=dim, min_duration=15, max_duration=40
    )


@pytest.fixture(scope="module")
def h5_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("visp_data")
    paths = []
    for kind, seed in (("tvsum", 0), ("summe", 1)):
        data = small_set(kind, seed)
        paths.append(write_dataset(folder / f"{kind}.h5", data.records.values(), data.attrs))
    return paths


def batch_of(dataset) -> dict:
    from vsumlab.data.unlabeled_videos import UnlabeledVideos

    items = UnlabeledVideos(list(dataset.records.items()))
    return collate_unlabeled([items[i] for i in range(len(items))])


def module(**kwargs) -> ViSPPretrainModule:
    torch.manual_seed(0)
    args = {"summarizer": "csta", "summarizer_args": CSTA_ARGS, "input_dim": DIM}
    args.update(kwargs)
    return ViSPPretrainModule(**args)


VARIANTS = [
    (reparam, flow, False)
    for reparam, flow in product(("concrete", "gumbel", "sigmoid", "gumbel_subset"),
                                 ("gating", "marginalization", "ste"))
] + [("concrete", "gating", True), ("concrete", "marginalization", True)]


@pytest.mark.parametrize(("reparameterization", "gradient_flow", "hard_negative"), VARIANTS)
def test_every_table1_variant_trains(reparameterization, gradient_flow, hard_negative):
    model = module(
        reparameterization=reparameterization,
        gradient_flow=gradient_flow,
        hard_negative=hard_negative,
    )
    batch = batch_of(small_set("tvsum", 0, n_videos=4))
    loss, logs = model.training_loss(batch)
    assert torch.isfinite(loss)
    assert {"nce", "size", "binary", "keep", "nce_accuracy", "planted_lift"} <= set(logs)
    loss.backward()
    # the summarizer learns through the sampled summary, the encoder through InfoNCE
    for part in (model.summarizer, model.encoder):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    assert model.summarizer.head[1].weight.grad.abs().sum() > 0


def test_transformer_summarizer_is_pretrained_too():
    model = module(
        summarizer="transformer",
        summarizer_args=TRANSFORMER_ARGS,
        gradient_flow="marginalization",
        hard_negative=True,
    )
    assert model.encoder.net.cls is not None  # the encoder gets a CLS token
    loss, _ = model.training_loss(batch_of(small_set("summe", 1, n_videos=4)))
    loss.backward()
    assert model.summarizer.head[0].weight.grad.abs().sum() > 0


def test_loss_is_eq10_sum_of_parts():
    model = module(beta_size=3.0, beta_binary=0.5, reparameterization="sigmoid")
    loss, logs = model.training_loss(batch_of(small_set("tvsum", 0, n_videos=4)))
    expected = logs["nce"] + 0.5 * logs["binary"] + 3.0 * logs["size"]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_fit_checkpoint_and_finetune_initialisation(h5_files, tmp_path):
    data = ViSPPretrainDataModule([str(p) for p in h5_files], batch_size=4, val_fraction=0.2)
    model = module()
    trainer = L.Trainer(
        max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    before = {k: v.clone() for k, v in model.summarizer.state_dict().items()}
    trainer.fit(model, datamodule=data)
    assert any(not torch.equal(before[k], v) for k, v in model.summarizer.state_dict().items())
    assert "val/nce" in trainer.callback_metrics and "train/loss" in trainer.callback_metrics
    path = tmp_path / "visp.ckpt"
    trainer.save_checkpoint(path)

    payload = torch.load(path, map_location="cpu", weights_only=False)
    state = payload["summarizer_state_dict"]
    assert not any(k.startswith("encoder") for k in state)  # the encoder is discarded
    assert payload["summarizer_config"] == {
        "summarizer": "csta", "summarizer_args": CSTA_ARGS, "input_dim": DIM,
    }  # fmt: skip

    # Fine-tuning: the supervised harness initialised from the pretrained summarizer body; the
    # scoring head was an output layer for pretraining only (reset_head, the default).
    finetune = SummarizerModule(
        summarizer="csta", summarizer_args=CSTA_ARGS, input_dim=DIM, pretrained=str(path)
    )
    loaded_state = finetune.summarizer.state_dict()
    for key, value in model.summarizer.state_dict().items():
        if key.startswith("head."):
            assert key.endswith("bias") or not torch.equal(loaded_state[key], value), key
        else:
            torch.testing.assert_close(loaded_state[key], value)
    torch.manual_seed(0)
    fresh = build_summarizer("csta", DIM, **CSTA_ARGS).head.state_dict()
    for key, value in fresh.items():
        torch.testing.assert_close(loaded_state[f"head.{key}"], value)

    # Without reset_head the pretrained head is exported as well.
    model.hparams.reset_head = False
    exported = model.export_summarizer_state()
    for key, value in model.summarizer.state_dict().items():
        torch.testing.assert_close(exported[key], value)

    # The pretrained checkpoint also scores videos by itself (zero-shot use).
    loaded = load_summarizer(path)
    assert isinstance(loaded, ViSPPretrainModule)
    scores = loaded.score_video(np.ones((7, DIM), dtype=np.float32))
    assert scores.shape == (7,) and np.all((scores >= 0) & (scores <= 1))


def test_finetune_rejects_a_pretrained_checkpoint_of_another_architecture(h5_files, tmp_path):
    model = module()
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=ViSPPretrainDataModule([str(h5_files[0])], batch_size=3))
    trainer.save_checkpoint(tmp_path / "visp.ckpt")
    with pytest.raises(ConfigError, match="does not fit the summarizer"):
        SummarizerModule(summarizer="transformer", input_dim=DIM, pretrained=str(tmp_path / "visp.ckpt"))


def test_datamodule_concatenates_files_and_ignores_labels(h5_files):
    data = ViSPPretrainDataModule([str(p) for p in h5_files], batch_size=4)
    keys = list(data.records["train"])
    assert len(keys) == 12 and not data.records["val"]
    assert {k.split("/")[0] for k in keys} == {"synthetic_tvsum", "synthetic_summe"}
    batch = next(iter(data.train_dataloader()))
    assert batch["features"].shape[0] == 4 and batch["mask"].dtype == torch.bool
    assert torch.all(batch["gtscore"] == 0)  # labels are never read
    assert len(data.train_dataloader()) == 3  # 12 videos, incomplete batches dropped


def test_datamodule_fraction_and_val_split_are_deterministic(h5_files):
    paths = [str(p) for p in h5_files]
    half = ViSPPretrainDataModule(paths, fraction=0.5, val_fraction=0.5, seed=3)
    again = ViSPPretrainDataModule(paths, fraction=0.5, val_fraction=0.5, seed=3)
    assert len(half.records["train"]) == 3 and len(half.records["val"]) == 3
    assert list(half.records["train"]) == list(again.records["train"])
    other = ViSPPretrainDataModule(paths, fraction=0.5, val_fraction=0.5, seed=4)
    assert set(other.records["train"]) | set(other.records["val"]) != set(
        half.records["train"]
    ) | set(half.records["val"])


def test_bad_data_options_are_named(h5_files, tmp_path):
    with pytest.raises(ConfigError, match="batch_size=1.*at least 2"):
        ViSPPretrainDataModule([str(h5_files[0])], batch_size=1)
    with pytest.raises(ConfigError, match="fraction=0"):
        ViSPPretrainDataModule([str(h5_files[0])], fraction=0)
    wide = small_set("tvsum", 5, dim=8)
    wide.attrs["dataset_name"] = "wide"
    other = write_dataset(tmp_path / "wide.h5", wide.records.values(), wide.attrs)
    with pytest.raises(ConfigError, match="different feature dimensions.*wide.h5.*8"):
        _ = ViSPPretrainDataModule([str(h5_files[0]), str(other)]).records


def test_feature_dim_mismatch_names_both_numbers(h5_files):
    model = module(input_dim=DIM * 2)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False)
    with pytest.raises(ConfigError, match=r"16-d features but model.input_dim is 32"):
        trainer.fit(model, datamodule=ViSPPretrainDataModule([str(h5_files[0])], batch_size=2))


def test_bad_model_options_are_named():
    with pytest.raises(ConfigError, match="similarity='euclid'"):
        module(similarity="euclid")
    with pytest.raises(ConfigError, match="beta_size=-1"):
        module(beta_size=-1)
    with pytest.raises(ConfigError, match="gradient_flow='gate'"):
        module(gradient_flow="gate")


def test_planted_lift_by_hand():
    logits = torch.tensor([[0.0, 0.0, 100.0, -100.0]])
    planted = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    kept, share = planted_lift(logits, planted, torch.ones(1, 4, dtype=torch.bool))
    # keep probabilities 0.5, 0.5, 1, 0: planted share of kept = 1.5 / 2; video share 2 / 4
    assert kept.item() == pytest.approx(0.75) and share.item() == pytest.approx(0.5)


def test_alpha_scale_is_a_pretraining_output_layer():
    model = module(alpha_scale=3.0, reparameterization="sigmoid", temperature=0.5)
    model.eval()  # no dropout: the summarizer is deterministic
    batch = batch_of(small_set("tvsum", 0, n_videos=3))
    _, logs = model.training_loss(batch)
    with torch.no_grad():
        alpha = 3.0 * model.summarizer(batch["features"], batch["mask"])
    y = torch.sigmoid(alpha / 0.5) * batch["mask"]
    expected = (y.sum(1) / batch["mask"].sum(1)).mean()
    assert logs["size"].item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ConfigError, match="alpha_scale=0"):
        module(alpha_scale=0)


USER_NETS = '''
from torch import nn


class Scorer(nn.Module):
    """Scores only: enough for the supervised harness, not for ViSP's encoder."""

    def __init__(self, input_dim):
        super().__init__()
        self.head = nn.Linear(input_dim, 1)

    def forward(self, features, mask):
        return self.head(features).squeeze(-1)


class EncodingScorer(Scorer):
    def __init__(self, input_dim, width=6):
        super().__init__(input_dim)
        self.body = nn.Linear(input_dim, width)
        self.encode_dim = width

    def encode(self, features, mask):
        weights = mask.to(features.dtype)[..., None]
        return (self.body(features) * weights).sum(1) / weights.sum(1).clamp_min(1.0)
'''


def test_user_summarizer_pretrains_when_it_can_encode(tmp_path, monkeypatch, h5_files) -> None:
    (tmp_path / "visp_user_nets.py").write_text(USER_NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="visp: summarizer visp_user_nets.Scorer has no "
                                          r"encode\(features, mask\)"):
        module(summarizer="visp_user_nets.Scorer", summarizer_args={})
    model = module(summarizer={"class_path": "visp_user_nets.EncodingScorer",
                               "init_args": {"width": 5}}, summarizer_args={})
    assert model.encoder.dim == 5
    batch = batch_of(small_set("tvsum", 0))
    loss, logs = model.visp_loss(batch)
    loss.backward()
    assert torch.isfinite(loss) and model.summarizer.head.weight.grad is not None
    # the exported weights carry a fresh head of the same user class
    assert set(model.export_summarizer_state()) == set(model.summarizer.state_dict())


@pytest.mark.parametrize("hard_negative", [False, True])
def test_contrastive_pairs_in_the_module(hard_negative):
    # The module's InfoNCE must score E(summary of video i) against E(video j) for every j, the
    # positive being j = i, with E(random summary of video j) as extra negatives. Rebuilt here
    # step by step (sigmoid relaxation, eval mode: everything but the random summary is
    # deterministic, and that one is drawn from the same generator state).
    model = module(reparameterization="sigmoid", temperature=0.7, hard_negative=hard_negative)
    model.eval()
    batch = batch_of(small_set("tvsum", 0, n_videos=4))
    features, mask = batch["features"], batch["mask"]
    torch.manual_seed(5)
    _, logs = model.training_loss(batch)
    torch.manual_seed(5)
    with torch.no_grad():
        y = torch.sigmoid(model.summarizer(features, mask) / 0.7) * mask
        summaries = model.encoder(features * y[..., None], mask)
        videos = model.encoder(features, mask)
        negatives = None
        if hard_negative:
            kept = random_summary(y, mask)
            negatives = model.encoder(features * kept[..., None], mask)
    expected = info_nce(summaries, videos, negatives)
    assert logs["nce"].item() == pytest.approx(expected.item(), rel=1e-5)
    swapped = info_nce(videos, summaries, negatives)  # the pairing read the other way
    assert abs(swapped.item() - expected.item()) > 1e-4


def test_penalties_use_the_relaxed_summary_even_with_ste():
    # STE builds the summary from binary draws, but R_binary and R_size are taken on the
    # relaxed y (on the draws R_binary would be 0 and R_size a noisy count).
    model = module(gradient_flow="ste", reparameterization="sigmoid", temperature=1.0)
    model.eval()
    batch = batch_of(small_set("tvsum", 0, n_videos=3))
    _, logs = model.training_loss(batch)
    with torch.no_grad():
        y = torch.sigmoid(model.summarizer(batch["features"], batch["mask"]))
    assert logs["binary"].item() == pytest.approx(binary_penalty(y, batch["mask"]).item(), rel=1e-5)
    assert logs["size"].item() == pytest.approx(size_penalty(y, batch["mask"]).item(), rel=1e-5)


def test_papers_loss_scale_sums_every_term_over_the_batch():
    # loss_scale: paper -> eq. 10 with L_N summed over the batch (eq. 3) and R_size = ||Y||_1,
    # R_binary = sum Y (1 - Y) over frames and videos (section 3.4); mean: ours (batch means,
    # per-frame means). Same weights, same batch, deterministic relaxation.
    batch = batch_of(small_set("tvsum", 0, n_videos=3))
    mask = batch["mask"]
    losses = {}
    for scale in ("paper", "mean"):
        model = module(reparameterization="sigmoid", temperature=1.0, loss_scale=scale,
                       beta_size=2.0, beta_binary=3.0)
        model.eval()
        loss, logs = model.training_loss(batch)
        losses[scale] = (loss, logs)
        with torch.no_grad():
            y = torch.sigmoid(model.summarizer(batch["features"], mask)) * mask
        lengths = mask.sum(1).float()
        if scale == "paper":
            size, binary = y.sum(), (y * (1 - y)).sum()
        else:
            size = (y.sum(1) / lengths).mean()
            binary = ((y * (1 - y)).sum(1) / lengths).mean()
        assert logs["size"].item() == pytest.approx(size.item(), rel=1e-5)
        assert logs["binary"].item() == pytest.approx(binary.item(), rel=1e-5)
        expected = logs["nce"] + 3.0 * binary + 2.0 * size
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # the same InfoNCE terms, summed over the 3 videos instead of averaged
    assert losses["paper"][1]["nce"].item() == pytest.approx(3 * losses["mean"][1]["nce"].item(),
                                                             rel=1e-5)
    with pytest.raises(ConfigError, match="loss_scale='sum'.*paper, mean"):
        module(loss_scale="sum")


@pytest.mark.parametrize("method", ["visp", "fsa"])
def test_pretraining_data_of_another_feature_dimension_is_one_error(h5_files, method) -> None:
    """Both pretraining modules refuse data whose features are not model.input_dim wide, naming
    the files and both widths, before any step runs."""
    from vsumlab.data.pseudo_summaries import FSAPretrainDataModule
    from vsumlab.models.visp_fsa import FSAPretrainModule

    if method == "visp":
        model, data = module(input_dim=DIM + 1), ViSPPretrainDataModule([str(h5_files[0])])
    else:
        model = FSAPretrainModule(summarizer="csta", summarizer_args=CSTA_ARGS, input_dim=DIM + 1)
        data = FSAPretrainDataModule([str(h5_files[0])])
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    with pytest.raises(ConfigError, match=rf"{h5_files[0]}\) has {DIM}-d features but "
                                          rf"model.input_dim is {DIM + 1}"):
        trainer.fit(model, datamodule=data)
