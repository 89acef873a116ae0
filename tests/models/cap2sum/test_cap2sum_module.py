"""Cap2SumModule: loss composition, gradient paths, modes, checkpoints, weak fine-tuning."""

from __future__ import annotations

import json

import lightning as L
import numpy as np
import pytest
import torch

from vsumlab.data.captions.datamodule import CaptionDataModule
from vsumlab.data.captions.format import load_captions
from vsumlab.data.schema import write_dataset
from vsumlab.data.standard_h5 import SummarizationDataModule
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.data.synthetic.dense_captions import write_caption_features
from vsumlab.errors import ConfigError
from vsumlab.models.cap2sum import Cap2SumModule, captioned_margin
from vsumlab.models.loading import load_summarizer

DIM = 16
CAPTIONER = dict(d_model=16, n_heads=2, n_points=2, n_levels=2, n_queries=4, ffn_dim=32,
                 max_events=4, caption_hidden=16, caption_word_dim=8, norm_groups=4, dropout=0.0,
                 caption_attend=False)  # fmt: skip
SUMMARIZER = dict(
    d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, head_hidden=16, dropout=0.0
)
CAPTIONS = {
    "v_a": {"duration": 40.0, "timestamps": [[4.0, 12.0], [20.0, 30.0]],
            "sentences": ["a man runs on a track", "the man jumps over a bar"]},
    "v_b": {"duration": 30.0, "timestamps": [[0, 10.0]], "sentences": ["a dog runs on grass"]},
    "v_c": {"duration": 36.0, "timestamps": [[10.0, 20.0]], "sentences": ["a woman plays a drum"]},
}  # fmt: skip


def module(**kwargs) -> Cap2SumModule:
    torch.manual_seed(0)
    base = dict(input_dim=DIM, summarizer_args=SUMMARIZER, captioner=CAPTIONER, lr=1e-3)
    return Cap2SumModule(**{**base, **kwargs})


@pytest.fixture
def caption_data(tmp_path):
    caps = tmp_path / "caps.json"
    caps.write_text(json.dumps(CAPTIONS))
    feats = write_caption_features(
        tmp_path / "feats.h5", load_captions(caps), dim=DIM, steps_per_second=1.0
    )
    dm = CaptionDataModule(str(caps), str(feats), val_captions=str(caps), min_word_count=1,
                           batch_size=3)  # fmt: skip
    return dm


def test_total_loss_is_the_papers_weighted_sum(caption_data):
    model = module(vocabulary=caption_data.vocabulary.words)
    batch = next(iter(caption_data.train_dataloader()))
    loss, logs = model.training_loss(batch)
    expected = 2 * logs["caption"] + 0.5 * logs["length"] + 0.5 * logs["variance"]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert "prior" not in logs and "captioned_margin" in logs
    # caption loss = 4 giou + 2 cls + 0.5 ec + 0.5 caption CE, over both decoder layers
    assert logs["caption"].item() > 4 * logs["cap_giou"].item()


