"""DeSumNet throughput on this machine: training and importance clips/s, and the clip cache.

Prints, for the paper's network (width 1, 16x112x112 clips) and the demo/test network
(width 1/8, 16x32x32): clips per second of a training step (forward, backward, SGD) and of
importance (forward, backward to the input); then clip loading from generated 320x240 videos
resized to 128x171: decoding every epoch, the first cached epoch (decode + write .npy) and a
cached epoch (read .npy only); and importance of whole videos end to end (decode, crop,
forward, backward) with the paper's network.

    .venv/bin/python benchmarks/bench_desumnet.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vsumlab.data.synthetic.event_videos import make_category_videos
from vsumlab.data.webvideos import ClipAugment, ClipSpec, VideoEntry, WebVideoClips
from vsumlab.models.components.c3d import C3D, normalize_clips
from vsumlab.models.desumnet import frame_importance
from vsumlab.training.environment import machine_description


def machine() -> str:
    return (
        f"{machine_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"python {sys.version.split()[0]}"
    )


def timed(step, repeats: int) -> float:
    step()  # warm-up: oneDNN builds its kernels for the shapes on first use
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def network_rates(width: float, crop: int, batch: int, repeats: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = C3D(num_classes=10, crop=crop, width=width)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9, weight_decay=0.005)
    clips = torch.randint(0, 256, (batch, 3, 16, crop, crop), dtype=torch.uint8)
    labels = torch.randint(0, 10, (batch,))

    def train_step() -> None:
        model.train()
        loss = F.cross_entropy(model(normalize_clips(clips)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def importance_step() -> None:
        model.eval()
        frame_importance(model, normalize_clips(clips), target=3)

    return batch / timed(train_step, repeats), batch / timed(importance_step, repeats)


def cache_rates(root: Path, n_videos: int, clips_per_video: int) -> dict[str, float]:
    videos = make_category_videos(
        root / "videos", n_categories=2, videos_per_category=n_videos // 2, n_frames=160,
        size=(320, 240), fps=25.0, seed=0,
    )
    entries = [VideoEntry(v.path, v.category) for v in videos]
    spec, augment = ClipSpec(), ClipAugment(crop=112, train=True, flip=True)
    categories = sorted({v.category for v in videos})

    def epoch(cache: Path | None) -> tuple[float, int]:
        data = WebVideoClips(entries, categories, spec, augment, clips_per_video, cache)
        start = time.perf_counter()
        for i in range(len(data)):
            data[i]
        return time.perf_counter() - start, len(data)

    no_cache, n = epoch(None)
    first, _ = epoch(root / "cache")
    cached, _ = epoch(root / "cache")
    return {"clips": n, "decode": n / no_cache, "first": n / first, "cached": n / cached}


def video_rate(video: Path) -> tuple[int, float]:
    from vsumlab.models.desumnet import DeSumNetModule

    torch.manual_seed(0)
    module = DeSumNetModule(num_classes=10, importance_batch_size=4)
    start = time.perf_counter()
    importance = module.video_importance(video)
    return len(importance.segment), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and videos")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    print(f"machine: {machine()}")
    for name, width, crop, batch in (("paper", 1.0, 112, 4), ("demo", 0.125, 32, 16)):
        train, importance = network_rates(width, crop, batch, repeats)
        print(
            f"{name:5s} C3D (width {width}, 16x{crop}x{crop}, batch {batch}): "
            f"training {train:7.1f} clips/s   importance {importance:7.1f} clips/s"
        )
    with tempfile.TemporaryDirectory() as tmp:
        rates = cache_rates(Path(tmp), 4 if args.quick else 8, 8)
        video = next((Path(tmp) / "videos").rglob("*.mp4"))
        segments, seconds = video_rate(video)
    print(
        f"clip loading, {rates['clips']} clips of 16 frames from 320x240 videos at 128x171 "
        f"(+ crop/flip): decode every epoch {rates['decode']:.1f} clips/s; with cache: first "
        f"epoch {rates['first']:.1f} clips/s, later epochs {rates['cached']:.1f} clips/s "
        f"({rates['cached'] / rates['decode']:.1f}x)"
    )
    print(
        f"video importance end to end (paper network, 320x240 video, {segments} segments of 16 "
        f"frames): {segments / seconds:.2f} segments/s ({seconds:.1f} s per video)"
    )


if __name__ == "__main__":
    main()
