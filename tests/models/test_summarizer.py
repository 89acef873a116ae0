"""The base summarizer LightningModule: batching, objective, checks, checkpoints."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch

from vsumlab.data.schema import read_dataset, write_dataset
from vsumlab.data.standard_h5 import SummarizationDataModule, collate_videos
from vsumlab.errors import ConfigError
from vsumlab.models.loading import load_summarizer
from vsumlab.models.summarizer import SummarizerModule, masked_mse
from vsumlab.training.scoring import ProtocolScoring

TINY = {"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}


def _tiny(input_dim: int = 64, **kwargs) -> SummarizerModule:
    return SummarizerModule(summarizer_args=TINY, input_dim=input_dim, **kwargs)


def _trainer(tmp_path, **kwargs) -> L.Trainer:
    """A trainer as a run builds it: the run scores the module's outputs (ProtocolScoring)."""
    defaults = dict(
        accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=str(tmp_path), num_sanity_val_steps=0,
        callbacks=[ProtocolScoring()],
    )
    return L.Trainer(**{**defaults, **kwargs})


def test_masked_mse_ignores_padding() -> None:
    scores = torch.tensor([[0.5, 1.0, 9.0]])
    target = torch.tensor([[0.0, 1.0, 0.0]])
    mask = torch.tensor([[True, True, False]])
    assert masked_mse(scores, target, mask).item() == pytest.approx(0.125)


@pytest.mark.parametrize("summarizer", ["transformer", "csta"])
def test_batch_gives_same_scores_as_single_videos(summarizer: str) -> None:
    torch.manual_seed(0)
    args = TINY if summarizer == "transformer" else {}
    module = SummarizerModule(summarizer=summarizer, summarizer_args=args, input_dim=16).eval()
    videos = [torch.randn(n, 16) for n in (7, 12, 3)]
    batch = collate_videos(
        [{"key": str(i), "features": v, "gtscore": torch.zeros(len(v))} for i, v in enumerate(videos)]
    )
    with torch.no_grad():
        batched = module.scores(batch["features"], batch["mask"])
        for i, video in enumerate(videos):
            single = module.score_video(video.numpy())
            np.testing.assert_allclose(batched[i, : len(video)].numpy(), single, atol=1e-5)


def test_score_video_rejects_wrong_dimension() -> None:
    with pytest.raises(ConfigError, match=r"expects \(n_steps, 64\)"):
        _tiny().score_video(np.zeros((5, 32), dtype=np.float32))


def test_feature_dimension_mismatch_fails_before_training(small_tvsum_h5, tmp_path) -> None:
    module = _tiny(input_dim=1024)
    with pytest.raises(ConfigError, match="64-d features but model.input_dim is 1024"):
        _trainer(tmp_path).fit(module, datamodule=SummarizationDataModule(str(small_tvsum_h5)))


def test_training_lowers_loss_and_validation_logs_metrics(small_tvsum_h5, tmp_path) -> None:
    torch.manual_seed(0)
    dm = SummarizationDataModule(str(small_tvsum_h5), batch_size=4)
    module = _tiny(lr=3e-3)
    trainer = _trainer(tmp_path, max_epochs=8)
    first = module.training_loss(next(iter(dm.train_dataloader())))[0].item()
    trainer.fit(module, datamodule=dm)
    last = module.training_loss(next(iter(dm.train_dataloader())))[0].item()
    assert last < 0.7 * first
    logged = trainer.callback_metrics
    for name in ("val/f1", "val/kendall", "val/spearman", "train/loss"):
        assert name in logged and torch.isfinite(logged[name])


def test_checkpoint_round_trip_and_loader_errors(small_tvsum_h5, tmp_path) -> None:
    source = read_dataset(small_tvsum_h5)
    data = tmp_path / "encoded.h5"
    write_dataset(data, source, attrs={**source.attrs, "feature_model": "colorhist"})
    dm = SummarizationDataModule(str(data))
    module = _tiny()
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(module, datamodule=dm)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = load_summarizer(path)
    assert isinstance(loaded, SummarizerModule) and loaded.input_dim == 64
    # the encoder that made the training features travels with the checkpoint
    assert loaded.feature_model == "colorhist"
    features = dm.record(dm.keys["test"][0]).features
    np.testing.assert_allclose(loaded.score_video(features), module.score_video(features), atol=1e-6)
    with pytest.raises(ConfigError, match="checkpoint not found"):
        load_summarizer(tmp_path / "missing.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        load_summarizer(tmp_path / "junk.ckpt")


def test_pretrained_summarizer_weights_are_loaded(small_tvsum_h5, tmp_path) -> None:
    source = _tiny()
    path = tmp_path / "pretrained.pt"
    torch.save({"summarizer_state_dict": source.summarizer.state_dict()}, path)
    target = _tiny(pretrained=str(path))
    for a, b in zip(source.summarizer.parameters(), target.summarizer.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="checkpoint not found"):
        _tiny(pretrained=str(tmp_path / "nope.pt"))
    wrong = tmp_path / "wrong.pt"
    torch.save({"summarizer_state_dict": {"bogus": torch.zeros(1)}}, wrong)
    with pytest.raises(ConfigError, match="does not fit the summarizer"):
        _tiny(pretrained=str(wrong))


def test_bf16_mixed_precision_on_cpu(small_tvsum_h5, tmp_path) -> None:
    dm = SummarizationDataModule(str(small_tvsum_h5))
    module = _tiny()
    trainer = _trainer(tmp_path, precision="bf16-mixed", max_epochs=1)
    trainer.fit(module, datamodule=dm)
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
