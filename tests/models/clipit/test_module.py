"""CLIPItModule on the harness: datamodule, metrics, checkpoints, queries, both objectives."""

from __future__ import annotations

import json

import lightning as L
import numpy as np
import pytest
import torch

from vsumlab.data.schema import write_dataset
from vsumlab.data.standard_h5 import SummarizationDataModule, collate_videos, normalise_scores
from vsumlab.data.synthetic.caption_aligned import EVENT_SENTENCES, make_caption_aligned_dataset
from vsumlab.errors import ConfigError
from vsumlab.models.clipit import CLIPItModule
from vsumlab.models.loading import load_summarizer
from vsumlab.training.scoring import ProtocolScoring

from .helpers import TINY, TINY_DIM, tiny_module


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clipit")
    dataset, captions = make_caption_aligned_dataset(
        "tvsum", seed=1, n_videos=6, feature_dim=24, min_duration=20, max_duration=30
    )
    h5 = write_dataset(folder / "set.h5", dataset, dataset.attrs)
    caption_file = folder / "captions.json"
    caption_file.write_text(json.dumps(captions))
    return dataset, captions, h5, caption_file, folder


def _batch(dataset, keys):
    items = [
        {
            "key": k,
            "features": torch.from_numpy(dataset[k].features),
            "gtscore": torch.from_numpy(normalise_scores(dataset[k].gtscore)),
        }
        for k in keys
    ]
    return collate_videos(items)


def test_fit_test_predict_checkpoint_and_query_end_to_end(small_set, tmp_path):
    dataset, captions, h5, caption_file, _ = small_set
    module = tiny_module(24, captions=str(caption_file), text_cache_dir=str(tmp_path / "text"))
    data = SummarizationDataModule(str(h5), n_folds=2, fold=0, batch_size=2)
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", default_root_dir=tmp_path, logger=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[ProtocolScoring()],
    )  # fmt: skip
    trainer.fit(module, data)
    assert list((tmp_path / "text").glob("text-vsumlab-tiny-clip*.npz"))  # cached once
    metrics = trainer.test(module, data, verbose=False)[0]
    assert {"test/f1", "test/kendall", "test/spearman", "test/loss"} <= set(metrics)
    predictions = {}
    for batch in trainer.predict(module, data):
        predictions.update(batch)
    assert set(predictions) == set(data.keys["test"])

    checkpoint = tmp_path / "clipit.ckpt"
    trainer.save_checkpoint(checkpoint)
    loaded = load_summarizer(checkpoint)
    assert isinstance(loaded, CLIPItModule)
    assert "summarizer_args" not in loaded.hparams  # only CLIP-It's own arguments
    record = dataset[data.keys["test"][0]]
    sentences = captions[record.key]["sentences"]
    np.testing.assert_allclose(
        loaded.score_video(record.features, captions=sentences),
        predictions[record.key],
        atol=1e-5,
    )
    # a user query: any sentence, encoded on the fly by the same (seeded) text tower
    scores = loaded.score_video(record.features, query=EVENT_SENTENCES[0])
    assert scores.shape == (record.n_steps,) and np.all((scores >= 0) & (scores <= 1))
    assert not np.allclose(scores, loaded.score_video(record.features, query=EVENT_SENTENCES[1]))


def test_batched_scores_equal_single_video_scores(small_set):
    dataset, captions, *_ = small_set
    module = tiny_module(24).eval()
    keys = dataset.keys[:3]
    module.attach({k: dataset[k] for k in keys}, {k: captions[k]["sentences"] for k in keys})
    with torch.no_grad():
        batched = torch.sigmoid(module.batch_logits(_batch(dataset, keys)))
    for row, key in enumerate(keys):
        alone = module.score_video(dataset[key].features, captions=captions[key]["sentences"])
        n = dataset[key].n_steps
        np.testing.assert_allclose(batched[row, :n].numpy(), alone, atol=1e-5)


def test_supervised_loss_uses_keyshot_labels(small_set):
    dataset, captions, *_ = small_set
    module = tiny_module(24, pos_weight=1.0)
    keys = dataset.keys[:2]
    module.attach({k: dataset[k] for k in keys}, {k: captions[k]["sentences"] for k in keys})
    batch = _batch(dataset, keys)
    labels = module.labels(keys, batch["features"].shape[1])
    for row, key in enumerate(keys):
        np.testing.assert_array_equal(labels[row, : dataset[key].n_steps], dataset[key].gtsummary)
    _, logs = module.training_loss(batch)
    logits = module.batch_logits(batch)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[batch["mask"]], labels[batch["mask"]]
    )
    torch.testing.assert_close(logs["classification"], expected)
    assert set(logs) == {"classification", "diversity", "reconstruction"}


