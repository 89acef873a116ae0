"""``vsumlab eval``: score a predictions file; ``eval human``: the human reference;
``eval baselines``: random / uniform / human rows. Thin layer over
:mod:`vsumlab.evaluation.metrics`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vsumlab.errors import ConfigError
from vsumlab.protocol.options import CHOICES, DEFAULT_BUDGET, PRESETS

#: CLI flag -> Protocol field, for the options users may set on the command line
PROTOCOL_FLAGS = (
    "capacity_from",
    "knapsack_values",
    "tie_break",
    "length_mismatch",
    "f1_reduction",
    "rank_rate",
    "rank_annotations",
)


def _add_common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options shared by ``eval`` and its sub-commands. Sub-commands use SUPPRESS defaults so
    that ``eval --dataset F human`` and ``eval human --dataset F`` both work."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--dataset", metavar="FILE", default=default(None), help="standard h5")
    parser.add_argument(
        "--keys", metavar="K1,K2", default=default(None), help="score only these videos"
    )
    parser.add_argument(
        "--style",
        choices=("summe", "tvsum"),
        default=default(None),
        help="annotation style (F1 reduction max/mean); default: from the file",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON, not a table"
    )
    parser.add_argument(
        "--format",
        choices=("plain", "markdown"),
        default=default("plain"),
        help="table format (default plain)",
    )
    parser.add_argument(
        "--preset",
        metavar="NAME",
        default=default(None),
        help="protocol options of a public code base, at once: " + ", ".join(PRESETS)
        + " (vsumlab = the defaults); options given explicitly override it",
    )
    parser.add_argument(
        "--budget", type=float, default=default(None), help=f"summary length ratio ({DEFAULT_BUDGET})"
    )
    parser.add_argument(
        "--rank-stride", type=int, default=default(None), help="frame stride of --rank-rate stride"
    )
    for name in PROTOCOL_FLAGS:
        allowed = CHOICES[name]
        parser.add_argument(
            "--" + name.replace("_", "-"),
            choices=allowed,
            default=default(None),
            help=f"default {allowed[0]}",
        )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score predictions (F1, Kendall, Spearman); `eval human`, `eval baselines`",
        description="Score a predictions file (h5/npz: per video key, one score per step) "
        "against a dataset's annotations; print a per-video table and the mean. Predictions "
        "of a `vsumlab cv` fold are scored with the protocol its result.json records "
        "(options given here override it).",
    )
    _add_common(parser, suppress=False)
    parser.add_argument("--predictions", metavar="FILE", help="h5 or npz predictions")
    parser.set_defaults(handler=_score)
    commands = parser.add_subparsers(dest="eval_command", metavar="{human,baselines}")
    human = commands.add_parser("human", help="human leave-one-out reference")
    _add_common(human, suppress=True)
    human.set_defaults(handler=_human)
    baselines = commands.add_parser("baselines", help="random, uniform and human rows")
    _add_common(baselines, suppress=True)
    baselines.add_argument("--draws", type=int, default=None, help="random draws (default 20)")
    baselines.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    baselines.set_defaults(handler=_baselines)


def _protocol(args: argparse.Namespace, recorded: dict[str, Any] | None = None):
    """The options given, on top of ``recorded`` (the protocol the run that wrote the
    predictions used) when there is one and no --preset is given, else on top of the preset
    (or the defaults)."""
    from vsumlab.protocol.options import Protocol

    options = {name: getattr(args, name) for name in PROTOCOL_FLAGS}
    options["budget"] = args.budget
    options["rank_stride"] = args.rank_stride
    if recorded is not None and args.preset is None:
        return Protocol.from_dict({**recorded, **{k: v for k, v in options.items()
                                                  if v is not None}})
    return Protocol.from_preset(args.preset, **options)


def recorded_protocol(predictions: str) -> dict[str, Any] | None:
    """The protocol recorded beside a `vsumlab cv` fold's predictions (its result.json), or
    None for predictions from elsewhere. A result.json that is there but unreadable, or whose
    protocol is not one, is refused: scoring under the default protocol instead would change
    the figure silently."""
    from pathlib import Path

    from vsumlab.io import read_json
    from vsumlab.protocol.options import Protocol

    result = Path(predictions).with_name("result.json")
    if not result.is_file():
        return None
    data = read_json(result, "fold result")
    recorded = data.get("protocol") if isinstance(data, dict) else None
    if recorded is None:
        return None
    if not isinstance(recorded, dict):
        raise ConfigError(f"{result}: key 'protocol': expected a mapping of evaluation options, "
                          f"got {type(recorded).__name__}")
    try:
        Protocol.from_dict(dict(recorded))
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{result}: key 'protocol': {_wrong_kind(exc, recorded)}") from exc
    return recorded


def _wrong_kind(exc: Exception, recorded: dict[str, Any]) -> str:
    """The message of a recorded protocol that does not build (``budget: "lots"``)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    from vsumlab.protocol.options import Protocol

    defaults = Protocol().to_dict()
    for name, value in recorded.items():
        default = defaults.get(name)
        if default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool)
        ):
            return (f"option '{name}' is {value!r}; expected {type(default).__name__} like "
                    f"{default!r}")
    return f"not a valid protocol ({exc})"


