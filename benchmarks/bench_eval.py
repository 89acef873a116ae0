"""Evaluation speed: a TVSum-size dataset (50 videos, 20 annotators, random step scores) at full
frame rate and at 2 fps, the human reference, one random-baseline draw, and the knapsack of a
1-hour video. With ``--real`` (and VSUMLAB_DATA set) also the reference rows on the real
SumMe/TVSum annotations.

    .venv/bin/python benchmarks/bench_eval.py [--real] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.evaluation.metrics import (
    evaluate_dataset,
    human_reference,
    random_baseline,
    uniform_baseline,
)
from vsumlab.evaluation.scores import comparison_table
from vsumlab.protocol.keyshots import keyshot_summary, knapsack, knapsack_capacity
from vsumlab.protocol.options import Protocol
from vsumlab.training.environment import machine_description

FPS = 30


def tvsum_like_record(rng: np.random.Generator, key: str, n_frames: int) -> VideoRecord:
    """TVSum-shaped annotations: picks every 15th frame, 2-6 s shots, 20 users scoring 2 s
    segments 1..5, 15% keyshot summaries per user."""
    picks = np.arange(0, n_frames, 15)
    starts = np.cumsum(np.concatenate([[0], rng.integers(2 * FPS, 6 * FPS, n_frames // 60)]))
    starts = starts[starts < n_frames]
    cps = np.stack([starts, np.concatenate([starts[1:] - 1, [n_frames - 1]])], axis=1)
    anno = np.repeat(rng.integers(1, 6, (20, -(-n_frames // 60))), 60, axis=1)[:, :n_frames]
    summaries = np.stack(
        [keyshot_summary(a[picks], cps, n_frames, picks, Protocol()) for a in anno]
    ).astype(np.float32)
    return VideoRecord(
        key=key,
        features=np.zeros((len(picks), 1), dtype=np.float32),
        picks=picks,
        n_frames=n_frames,
        fps=float(FPS),
        change_points=cps,
        n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
        user_summary=summaries,
        user_anno=anno.astype(np.float32),
    )


def tvsum_like_dataset(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    # TVSum: 50 videos of 2..10 minutes (about 4 minutes on average)
    lengths = rng.integers(2 * 60 * FPS, 10 * 60 * FPS, 50)
    records = {
        f"video_{i + 1}": tvsum_like_record(rng, f"video_{i + 1}", int(n))
        for i, n in enumerate(lengths)
    }
    return Dataset(
        records=records, attrs={"dataset_name": "tvsum-like", "annotation_style": "tvsum"}
    )


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> str:
    return f"{machine_description()}, Python {platform.python_version()}, numpy {np.__version__}"


def speed(repeats: int) -> None:
    dataset = tvsum_like_dataset()
    rng = np.random.default_rng(1)
    predictions = {r.key: rng.random(r.n_steps) for r in dataset}
    frames = sum(r.n_frames for r in dataset)
    print(f"dataset: 50 TVSum-size videos, {frames} frames, 20 annotators each")
    for rate in ("full", "2fps"):
        seconds = best_of(
            lambda r=rate: evaluate_dataset(dataset, predictions, Protocol(rank_rate=r)), repeats
        )
        print(f"  evaluate_dataset rank_rate={rate:<5}: {seconds:6.2f} s")
    seconds = best_of(lambda: human_reference(dataset), repeats)
    print(f"  human_reference full          : {seconds:6.2f} s")
    seconds = best_of(lambda: random_baseline(dataset, draws=1), repeats)
    print(f"  random_baseline, one draw     : {seconds:6.2f} s")

    # 1-hour video at 30 fps, 2-6 s KTS-like shots
    rng = np.random.default_rng(2)
    n_frames = 3600 * FPS
    starts = np.cumsum(np.concatenate([[0], rng.integers(2 * FPS, 6 * FPS, n_frames // 60)]))
    starts = starts[starts < n_frames]
    cps = np.stack([starts, np.concatenate([starts[1:] - 1, [n_frames - 1]])], axis=1)
    picks = np.arange(0, n_frames, 15)
    scores = rng.random(len(picks))
    capacity = knapsack_capacity(n_frames, cps, Protocol())
    lengths = cps[:, 1] - cps[:, 0] + 1
    values = rng.random(len(cps))
    seconds = best_of(lambda: knapsack(values, lengths, capacity), repeats)
    print(f"1-hour video: {n_frames} frames, {len(cps)} shots, capacity {capacity}")
    print(f"  knapsack                      : {seconds:6.3f} s")
    seconds = best_of(lambda: keyshot_summary(scores, cps, n_frames, picks, Protocol()), repeats)
    print(f"  keyshot_summary (upsample+knapsack): {seconds:6.3f} s")


def real_rows(draws: int) -> None:
    root = os.environ.get("VSUMLAB_DATA")
    if not root:
        print("real annotations: VSUMLAB_DATA unset, skipped")
        return
    from vsumlab.data.importers import import_summe, import_tvsum

    for name, loader, source in (
        ("TVSum", import_tvsum, Path(root) / "tvsum" / "ydata-tvsum50.mat"),
        ("SumMe", import_summe, Path(root) / "summe" / "GT"),
    ):
        dataset = loader(source)
        for rate in ("full", "2fps"):
            protocol = Protocol(rank_rate=rate)
            results = {
                f"random ({draws} draws)": random_baseline(dataset, protocol, draws=draws),
                "uniform": uniform_baseline(dataset, protocol),
                "human (leave-one-out)": human_reference(dataset, protocol),
            }
            random = next(iter(results.values()))
            print(
                f"\n{name} real annotations (F1 reduction {random.f1_reduction}, rank rate {rate};"
                f" random F1 standard error {random.notes['f1_standard_error']:.3f}):"
            )
            print(comparison_table(results, "markdown"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--real", action="store_true", help="also the real-annotation rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=20, help="random draws for --real")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    speed(args.repeats)
    if args.real:
        real_rows(args.draws)


if __name__ == "__main__":
    main()
