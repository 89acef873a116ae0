"""``vsumlab summarize VIDEO --checkpoint CKPT --out DIR``: summary video, keyframes, plot, JSON."""

from __future__ import annotations

import argparse
import json
import sys

from vsumlab.cli.features import add_encoder_arguments, check_device


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summarize",
        help="summarize one video with a trained checkpoint",
        description="Decode VIDEO, extract features, find shots (KTS), score them with the "
        "checkpoint, pick shots by 0/1 knapsack within --ratio of the length, and write "
        "summary.mp4 (selected shots, with audio when the source has it), keyframes.jpg, "
        "scores.png and summary.json into DIR. Shots longer than the budget are split into "
        "equal segments (a video of one shot: fixed-length segments), and a note says so. The "
        "encoder defaults to the one recorded in the checkpoint, else googlenet for 1024-d "
        "models and ViT-B-16 for 512-d ones. Offline, without any weights: `make video-demo` "
        "trains a checkpoint on colorhist features of generated videos.",
    )
    parser.add_argument("video", metavar="VIDEO", help="video file")
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", help="vsumlab checkpoint")
    parser.add_argument(
        "--trust-class",
        action="append",
        default=[],
        metavar="MODULE.CLASS",
        help="also accept a checkpoint of this class outside vsumlab.models: its LightningModule "
        "or its summarizer network (its module is imported: only for code you trust); "
        "repeatable",
    )
    parser.add_argument(
        "--ratio",
        type=float,
        default=None,
        help="knapsack budget: summary length as a share of the video (default: the budget "
        "of the checkpoint's evaluation protocol, else the protocol's default)",
    )
    parser.add_argument(
        "--segment-seconds",
        type=float,
        default=None,
        metavar="S",
        help="longest segment a shot longer than the budget is split into (default 2; never "
        "longer than the budget)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--query",
        default=None,
        metavar="TEXT",
        help="query-focused summary for models that take a text query (CLIP-It)",
    )
    add_encoder_arguments(parser, default_model=None)
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_summarize)


def checkpoint_budget(module: object, default: float | None = None) -> float:
    """The summary budget of the protocol the model was trained and selected under (recorded in
    its checkpoint), or ``default`` (the protocol's default budget) for a checkpoint without."""
    from vsumlab.protocol.options import DEFAULT_PROTOCOL

    protocol = getattr(module, "recorded_protocol", None)
    budget = getattr(protocol, "budget", None)
    if isinstance(budget, int | float):
        return float(budget)
    return DEFAULT_PROTOCOL.budget if default is None else default


def _summarize(args: argparse.Namespace) -> int:
    import inspect
    from pathlib import Path

    from vsumlab.errors import ConfigError
    from vsumlab.models.loading import load_summarizer
    from vsumlab.video.encoders import EncoderError, build_encoder
    from vsumlab.video.features import Sampling
    from vsumlab.video.pipeline import checkpoint_encoder, summarize_video

    if args.ratio is not None and not 0.0 < args.ratio <= 1.0:
        raise ConfigError(f"--ratio {args.ratio} must be in (0, 1]")
    device = check_device(args.device)
    module = load_summarizer(args.checkpoint, map_location=device,
                             trusted_classes=args.trust_class)
    ratio = args.ratio if args.ratio is not None else checkpoint_budget(module)
    score_kwargs = None
    if args.query is not None:
        if "query" not in inspect.signature(module.score_video).parameters:
            raise ConfigError(
                f"{args.checkpoint}: {type(module).__name__} takes no text query; "
                "--query needs a query-guided model such as CLIP-It"
            )
        score_kwargs = {"query": args.query}
    name, weights = checkpoint_encoder(module, args.model, args.weights, args.checkpoint)
    try:
        encoder = build_encoder(
            name, weights=weights, device=device, bf16=args.bf16, download=args.download_weights
        )
    except EncoderError as exc:  # the fixes that apply to summarize first, then the details
        raise EncoderError(
            f"{args.checkpoint} needs {name} features and its weights are not here: run with "
            f"--download-weights (once, with internet) or --weights PATH; without any weights, "
            f"use a checkpoint trained on colorhist features (make video-demo: "
            f"runs/video-demo/checkpoints/model.ckpt). Details: {exc}"
        ) from exc
    if args.segment_seconds is not None and not args.segment_seconds > 0:
        raise ConfigError(f"--segment-seconds {args.segment_seconds} must be > 0")
    result = summarize_video(
        args.video,
        module,
        encoder,
        ratio=ratio,
        out_dir=args.out,
        force=args.force,
        sampling=Sampling(target_fps=args.fps, stride=args.stride),
        batch_size=args.batch_size,
        model_info={"checkpoint": str(Path(args.checkpoint)), "class": type(module).__name__},
        progress=not args.no_progress,
        score_kwargs=score_kwargs,
        **({"segment_seconds": args.segment_seconds} if args.segment_seconds else {}),
    )
    for note in result.notes:
        print(f"vsumlab: note: {note}", file=sys.stderr)
    summary = result.summary
    print(
        json.dumps(
            {
                "outputs": {k: str(v) for k, v in result.paths.items()},
                "summary_s": summary["summary_s"],
                "duration_s": summary["duration_s"],
                "segments": len(summary["segments"]),
                "segmentation": summary["segmentation"]["method"],
            }
        ),
        file=sys.stdout,
    )
    return 0