def test_caption_loss_gradients_reach_the_summarizer_through_the_weights(caption_data):
    model = module(vocabulary=caption_data.vocabulary.words, weight_length=0.0,
                   weight_variance=0.0)  # fmt: skip
    batch = next(iter(caption_data.train_dataloader()))
    loss, _ = model.training_loss(batch)
    loss.backward()
    grads = [p.grad for p in model.summarizer.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0


def test_captioner_mode_trains_the_captioner_alone(caption_data):
    model = module(mode="captioner", vocabulary=caption_data.vocabulary.words)
    batch = next(iter(caption_data.train_dataloader()))
    loss, logs = model.training_loss(batch)
    loss.backward()
    assert all(p.grad is None for p in model.summarizer.parameters())
    assert loss.item() == pytest.approx(logs["cap_total"].item())


def test_supervised_mode_is_mse_plus_optional_prior(tmp_path):
    data = make_synthetic_dataset("tvsum", seed=0, n_videos=2, feature_dim=DIM, min_duration=20,
                                  max_duration=30)  # fmt: skip
    records = list(data.records.values())
    features = torch.stack([torch.from_numpy(r.features[:30]) for r in records])
    gtscore = torch.rand(2, 30)
    batch = {"features": features, "mask": torch.ones(2, 30, dtype=torch.bool),
             "gtscore": gtscore, "keys": ["a", "b"], "n_steps": torch.tensor([30, 30])}  # fmt: skip
    plain = module(mode="supervised")
    loss, logs = plain.training_loss(batch)
    scores = plain.scores(features, batch["mask"])
    assert loss.item() == pytest.approx(((scores - gtscore) ** 2).mean().item(), rel=1e-5)
    # the prior's text features: steps 0..11 of each video show "object 0", the rest none
    text = np.eye(DIM, dtype=np.float32)[:4]
    np.save(tmp_path / "text.npy", text)
    features[:, :12] = torch.from_numpy(text[0])
    features[:, 12:] = torch.from_numpy(np.eye(DIM, dtype=np.float32)[5])  # equally far from all
    with_prior = module(mode="supervised", use_prior=True,
                        prior={"text_features": str(tmp_path / "text.npy")})  # fmt: skip
    loss, logs = with_prior.training_loss(batch)
    scores = with_prior.scores(features, batch["mask"])
    prior_term = ((scores[:, :12] - 1) ** 2).sum(1).div(30).mean()
    assert logs["prior"].item() == pytest.approx(prior_term.item(), rel=1e-5)
    assert loss.item() == pytest.approx(logs["mse"].item() + 10 * prior_term.item(), rel=1e-5)


def test_checkpoint_round_trip_keeps_vocabulary_and_captioner(caption_data, tmp_path):
    model = module()
    trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, caption_data)  # builds the captioner from the data's vocabulary
    assert model.vocabulary == caption_data.vocabulary
    path = tmp_path / "pre.ckpt"
    trainer.save_checkpoint(path)
    payload = torch.load(path, weights_only=False)
    assert payload["cap2sum_vocabulary"]["words"] == caption_data.vocabulary.words
    loaded = Cap2SumModule.load_from_checkpoint(path, weights_only=False)
    assert loaded.vocabulary == caption_data.vocabulary
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    scorer = load_summarizer(path)
    feats = np.random.default_rng(0).standard_normal((9, DIM)).astype(np.float32)
    np.testing.assert_allclose(scorer.score_video(feats), model.score_video(feats), rtol=1e-5)
    # a later stage starts from this captioner and vocabulary
    follow = module(mode="pretrain", captioner_from=str(path), freeze_captioner=True)
    assert follow.vocabulary == caption_data.vocabulary
    assert torch.equal(follow.captioner.query_embed.weight, model.captioner.query_embed.weight)
    assert not any(p.requires_grad for p in follow.captioner.parameters())


def test_validation_reports_dense_caption_metrics(caption_data):
    model = module(vocabulary=caption_data.vocabulary.words, max_caption_len=6)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    (metrics,) = trainer.validate(model, caption_data, verbose=False)
    for name in ("val/caption_loss", "val/count_accuracy", "val/bleu4", "val/recall@0.5",
                 "val/precision@0.9", "val/captioned_margin"):  # fmt: skip
        assert name in metrics, name
    assert 0.0 <= metrics["val/recall@0.3"] <= 1.0


