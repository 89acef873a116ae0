"""Sweep files (experiments/sweeps/*.yaml) run without a W&B server: local random search.

``wandb agent`` needs a W&B server to hand out trials. :func:`run_local_sweep` stands in for it
on a laptop or the embedded data: it draws each trial's values from the sweep file's parameter
distributions (random search; W&B's ``bayes`` needs the server's model, so locally every method
is random), builds the exact command line the agent would run (wandb's own helpers expand
``${env}``, ``${interpreter}``, ``${args}`` and ``${envvar:NAME}``), and runs it with the agent's
environment (``WANDB_SWEEP_ID``, ``WANDB_RUN_ID``), so each trial is the same ``vsumlab cv`` run,
with the same results folder ``runs/sweeps/<sweep>/<trial>`` and the same offline W&B run, as
under a real agent. A leaderboard of the trials, best first, goes to ``leaderboard.json`` and
``leaderboard.md`` in the sweep folder. Draws depend only on the seed, so a rerun repeats the
same trials and ``vsumlab cv`` skips their finished folds.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsumlab.errors import ConfigError
from vsumlab.evaluation.metric_registry import METRICS, REGISTRY
from vsumlab.io import read_json, write_json_atomic, write_text_atomic
from vsumlab.training.recipes import resolve_recipe
from vsumlab.yamlfile import read_yaml

DISTRIBUTIONS = (
    "uniform", "log_uniform_values", "int_uniform", "q_uniform", "q_log_uniform_values",
    "categorical", "constant",
)  # fmt: skip


def load_sweep(path: str | Path) -> dict[str, Any]:
    """A sweep file, checked for what a local run needs (command, parameters, metric)."""
    path = resolve_recipe(path, "sweep file")  # a path, or an installed one: sweeps/transformer
    sweep = read_yaml(path, "sweep file")
    if not isinstance(sweep, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping with command, parameters, metric")
    for key in ("command", "parameters", "metric"):
        if key not in sweep:
            raise ConfigError(f"{path}: sweep file has no '{key}'")
    metric = sweep["metric"]
    if not isinstance(metric, dict) or "name" not in metric:
        raise ConfigError(f"{path}: metric needs a name (and goal: maximize|minimize)")
    if metric.get("goal", "minimize") not in ("maximize", "minimize"):
        raise ConfigError(f"{path}: metric.goal={metric.get('goal')!r}; expected maximize|minimize")
    for name, spec in sweep["parameters"].items():
        _check_parameter(path, name, spec)
    return sweep


def _check_parameter(path: Path, name: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: parameters.{name} must be a mapping")
    if "values" in spec or "value" in spec:
        return
    kind = spec.get("distribution", "uniform")
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"{path}: parameters.{name}.distribution={kind!r}; expected one of "
            + ", ".join(DISTRIBUTIONS)
        )
    if kind not in ("categorical", "constant") and not ("min" in spec and "max" in spec):
        raise ConfigError(f"{path}: parameters.{name} ({kind}) needs min and max")


def sample_values(parameters: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One trial's values, drawn from each parameter's distribution (W&B's definitions)."""
    values: dict[str, Any] = {}
    for name, spec in parameters.items():
        if "value" in spec:
            values[name] = spec["value"]
            continue
        if "values" in spec:
            options = list(spec["values"])
            values[name] = options[int(rng.integers(len(options)))]
            continue
        kind = spec.get("distribution", "uniform")
        low, high = spec.get("min"), spec.get("max")
        if kind == "uniform":
            value: Any = float(rng.uniform(low, high))
        elif kind == "int_uniform":
            value = int(rng.integers(int(low), int(high) + 1))
        elif kind == "log_uniform_values":
            value = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        elif kind == "q_uniform":
            q = spec.get("q", 1.0)
            value = float(round(rng.uniform(low, high) / q) * q)
        elif kind == "q_log_uniform_values":
            q = spec.get("q", 1.0)
            value = float(round(math.exp(rng.uniform(math.log(low), math.log(high))) / q) * q)
        else:  # categorical / constant without values: nothing to draw from
            raise ConfigError(f"parameters.{name}: {kind} needs 'values' or 'value'")
        values[name] = value
    return values


def agent_command(
    sweep: Mapping[str, Any], values: Mapping[str, Any], interpreter: str = "python"
) -> list[str]:
    """The command line ``wandb agent`` runs for a trial with these parameter values."""
    from wandb.sdk.launch.sweeps import utils

    command = utils.create_sweep_command(list(sweep["command"]))  # fills ${envvar:NAME}
    macros = utils.create_sweep_command_args({"args": {k: {"value": v} for k, v in values.items()}})
    macros.update(interpreter=[interpreter], program=[sweep.get("program")], env=["/usr/bin/env"])
    out: list[str] = []
    for chunk in map(str, command):
        if chunk.startswith("${") and chunk.endswith("}"):
            out += macros.get(chunk[2:-1]) or []
        else:
            out.append(chunk)
    return out


