"""``vsumlab data splits --from``: split files of other code bases to the common JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fails_with(capsys: pytest.CaptureFixture[str], message: str, *argv: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("vsumlab: error: "), err
    assert message in err, err


def test_converts_dsnet_augmented_yaml_with_qualified_keys(
    small_tvsum_h5: Path, small_summe_h5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summe, tvsum = f"../datasets/{small_summe_h5.name}", f"../datasets/{small_tvsum_h5.name}"
    source = tmp_path / "summe_aug.yml"
    source.write_text(
        f"- test_keys:\n  - {summe}/video_2\n  train_keys:\n  - {summe}/video_1\n"
        f"  - {tvsum}/video_11\n"
        f"- test_keys:\n  - {summe}/video_1\n  train_keys:\n  - {summe}/video_2\n"
    )
    out = tmp_path / "splits.json"
    code, stdout, _ = run(capsys, "data", "splits", "--from", str(source), "--dataset",
                          str(small_summe_h5), "--extra-datasets", str(small_tvsum_h5),
                          "--out", str(out))
    assert code == 0, stdout
    assert "2 splits from the DSNet YAML file" in stdout and "train/test sizes 2/1, 1/1" in stdout
    assert json.loads(out.read_text()) == [
        {"train_keys": ["synthetic_summe/video_1", "synthetic_tvsum/video_11"],
         "test_keys": ["synthetic_summe/video_2"]},
        {"train_keys": ["synthetic_summe/video_2"], "test_keys": ["synthetic_summe/video_1"]},
    ]
    # the written file is itself a valid split file for the same datasets
    again = tmp_path / "again.json"
    assert main(["data", "splits", "--from", str(out), "--dataset", str(small_summe_h5),
                 "--extra-datasets", str(small_tvsum_h5), "--out", str(again)]) == 0
    assert json.loads(again.read_text()) == json.loads(out.read_text())
    capsys.readouterr()

    # without the TVSum file its prefix is unknown; nothing is written
    fails_with(capsys, f"split 0 field 'train_keys': dataset prefix '{tvsum}' matches no "
               "configured dataset (known: 'synthetic_summe'", "data", "splits", "--from",
               str(source), "--dataset", str(small_summe_h5), "--out", str(tmp_path / "no.json"))
    assert not (tmp_path / "no.json").exists()
    fails_with(capsys, "already exists; pass --force", "data", "splits", "--from", str(source),
               "--dataset", str(small_summe_h5), "--extra-datasets", str(small_tvsum_h5),
               "--out", str(out))


def test_converts_csta_text_with_plain_keys(
    small_tvsum_h5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "TVSum_splits.txt"
    source.write_text("TVSum/split0/video_1,video_3/video_2\nTVSum/split1/video_2/video_1,video_3\n")
    out = tmp_path / "splits.json"
    code, stdout, _ = run(capsys, "data", "splits", "--from", str(source), "--dataset",
                          str(small_tvsum_h5), "--out", str(out))
    assert code == 0 and "2 splits from the CSTA text file" in stdout and "plain keys" in stdout
    assert json.loads(out.read_text()) == [
        {"train_keys": ["video_1", "video_3"], "test_keys": ["video_2"]},
        {"train_keys": ["video_2"], "test_keys": ["video_1", "video_3"]},
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("TVSum/split0/video_1,video_3/video_2\nTVSum/split1/video_2/video_77\n")
    fails_with(capsys, f"{bad}: line 2 (split1) field 'test_keys': unknown video key 'video_77' "
               "(dataset 'synthetic_tvsum'", "data", "splits", "--from", str(bad),
               "--dataset", str(small_tvsum_h5), "--out", str(tmp_path / "b.json"))
    fails_with(capsys, "--folds/--seed generate folds", "data", "splits", "--from", str(source),
               "--dataset", str(small_tvsum_h5), "--out", str(tmp_path / "c.json"), "--folds", "3")
    fails_with(capsys, "--extra-datasets is for converting", "data", "splits", "--dataset",
               str(small_tvsum_h5), "--extra-datasets", str(small_tvsum_h5),
               "--out", str(tmp_path / "d.json"))
    fails_with(capsys, "dataset name 'synthetic_tvsum' is used by two files", "data", "splits",
               "--from", str(source), "--dataset", str(small_tvsum_h5), "--extra-datasets",
               str(small_tvsum_h5), "--out", str(tmp_path / "e.json"))


def test_generated_folds_keep_their_defaults(
    small_tvsum_h5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "folds.json"
    code, stdout, _ = run(capsys, "data", "splits", "--dataset", str(small_tvsum_h5),
                          "--out", str(out))
    assert code == 0 and "5 folds of 12 videos" in stdout
    tested = [k for split in json.loads(out.read_text()) for k in split["test_keys"]]
    assert sorted(tested) == sorted(read_dataset(small_tvsum_h5).keys)
