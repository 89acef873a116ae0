"""A full disk: every writer ends with one line naming its output, removes its temporary and
keeps the previous output; ``data synth`` never crashes inside HDF5 (it segfaulted, exit 139).

Two variants of each check: on a real full file system (a tmpfs of a few hundred KB, skipped
with the reason where this machine cannot mount one) and with ENOSPC simulated in the write
layer (``vsumlab.io``'s ``open``), which runs everywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vsumlab.io
from vsumlab.cli.main import main

from ._broken_inputs import SmallFS, fake_summe_gt, mount_tmpfs, published_like, unmount

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.0}'


@pytest.fixture
def small_disk(tmp_path: Path, request) -> Iterator[SmallFS]:
    """A tmpfs of ``request.param`` KB (default 256)."""
    size = getattr(request, "param", 256)
    fs = mount_tmpfs(tmp_path / "disk", size)
    if not isinstance(fs, SmallFS):
        pytest.skip(fs)
    try:
        yield fs
    finally:
        unmount(fs)


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith("INFO: ")]
    assert "Traceback" not in err and "decrement id ref count" not in err, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("vsumlab: error: "), err[-2000:]
    return lines[0]


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_data_synth_on_a_full_disk_exits_2_in_a_child_process(small_disk: SmallFS) -> None:
    """The child process would die with SIGSEGV (exit 139) if HDF5 wrote to the full disk."""
    out = small_disk.root / "synth.h5"
    out.write_text("previous output\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "vsumlab.cli.main", "data", "synth", "--kind",
                           "summe", "--videos", "3", "--out", str(out), "--force"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    line = _one_line(done.stderr)
    assert f"{out}: cannot write: No space left on device (the previous synth.h5 is kept)" in line
    assert out.read_text() == "previous output\n" and _left(small_disk.root) == []


@pytest.mark.parametrize("small_disk", [64], indirect=True)
def test_a_cv_checkpoint_on_a_full_disk_names_the_fold(small_disk: SmallFS, small_tvsum_h5,
                                                       capsys, monkeypatch) -> None:
    """64 KB hold the run's records but not a 115 KB checkpoint: one line naming the fold's
    checkpoint folder and the full disk, instead of Lightning's OSError traceback."""
    out = small_disk.root / "run"
    monkeypatch.chdir(small_disk.root.parent)
    code = main(["cv", "--config", str(RECIPE), "--out", str(out), "--wandb-mode", "disabled",
                 "--folds", "0", f"--data.init_args.dataset={small_tvsum_h5}",
                 "--data.init_args.n_folds=2", "--model.init_args.input_dim=64",
                 f"--model.init_args.summarizer_args={TINY}", "--trainer.accelerator=cpu",
                 "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert str(out / "seed_default" / "fold_0" / "checkpoints") in line
    assert "No space left on device" in line
    # Lightning's staged copy may leave a cut-short checkpoint: a resume skips it, never loads it
    from vsumlab.training.resume import resume_checkpoint

    assert resume_checkpoint(out / "seed_default" / "fold_0" / "checkpoints") == (None, None)
    assert "no checkpoint loads" in capsys.readouterr().err


# ------------------------------------------------------------------ simulated ENOSPC
class _FullFile:
    """A file whose writes fail as on a full disk (what ``open`` returns when simulated)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path
        open(path, "wb").close()  # noqa: SIM115 - the temporary exists, as on a real disk

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *args: object) -> None:
        return None


@pytest.mark.parametrize("command", ["synth", "splits", "attach", "predictions"])
def test_simulated_full_disk_is_one_line_keeping_the_previous_output(
    command: str, tmp_path: Path, small_tvsum_h5: Path, capsys, monkeypatch
) -> None:
    out = tmp_path / ("out.json" if command == "splits" else "out.h5")
    out.write_text("previous output\n")
    if command == "synth":
        argv = ["data", "synth", "--kind", "summe", "--videos", "2", "--out", str(out), "--force"]
    elif command == "splits":
        argv = ["data", "splits", "--dataset", str(small_tvsum_h5), "--out", str(out), "--force"]
    elif command == "attach":
        published = published_like(small_tvsum_h5, tmp_path / "published.h5")
        from vsumlab.data.schema import read_dataset

        gt = fake_summe_gt(tmp_path / "GT", [r.n_frames for r in read_dataset(published)])
        argv = ["data", "attach-annotations", str(published), "--annotations", str(gt),
                "--out", str(out), "--force"]
    else:
        argv = []
    # from here on every file the write layer opens is on a full disk
    monkeypatch.setattr(vsumlab.io, "open", lambda path, *a, **k: _FullFile(path), raising=False)
    if command == "predictions":
        from vsumlab.errors import OutputError
        from vsumlab.evaluation.predictions import write_predictions

        with pytest.raises(OutputError, match=f"^{out}: cannot write: No space left on device "
                                              r"\(the previous out.h5 is kept\)$"):
            write_predictions(out, {"video_1": [0.5, 0.5]}, force=True)
        assert out.read_text() == "previous output\n" and _left(tmp_path) == []
        return
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (f"vsumlab: error: {out}: cannot write: No space left on device "
                    f"(the previous {out.name} is kept)")
    assert out.read_text() == "previous output\n" and _left(tmp_path) == []
