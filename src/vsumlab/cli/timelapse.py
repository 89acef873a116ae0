"""``vsumlab timelapse VIDEO --checkpoint CKPT --out FILE.mp4``: DeSumNet's importance-driven
time-lapse (the other DeSumNet tools are in :mod:`vsumlab.cli.desumnet`)."""

from __future__ import annotations

import argparse
import json
import sys

from vsumlab.cli.desumnet import add_importance_options, load_for_importance


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "timelapse",
        help="importance-driven time-lapse of a video (DeSumNet)",
        description="Score VIDEO's 16-frame segments with a DeSumNet checkpoint and keep "
        "each segment's frames at a rate set by its importance: segment i loses "
        "round((1 - I_i / sum I) * k_i) of its k_i frames (Panda et al. 2017, sec. 4.2).",
    )
    parser.add_argument("video", metavar="VIDEO", help="video file")
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", help="DeSumNet checkpoint")
    parser.add_argument("--out", required=True, metavar="FILE.mp4", help="output video")
    parser.add_argument(
        "--min-keep", type=int, default=1, help="frames every segment keeps at least (default 1)"
    )
    add_importance_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.set_defaults(handler=_timelapse)


def _timelapse(args: argparse.Namespace) -> int:
    import numpy as np

    from vsumlab.io import check_writable
    from vsumlab.video.timelapse import timelapse_frames, write_video

    check_writable(args.out, args.force)  # fail before the costly scoring
    module = load_for_importance(args)
    importance = module.video_importance(args.video)
    segments = np.stack([importance.starts, importance.ends], axis=1)
    # I_i in [0, 1] per video (signed gradients can be negative; the rate needs I_i >= 0)
    frames = timelapse_frames(segments, importance.unit_segment(), args.min_keep)
    write_video(args.video, frames, args.out, importance.fps, force=True)
    report = {
        "out": str(args.out),
        "frames_in": importance.n_frames,
        "frames_out": int(len(frames)),
        "speedup": round(importance.n_frames / len(frames), 3),
        "category": importance.category,
    }
    print(json.dumps(report), file=sys.stdout)
    return 0