def _load(args: argparse.Namespace):
    from vsumlab.data.schema import read_dataset
    from vsumlab.data.uses import require_evaluable
    from vsumlab.evaluation.predictions import select_keys

    if not args.dataset:
        raise ConfigError("eval: --dataset FILE is required")
    keys = [key.strip() for key in args.keys.split(",") if key.strip()] if args.keys else None
    dataset = read_dataset(args.dataset)
    require_evaluable(dataset, "eval --dataset", select_keys(dataset, keys))
    return dataset, keys


def _emit(args: argparse.Namespace, payload: Any, table: str) -> None:
    if args.json:
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(table)


def _score(args: argparse.Namespace) -> int:
    from vsumlab.evaluation.metrics import evaluate_dataset
    from vsumlab.evaluation.predictions import check_predictions, read_predictions

    if not args.predictions:
        raise ConfigError("eval: --predictions FILE is required (or use `eval human|baselines`)")
    protocol = _protocol(args, recorded_protocol(args.predictions))
    dataset, keys = _load(args)
    predictions = read_predictions(args.predictions)
    check_predictions(predictions, dataset, keys, source=args.predictions)
    scores = evaluate_dataset(dataset, predictions, protocol, keys=keys, style=args.style)
    _emit(args, scores.to_dict(), scores.to_table(args.format))
    return 0


def _human(args: argparse.Namespace) -> int:
    from vsumlab.evaluation.metrics import human_reference

    protocol = _protocol(args)
    dataset, keys = _load(args)
    scores = human_reference(dataset, protocol, keys=keys, style=args.style)
    _emit(args, scores.to_dict(), scores.to_table(args.format))
    return 0


def _baselines(args: argparse.Namespace) -> int:
    from vsumlab.evaluation.metrics import (
        DEFAULT_DRAWS,
        human_reference,
        random_baseline,
        uniform_baseline,
    )
    from vsumlab.evaluation.scores import comparison_table

    protocol = _protocol(args)
    dataset, keys = _load(args)
    draws = DEFAULT_DRAWS if args.draws is None else args.draws
    results = {
        f"random ({draws} draws, seed {args.seed})": random_baseline(
            dataset, protocol, keys=keys, seed=args.seed, draws=draws, style=args.style
        ),
        "uniform": uniform_baseline(dataset, protocol, keys=keys, style=args.style),
        "human (leave-one-out)": human_reference(dataset, protocol, keys=keys, style=args.style),
    }
    first = next(iter(results.values()))
    header = (
        f"baselines on {dataset.name} ({len(first.rows)} videos; F1 reduction over users: "
        f"{first.f1_reduction}; rank rate: {protocol.rank_rate}; ranked against: "
        f"{first.ranked_by})"
    )
    if protocol.describe():
        header += f"\nprotocol: {protocol.describe()}"
    payload = {
        "dataset": dataset.name,
        "ranked_by": first.ranked_by,
        "protocol": protocol.to_dict(),
        "rows": {name: scores.to_dict() for name, scores in results.items()},
    }
    _emit(args, payload, header + "\n" + comparison_table(results, args.format))
    return 0
