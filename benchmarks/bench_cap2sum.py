"""Cap2Sum pretraining speed on CPU: training steps/s and peak memory at the paper's sizes and at
the small config (experiments/cap2sum/pretrain_small.yaml), and the time of one pretraining
epoch over ActivityNet-size metadata (10,009 videos) with the small config.

Each configuration runs in its own process so that its peak memory (max RSS) is its own.
Video lengths: the real ActivityNet Captions train durations when VSUMLAB_DATA is set, else
log-normal durations with ActivityNet's median (114 s). Features are random (the speed does
not depend on their values); event targets are real-shaped (3.7 events per video).

Usage: python benchmarks/bench_cap2sum.py [--steps N] [--threads N] [--quick]
(threads default to OMP_NUM_THREADS, else all cores)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import numpy as np

from vsumlab.training.environment import machine_description as machine

PAPER = dict(
    input_dim=512,  # CLIP ViT-B/16
    steps_per_second=2.0,
    batch_size=1,
    captioner=dict(d_model=512, n_heads=8, n_points=4, n_levels=4, enc_layers=2, dec_layers=2,
                   n_queries=10, ffn_dim=2048, dropout=0.1, max_events=10, caption_hidden=512,
                   caption_word_dim=512, caption_attend=True),
    max_caption_len=30,
)  # fmt: skip
SMALL = dict(
    input_dim=1024,
    steps_per_second=0.5,
    batch_size=4,
    captioner=dict(d_model=64, n_heads=4, n_points=2, n_levels=2, n_queries=6, ffn_dim=128,
                   dropout=0.0, max_events=10, caption_hidden=64, caption_word_dim=64,
                   caption_attend=False),
    max_caption_len=20,
)  # fmt: skip
VOCAB = 5000  # about ActivityNet's vocabulary at min count 2
N_VIDEOS = 10009


def durations(n: int) -> np.ndarray:
    """ActivityNet train durations (real when available), in file order."""
    root = os.environ.get("VSUMLAB_DATA")
    path = Path(root) / "activitynet_captions" / "train_modified.json" if root else None
    if path is not None and path.is_file():
        from vsumlab.data.captions.format import load_captions

        return np.array([v.duration for v in load_captions(path).values()])[:n]
    return np.random.default_rng(0).lognormal(np.log(114.0), 0.6, n).clip(2, 755)


def make_batch(lengths: list[int], dim: int, rng: np.random.Generator, max_len: int):
    import torch

    batch, longest = len(lengths), max(lengths)
    features = torch.from_numpy(rng.standard_normal((batch, longest, dim)).astype(np.float32))
    mask = torch.arange(longest)[None] < torch.tensor(lengths)[:, None]
    boxes, tokens = [], []
    for _ in lengths:
        n_events = int(rng.integers(2, 6))
        starts = rng.uniform(0, 0.7, n_events)
        lengths_ = rng.uniform(0.05, 0.3, n_events)
        boxes.append(
            torch.tensor(np.stack([starts + lengths_ / 2, lengths_], 1), dtype=torch.float32)
        )
        words = rng.integers(4, VOCAB, (n_events, 14))
        seq = np.concatenate([np.ones((n_events, 1)), words, np.full((n_events, 1), 2)], 1)
        tokens.append(torch.tensor(seq[:, : max_len + 2], dtype=torch.long))
    return {"features": features, "mask": mask, "keys": [str(i) for i in range(batch)],
            "n_steps": torch.tensor(lengths), "event_boxes": boxes, "event_tokens": tokens,
            "captioned": torch.zeros(batch, longest)}  # fmt: skip


def run_config(name: str, config: dict, steps: int, threads: int, epoch: bool, queue) -> None:
    import torch

    torch.set_num_threads(threads)
    from vsumlab.models.cap2sum import Cap2SumModule

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = Cap2SumModule(input_dim=config["input_dim"], captioner=config["captioner"],
                          vocabulary=[f"w{i}" for i in range(VOCAB - 4)], lr=5e-5,
                          max_caption_len=config["max_caption_len"])  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5)
    rng = np.random.default_rng(0)
    seconds = durations(N_VIDEOS)
    n_steps = np.maximum(1, np.round(seconds * config["steps_per_second"])).astype(int)
    bs = config["batch_size"]

    def step(lengths):
        batch = make_batch(list(lengths), config["input_dim"], rng, config["max_caption_len"])
        loss, _ = model.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # warm-up, then timed steps on videos of median ActivityNet length
    median = int(np.median(n_steps))
    step([median] * bs)
    start = time.perf_counter()
    for _ in range(steps):
        step([median] * bs)
    per_step = (time.perf_counter() - start) / steps
    result = {"name": name, "steps_per_s": 1.0 / per_step, "videos_per_s": bs / per_step,
              "median_steps": median, "batch": bs,
              "params_m": sum(p.numel() for p in model.parameters()) / 1e6}  # fmt: skip
    if epoch:
        # one epoch = ceil(N / batch) batches of shuffled real lengths: time a random sample of
        # real batches and scale to the epoch (the cost grows with the longest video per batch)
        order = rng.permutation(N_VIDEOS)
        batches = [n_steps[order[i : i + bs]] for i in range(0, N_VIDEOS, bs)]
        sample = [batches[i] for i in rng.choice(len(batches), size=steps, replace=False)]
        start = time.perf_counter()
        for lengths in sample:
            step(lengths)
        result["epoch_s"] = (time.perf_counter() - start) / len(sample) * len(batches)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = peak / 1024
    result["model_rss_mb"] = (peak - base_rss) / 1024
    queue.put(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per configuration")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: OMP_NUM_THREADS, else all cores)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="3 timed steps (a smoke run)")
    args = parser.parse_args()
    steps = 3 if args.quick else args.steps
    # OMP_NUM_THREADS is honoured (torch would, set_num_threads must): on a shared machine more
    # threads than free cores spin on OpenMP barriers and the figures measure the contention
    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1
    import torch

    print(f"machine: {machine()}; torch {torch.__version__}, {threads} threads, CPU")
    ctx = mp.get_context("spawn")
    for name, config, epoch in (("paper", PAPER, False), ("small", SMALL, True)):
        queue = ctx.Queue()
        proc = ctx.Process(target=run_config, args=(name, config, steps, threads, epoch, queue))
        proc.start()
        result = queue.get()
        proc.join()
        print(
            f"{name:>5}: {result['steps_per_s']:.2f} train steps/s "
            f"({result['videos_per_s']:.2f} videos/s, batch {result['batch']}, "
            f"{result['median_steps']} steps per video), {result['params_m']:.1f} M params, "
            f"peak RSS {result['peak_rss_mb']:.0f} MB"
        )
        if "epoch_s" in result:
            print(
                f"       one pretraining epoch over {N_VIDEOS} ActivityNet-size videos: "
                f"{result['epoch_s'] / 60:.1f} min (estimated from {steps} timed batches)"
            )


if __name__ == "__main__":
    main()
