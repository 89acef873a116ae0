"""Makefile contract: every training target passes ARGS to its command; FORCE=1 only overwrites.

Checked with dry runs (`make -n`: commands printed, not run) with every output under tmp_path, so
that prerequisites (data, pretraining checkpoints) are missing and their commands show too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    "sweep-local-transformer", "reproduce", "reproduce-quick", "video-demo", "augmented-tvsum",
    "transfer-summe",
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
           if k not in ("ARGS", "PRETRAIN_ARGS", "FORCE", "REBUILD_SYNTHETIC", "OUT", "SETTING", "MAKEFLAGS",
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


# --- a variation gets its own results folder; OUT= names one -------------------------------

def cv_out(line: str) -> str:
    """The --out folder of a `vsumlab cv` command line."""
    return re.search(r"--out (\S+)", line).group(1)


def cv_lines(tmp_path: Path, target: str, *args: str) -> list[str]:
    out = make(tmp_path, target, *args).stdout
    return [line for line in out.splitlines() if "/vsumlab cv " in line]


@pytest.mark.parametrize("target", ["finetune-tvsum", "finetune-summe", "finetune-cap2sum-tvsum",
                                    "zeroshot-cap2sum-summe", "finetune-visp-summe"])
def test_a_variation_writes_beside_the_default_folder(tmp_path: Path, target: str) -> None:
    default = cv_out(cv_lines(tmp_path, target)[-1])
    varied = cv_out(cv_lines(tmp_path, target, "ARGS=--data.init_args.split_file=splits/a.json "
                             "--trainer.max_epochs=5")[-1])
    assert default.startswith("runs/") and "+" not in default
    assert varied == default + "+split_file=a.json,max_epochs=5"
    assert cv_out(cv_lines(tmp_path, target, "OUT=elsewhere/x", "ARGS=--a.b=1")[-1]) == "elsewhere/x"


def test_demo_and_desumnet_and_clipit_folders_follow_the_variation(tmp_path: Path) -> None:
    env_free = [f"VENV={tmp_path}/venv", f"GENERATED={tmp_path}/generated"]
    command = [MAKE, "--no-print-directory", "-n", "-C", str(ROOT), *env_free]
    demo = subprocess.run([*command, "demo", "ARGS=--trainer.max_epochs=2"], capture_output=True,
                          text=True, check=True).stdout
    assert "--out runs/demo+max_epochs=2/transformer " in demo
    assert "tee runs/demo+max_epochs=2/results.md" in demo
    # the demo's comparison is 5 folds x 3 seeds per model (issue: honest comparisons)
    assert demo.count("--seeds 3 ") == 2
    desumnet = subprocess.run([*command, "desumnet-train", "ARGS=--trainer.max_epochs=1"],
                              capture_output=True, text=True, check=True).stdout
    assert "DESUMNET_RUNS=runs/desumnet+max_epochs=1 " in desumnet
    clipit = subprocess.run([*command, "clipit-canonical", "OUT=runs/mine"], capture_output=True,
                            text=True, check=True).stdout
    assert "--out runs/mine/canonical " in clipit


def test_pretraining_args_name_their_own_checkpoint_folder(tmp_path: Path) -> None:
    env_free = [f"VENV={tmp_path}/venv", f"GENERATED={tmp_path}/generated"]
    command = [MAKE, "--no-print-directory", "-n", "-C", str(ROOT), *env_free]
    out = subprocess.run([*command, "finetune-tvsum", "method=visp",
                          "PRETRAIN_ARGS=--trainer.max_epochs=2"],
                         capture_output=True, text=True, check=True).stdout
    ckpt = "runs/visp/pretrain+pretrain-max_epochs=2/visp-pretrained.ckpt"
    cv = [line for line in out.splitlines() if "/vsumlab cv " in line]
    assert len(cv) == 1 and f"--model.init_args.pretrained={ckpt}" in cv[0]
    assert cv_out(cv[0]) == "runs/finetune-tvsum-visp+pretrain-max_epochs=2"
    pretrain = subprocess.run([*command, "pretrain-cap2sum", "ARGS=--trainer.max_epochs=3"],
                              capture_output=True, text=True, check=True).stdout
    assert "CAP2SUM_PRETRAIN_DIR=runs/cap2sum/pretrain+pretrain-max_epochs=3 " in pretrain


@pytest.mark.parametrize(("target", "setting", "extra"), [
    ("augmented-tvsum", "augmented", "synthetic_summe.h5"),
    ("transfer-summe", "transfer", "synthetic_tvsum.h5"),
])  # fmt: skip
def test_settings_have_targets_and_pass_the_other_datasets(
    tmp_path: Path, target: str, setting: str, extra: str
) -> None:
    ovp = tmp_path / "eccv16_dataset_ovp_google_pool5.h5"
    ovp.write_bytes(b"")
    lines = cv_lines(tmp_path, target, f"OVP_H5={ovp}")
    assert len(lines) == 1
    assert f"--data.init_args.setting={setting} " in lines[0]
    assert (f"--data.init_args.extra_datasets='[{tmp_path}/generated/{extra},{ovp}]'"
            in lines[0])
    base = "runs/finetune-" + target.split("-")[1] + "-transformer"
    assert cv_out(lines[0]) == f"{base}+{setting},eccv16_dataset_ovp_google_pool5"


def test_an_unknown_setting_stops_make(tmp_path: Path) -> None:
    done = make(tmp_path, "finetune-tvsum", "SETTING=augmentd", check=False)
    assert done.returncode != 0 and "SETTING=augmentd: expected canonical" in done.stderr


def test_help_lists_every_target_with_a_recipe_line_including_the_sweeps(tmp_path: Path) -> None:
    listed = make(tmp_path, "help", dry=False).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert {"sweep-<name>", "sweep-local-<name>", "video-demo", "agent"} <= names
    rules = re.findall(r"^([a-zA-Z0-9_%-]+):(?!=)", (ROOT / "Makefile").read_text(),
                       flags=re.MULTILINE)
    public = {r.replace("%", "<name>") for r in rules} - {"$(VISP_CKPT)", "$(CAP2SUM_CKPT)"}
    assert public <= names, public - names


def test_install_includes_the_notebooks_extra(tmp_path: Path) -> None:
    out = make(tmp_path, "install").stdout
    assert "-e '.[dev,notebooks]'" in out


def test_clean_removes_what_the_project_writes(tmp_path: Path) -> None:
    out = make(tmp_path, "clean").stdout
    removed = out.split("rm -rf", 1)[1].split()
    assert {f"{tmp_path}/generated", "data/cache", "runs", "lightning_logs", "wandb",
            "config.yaml"} <= set(removed)


@pytest.mark.slow
def test_a_make_target_with_a_variation_keeps_both_results(small_tvsum_h5: Path,
                                                           tmp_path: Path) -> None:
    """Real runs of `make finetune-tvsum`, the default and a variation (another split file and
    epoch count): each writes its own results folder and the first stays as it was."""
    venv = Path(sys.executable).parent.parent
    work = tmp_path / "work"
    work.mkdir()
    splits = tmp_path / "splits.json"
    subprocess.run([sys.executable, "-m", "vsumlab.cli.main", "data", "splits", "--dataset",
                    str(small_tvsum_h5), "--out", str(splits), "--folds", "2"], check=True,
                   env=_env(), capture_output=True)  # fmt: skip
    common = ["--folds 0", "--trainer.limit_train_batches=1", "--model.init_args.input_dim=64",
              "--reference-draws 2"]  # fmt: skip

    def run(*extra: str) -> subprocess.CompletedProcess:
        args = " ".join([*common, *extra])
        return subprocess.run(
            [MAKE, "--no-print-directory", "-f", str(ROOT / "Makefile"), "-o",
             f"{venv}/.installed", f"VENV={venv}", f"TVSUM_H5={small_tvsum_h5}",
             "finetune-tvsum", f"ARGS={args}"],
            cwd=work, capture_output=True, text=True, env=_env(), timeout=600)  # fmt: skip

    first = run("--trainer.max_epochs=1")
    assert first.returncode == 0, first.stderr
    base = work / "runs" / "finetune-tvsum-transformer+small_tvsum,folds,0,limit_train_batches=1"
    default = Path(f"{base},input_dim=64,reference-draws,2,max_epochs=1")
    result = default / "seed_default" / "fold_0" / "result.json"
    before = result.read_bytes()
    second = run(f"--data.init_args.split_file={splits}", "--trainer.max_epochs=2")
    assert second.returncode == 0, second.stderr
    varied = Path(f"{base},input_dim=64,reference-draws,2,split_file=splits.json,max_epochs=2")
    assert (varied / "seed_default" / "fold_0" / "result.json").is_file()
    assert result.read_bytes() == before  # the earlier results stay
    assert "holds a run of another configuration" not in second.stderr


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARGS", "PRETRAIN_ARGS", "FORCE", "OUT", "MAKEFLAGS", "MFLAGS",
                        "MAKELEVEL")}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["WANDB_MODE"] = "disabled"
    return env
