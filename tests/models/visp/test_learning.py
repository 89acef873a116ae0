"""ViSP pretraining discovers informative frames, and fine-tuning from it is not worse than
from scratch (slow, small).

Data: the synthetic TVSum-like set with ``background="generic"`` (the set the make targets
use): non-planted shots show scenes shared by every video, planted shots their video's own, so
the planted frames are what tells a video apart (ViSP's premise). Pretraining without labels must
make the summarizer keep planted steps far more often than a random summary of the same length
does; the supervised fine-tuning (MSE on gtscore) from those weights must rank held-out videos at
least as well as the same fine-tuning from scratch.
"""

from functools import cache

import numpy as np
import pytest
import torch

from vsumlab.data.schema import Dataset
from vsumlab.data.standard_h5 import collate_videos
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.data.unlabeled_videos import UnlabeledVideos, collate_unlabeled
from vsumlab.evaluation.metrics import evaluate_dataset
from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp import ViSPPretrainModule, planted_lift

DIM = 32
CSTA_ARGS = {"trunk_channels": 4, "head_hidden": 32}


def generic_set(seed: int) -> Dataset:
    return make_synthetic_dataset(
        "tvsum", seed=seed, n_videos=24, feature_dim=DIM, min_duration=20, max_duration=60,
        background="generic",
    )  # fmt: skip


def pretrain(
    data: Dataset, summarizer: str, summarizer_args: dict, steps: int, seed: int, **options
) -> tuple[ViSPPretrainModule, float, float]:
    """(pretrained module, planted lift before, planted lift after) on every video of ``data``."""
    videos = UnlabeledVideos(list(data.records.items()))
    everything = collate_unlabeled([videos[i] for i in range(len(videos))])
    torch.manual_seed(seed)
    model = ViSPPretrainModule(
        summarizer=summarizer, summarizer_args=summarizer_args, input_dim=DIM, **options
    )
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)

    def lift() -> float:
        model.eval()
        with torch.no_grad():
            logits = model(everything["features"], everything["mask"])
        model.train()
        kept, share = planted_lift(logits, everything["planted"], everything["mask"])
        return (kept - share).mean().item()

    before = lift()
    for _ in range(steps):
        batch = collate_unlabeled([videos[i] for i in torch.randperm(len(videos))[:8].tolist()])
        loss, _ = model.training_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model, before, lift()


@cache
def pretrained_csta(seed: int) -> tuple[Dataset, ViSPPretrainModule, float, float]:
    data = generic_set(seed)
    return (data, *pretrain(data, "csta", CSTA_ARGS, steps=100, seed=seed))


def finetuned_kendall(data: Dataset, state: dict | None, seed: int, steps: int = 100) -> float:
    """Kendall tau of CSTA fine-tuned (MSE on gtscore) on the first 16 videos, on the last 8;
    from ``state`` (a ViSP export) or from scratch, on the same batches."""
    train, test = data.keys[:16], data.keys[16:]

    def items(keys: list[str]) -> list[dict]:
        return [
            {
                "key": key,
                "features": torch.from_numpy(data[key].features),
                "gtscore": torch.from_numpy(np.asarray(data[key].gtscore, np.float32)),
            }
            for key in keys
        ]

    train_items = items(train)
    torch.manual_seed(100 + seed)
    model = SummarizerModule(summarizer="csta", summarizer_args=CSTA_ARGS, input_dim=DIM)
    if state is not None:
        model.summarizer.load_state_dict(state)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        picks = torch.randperm(len(train_items), generator=order)[:4].tolist()
        loss, _ = model.training_loss(collate_videos([train_items[i] for i in picks]))
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    batch = collate_videos(items(test))
    with torch.no_grad():
        scores = model.scores(batch["features"], batch["mask"])
    predictions = {
        key: scores[row, : int(batch["mask"][row].sum())].numpy().astype(np.float64)
        for row, key in enumerate(batch["keys"])
    }
    return evaluate_dataset(data, predictions, keys=test).mean.kendall


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_csta_pretraining_keeps_planted_frames(seed):
    _, _, before, after = pretrained_csta(seed)
    # Untrained: no real preference (|lift| < 0.1; measured +0.03, -0.05). Pretrained: the
    # expected share of planted steps in a sampled summary exceeds the video's planted share (a
    # random summary of the same length) by more than 0.15 (measured +0.67 and +0.35 after 100
    # steps; on the default set, whose planted frames are not distinctive: -0.01 and -0.09).
    assert abs(before) < 0.1
    assert after > 0.15, after


@pytest.mark.slow
def test_finetuning_from_pretrained_is_not_worse_than_scratch():
    differences = []
    for seed in (0, 1):
        data, model, _, _ = pretrained_csta(seed)
        scratch = finetuned_kendall(data, None, seed)
        visp = finetuned_kendall(data, model.export_summarizer_state(), seed)
        differences.append(visp - scratch)
    # Held-out Kendall tau from the pretrained start minus from scratch, mean of 2 seeds, must not
    # drop by more than 0.005 (measured +0.010 and +0.013, scratch tau 0.27-0.31). Pretraining on
    # the default set (ViSP's premise fails there) measured +0.005 and -0.030 and would fail.
    assert np.mean(differences) > -0.005, differences


@pytest.mark.slow
def test_transformer_pretraining_keeps_planted_frames():
    # The transformer's pre-norm layers partly undo the gating's scale, so it learns slower with
    # the paper's raw inner product; cosine similarity at temperature 0.1 (an option of the
    # module) makes 200 steps enough.
    args = {"d_model": 32, "n_heads": 4, "dim_feedforward": 64, "head_hidden": 32}
    _, before, after = pretrain(
        generic_set(0), "transformer", args, steps=200, seed=0, similarity="cosine",
        nce_temperature=0.1,
    )  # fmt: skip
    assert abs(before) < 0.1
    assert after > 0.15, after
