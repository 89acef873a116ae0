"""SummarizationMetrics gives evaluate_dataset's numbers, dedups repeats and reduces across
processes."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vsumlab.errors import ConfigError, PredictionError
from vsumlab.evaluation.metrics import evaluate_dataset
from vsumlab.evaluation.torchmetrics import SummarizationMetrics
from vsumlab.protocol.options import Protocol

from ._records import make_dataset, random_record


def _dataset(n_videos: int = 5):
    rng = np.random.default_rng(7)
    records = [
        # SumMe-like: binary user summaries only (no user_anno)
        random_record(rng, f"video_{i + 1}", int(rng.integers(500, 1200)), tvsum=False)
        for i in range(n_videos)
    ]
    return make_dataset(records, annotation_style="summe")


def _predictions(dataset):
    rng = np.random.default_rng(8)
    return {r.key: rng.random(r.n_steps) for r in dataset}


def test_matches_evaluate_dataset_in_any_batching():
    dataset, predictions = _dataset(), _predictions(_dataset())
    protocol = Protocol(rank_rate="2fps")
    expected = evaluate_dataset(dataset, predictions, protocol)
    metric = SummarizationMetrics(dataset, protocol)  # style from the file attribute (summe)
    keys = dataset.keys
    metric.update(keys[:2], [torch.tensor(predictions[k]) for k in keys[:2]])
    metric.update(keys[2:], [torch.tensor(predictions[k]) for k in keys[2:]])
    result = metric.compute()
    assert result["f1"].item() == pytest.approx(expected.mean.f1, abs=1e-9)
    assert result["kendall"].item() == pytest.approx(expected.mean.kendall, abs=1e-9)
    assert result["spearman"].item() == pytest.approx(expected.mean.spearman, abs=1e-9)
    assert metric.per_video() == expected.rows


def test_mapping_records_need_a_style_for_auto_reduction():
    dataset, predictions = _dataset(2), _predictions(_dataset(2))
    records = dataset.records  # SumMe-like: no user_anno, unqualified keys
    metric = SummarizationMetrics(records, {"f1_reduction": "auto"})
    with pytest.raises(ConfigError, match="needs the annotation style"):
        metric.update(["video_1"], [torch.tensor(predictions["video_1"])])
    with_style = SummarizationMetrics(records, None, style="summe")
    with_style.update(["video_1"], [torch.tensor(predictions["video_1"])])
    assert with_style.compute()["f1"].item() == pytest.approx(
        evaluate_dataset(dataset, predictions, keys=["video_1"]).mean.f1
    )


@pytest.mark.filterwarnings("ignore:The ``compute`` method:UserWarning")
def test_repeated_videos_count_once_and_reset_clears():
    dataset, predictions = _dataset(3), _predictions(_dataset(3))
    metric = SummarizationMetrics(dataset)
    for key in ["video_1", "video_2", "video_3", "video_1"]:  # a padded repeat of video_1
        metric.update([key], [torch.tensor(predictions[key])])
    assert metric.compute()["f1"].item() == pytest.approx(
        evaluate_dataset(dataset, predictions).mean.f1
    )
    metric.reset()
    assert torch.isnan(metric.compute()["f1"])


def test_merge_state_combines_two_halves():
    dataset, predictions = _dataset(4), _predictions(_dataset(4))
    first, second = SummarizationMetrics(dataset), SummarizationMetrics(dataset)
    first.update(dataset.keys[:2], [torch.tensor(predictions[k]) for k in dataset.keys[:2]])
    second.update(dataset.keys[2:], [torch.tensor(predictions[k]) for k in dataset.keys[2:]])
    first.merge_state(second)
    expected = evaluate_dataset(dataset, predictions).mean
    assert first.compute()["kendall"].item() == pytest.approx(expected.kendall, abs=1e-9)


def test_bad_updates():
    dataset = _dataset(2)
    metric = SummarizationMetrics(dataset)
    with pytest.raises(PredictionError, match="video 'video_9' is not among"):
        metric.update(["video_9"], [torch.zeros(3)])
    with pytest.raises(PredictionError, match="video 'video_1': expected shape"):
        metric.update(["video_1"], [torch.zeros(1)])
    with pytest.raises(ConfigError, match="2 keys for 1 scores"):
        metric.update(["video_1", "video_2"], [torch.zeros(1)])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    dataset, predictions = _dataset(5), _predictions(_dataset(5))
    metric = SummarizationMetrics(dataset)
    # rank 0 gets videos 1, 3, 5; rank 1 gets 2, 4 and a padded repeat of video 1
    keys = dataset.keys[rank::2] + (["video_1"] if rank == 1 else [])
    metric.update(keys, [torch.tensor(predictions[k]) for k in keys])
    result = {name: value.item() for name, value in metric.compute().items()}
    queue.put((rank, result))
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_reduction_over_two_processes():
    dataset, predictions = _dataset(5), _predictions(_dataset(5))
    expected = evaluate_dataset(dataset, predictions).mean
    # fork: the workers need no fresh interpreter (CPU tensors, gloo), which keeps this fast
    ctx = mp.get_context("fork")
    queue = ctx.SimpleQueue()
    mp.start_processes(_ddp_worker, args=(2, _free_port(), queue), nprocs=2, start_method="fork")
    results = dict(queue.get() for _ in range(2))
    for rank in (0, 1):
        assert results[rank]["f1"] == pytest.approx(expected.f1, abs=1e-9)
        assert results[rank]["spearman"] == pytest.approx(expected.spearman, abs=1e-9)


def test_qualified_keys_tell_the_style_of_plain_records() -> None:
    """Augmented settings mix datasets: "summe/<key>" must reduce F1 with max over users."""
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.evaluation.metrics import evaluate_video

    record = next(iter(make_synthetic_dataset("summe", seed=2, n_videos=1, feature_dim=16)))
    scores = np.linspace(0.0, 1.0, record.n_steps)
    metric = SummarizationMetrics({f"synthetic_summe/{record.key}": record}, Protocol())
    metric.update([f"synthetic_summe/{record.key}"], [torch.as_tensor(scores)])
    expected = evaluate_video(record, scores, Protocol(), "summe")
    assert float(metric.compute()["f1"]) == pytest.approx(expected.f1)
