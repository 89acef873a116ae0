"""ViSP pretraining speed on CPU, and what pretraining discovers on the synthetic sets.

Speed: optimiser steps per second of ViSPPretrainModule (summarizer + encoder forward/backward)
with the recipe's batch of 16 videos drawn from the synthetic TVSum-like and SumMe-like sets
(1024-d features, default sizes), for CSTA (the recipe's default) and the transformer, default
variant and the most expensive one (marginalization + hard negative).
Learning: after a short pretraining (32-d features, 24 videos), the planted lift = expected share
of planted steps in a sampled summary minus the video's planted share (a random summary of the
same length scores 0), on the generic-background variant (`background="generic"`: ViSP's
premise holds) and on the default set. Usage: python benchmarks/bench_visp.py [--steps N] [--learn-steps N]
"""

from __future__ import annotations

import argparse
import time

from vsumlab.training.environment import machine_description as machine


def speed(steps: int) -> None:
    import torch

    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.data.unlabeled_videos import UnlabeledVideos, collate_unlabeled
    from vsumlab.models.visp import ViSPPretrainModule

    records = [
        (f"{kind}/{key}", record)
        for kind, seed in (("tvsum", 0), ("summe", 1))
        for key, record in make_synthetic_dataset(kind, seed=seed).records.items()
    ]
    videos = UnlabeledVideos(records)
    cases = [
        ("csta", {"trunk": "small"}, {}),
        ("csta", {"trunk": "small"}, {"gradient_flow": "marginalization", "hard_negative": True}),
        ("transformer", {}, {}),
        ("transformer", {}, {"gradient_flow": "marginalization", "hard_negative": True}),
    ]
    print(f"pretraining speed, batch 16, {len(records)} synthetic videos of 1024-d features "
          f"(torch threads {torch.get_num_threads()}):")  # fmt: skip
    for name, args, options in cases:
        torch.manual_seed(0)
        model = ViSPPretrainModule(summarizer=name, summarizer_args=args, input_dim=1024, **options)
        optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        batches = [
            collate_unlabeled([videos[i] for i in torch.randperm(len(videos))[:16].tolist()])
            for _ in range(steps + 1)
        ]
        elapsed, frames = 0.0, 0
        for index, batch in enumerate(batches):
            start = time.perf_counter()
            loss, _ = model.training_loss(batch)
            optim.zero_grad()
            loss.backward()
            optim.step()
            if index > 0:  # the first step warms up allocators and kernels
                elapsed += time.perf_counter() - start
                frames += int(batch["mask"].sum())
        variant = ", ".join(f"{k}={v}" for k, v in options.items()) or "default variant"
        print(f"  {name:<11} {variant:<52} {steps / elapsed:6.2f} steps/s"
              f"  {frames / elapsed:8.0f} steps-of-video/s")  # fmt: skip


def learning(steps: int) -> None:
    import torch

    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.data.unlabeled_videos import UnlabeledVideos, collate_unlabeled
    from vsumlab.models.visp import ViSPPretrainModule, planted_lift

    print(f"planted lift after {steps} pretraining steps (CSTA, 32-d, 24 videos, batch 8):")
    for label, background in (("generic background", "generic"), ("default synthetic set", "scenes")):
        lifts = []
        for seed in (0, 1, 2):
            data = make_synthetic_dataset(
                "tvsum", seed=seed, n_videos=24, feature_dim=32, min_duration=20, max_duration=60,
                background=background,
            )  # fmt: skip
            videos = UnlabeledVideos(list(data.records.items()))
            everything = collate_unlabeled([videos[i] for i in range(len(videos))])
            torch.manual_seed(seed)
            model = ViSPPretrainModule(
                summarizer="csta",
                summarizer_args={"trunk_channels": 4, "head_hidden": 32},
                input_dim=32,
            )
            optim = torch.optim.Adam(model.parameters(), lr=1e-3)
            for _ in range(steps):
                picks = torch.randperm(len(videos))[:8].tolist()
                loss, _ = model.training_loss(collate_unlabeled([videos[i] for i in picks]))
                optim.zero_grad()
                loss.backward()
                optim.step()
            model.eval()
            with torch.no_grad():
                logits = model(everything["features"], everything["mask"])
            kept, share = planted_lift(logits, everything["planted"], everything["mask"])
            lifts.append((kept - share).mean().item())
        shown = ", ".join(f"{x:+.3f}" for x in lifts)
        print(f"  {label:<22} seeds 0-2: {shown} (planted share ~{share.mean().item():.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case")
    parser.add_argument("--learn-steps", type=int, default=100, help="0 skips the learning part")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    speed(args.steps)
    if args.learn_steps:
        learning(args.learn_steps)


if __name__ == "__main__":
    main()
