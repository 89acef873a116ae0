"""``vsumlab data``: build (synth, import-summe, import-tvsum), complete (attach-annotations),
check (validate, info) and split benchmark files. Thin layer over :mod:`vsumlab.data`; ``data kts`` comes from
:mod:`vsumlab.cli.data_kts`."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from vsumlab.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="build, import, validate, describe and split benchmark h5 files",
        description="Build, import, validate, describe and split standard benchmark h5 files.",
    )
    commands = parser.add_subparsers(dest="data_command", metavar="COMMAND")
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)

    synth = commands.add_parser(
        "synth", help="generate the synthetic TVSum-like or SumMe-like benchmark, or a "
        "stand-in in Mr. HiSum's published layout (--kind mrhisum; any size, written to disk "
        "video by video)"
    )
    synth.add_argument("--kind", choices=("tvsum", "summe", "mrhisum"), required=True)
    synth.add_argument("--out", metavar="FILE", required=True, help="h5 file to write")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument(
        "--videos", type=int, metavar="N", help="number of videos (default: 50 tvsum, 25 summe)"
    )
    synth.add_argument(
        "--background",
        choices=("scenes", "generic"),
        default="scenes",
        help="scenes (default): every shot is its video's own scene; generic: non-planted shots "
        "show scenes shared by every video, so planted segments are what tells videos apart "
        "(ViSP's premise; see vsumlab.data.synthetic.benchmark)",
    )
    synth.add_argument(
        "--generic-scenes",
        type=int,
        metavar="N",
        default=4,
        help="shared scenes with --background generic (default 4)",
    )
    synth.add_argument("--dim", type=int, default=1024, metavar="D",
                       help="feature width of --kind mrhisum (default 1024, as YouTube-8M's)")
    synth.add_argument("--split", metavar="FILE",
                       help="--kind mrhisum: also write a split object (train/val/test keys)")
    synth.add_argument("--force", action="store_true", help="overwrite an existing --out")
    synth.set_defaults(handler=_synth)

    summe = commands.add_parser("import-summe", help="SumMe GT/*.mat -> standard h5")
    summe.add_argument("--annotations", metavar="DIR", required=True, help="SumMe GT folder")
    tvsum = commands.add_parser("import-tvsum", help="ydata-tvsum50.mat -> standard h5")
    tvsum.add_argument(
        "--annotations", metavar="FILE", required=True, help="ydata-tvsum50.mat"
    )
    for sub, kind in ((summe, "summe"), (tvsum, "tvsum")):
        sub.add_argument("--out", metavar="FILE", required=True, help="h5 file to write")
        sub.add_argument(
            "--features",
            metavar="DIR",
            help="folder of <key>.npy or <video name>.npy (n_steps, dim); "
            "default: synthetic stand-ins, flagged in the file",
        )
        sub.add_argument("--seed", type=int, default=0, help="seed of stand-in features")
        sub.add_argument("--force", action="store_true", help="overwrite an existing --out")
        sub.set_defaults(handler=_import, kind=kind)

    attach = commands.add_parser(
        "attach-annotations",
        help="add the original annotations (user_anno, fps, names) to a published h5",
        description="Copy a published eccv16_dataset_{summe,tvsum}_google_pool5.h5 and add "
        "what its original annotations hold: TVSum's per-user 1..5 scores (user_anno, needed "
        "for rank correlation), frame rates, names, ids, categories, titles. Videos are matched "
        "by the published order and checked by frame count; published fields are never altered.",
    )
    attach.add_argument("standard", metavar="STANDARD.h5", help="published feature file")
    attach.add_argument(
        "--annotations",
        metavar="PATH",
        required=True,
        help="ydata-tvsum50.mat (TVSum) or the SumMe GT folder",
    )
    attach.add_argument("--out", metavar="OUT.h5", required=True, help="h5 file to write")
    attach.add_argument("--force", action="store_true", help="overwrite an existing --out")
    attach.set_defaults(handler=_attach)

    validate = commands.add_parser("validate", help="check a file against the standard schema")
    validate.add_argument("file", metavar="FILE")
    validate.set_defaults(handler=_validate)

    info = commands.add_parser("info", help="videos, steps, dims, users, lengths of a file")
    info.add_argument("file", metavar="FILE")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_info)

    splits = commands.add_parser(
        "splits",
        help="write deterministic disjoint k-fold splits, or convert a split file (--from)",
        description="Write deterministic disjoint k-fold splits of --dataset, or with --from "
        "convert a split file of another code base (DSNet YAML, CSTA text, or the common JSON) "
        "to the common JSON form, keys checked against --dataset and --extra-datasets.",
    )
    splits.add_argument("--dataset", metavar="FILE", required=True, help="target h5")
    splits.add_argument("--out", metavar="FILE.json", required=True, help="JSON splits to write")
    splits.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="split file to convert (.json, DSNet .yml, CSTA .txt); keys with dataset prefixes "
        "map to --dataset / --extra-datasets by file name",
    )
    splits.add_argument(
        "--extra-datasets",
        nargs="+",
        default=[],
        metavar="FILE",
        help="with --from: the other h5 files the split file names (augmented/transfer); keys "
        "are then written as <dataset name>/<key>",
    )
    splits.add_argument("--folds", type=int, help="number of folds (default 5)")
    splits.add_argument("--seed", type=int, help="permutation seed (default 0)")
    splits.add_argument("--force", action="store_true", help="overwrite an existing --out")
    splits.set_defaults(handler=_splits)

    from vsumlab.cli.data_kts import add_kts_parser

    add_kts_parser(commands)


def _synth(args: argparse.Namespace) -> int:
    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.io import check_writable

    check_writable(args.out, args.force)  # fail before generating, not after
    start = time.perf_counter()
    if args.kind == "mrhisum":
        return _synth_mrhisum(args, start)
    if args.split is not None:
        raise ConfigError("data synth --split: only --kind mrhisum writes a split file")
    overrides: dict[str, Any] = {
        "background": args.background,
        "generic_scenes": args.generic_scenes,
    }
    if args.videos is not None:
        overrides["n_videos"] = args.videos
    dataset = make_synthetic_dataset(args.kind, seed=args.seed, **overrides)
    path = write_dataset(args.out, dataset.records.values(), dataset.attrs, force=args.force)
    print(
        f"wrote {path}: {len(dataset)} synthetic {args.kind}-like videos, "
        f"{sum(r.n_steps for r in dataset)} steps, seed {args.seed}, "
        f"{args.background} background "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


def _synth_mrhisum(args: argparse.Namespace, start: float) -> int:
    from vsumlab.data.synthetic.mrhisum_standin import write_mrhisum_standin

    n_videos = 50 if args.videos is None else args.videos
    if n_videos < 3 or args.dim < 1:
        raise ConfigError("data synth --kind mrhisum: --videos must be at least 3 (train, val "
                          "and test) and --dim at least 1")
    path = write_mrhisum_standin(args.out, n_videos, seed=args.seed, dim=args.dim,
                                 split=args.split, force=args.force)
    split = f" and split {args.split}" if args.split else ""
    print(f"wrote {path}{split}: {n_videos} stand-in videos in Mr. HiSum's layout, "
          f"{args.dim}-d random features, seed {args.seed} ({time.perf_counter() - start:.1f} s)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from vsumlab.data.importers import import_summe, import_tvsum
    from vsumlab.data.schema import write_dataset
    from vsumlab.io import check_writable

    check_writable(args.out, args.force)
    importer = import_summe if args.kind == "summe" else import_tvsum
    dataset = importer(args.annotations, features_dir=args.features, seed=args.seed)
    path = write_dataset(args.out, dataset.records.values(), dataset.attrs, force=args.force)
    features = "synthetic stand-in" if dataset.synthetic else "real"
    print(f"wrote {path}: {len(dataset)} {args.kind} videos with {features} features")
    return 0


def _attach(args: argparse.Namespace) -> int:
    from vsumlab.data.attach import attach_annotations
    from vsumlab.data.schema import read_dataset
    from vsumlab.data.uses import dataset_uses

    report = attach_annotations(args.standard, args.annotations, args.out, force=args.force)
    uses = dataset_uses(read_dataset(report.out)).describe()
    print(
        f"wrote {report.out}: {report.videos} {report.style} videos of {args.standard} with "
        f"{', '.join(report.added)} from {args.annotations}; {uses}"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from vsumlab.data.lazy import H5Dataset
    from vsumlab.data.uses import dataset_uses

    # indexed one video at a time (every check of read_dataset): any size fits in memory
    dataset = H5Dataset(args.file)  # raises DatasetError -> one line, exit 2
    print(f"ok: {args.file}: {len(dataset)} videos, {dataset_uses(dataset).describe()}")
    if dataset.layout == "mrhisum":
        print("layout: Mr. HiSum (features, gtscore, change_points, gt_summary; picks, n_frames "
              "and the one user summary derived as its dataset class does); scored with "
              "protocol preset mrhisum: F1 of the 15% summary, highlight mAP@50 and mAP@15")
    return 0


def dataset_info(path: str) -> dict[str, Any]:
    """The summary ``data info`` prints (also used by tests). Values a file cannot give (frame
    counts of a train-only file, seconds without ``fps``) are None, and ``fps`` says why."""
    from vsumlab.data.schema import ATTACH_COMMAND, read_dataset
    from vsumlab.data.uses import dataset_uses

    dataset = read_dataset(path)
    records = list(dataset)
    uses = dataset_uses(dataset)
    users = [r.n_users for r in records]
    dims = sorted({r.feature_dim for r in records})
    frames = [r.n_frames for r in records if r.n_frames is not None]
    have_frames = len(frames) == len(records)
    have_fps = have_frames and all(r.fps is not None for r in records)
    seconds = [r.n_frames / r.fps for r in records] if have_fps else []
    if have_fps:
        source = dataset.attrs.get("annotations_source")
        fps_note = f"from the annotations ({source})" if source else "from the file"
    elif not have_frames:
        fps_note = "unknown (no frame counts: a train-only file)"
    else:
        fps_note = f"unknown (the published files carry none; for seconds run `{ATTACH_COMMAND}`)"

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(float(value), 1)

    shots = [len(r.change_points) for r in records if r.change_points is not None]
    return {
        "file": str(path),
        "dataset_name": dataset.name,
        "annotation_style": dataset.attrs.get("annotation_style"),
        "synthetic_features": dataset.synthetic,
        "uses": uses.label,
        "uses_detail": uses.describe(),
        "videos": len(records),
        "steps": int(sum(r.n_steps for r in records)),
        "feature_dim": dims[0] if len(dims) == 1 else dims,
        "users_min": int(min(users)),
        "users_max": int(max(users)),
        "has_user_anno": all(r.user_anno is not None for r in records),
        "frames_min": int(min(frames)) if have_frames else None,
        "frames_max": int(max(frames)) if have_frames else None,
        "fps": fps_note,
        "seconds_min": rounded(min(seconds)) if seconds else None,
        "seconds_mean": rounded(sum(seconds) / len(seconds)) if seconds else None,
        "seconds_max": rounded(max(seconds)) if seconds else None,
        "shots_mean": rounded(sum(shots) / len(shots)) if len(shots) == len(records) else None,
    }


def _info(args: argparse.Namespace) -> int:
    info = dataset_info(args.file)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for name, value in info.items():
        print(f"{name:<{width}}  {value}")
    return 0


def _splits(args: argparse.Namespace) -> int:
    from vsumlab.data.schema import read_dataset
    from vsumlab.data.splits import kfold_splits, write_splits
    from vsumlab.errors import ConfigError
    from vsumlab.io import check_writable

    check_writable(args.out, args.force)
    if args.from_file is not None:
        if args.folds is not None or args.seed is not None:
            raise ConfigError("--folds/--seed generate folds; a --from file already fixes them")
        return _convert_splits(args)
    if args.extra_datasets:
        raise ConfigError("--extra-datasets is for converting a split file (--from)")
    dataset = read_dataset(args.dataset)
    splits = kfold_splits(
        dataset.keys,
        n_folds=5 if args.folds is None else args.folds,
        seed=0 if args.seed is None else args.seed,
    )
    path = write_splits(args.out, splits, force=args.force)
    sizes = ", ".join(str(len(s.test_keys)) for s in splits)
    print(f"wrote {path}: {len(splits)} folds of {len(dataset)} videos (test sizes {sizes})")
    return 0


def _convert_splits(args: argparse.Namespace) -> int:
    from vsumlab.data.split_files import FORMS, h5_dataset_keys, read_split_file
    from vsumlab.data.splits import write_splits
    from vsumlab.errors import ConfigError

    datasets = [h5_dataset_keys(path) for path in [args.dataset, *args.extra_datasets]]
    names = [d.name for d in datasets]
    for dataset in datasets:
        if names.count(dataset.name) > 1:  # as the datamodule refuses them
            raise ConfigError(
                f"{dataset.path}: dataset name '{dataset.name}' is used by two files; "
                "each dataset needs its own dataset_name"
            )
    splits, form = read_split_file(args.from_file, datasets)
    path = write_splits(args.out, splits, force=args.force)
    sizes = ", ".join(f"{len(s.train_keys)}/{len(s.test_keys)}" for s in splits)
    keys = "qualified <dataset>/<key>" if len(datasets) > 1 else "plain"
    print(
        f"wrote {path}: {len(splits)} splits from the {FORMS[form]} file {args.from_file}, "
        f"{keys} keys (train/test sizes {sizes})"
    )
    return 0
