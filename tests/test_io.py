"""Atomic outputs: a killed writer's temporary is removed by the next write of the output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.io import remove_stale_temporaries, write_text_atomic

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_temporaries_of_dead_processes_of_this_host_are_removed(tmp_path, capsys) -> None:
    from vsumlab.io import _host

    out = tmp_path / "a.h5"
    dead = tmp_path / f".a.h5.{_host()}-{_dead_pid()}-x1.tmp"
    live = tmp_path / f".a.h5.{_host()}-{os.getpid()}-x2.tmp"
    other_host = tmp_path / f".a.h5.elsewhere-{_dead_pid()}-x3.tmp"
    other_output = tmp_path / f".b.h5.{_host()}-{_dead_pid()}-x4.tmp"
    for path in (dead, live, other_host, other_output):
        path.write_text("partial")
    assert remove_stale_temporaries(out) == [dead]
    assert f"removed {dead}, left by a killed run" in capsys.readouterr().err
    assert live.exists() and other_host.exists() and other_output.exists()
    write_text_atomic(out, "done")
    assert out.read_text() == "done" and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, live.name, other_host.name, other_output.name])


@pytest.mark.slow
def test_killed_data_synth_leaves_no_temporary_after_the_next_run(tmp_path, capsys) -> None:
    out = tmp_path / "synth.h5"
    args = ["data", "synth", "--kind", "summe", "--videos", "2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    killed = subprocess.run([sys.executable, str(REPO / "tests" / "_kill_before_rename.py"),
                             *args], env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".synth.h5.*.tmp"))
    assert len(left) == 1 and not out.exists()
    assert main(args) == 0
    assert f"removed {left[0]}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["synth.h5"]
