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


# ------------------------------------------------------------------ strict JSON, outputs
def test_json_repeating_a_key_is_refused_at_any_depth(tmp_path) -> None:
    from vsumlab.errors import ConfigError
    from vsumlab.io import parse_json, read_json

    assert parse_json('{"a": {"b": 1}, "c": [{"b": 2}]}', "x.json") == {"a": {"b": 1},
                                                                       "c": [{"b": 2}]}
    with pytest.raises(ConfigError, match="^x.json: key 'test_keys' appears twice in one JSON "
                                          "object"):
        parse_json('{"test_keys": [1], "test_keys": [2]}', "x.json")
    with pytest.raises(ConfigError, match="key 'b' appears twice"):
        parse_json('[{"a": {"b": 1, "b": 1}}]', "x.json")
    with pytest.raises(ConfigError, match=r"^x.json: not valid JSON \(line 1, column 7: Expecting value"):
        parse_json('{"a": ', "x.json")
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"caf\xe9": 1}')
    with pytest.raises(ConfigError, match=f"^{bad}: splits file is not UTF-8 text"):
        read_json(bad, "splits file")


def test_an_output_whose_folder_is_a_file_is_one_error_naming_both(tmp_path) -> None:
    from vsumlab.errors import OutputError
    from vsumlab.io import check_writable

    blocker = tmp_path / "a.h5"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=f"^{blocker / 'b' / 'c.json'}: cannot be written: "
                                          f"{blocker} is a file, not a folder$"):
        check_writable(blocker / "b" / "c.json", force=False)
    with pytest.raises(OutputError, match="is a file, not a folder"):
        write_text_atomic(blocker / "c.json", "{}")


def test_an_h5_refused_by_its_check_is_never_renamed_into_place(tmp_path) -> None:
    from vsumlab.errors import DatasetError
    from vsumlab.io import write_h5_atomic

    out = tmp_path / "out.h5"
    out.write_text("previous\n")

    def check(tmp) -> None:  # noqa: ANN001
        raise DatasetError(f"{tmp}: video 'v' field 'gtscore': outside [0, 1]")

    with pytest.raises(DatasetError, match=rf"^{out}: video 'v' field 'gtscore': outside "
                                           r"\[0, 1\] \(the previous out.h5 is kept\)$"):
        write_h5_atomic(out, lambda handle: handle.create_dataset("x", data=[1.0]), check=check)
    assert out.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "out.h5"]
    write_h5_atomic(out, lambda handle: handle.create_dataset("x", data=[1.0, 2.0]))
    import h5py

    with h5py.File(out, "r") as handle:
        assert handle["x"][()].tolist() == [1.0, 2.0]


def test_names_that_are_not_utf8_print_escaped(capsys) -> None:
    from vsumlab.errors import VsumError, printable

    assert printable(b"video_\xff") == "video_\\xff"
    assert printable("clip_\udcff.mp4") == "clip_\\xff.mp4"  # a file name's undecodable byte
    assert printable("caf\u00e9") == "caf\u00e9"  # UTF-8 text stays as it is

    def handler(args) -> int:  # noqa: ANN001
        raise VsumError("clip_\udcff.mp4: file name is not UTF-8\nsecond line")

    import vsumlab.cli.main as cli

    parser = cli.build_parser()
    args = parser.parse_args(["data", "validate", "x"])
    args.handler = handler
    original = cli.build_parser

    class _Parser:
        def parse_known_args(self, argv):  # noqa: ANN001, ANN202
            return args, []

    cli.build_parser = lambda: _Parser()  # type: ignore[assignment]
    try:
        assert cli.main(["data", "validate", "x"]) == 2
    finally:
        cli.build_parser = original
    err = capsys.readouterr().err
    assert err == "vsumlab: error: clip_\\xff.mp4: file name is not UTF-8 second line\n"


def test_every_json_file_the_project_reads_refuses_repeated_keys() -> None:
    """Files are read through vsumlab.io (parse_json/read_json) or the caption reader, which
    refuse a repeated key; json.loads stays only where no file is read (W&B's own records, a
    stamp the project wrote itself in memory)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "vsumlab"
    allowed = {"io.py", "analysis/wandb_runs.py", "data/synthetic/dense_captions.py",
               "data/captions/format.py"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("loads", "load")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "json"
                    and name not in allowed):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_results_with_a_repeated_key_are_one_error_line(tmp_path, capsys) -> None:
    from vsumlab.cli.main import main

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_text('{"rows": [], "rows": []}')
    assert main(["results", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'rows' appears twice" in err[0] and "results.json" in err[0]
