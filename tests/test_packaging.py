"""Packaging: `pip install .` (not editable) into a fresh venv, then recipes by name from an empty
folder; the sdist carries the recipes; the license metadata builds without deprecation warnings.

No network: the fresh venv borrows this environment's installed dependencies (a .pth file
pointing at a folder of links to them, vsumlab itself left out) and pip builds with the
setuptools found there (--no-build-isolation --no-index).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src", "experiments")
RECIPES = sorted(p.relative_to(ROOT / "experiments").as_posix()
                 for p in (ROOT / "experiments").rglob("*.yaml"))


def _setuptools_supports_spdx() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _setuptools_supports_spdx(), reason="needs setuptools>=77 installed"),
]


def _clean_env() -> dict[str, str]:
    """This environment without anything that would put the checkout's sources first."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}  # fmt: skip
    env.update(WANDB_MODE="disabled", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _source_copy(tmp_path: Path) -> Path:
    """The files a build reads, copied as a checkout has them (the recipes link kept a link)."""
    copy = tmp_path / "source"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, copy / name)
    return copy


def _fresh_venv(tmp_path: Path) -> Path:
    """A venv without vsumlab that sees this environment's other installed packages."""
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    deps = tmp_path / "deps"
    deps.mkdir()
    for folder in site.getsitepackages():
        for entry in Path(folder).iterdir():
            if "vsumlab" not in entry.name and not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    python = root / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (Path(purelib) / "borrowed_dependencies.pth").write_text(f"{deps}\n")
    return root


def _run(args: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=_clean_env(), capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def test_pip_install_then_a_recipe_by_name_runs_from_an_empty_folder(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    root = _fresh_venv(tmp_path)
    python = root / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", source],
         cwd=tmp_path)
    where = _run([python, "-c", "import vsumlab, pathlib; print(pathlib.Path(vsumlab.__file__)"
                  ".parent)"], cwd=tmp_path).stdout.strip()  # fmt: skip
    package = Path(where)
    assert package.is_relative_to(root) and not package.resolve().is_relative_to(ROOT)
    installed = package / "experiments"
    assert not installed.is_symlink()  # a copy, not a link into the checkout
    assert sorted(p.relative_to(installed).as_posix() for p in installed.rglob("*.yaml")) == RECIPES
    dist_info = next(package.parent.glob("vsumlab-*.dist-info"))
    assert "License-Expression: MIT" in (dist_info / "METADATA").read_text()
    assert (dist_info / "licenses" / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()

    work = tmp_path / "empty"
    work.mkdir()
    vsumlab = root / "bin" / "vsumlab"
    _run([vsumlab, "data", "synth", "--kind", "summe", "--out",
          "data/generated/synthetic_summe.h5", "--seed", "1"], cwd=work)  # fmt: skip
    # the Done-when command, on one fold to keep the test short
    _run([vsumlab, "cv", "--config", "supervised/transformer_summe", "--trainer.max_epochs=1",
          "--folds", "0"], cwd=work)  # fmt: skip
    out = work / "runs" / "transformer_summe"
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["name"] for r in rows if r["name"] == "transformer_summe"]
    # the recipe's dataset path is read relative to the user's folder
    assert "dataset: data/generated/synthetic_summe.h5" in (out / "config.yaml").read_text()


def test_the_sdist_carries_the_recipes_and_builds_without_deprecations(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    dist = tmp_path / "dist"
    build = _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                  f"print(b.build_sdist({str(dist)!r}))"], cwd=source)  # fmt: skip
    assert "Deprecat" not in build.stderr, build.stderr
    with tarfile.open(dist / build.stdout.strip().splitlines()[-1]) as sdist:
        members = {m.name.split("/", 1)[1]: m for m in sdist.getmembers() if "/" in m.name}
    shipped = sorted(name.removeprefix("src/vsumlab/experiments/") for name, m in members.items()
                     if name.startswith("src/vsumlab/experiments/") and name.endswith(".yaml"))
    assert shipped == RECIPES
    assert all(members[f"src/vsumlab/experiments/{r}"].isfile() for r in RECIPES)
    assert members["LICENSE"].isfile()
