"""``vsumlab desumnet``: DeSumNet's non-Lightning steps.

- ``desumnet synth OUT_DIR``: generated category videos (pretraining, target, web sets and the
  target's standard h5) for demos and make targets.
- ``desumnet refine --checkpoint CKPT --web SRC --out LIST``: progressive adaptation's
  refinement, the kept web-video segments as a list file for training.
- ``desumnet importance --checkpoint CKPT --dataset H5 --videos DIR --out PRED``: importance
  at the standard steps for ``vsumlab eval``.
- ``desumnet map --dataset H5 --predictions PRED``: the paper's top-5 / top-15 mAP of greedy
  skims against the annotators' top-50% shot selections (:mod:`vsumlab.evaluation.shot_map`).

Training itself runs through ``vsumlab fit`` with the recipes in experiments/desumnet; the
time-lapse is ``vsumlab timelapse`` (:mod:`vsumlab.cli.timelapse`).
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    tools = subparsers.add_parser(
        "desumnet",
        help="DeSumNet tools: synthetic videos, web-video refinement, importance scores",
    )
    commands = tools.add_subparsers(dest="desumnet_command", metavar="TOOL")
    tools.set_defaults(handler=lambda _args: tools.print_help() or 2)

    synth = commands.add_parser(
        "synth",
        help="generate category videos with planted events (pretrain/target/web) and an h5",
    )
    synth.add_argument("out", metavar="OUT_DIR", help="output folder")
    synth.add_argument("--categories", type=int, default=3, help="target categories")
    synth.add_argument("--videos", type=int, default=10, help="target videos per category")
    synth.add_argument("--frames", type=int, default=64, help="frames per target video")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--force", action="store_true", help="overwrite the h5 if it exists")
    synth.set_defaults(handler=_synth)

    refine = commands.add_parser(
        "refine", help="keep web-video segments whose category probability passes a threshold"
    )
    refine.add_argument("--checkpoint", required=True, metavar="CKPT")
    refine.add_argument(
        "--web", required=True, nargs="+", metavar="SRC",
        help="web videos: folders per category or list files",
    )
    refine.add_argument("--out", required=True, metavar="LIST", help="list file of kept clips")
    refine.add_argument("--threshold", type=float, default=0.5, help="class probability to pass")
    refine.add_argument("--batch-size", type=int, default=None, help="segments per forward pass")
    refine.add_argument("--force", action="store_true")
    refine.set_defaults(handler=_refine)

    importance = commands.add_parser(
        "importance", help="importance at the standard steps of an h5's videos (for eval)"
    )
    importance.add_argument("--checkpoint", required=True, metavar="CKPT")
    importance.add_argument("--dataset", required=True, metavar="H5", help="standard h5 file")
    importance.add_argument(
        "--videos", required=True, metavar="DIR", help="folder holding the h5's videos"
    )
    importance.add_argument("--out", required=True, metavar="PRED", help=".h5 or .npz output")
    add_importance_options(importance)
    importance.add_argument("--force", action="store_true")
    importance.set_defaults(handler=_importance)

    topk = commands.add_parser(
        "map", help="the paper's top-k mAP of greedy skims against human shot selections"
    )
    topk.add_argument("--dataset", required=True, metavar="H5", help="h5 with user_anno")
    topk.add_argument("--predictions", required=True, metavar="PRED", help="step scores")
    topk.add_argument("--k", type=int, nargs="+", default=[5, 15], help="top-k (default 5 15)")
    topk.add_argument(
        "--budget", type=float, default=None,
        help="skim length as a fraction of the video (default: no limit, the shot ranking)",
    )
    topk.set_defaults(handler=_map)


def add_importance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gradient", choices=("abs", "signed"), default=None,
        help="signed gradient (the paper's) or its magnitude (default: the checkpoint's)",
    )
    parser.add_argument(
        "--aggregate", choices=("mean", "max"), default=None,
        help="frames -> segment importance (default: the checkpoint's, mean)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="segments per pass")


def load_for_importance(args: argparse.Namespace):
    from vsumlab.models.desumnet import load_desumnet

    module = load_desumnet(args.checkpoint)
    for name in ("gradient", "aggregate"):
        if getattr(args, name, None):
            module.hparams[name] = getattr(args, name)
    if getattr(args, "batch_size", None):
        module.hparams["importance_batch_size"] = args.batch_size
    return module


def _synth(args: argparse.Namespace) -> int:
    from vsumlab.data.synthetic.event_videos import make_demo_videos

    paths = make_demo_videos(
        args.out,
        n_categories=args.categories,
        videos_per_category=args.videos,
        n_frames=args.frames,
        seed=args.seed,
        force=args.force,
    )
    print(json.dumps({k: str(v) for k, v in paths.items()}), file=sys.stdout)
    return 0


def _refine(args: argparse.Namespace) -> int:
    from vsumlab.data.webvideos.sources import load_sources, write_list_file
    from vsumlab.io import check_writable
    from vsumlab.models.desumnet import refine_web_videos, require_kept_segments

    check_writable(args.out, args.force)
    module = load_for_importance(args)
    kept, stats = refine_web_videos(module, load_sources(args.web), args.threshold)
    require_kept_segments(kept, stats, args.checkpoint, args.threshold)  # nothing written
    write_list_file(args.out, kept, force=True)
    print(json.dumps({"out": str(args.out), "kept": len(kept), "per_category": stats}))
    return 0


def _importance(args: argparse.Namespace) -> int:
    from vsumlab.data.schema import read_dataset
    from vsumlab.evaluation.predictions import write_predictions
    from vsumlab.io import check_writable
    from vsumlab.models.desumnet import score_dataset

    check_writable(args.out, args.force)
    dataset = read_dataset(args.dataset)
    module = load_for_importance(args)
    scores = score_dataset(module, dataset, args.videos)
    write_predictions(args.out, scores, force=True)
    print(json.dumps({"out": str(args.out), "videos": len(scores)}), file=sys.stdout)
    return 0


def _map(args: argparse.Namespace) -> int:
    from vsumlab.data.schema import read_dataset
    from vsumlab.errors import ConfigError
    from vsumlab.evaluation.predictions import check_predictions, read_predictions
    from vsumlab.evaluation.shot_map import dataset_topk_map

    if args.budget is not None and not 0.0 < args.budget <= 1.0:
        raise ConfigError(f"--budget={args.budget} must be a fraction in (0, 1]")
    dataset = read_dataset(args.dataset)
    predictions = read_predictions(args.predictions)
    # one finite score per step of each predicted video: a short or NaN prediction would
    # otherwise fail deep in the upsampling or give a figure
    check_predictions(predictions, dataset, keys=[k for k in predictions if k in dataset.records]
                      or None, source=args.predictions)
    result = dataset_topk_map(dataset, predictions, args.k, args.budget)
    print(json.dumps({"dataset": str(args.dataset), **result}), file=sys.stdout)
    return 0
