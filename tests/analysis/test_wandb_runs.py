"""Reading W&B offline runs: a run written by wandb itself, hand-framed files, damage."""

from __future__ import annotations

import struct

import pytest

from vsumlab.analysis.wandb_runs import (
    BLOCK_LEN,
    HEADER_LEN,
    find_offline_runs,
    read_offline_run,
)
from vsumlab.errors import VsumError


def test_reads_what_wandb_wrote_offline(tmp_path, monkeypatch) -> None:
    import wandb

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(project="p", group="g", dir=str(tmp_path), mode="offline", id="abc123",
                     config={"lr": 0.01, "model": {"d": 8}})
    for fold in range(3):
        run.log({"fold": fold, "fold/test_f1": 10.0 * fold})
    run.summary["val_f1"] = 42.5
    run.finish()
    wandb.teardown()  # finish() returns before wandb-core has flushed the offline file

    (folder,) = find_offline_runs(tmp_path)
    read = read_offline_run(folder)
    assert read.run_id == "abc123" and read.project == "p" and read.group == "g"
    assert read.config["lr"] == 0.01 and read.config["model"] == {"d": 8}
    assert read.series("fold") == [0, 1, 2]
    assert read.series("fold/test_f1") == [0.0, 10.0, 20.0]
    assert read.summary["val_f1"] == 42.5 and read.finished


def _framed(chunks: list[tuple[int, bytes]]) -> bytes:
    data = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
    for kind, chunk in chunks:
        data += struct.pack("<IHB", 0, len(chunk), kind) + chunk
    return data


def test_record_split_across_a_block_boundary(tmp_path) -> None:
    from wandb.proto import wandb_internal_pb2 as pb

    record = pb.Record()
    item = record.history.item.add()
    item.key, item.value_json = "note", '"' + "x" * 40000 + '"'
    raw = record.SerializeToString()
    # the FIRST chunk ends 5 bytes before the block end: too short for a chunk header, so the
    # reader must skip the zero trailer and find the LAST chunk at the next block
    first_len = BLOCK_LEN - 2 * HEADER_LEN - 5
    data = _framed([(2, raw[:first_len])]) + b"\0" * 5
    assert len(data) == BLOCK_LEN
    data += struct.pack("<IHB", 0, len(raw) - first_len, 4) + raw[first_len:]
    data += b"\0" * 64  # preallocated, unwritten space ends the log
    path = tmp_path / "run-x1.wandb"
    path.write_bytes(data)
    run = read_offline_run(path)
    assert run.run_id == "x1"
    assert run.series("note") == ["x" * 40000]


def test_damaged_or_foreign_files_raise(tmp_path) -> None:
    bad = tmp_path / "run-z.wandb"
    bad.write_bytes(b"PK\x03\x04 not a run")
    with pytest.raises(VsumError, match="not a W&B run file"):
        read_offline_run(bad)
    bad.write_bytes(_framed([(7, b"xx")]))
    with pytest.raises(VsumError, match="damaged record"):
        read_offline_run(bad)
    (tmp_path / "offline-run-1").mkdir()
    with pytest.raises(VsumError, match="no run-<id>.wandb"):
        read_offline_run(tmp_path / "offline-run-1")
