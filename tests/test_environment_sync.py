"""environment.yml (conda) and pyproject.toml must list the same packages and constraints."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> str:
    return requirement.replace(" ", "").lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"dev", "notebooks"} <= set(extras)  # make install installs both
    declared = {
        _normalise(r)
        for r in [*project["dependencies"], *(r for name in extras for r in extras[name])]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs one pip section"
    listed = {_normalise(r) for r in pip_lists[0] if not r.startswith("-e")}
    assert listed == declared, {
        "only in pyproject.toml": sorted(declared - listed),
        "only in environment.yml": sorted(listed - declared),
    }
