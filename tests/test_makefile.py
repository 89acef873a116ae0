"""Makefile contract: every training target passes ARGS to its command; FORCE=1 only overwrites.

Checked with dry runs (`make -n`: commands printed, not run) with every output under tmp_path, so
that prerequisites (data, pretraining checkpoints) are missing and their commands show too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="GNU make is not installed")

PROBE = "--probe.args=1"
PRETRAIN_PROBE = "--probe.pretrain=1"
# a command that trains or runs recipes: the ones ARGS (LightningCLI overrides) are meant for
TRAINING_COMMAND = re.compile(r"/vsumlab (cv|fit|reproduce|sweep) ")
# the pretraining stages' commands, recognisable by the checkpoint folder they are given
PRETRAINING_COMMAND = re.compile(r"\b(VISP|CAP2SUM)_PRETRAIN_DIR=")
# targets whose own command trains: ARGS must reach it
TRAINING_TARGETS = [
    "demo", "finetune-tvsum", "finetune-summe", "pretrain-visp", "finetune-visp-tvsum",
    "finetune-visp-summe", "compare-visp-tvsum", "compare-visp-summe", "pretrain-cap2sum",
    "finetune-cap2sum-tvsum", "finetune-cap2sum-summe", "weak-finetune-cap2sum-tvsum",
    "weak-finetune-cap2sum-summe", "zeroshot-cap2sum-tvsum", "zeroshot-cap2sum-summe",
    "desumnet-pretrain", "desumnet-train", "desumnet-adapt", "desumnet-table3", "desumnet",
    "clipit-canonical", "clipit-ablation", "clipit-augmented", "clipit-transfer", "clipit",
    "sweep-local-transformer", "reproduce", "reproduce-quick",
]  # fmt: skip
# where a pretraining checkpoint is made first for a fine-tuning target
PRETRAINED_FIRST = {"pretrain-visp", "pretrain-cap2sum"}


def help_targets() -> list[str]:
    """The targets `make help` lists (a `## ` comment after the target)."""
    text = (ROOT / "Makefile").read_text()
    return re.findall(r"^([a-zA-Z0-9_-]+):.*## ", text, flags=re.MULTILINE)


def make(tmp_path: Path, *args: str, dry: bool = True, check: bool = True):
    """Run make in the repository with every output folder under tmp_path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARGS", "PRETRAIN_ARGS", "FORCE", "REBUILD_SYNTHETIC", "MAKEFLAGS",
                        "MFLAGS", "MAKELEVEL")}  # fmt: skip
    places = [f"VENV={tmp_path}/venv", f"GENERATED={tmp_path}/generated",
              f"VISP_DIR={tmp_path}/visp", f"CAP2SUM_DIR={tmp_path}/cap2sum",
              f"DESUMNET_RUNS={tmp_path}/desumnet", f"CLIPIT_RUNS={tmp_path}/clipit",
              f"REPRODUCE_OUT={tmp_path}/reproduce"]  # fmt: skip
    command = [MAKE, "--no-print-directory", *(["-n"] if dry else []), "-C", str(ROOT),
               *places, *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                          check=check)  # fmt: skip


def training_lines(tmp_path: Path, target: str, *args: str) -> list[str]:
    out = make(tmp_path, target, f"ARGS={PROBE}", f"PRETRAIN_ARGS={PRETRAIN_PROBE}", *args)
    return [line for line in out.stdout.splitlines() if TRAINING_COMMAND.search(line)]


def test_every_training_target_is_checked() -> None:
    listed = set(help_targets())
    assert set(TRAINING_TARGETS) - {"sweep-local-transformer"} <= listed


@pytest.mark.parametrize("target", TRAINING_TARGETS)
def test_args_reach_every_training_command(tmp_path: Path, target: str) -> None:
    lines = training_lines(tmp_path, target)
    own = [line for line in lines
           if target in PRETRAINED_FIRST or not PRETRAINING_COMMAND.search(line)]
    assert own, f"make -n {target} runs no training command"
    for line in own:
        assert PROBE in line, f"make {target}: ARGS missing from: {line}"
    if target in PRETRAINED_FIRST:
        assert all(PRETRAIN_PROBE in line for line in own)  # the documented extra still works


@pytest.mark.parametrize("target", ["finetune-visp-tvsum", "finetune-cap2sum-tvsum",
                                    "zeroshot-cap2sum-summe"])
def test_a_pretraining_made_first_gets_pretrain_args_not_the_cvs_args(
    tmp_path: Path, target: str
) -> None:
    pretraining = [line for line in training_lines(tmp_path, target)
                   if PRETRAINING_COMMAND.search(line)]
    assert len(pretraining) == 1
    assert PRETRAIN_PROBE in pretraining[0] and PROBE not in pretraining[0]