def test_weak_finetune_maps_target_captions_by_key(tmp_path, capsys):
    data = make_synthetic_dataset("tvsum", seed=0, n_videos=5, feature_dim=DIM, min_duration=20,
                                  max_duration=30)  # fmt: skip
    h5 = write_dataset(tmp_path / "syn.h5", data.records.values(), attrs=data.attrs)
    keys = list(data.records)
    caps = {key: {"duration": 20.0, "timestamps": [[2.0, 9.0]], "sentences": ["a man runs"]}
            for key in keys[:-1]}  # fmt: skip
    (tmp_path / "caps.json").write_text(json.dumps(caps))
    dm = SummarizationDataModule(str(h5), n_folds=5, fold=0, val_fraction=0.0, batch_size=2)
    model = module(mode="weak_finetune", target_captions=str(tmp_path / "caps.json"))
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(model, dm)
    train_keys = dm.keys["train"]
    with_caps = [k for k in train_keys if k in caps]
    assert sum(v is not None for v in model._targets.values()) == len(with_caps)
    if len(with_caps) < len(train_keys):
        assert "no captions for 1 of 4 training videos" in capsys.readouterr().err
    key = with_caps[0]
    record = data[key]
    boxes = model._targets[key][1].boxes
    # 2..9 s at 2 steps per second (picks every 15th frame at 30 fps): steps 4..17 of the
    # record (step 18 starts at 9.0 s, where the event ends)
    first, last = 4, 17
    np.testing.assert_allclose(boxes[0].numpy(), [(first + last + 1) / 2 / record.n_steps,
                                                  (last + 1 - first) / record.n_steps])  # fmt: skip


def test_configuration_errors():
    with pytest.raises(ConfigError, match="model.mode"):
        module(mode="nope")
    with pytest.raises(ConfigError, match="model.prior: unknown option"):
        module(prior={"threshold": 0.4})
    with pytest.raises(ConfigError, match="caption_loss: unknown option"):
        module(caption_loss={"giou": 4})
    with pytest.raises(ConfigError, match="target_captions"):
        module(mode="weak_finetune")


def test_captioned_margin_by_hand():
    scores = torch.tensor([[0.9, 0.7, 0.1, 0.3], [0.5, 0.5, 0.5, 0.0]])
    captioned = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    valid = torch.tensor([[True] * 4, [True, True, True, False]])
    # video 1: 0.8 - 0.2; video 2 has no uncaptioned valid step and is left out
    assert captioned_margin(scores, captioned, valid).item() == pytest.approx(0.6)


def test_pretraining_on_summarization_data_is_refused(tmp_path):
    data = make_synthetic_dataset("summe", seed=0, n_videos=5, feature_dim=DIM, min_duration=20,
                                  max_duration=30)  # fmt: skip
    h5 = write_dataset(tmp_path / "syn.h5", data.records.values(), attrs=data.attrs)
    dm = SummarizationDataModule(str(h5), n_folds=5, fold=0, val_fraction=0.0, batch_size=2)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    with pytest.raises(ConfigError, match="CaptionDataModule"):
        trainer.fit(module(mode="pretrain"), dm)


@pytest.mark.parametrize("freeze", [True, False])
def test_pretraining_trains_the_captioner_first_then_the_summarizer_against_it(caption_data,
                                                                               freeze):
    # epoch 0: the captioner alone (S = 1); epoch 1: the summarizer, and the captioner unless
    # it is held fixed
    model = module(mode="pretrain", captioner_epochs=1, freeze_captioner=freeze)
    snapshots = []

    class Snapshot(L.Callback):
        def on_train_start(self, trainer, pl_module):
            snapshots.append({k: v.clone() for k, v in pl_module.state_dict().items()})

        def on_train_epoch_end(self, trainer, pl_module):
            snapshots.append({k: v.clone() for k, v in pl_module.state_dict().items()})

    trainer = L.Trainer(max_epochs=2, limit_train_batches=2, limit_val_batches=0,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[Snapshot()])  # fmt: skip
    trainer.fit(model, caption_data)

    def changed(a, b, prefix):
        return any(not torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))

    initial, first, second = snapshots
    assert not changed(initial, first, "summarizer.")  # stage 1 leaves S alone
    assert changed(initial, first, "captioner.")
    assert changed(first, second, "summarizer.")  # stage 2 trains S ...
    assert changed(first, second, "captioner.") is not freeze  # ... and the captioner unless fixed


