"""CLIP-It training speed on CPU, and the one-off cost that the text cache removes.

Speed: optimiser steps per second (forward + backward + Adam) of CLIPItModule's supervised
objective on the caption-aligned synthetic SumMe-like videos (1024-d features, 40-90 s, i.e.
80-180 steps, with their dense captions), at the recipe's sizes (d_model 64, batch 1) and the
paper-sized default (d_model 128, batch 4), with and without the text branch, for 1 and for all
torch threads. Text: seconds to encode every caption of the set with the text tower, against
seconds to read them back from the disk cache (what each later epoch, fold and run pays).
Usage: python benchmarks/bench_clipit.py [--steps N] [--videos N]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from vsumlab.training.environment import machine_description as machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=30, help="timed optimiser steps per case")
    parser.add_argument("--videos", type=int, default=24)
    args = parser.parse_args()

    import torch

    from vsumlab.data.standard_h5 import collate_videos, normalise_scores
    from vsumlab.data.synthetic.caption_aligned import make_caption_aligned_dataset
    from vsumlab.models.clipit import CLIPItModule
    from vsumlab.models.components.text_encoder import TextFeatureCache

    print(f"machine: {machine()}; torch {torch.__version__}")
    dataset, captions = make_caption_aligned_dataset(
        "summe", seed=1, n_videos=args.videos, min_duration=40, max_duration=90
    )
    texts = {k: v["sentences"] for k, v in captions.items()}
    items = [
        {
            "key": k,
            "features": torch.from_numpy(dataset[k].features),
            "gtscore": torch.from_numpy(normalise_scores(dataset[k].gtscore)),
        }
        for k in dataset.keys
    ]
    steps = sum(r.n_steps for r in dataset) / len(dataset)
    print(f"{len(dataset)} videos, {steps:.0f} steps on average, 1024-d features, "
          f"{sum(len(t) for t in texts.values())} captions")  # fmt: skip

    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        TextFeatureCache("vsumlab-tiny-clip", cache_dir=cache_dir).features(texts)
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        cached = TextFeatureCache("vsumlab-tiny-clip", cache_dir=cache_dir)
        cached.features(texts)
        read_s = time.perf_counter() - start
    print(f"text features (tiny tower, incl. building it): encode {encode_s:.2f} s, "
          f"from the disk cache {read_s * 1000:.1f} ms (encoder calls: {cached.n_encoded})")

    threads = torch.get_num_threads()
    cases = [("recipe", 64, 1), ("default", 128, 4)]
    print(f"training steps/s (forward+backward+Adam), {args.steps} steps after 3 warm-up:")
    for n_threads in sorted({1, threads}):
        torch.set_num_threads(n_threads)
        for label, d_model, batch in cases:
            for use_text in (True, False):
                torch.manual_seed(0)
                module = CLIPItModule(
                    input_dim=1024, text_encoder="vsumlab-tiny-clip", text_dim=32,
                    d_model=d_model, use_text=use_text,
                )  # fmt: skip
                module.attach(dataset.records, texts)
                optim = torch.optim.Adam(module.parameters(), lr=1e-3)
                batches = [
                    collate_videos([items[(i * batch + j) % len(items)] for j in range(batch)])
                    for i in range(args.steps + 3)
                ]
                for index, data in enumerate(batches):
                    if index == 3:
                        start = time.perf_counter()
                    loss, _ = module.training_loss(data)
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
                rate = args.steps / (time.perf_counter() - start)
                print(f"  threads {n_threads}  {label:7s} d_model {d_model:3d} batch {batch}  "
                      f"text {'on ' if use_text else 'off'}  {rate:6.1f} steps/s  "
                      f"{rate * batch:6.1f} videos/s")
    torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
