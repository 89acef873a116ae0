"""``vsumlab features extract``: a standard h5 (features, picks, KTS shots) from a video folder."""

from __future__ import annotations

import argparse
import sys

ENCODER_HELP = (
    "frame encoder: an open_clip model name (ViT-B-16 is the Cap2Sum encoder; also ViT-B-32, "
    "ViT-L-14, ...), googlenet (GoogLeNet pool5, 1024-d, the standard benchmark feature) or "
    "colorhist (colour histogram, no weights needed)"
)


def add_encoder_arguments(parser: argparse.ArgumentParser, default_model: str | None) -> None:
    """--model/--weights/--download-weights/--fps/--stride/--batch-size/--device/--bf16,
    shared with summarize."""
    from vsumlab.video.weights import WEIGHTS_HELP

    default = f"default {default_model}" if default_model else "default: from the checkpoint"
    parser.add_argument("--model", default=default_model, help=f"{ENCODER_HELP} ({default})")
    parser.add_argument(
        "--weights",
        metavar="PATH|TAG",
        help="encoder weights: a local file, an open_clip tag in the local cache, or 'random'. "
        + WEIGHTS_HELP,
    )
    parser.add_argument(
        "--download-weights",
        action="store_true",
        default=None,
        help="let open_clip / torch.hub fetch a named pretrained model (an open_clip tag such "
        "as openai, torchvision's GoogLeNet ImageNet weights) missing from the local cache "
        "(default: only with VSUMLAB_DOWNLOAD_WEIGHTS=1)",
    )
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument(
        "--fps", type=float, default=2.0, help="steps per second of video (default 2)"
    )
    rate.add_argument(
        "--stride", type=int, help="take every N-th frame instead (15 in the standard files)"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="frames per encoder batch")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--bf16", action="store_true", help="run the encoder under bfloat16 autocast"
    )


def check_device(name: str) -> str:
    import torch

    from vsumlab.errors import ConfigError

    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"--device {name}: not a torch device ({exc})") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    return name


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features", help="extract frame features from videos into a standard h5"
    )
    actions = parser.add_subparsers(dest="features_command", metavar="ACTION")
    extract = actions.add_parser(
        "extract",
        help="features, picks, n_frames, fps and KTS shots of every video in a folder",
        description="Build a standard benchmark h5 from a folder of videos. An interrupted run "
        "resumes: videos already stored are skipped (each video is stored atomically). With "
        "--annotations the SumMe/TVSum ground truth is added (videos matched by name / "
        "YouTube id), reproducing the standard files from raw videos.",
    )
    extract.add_argument("video_dir", metavar="VIDEO_DIR", help="folder of video files")
    extract.add_argument("--out", required=True, metavar="FILE.h5", help="output h5 file")
    add_encoder_arguments(extract, default_model="ViT-B-16")
    extract.add_argument(
        "--annotations",
        metavar="PATH",
        help="SumMe GT folder (*.mat) or TVSum ydata-tvsum50.mat: add the ground truth",
    )
    extract.add_argument(
        "--force", action="store_true", help="rebuild FILE.h5 from scratch (no resume)"
    )
    extract.add_argument("--no-progress", action="store_true", help="no progress bar")
    extract.set_defaults(handler=_extract)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _extract(args: argparse.Namespace) -> int:
    from vsumlab.video.encoders import build_encoder
    from vsumlab.video.features import Sampling
    from vsumlab.video.h5build import build_feature_file

    encoder = build_encoder(
        args.model, weights=args.weights, device=check_device(args.device), bf16=args.bf16,
        download=args.download_weights,
    )
    report = build_feature_file(
        args.video_dir,
        args.out,
        encoder,
        sampling=Sampling(target_fps=args.fps, stride=args.stride),
        batch_size=args.batch_size,
        annotations=args.annotations,
        force=args.force,
        progress=not args.no_progress,
    )
    print(
        f"{report.out}: {len(report.written)} video(s) added, {len(report.skipped)} already "
        f"present ({encoder.name}, {encoder.dim}-d)",
        file=sys.stderr,
    )
    return 0