def test_each_comparison_round_pretrains_with_pretrain_args(tmp_path: Path) -> None:
    """compare-visp-*: every round's ViSP CV runs its own pretraining (`cv --pretrain`), which
    gets PRETRAIN_ARGS as `--pretrain.*` overrides; ARGS go to every CV."""
    lines = training_lines(tmp_path, "compare-visp-summe", "VISP_ROUNDS=0 1")
    cvs = [part for line in lines for part in line.split("&&") if "/vsumlab cv " in part]
    visp = [cv for cv in cvs if "--pretrain " in cv]
    assert len(cvs) == 4 and len(visp) == 2 and all(PROBE in cv for cv in cvs)
    assert all("--pretrain.probe.pretrain=1" in cv for cv in visp)
    assert all(PRETRAIN_PROBE not in cv for cv in cvs if cv not in visp)


CHECKPOINT_RULES = {"visp": "visp/visp-pretrained.ckpt", "cap2sum": "cap2sum/cap2sum-pretrained.ckpt"}


@pytest.mark.parametrize("method", ["visp", "cap2sum"])
def test_a_checkpoint_made_for_a_fine_tuning_gets_pretrain_args_only(
    tmp_path: Path, method: str
) -> None:
    """`make finetune-tvsum method=M` makes the checkpoint with a sub-make of its rule, which
    inherits the command line's ARGS; the rule must not hand them to the pretraining."""
    lines = training_lines(tmp_path, f"{tmp_path}/{CHECKPOINT_RULES[method]}")
    assert len(lines) == 1 and PRETRAINING_COMMAND.search(lines[0])
    assert PRETRAIN_PROBE in lines[0] and PROBE not in lines[0]


@pytest.mark.parametrize("method", ["visp", "cap2sum", "clipit"])
def test_finetune_of_a_pretrained_method_passes_args_to_the_cv(tmp_path: Path, method: str) -> None:
    out = make(tmp_path, "finetune-tvsum", f"method={method}", f"ARGS={PROBE}").stdout
    cv = [line for line in out.splitlines() if "/vsumlab cv " in line]
    assert len(cv) == 1 and PROBE in cv[0]
    rule = CHECKPOINT_RULES["visp" if method == "visp" else "cap2sum"]
    assert re.search(rf"\|\| \S*make {tmp_path}/{rule}\b", out)  # its rule makes it first


@pytest.mark.parametrize("target", ["demo", "finetune-summe", "clipit-transfer", "reproduce",
                                    "finetune-cap2sum-summe", "compare-visp-tvsum"])
def test_force_means_overwrite_the_results(tmp_path: Path, target: str) -> None:
    def runs(*args: str) -> list[str]:
        return [line for line in training_lines(tmp_path, target, *args)
                if not PRETRAINING_COMMAND.search(line)]

    assert all(" --force " in line for line in runs("FORCE=1"))
    assert not any("--force" in line for line in runs())


def test_force_does_not_rebuild_synthetic_features(tmp_path: Path) -> None:
    forced = training_lines(tmp_path, "pretrain-cap2sum", "FORCE=1")
    rebuilt = training_lines(tmp_path, "pretrain-cap2sum", "REBUILD_SYNTHETIC=1")
    assert len(forced) == len(rebuilt) == 1
    assert "force_synthetic" not in forced[0]
    assert "--data.init_args.force_synthetic=true" in rebuilt[0]


def test_pretraining_over_a_checkpoint_needs_force(tmp_path: Path) -> None:
    """A real run (not dry) of make pretrain-visp, the CLI replaced by echo."""
    features = tmp_path / "unlabeled.h5"
    features.write_bytes(b"")
    (tmp_path / "visp").mkdir()
    (tmp_path / "visp" / "visp-pretrained.ckpt").write_bytes(b"")
    args = ("pretrain-visp", "-o", f"{tmp_path}/venv/.installed", f"PRETRAIN_H5={features}",
            "VSUMLAB=echo vsumlab", f"ARGS={PROBE}")  # fmt: skip
    refused = make(tmp_path, *args, dry=False, check=False)
    assert refused.returncode != 0
    assert "visp-pretrained.ckpt exists; pass FORCE=1 to pretrain again" in refused.stderr
    forced = make(tmp_path, *args, "FORCE=1", dry=False)
    assert "vsumlab fit --config experiments/visp/pretrain_fit.yaml" in forced.stdout
    assert PROBE in forced.stdout
