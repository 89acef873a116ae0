"""DeSumNet learns categories from category labels only, and its importance finds the events.

The world: 3 categories whose videos share one background; each video shows its category's
event (a coloured square crossing the frame in the category's direction) during one 16-frame
segment. Training: 6 videos of 32 frames per category (half of their clips show no event, so
half the labels are noise at clip level), a 3D CNN at 1/8 width, 10 epochs through Lightning.
Test: 3 unseen 64-frame videos per category with the event in one of 4 segments.

Margins (chance in brackets). Measured with this setup over training seeds 0-9: video accuracy
1.0 every time; event AUC 1.0 for 7 seeds, 0.93-0.96 for 2 and 0.67 for one, where the network
learned one category by elimination ("none of the other events") so that category's event
does not stand out; the event was the top segment in 6 to 9 of the 9 test videos.
- video classification accuracy >= 0.8 (1/3)
- importance: P(event segment > background segment) averaged over videos >= 0.65 (0.5); the
  event is the top segment of >= 5 of 9 videos (expected 2.25)
- `vsumlab eval` F1 of the importance >= random baseline F1 + 20 points
- refinement keeps web segments of the category's event, drops other categories' events
- the time-lapse keeps more frames of the event segment than of each background segment in
  >= 5 of 9 videos (expected 2.25)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import pytest
from lightning.pytorch.loggers import CSVLogger

from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.event_videos import (
    SyntheticVideo,
    make_category_videos,
    write_event_dataset,
)
from vsumlab.data.webvideos import VideoEntry, WebVideoDataModule, write_list_file
from vsumlab.evaluation.metrics import evaluate_dataset, random_baseline
from vsumlab.models.desumnet import DeSumNetModule, VideoImportance, refine_web_videos
from vsumlab.video.timelapse import keep_counts

pytestmark = pytest.mark.slow

EPOCHS = 10
# 1/8 of the paper's widths: at 1/16 (4 filters in conv1) some seeds never learn one category
# and settle on "no other event seen, so this one" (loss stuck at ln 2)
WIDTH = 0.125


@dataclass
class World:
    root: Path
    train: list[SyntheticVideo]
    test: list[SyntheticVideo]
    web: list[SyntheticVideo]
    h5: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("desumnet_world")
    train = make_category_videos(root / "train", 3, 6, n_frames=32, seed=1, align=16)
    test = make_category_videos(root / "test", 3, 3, n_frames=64, seed=2, align=16)
    web = make_category_videos(root / "web", 3, 2, n_frames=64, seed=3, align=16, distractor=True)
    h5 = write_event_dataset(test, root / "test.h5", n_users=5, step=4, shot_len=8)
    return World(root, train, test, web, h5)


@pytest.fixture(scope="module")
def trained(world: World) -> tuple[DeSumNetModule, dict, Path]:
    L.seed_everything(0, verbose=False)
    data = WebVideoDataModule(
        str(world.root / "train"), val=str(world.root / "test"), resize=(36, 48), crop=32,
        clips_per_video=2, eval_clips_per_video=4, batch_size=8, flip=True,
        cache_dir=str(world.root / "cache"),
    )
    module = DeSumNetModule(
        width=WIDTH, crop=32, dropout=0.0, lr=0.01, weight_decay=5e-4, lr_step_epochs=100
    )
    trainer = L.Trainer(
        # a logger, as recipes have: Lightning then checks model and data hparams agree
        max_epochs=EPOCHS, logger=CSVLogger(world.root / "logs"), enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=world.root / "run", num_sanity_val_steps=0,
        check_val_every_n_epoch=EPOCHS,  # validate once, at the end
    )
    trainer.fit(module, data)
    ckpt = world.root / "trained.ckpt"
    trainer.save_checkpoint(ckpt)
    module.eval()
    return module, {k: float(v) for k, v in trainer.callback_metrics.items()}, ckpt


@pytest.fixture(scope="module")
def importances(trained, world) -> list[VideoImportance]:
    """Importance of every test video (one forward and one backward pass each)."""
    module, _, _ = trained
    return [module.video_importance(video.path) for video in world.test]


def _event_segment(video: SyntheticVideo) -> int:
    return video.event[0] // 16


def test_classifier_learns_the_categories(trained, importances, world):
    module, metrics, _ = trained
    assert module.categories == ["cat0", "cat1", "cat2"]  # taken from the folders
    assert metrics["val/video_acc"] >= 0.8  # chance 1/3
    predicted = [importance.category for importance in importances]
    assert np.mean([p == v.category for p, v in zip(predicted, world.test)]) >= 0.8


def test_importance_peaks_on_the_category_event(importances, world):
    aucs, tops = [], 0
    for video, scored in zip(world.test, importances):
        importance = scored.segment
        on = np.arange(len(importance)) == _event_segment(video)
        aucs.append(np.mean([a > b for a in importance[on] for b in importance[~on]]))
        tops += int(np.argmax(importance)) == _event_segment(video)
    assert np.mean(aucs) >= 0.65, aucs  # chance 0.5
    assert tops >= 5, tops  # of 9; chance expects 2.25


def test_eval_scores_importance_above_random(importances, world):
    dataset = read_dataset(world.h5)
    # video_i of the h5 is test video i (score_dataset does the same, finding files by name)
    predictions = {
        f"video_{i}": scored.step_scores(dataset[f"video_{i}"].picks)
        for i, scored in enumerate(importances, start=1)
    }
    model = evaluate_dataset(dataset, predictions).mean
    chance = random_baseline(dataset, draws=20).mean
    assert model.f1 >= chance.f1 + 20.0, (model, chance)
    assert model.kendall > chance.kendall + 0.1 and model.spearman > chance.spearman + 0.1


def test_refinement_keeps_the_category_events(trained, world):
    module, _, _ = trained
    entries = [VideoEntry(v.path, v.category) for v in world.web]
    kept, stats = refine_web_videos(module, entries, threshold=0.5)
    by_path = {v.path: v for v in world.web}
    own = [by_path[e.path].event[0] // 16 == e.start // 16 for e in kept]
    distractors = [
        by_path[e.path].distractor is not None
        and by_path[e.path].distractor[0] // 16 == e.start // 16
        for e in kept
    ]
    assert sum(s["total"] for s in stats.values()) == 6 * 4
    assert len(kept) >= 4 and np.mean(own) >= 0.8, (kept, stats)  # own events: 6 of 24
    assert sum(distractors) <= 1  # other categories' events are discarded


def test_adaptation_continues_from_the_trained_network(trained, world, tmp_path):
    module, metrics, ckpt = trained
    entries = [VideoEntry(v.path, v.category) for v in world.web]
    kept, _ = refine_web_videos(module, entries, threshold=0.5)
    refined = write_list_file(tmp_path / "refined.txt", kept)
    L.seed_everything(0, verbose=False)
    data = WebVideoDataModule(
        [str(world.root / "train"), str(refined)], val=str(world.root / "test"),
        resize=(36, 48), crop=32, clips_per_video=2, eval_clips_per_video=4, batch_size=8,
        flip=True, cache_dir=str(world.root / "cache"),
    )
    adapted = DeSumNetModule(
        width=WIDTH, crop=32, dropout=0.0, lr=0.01, weight_decay=5e-4, pretrained=str(ckpt),
        pretrained_lr=0.003,
    )
    trainer = L.Trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, num_sanity_val_steps=0,
    )
    trainer.fit(adapted, data)
    assert len(adapted._pretrained_names) == len(list(adapted.parameters()))  # fc8 kept too
    assert float(trainer.callback_metrics["val/video_acc"]) >= 0.8


def test_timelapse_slows_down_on_the_event(importances, world):
    slower = 0
    for video, importance in zip(world.test, importances):
        keep = keep_counts(importance.ends - importance.starts + 1, importance.segment)
        event = _event_segment(video)
        slower += bool(np.all(keep[event] > np.delete(keep, event)))
    assert slower >= 5, slower