def test_use_prior_auto_follows_the_configured_clip_features(caption_data, tmp_path):
    np.save(tmp_path / "text.npy", np.eye(DIM, dtype=np.float32)[:4])
    text = {"text_features": str(tmp_path / "text.npy")}
    assert module(mode="pretrain")._resolve_prior(caption_data) is False  # synthetic features
    assert module(mode="pretrain", prior=text)._resolve_prior(caption_data) is True
    assert module(mode="pretrain", prior={"weights": "w.bin"})._resolve_prior(None) is True
    assert module(mode="supervised", prior=text)._resolve_prior(caption_data) is False  # eq. 7
    assert module(mode="pretrain", prior=text, use_prior=False)._resolve_prior(None) is False
    assert module(mode="supervised", use_prior=True)._resolve_prior(None) is True
    # features made by `vsumlab features` with the prior's CLIP model: on, with those weights
    import h5py

    with h5py.File(caption_data.features_path, "a") as handle:
        handle.attrs["feature_model"] = "ViT-B-16"
        handle.attrs["feature_weights"] = "clip_vitb16.bin"
    clip = module(mode="pretrain")
    assert clip._resolve_prior(caption_data) is True
    assert clip.prior_options["weights"] == "clip_vitb16.bin"
    other = module(mode="pretrain", prior={"encoder": "ViT-L-14"})
    assert other._resolve_prior(caption_data) is False
    with pytest.raises(ConfigError, match="use_prior='maybe'"):
        module(use_prior="maybe")
    with pytest.raises(ConfigError, match="captioner_epochs=2"):
        module(mode="supervised", captioner_epochs=2)


@pytest.mark.parametrize(("options", "target"), [({}, 0.3), ({"length_target": 0.5}, 0.5)])
def test_length_and_variance_terms_of_the_summarizers_scores(caption_data, options, target):
    # eq. 4 with l = 0.3 (paper) unless configured; eq. 5: 0.25 - population variance
    model = module(vocabulary=caption_data.vocabulary.words, **options)
    batch = next(iter(caption_data.train_dataloader()))
    _, logs = model.training_loss(batch)
    scores, valid = model.scores(batch["features"], batch["mask"]), batch["mask"]
    means, variances = [], []
    for row in range(len(batch["keys"])):
        s = scores[row][valid[row]]
        means.append((s.mean() - target) ** 2)
        variances.append(0.25 - s.var(unbiased=False))
    assert logs["length"].item() == pytest.approx(torch.stack(means).mean().item(), rel=1e-5)
    assert logs["variance"].item() == pytest.approx(torch.stack(variances).mean().item(), rel=1e-5)


def test_a_shortened_pretraining_states_its_stage_lengths_and_what_to_raise(caption_data,
                                                                            capsys):
    from vsumlab.models.cap2sum import captioner_stage_note

    assert captioner_stage_note(3, 1) == (
        "vsumlab: Cap2Sum pretraining shortened to trainer.max_epochs=1: no captioner-only "
        "stage (model.captioner_epochs=3 needs more epochs); the captioner and the summarizer "
        "train jointly from scratch for 1 epoch (as captioner_epochs=0); raise "
        "trainer.max_epochs to 4 or more for both stages")
    assert captioner_stage_note(3, 2) == (
        "vsumlab: Cap2Sum pretraining shortened to trainer.max_epochs=2: the captioner trains "
        "alone for 1 epoch(s) instead of model.captioner_epochs=3, then the summarizer for 1; "
        "raise trainer.max_epochs to 4 or more for both stages")
    trainer = L.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    trainer.fit(module(mode="pretrain", captioner_epochs=3), caption_data)
    err = capsys.readouterr().err
    assert err.count("Cap2Sum pretraining shortened") == 1  # said once, not per batch
    assert "captioner trains alone for 0 epoch" not in err
