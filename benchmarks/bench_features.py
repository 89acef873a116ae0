"""Feature extraction speed: end to end (decode + preprocess + encode, overlapped) versus the
encoder's forward pass alone on the same frames, and decoding alone.

Synthetic 640x360 H.264 videos at 30 fps, sampled at 2 fps. The encoder is built with random
weights (same cost as trained ones; nothing is downloaded). Each measurement is repeated and
the best run is kept, so load from other processes on the machine disturbs the figures less.
The target: end to end >= 90% of the encoder-only rate.

    .venv/bin/python benchmarks/bench_features.py [--model ViT-B-16] [--device cpu] [--bf16]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vsumlab.data.synthetic.scene_videos import write_scene_video
from vsumlab.data.video_decode import iter_frames, probe
from vsumlab.video.encoders import RANDOM_WEIGHTS, build_encoder
from vsumlab.video.features import Sampling, decode_size, iter_video_features


def machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(torch.device(device))}"
    return text


def make_videos(folder: Path, n_videos: int, seconds: int) -> list[Path]:
    scene = 5 * 30  # 5 s scenes
    return [
        write_scene_video(folder / f"v{i}.mp4", [scene] * (seconds // 5), fps=30,
                          size=(640, 360), seed=i)
        for i in range(n_videos)
    ]


def best_of(repeats: int, run) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--model", default="ViT-B-16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=6, help="length of each video")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    encoder = build_encoder(args.model, weights=RANDOM_WEIGHTS, device=args.device,
                            bf16=args.bf16)
    sampling = Sampling(target_fps=2.0)
    with tempfile.TemporaryDirectory() as tmp:
        videos = make_videos(Path(tmp), args.videos, args.seconds)
        infos = [probe(v) for v in videos]
        picks = [sampling.picks(info) for info in infos]
        n_picked = sum(len(p) for p in picks)
        n_decoded = sum(info.n_frames for info in infos)

        def decode_only() -> None:
            for video, info, p in zip(videos, infos, picks):
                for _ in iter_frames(video, p, decode_size(info, encoder.input_size)):
                    pass

        # the encoder-only input: the same frames, decoded and preprocessed beforehand
        batches = []
        for video, info, p in zip(videos, infos, picks):
            frames = [f for _, f in iter_frames(video, p, decode_size(info, encoder.input_size))]
            for start in range(0, len(frames), args.batch_size):
                batches.append(encoder.preprocess(np.stack(frames[start : start + args.batch_size])))

        def encode_only() -> None:
            for batch in batches:
                encoder.encode(batch)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()

        busy = {"encode": 0.0, "wall": 0.0}

        class Timed:
            """The encoder, timing its forward passes: the share of the end-to-end wall time
            the model is busy does not depend on how other processes load the machine."""

            def __getattr__(self, name):
                return getattr(encoder, name)

            def encode(self, batch):
                start = time.perf_counter()
                out = encoder.encode(batch)
                busy["encode"] += time.perf_counter() - start
                return out

        def end_to_end() -> None:
            start = time.perf_counter()
            for _ in iter_video_features(videos, Timed(), sampling, args.batch_size):
                pass
            busy["wall"] += time.perf_counter() - start

        encode_only()  # warm-up (allocator, kernels)
        load_before = os.getloadavg()[0]
        t_decode = best_of(args.repeats, decode_only)
        # encoder-only and end-to-end runs alternate, so each pair sees about the same load
        # from other processes; the ratio is the median over pairs
        pairs = [(best_of(1, encode_only), best_of(1, end_to_end)) for _ in range(args.repeats)]
        load_after = os.getloadavg()[0]
    t_encode = min(enc for enc, _ in pairs)
    t_e2e = min(e2e for _, e2e in pairs)
    ratio = float(np.median([enc / e2e for enc, e2e in pairs]))

    print(f"machine: {machine(args.device)}; device {args.device}"
          f"{', bf16 autocast' if args.bf16 else ''}")
    print(f"workload: {args.videos} x {args.seconds} s of 640x360 H.264 at 30 fps, "
          f"{n_picked} frames picked at 2 fps ({n_decoded} decoded), encoder {encoder.name} "
          f"({encoder.dim}-d, input {encoder.input_size}px), batch {args.batch_size}")
    print(f"decode only:   {n_picked / t_decode:8.1f} picked frames/s "
          f"({n_decoded / t_decode:.0f} decoded frames/s)")
    print(f"encoder only:  {n_picked / t_encode:8.1f} frames/s")
    print(f"end to end:    {n_picked / t_e2e:8.1f} frames/s; per pair, end to end ran at "
          f"{100 * ratio:.1f}% (median of {args.repeats}) of the encoder-only rate "
          "(target >= 90%)")
    bound = min(n_picked / t_encode, n_picked / t_decode)
    print(f"               = {100 * t_encode / t_e2e:.1f}% of the best encoder-only run, "
          f"{100 * n_picked / t_e2e / bound:.1f}% of min(decode, encode) rate "
          f"({'encoder' if n_picked / t_encode < n_picked / t_decode else 'decoder'}-bound)")
    print(f"model busy:    {100 * busy['encode'] / busy['wall']:.1f}% of the end-to-end wall "
          "time (the rest: waiting for the first decoded batch and for decoding)")
    print(f"load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