def trial_run_id(sweep_id: str, index: int) -> str:
    """The W&B run id (and folder name) of a local trial: unique per sweep, so the offline
    runs of two sweeps never share an id when they are synced into one project."""
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in sweep_id).strip("-") or "sweep"
    return f"{slug}-trial{index}"


@dataclass
class Trial:
    """One local trial: its values, folder, exit status and the sweep metric it reached."""

    run_id: str
    values: dict[str, Any]
    out_dir: str
    returncode: int
    metric: float | None = None
    scores: dict[str, float] = field(default_factory=dict)


def run_local_sweep(
    sweep_file: str | Path,
    trials: int,
    seed: int = 0,
    extra: Sequence[str] = (),
    sweep_id: str | None = None,
    cwd: str | Path = ".",
    environ: Mapping[str, str] | None = None,
) -> list[Trial]:
    """Run ``trials`` random-search trials of a sweep file; returns them best first.

    ``extra`` arguments are appended to every trial's command (e.g. ``--trainer.max_epochs=2``
    for a quick look); ``sweep_id`` names the folder ``runs/sweeps/<sweep_id>`` (default
    ``local-<file stem>``). W&B runs offline unless the environment says otherwise.
    """
    if trials < 1:
        raise ConfigError(f"--trials={trials} must be >= 1")
    sweep = load_sweep(sweep_file)
    if "cv" not in map(str, sweep["command"]):
        raise ConfigError(
            f"{sweep_file}: local sweeps run `vsumlab cv` trials (results.json per trial); this "
            "sweep's command is not a `vsumlab cv` run: start it with a W&B agent (make agent)"
        )
    env = dict(os.environ if environ is None else environ)
    # wandb fills ${envvar:NAME} with the bare NAME when it is unset: fail here, naming it
    needed = re.findall(r"\$\{envvar:(\w+)\}", " ".join(map(str, sweep["command"])))
    missing = sorted({name for name in needed if not env.get(name)})
    if missing:
        raise ConfigError(
            f"{sweep_file}: its command reads the environment variable(s) {', '.join(missing)}; "
            "set them (e.g. TVSUM_H5=path/to.h5) or use make sweep-local-<name>, which does"
        )
    sweep_id = sweep_id or f"local-{Path(sweep_file).stem}"
    cwd = Path(cwd)
    folder = cwd / "runs" / "sweeps" / sweep_id
    env.setdefault("WANDB_MODE", "offline")
    env["WANDB_SWEEP_ID"] = sweep_id
    rng = np.random.default_rng(seed)
    metric, goal = sweep["metric"]["name"], sweep["metric"].get("goal", "minimize")
    done: list[Trial] = []
    for index in range(trials):
        values = sample_values(sweep["parameters"], rng)
        run_id = trial_run_id(sweep_id, index)
        command = [*agent_command(sweep, values, interpreter=sys.executable), *extra]
        print(f"[{sweep_id}/{run_id}] {' '.join(command)}", flush=True)
        finished = subprocess.run(command, cwd=cwd, env={**env, "WANDB_RUN_ID": run_id})
        trial = Trial(run_id, values, str(folder / run_id), finished.returncode)
        results = folder / run_id / "results.json"
        if finished.returncode == 0 and results.is_file():
            model = read_json(results, "results file")["rows"][0]
            trial.metric = model.get(metric)
            trial.scores = {k: model[k] for k in METRICS if k in model}
        done.append(trial)
    sign = -1.0 if goal == "maximize" else 1.0  # best first; failed trials last
    ranked = sorted(done, key=lambda t: (t.metric is None, sign * (t.metric or 0.0)))
    write_leaderboard(folder, Path(sweep_file), metric, goal, ranked)
    return ranked


def write_leaderboard(
    folder: Path, sweep_file: Path, metric: str, goal: str, trials: Sequence[Trial]
) -> None:
    """leaderboard.json and leaderboard.md of a local sweep, best trial first."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        folder / "leaderboard.json",
        {"sweep_file": str(sweep_file), "metric": metric, "goal": goal,
         "trials": [asdict(t) for t in trials]},
    )  # fmt: skip
    names = sorted({name for t in trials for name in t.values})
    header = ["trial", metric, *(f"test {REGISTRY[m].short}" for m in METRICS), *names]
    lines = [f"### {sweep_file.stem}: {metric} ({goal}), test metrics of the same trials", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for t in trials:
        score = "failed" if t.metric is None else f"{t.metric:.4g}"
        cells = [t.run_id, score, *(_fmt(t.scores.get(m)) for m in METRICS),
                 *(_fmt(t.values.get(n)) for n in names)]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    write_text_atomic(folder / "leaderboard.md", text)
    print(text, end="")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