def test_unsupervised_objective_learns_a_short_diverse_summary(small_set):
    """No labels: 60 Adam steps halve reconstruction + diversity + length; the mean score moves
    to the target summary rate and the scores spread out (a selection, not a constant)."""
    dataset, captions, *_ = small_set
    torch.manual_seed(0)
    module = tiny_module(24, objective="unsupervised", summary_rate=0.15)
    keys = dataset.keys
    module.attach({k: dataset[k] for k in keys}, {k: captions[k]["sentences"] for k in keys})
    batch = _batch(dataset, keys)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    first, _ = module.training_loss(batch)
    with torch.no_grad():
        spread = torch.sigmoid(module.batch_logits(batch))[batch["mask"]].std().item()
    for _ in range(60):
        loss, logs = module.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert set(logs) == {"reconstruction", "diversity", "length"}  # no labels, no L_c
    assert loss.item() < 0.5 * first.item()
    with torch.no_grad():
        scores = torch.sigmoid(module.batch_logits(batch))[batch["mask"]]
    assert abs(scores.mean().item() - 0.15) < 0.04
    assert scores.std().item() > 2 * spread


def test_text_ablation_needs_no_text_at_all(small_set):
    dataset, *_ = small_set
    module = tiny_module(24, use_text=False)  # no captions file, no encoder ever built
    module.attach({k: dataset[k] for k in dataset.keys})
    loss, _ = module.training_loss(_batch(dataset, dataset.keys[:2]))
    assert torch.isfinite(loss)
    assert module.text_cache._encoder is None
    scores = module.score_video(dataset["video_1"].features, query="ignored")
    assert scores.shape == (dataset["video_1"].n_steps,)


def test_configuration_errors_name_the_option(small_set):
    dataset, *_ = small_set
    with pytest.raises(ConfigError, match="model.mode='both' is unknown"):
        CLIPItModule(input_dim=24, mode="both")
    with pytest.raises(ConfigError, match="model.objective='rl' is unknown"):
        CLIPItModule(input_dim=24, objective="rl")
    with pytest.raises(ConfigError, match="model.guide='query' is unknown"):
        CLIPItModule(input_dim=24, guide="query")
    with pytest.raises(ConfigError, match="missing_text='name' is retired; use model.guide=title"):
        CLIPItModule(input_dim=24, missing_text="name")
    with pytest.raises(ConfigError, match="missing_text='captioner' is retired; use model.captioner"):
        CLIPItModule(input_dim=24, missing_text="captioner")
    module = tiny_module(24, text_dim=16)  # the tiny tower gives 32-d embeddings
    with pytest.raises(ConfigError, match=f"text_dim=16 but the text encoder .* {TINY_DIM}-d"):
        module.attach({"video_1": dataset["video_1"]}, {"video_1": ["a dog"]})
    module = tiny_module(24)
    with pytest.raises(ConfigError, match="no guiding text prepared for video"):
        module.batch_text(["video_9"])
    with pytest.raises(ConfigError, match=r"features of shape \(5, 7\) do not fit"):
        module.score_video(np.zeros((5, 7)))
    with pytest.raises(ConfigError, match="the query is empty"):
        module.score_video(np.zeros((5, 24), np.float32), query=" ")
    with pytest.raises(ConfigError, match="no captions for video"):
        tiny_module(24, captions=None).attach({"video_1": dataset["video_1"]})
    # text weights that are not there: one line that starts with the fix of a CLIP-It run
    # (CLIPIT_TEXT_WEIGHTS), not with another command's --weights advice, then the details
    module = tiny_module(24, text_encoder="ViT-B-16", text_encoder_weights="absent.bin")
    with pytest.raises(ConfigError) as refused:
        module.attach({"video_1": dataset["video_1"]}, {"video_1": ["a dog"]})
    message = str(refused.value)
    assert message.startswith("CLIP-It's text encoder ViT-B-16 has no weights here: set "
                              "CLIPIT_TEXT_WEIGHTS=PATH")
    assert message.index("CLIPIT_TEXT_WEIGHTS") < message.index("Details: ")
    assert "absent.bin" in message.split("Details: ", 1)[1] and "\n" not in message
    assert TINY == "vsumlab-tiny-clip"
