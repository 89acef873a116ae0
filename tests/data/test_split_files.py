"""Split files of the public code bases (common JSON, DSNet YAML, CSTA text), hand-made here in
each code base's layout, read against the configured datasets; bad files give one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from vsumlab.data.split_files import DatasetKeys, h5_dataset_keys, read_split_file
from vsumlab.data.splits import Split
from vsumlab.data.standard_h5 import SummarizationDataModule
from vsumlab.errors import DatasetError


def published(kind: str, n_videos: int, style: str | None = None) -> DatasetKeys:
    """A dataset as loaded from a published file (no dataset_name attribute: name = stem)."""
    stem = f"eccv16_dataset_{kind}_google_pool5"
    keys = [f"video_{i}" for i in range(1, n_videos + 1)]
    return DatasetKeys(stem, Path(f"/data/{stem}.h5"), keys, style)


TVSUM = published("tvsum", 10, "tvsum")
SUMME = published("summe", 6, "summe")
OVP = published("ovp", 3)
YOUTUBE = published("youtube", 3)


def dsnet_key(kind: str, key: str) -> str:
    return f"../datasets/eccv16_dataset_{kind}_google_pool5.h5/{key}"


def dsnet_yaml(splits: list[tuple[list[str], list[str]]]) -> str:
    """DSNet's layout: a YAML list of {test_keys, train_keys}, test_keys first."""
    lines = []
    for train, test in splits:
        lines.append("- test_keys:")
        lines += [f"  - {k}" for k in test]
        lines.append("  train_keys:")
        lines += [f"  - {k}" for k in train]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def fails(path: Path, datasets: list[DatasetKeys], *parts: str) -> str:
    with pytest.raises(DatasetError) as info:
        read_split_file(path, datasets)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for part in parts:
        assert part in message, message
    return message


# ----------------------------------------------------------------------------- DSNet YAML
def test_dsnet_plain_file_gives_plain_keys_in_file_order(tmp_path: Path) -> None:
    text = dsnet_yaml([
        ([dsnet_key("tvsum", k) for k in ("video_3", "video_1", "video_10")],
         [dsnet_key("tvsum", k) for k in ("video_7", "video_2")]),
        ([dsnet_key("tvsum", "video_2")], [dsnet_key("tvsum", "video_3")]),
    ])
    expected = [
        Split(train_keys=["video_3", "video_1", "video_10"], test_keys=["video_7", "video_2"]),
        Split(train_keys=["video_2"], test_keys=["video_3"]),
    ]
    for name in ("tvsum.yml", "tvsum.yaml", "tvsum_splits"):  # extension, then content
        splits, form = read_split_file(write(tmp_path, name, text), [TVSUM])
        assert form == "dsnet" and splits == expected


def test_dsnet_augmented_file_maps_every_prefix_to_its_dataset(tmp_path: Path) -> None:
    text = dsnet_yaml([(
        [dsnet_key("summe", "video_1"), dsnet_key("tvsum", "video_9"),
         dsnet_key("ovp", "video_2"), dsnet_key("youtube", "video_3")],
        [dsnet_key("summe", "video_4"), dsnet_key("summe", "video_6")],
    )])
    (split,), _ = read_split_file(write(tmp_path, "summe_aug.yml", text),
                                  [SUMME, TVSUM, OVP, YOUTUBE])
    assert split.test_keys == ["eccv16_dataset_summe_google_pool5/video_4",
                               "eccv16_dataset_summe_google_pool5/video_6"]
    assert split.train_keys == ["eccv16_dataset_summe_google_pool5/video_1",
                                "eccv16_dataset_tvsum_google_pool5/video_9",
                                "eccv16_dataset_ovp_google_pool5/video_2",
                                "eccv16_dataset_youtube_google_pool5/video_3"]


def test_dsnet_transfer_file_tests_all_target_videos(tmp_path: Path) -> None:
    test = [dsnet_key("summe", f"video_{i}") for i in range(1, 7)]
    train = [dsnet_key("tvsum", "video_5"), dsnet_key("ovp", "video_1")]
    splits, _ = read_split_file(write(tmp_path, "summe_trans.yml", dsnet_yaml([(train, test)] * 2)),
                                [SUMME, TVSUM, OVP])
    assert len(splits) == 2
    for split in splits:
        assert split.test_keys == [f"eccv16_dataset_summe_google_pool5/video_{i}" for i in range(1, 7)]
        assert split.train_keys == ["eccv16_dataset_tvsum_google_pool5/video_5",
                                    "eccv16_dataset_ovp_google_pool5/video_1"]


def test_prefix_matches_dataset_name_file_name_or_stem_ignoring_case(tmp_path: Path) -> None:
    # a file written by this project: the dataset name (attribute) differs from the file stem
    renamed = DatasetKeys("synthetic_tvsum", Path("/runs/My_TVSum.h5"), TVSUM.keys, "tvsum")
    other = DatasetKeys("synthetic_summe", Path("/runs/summe.h5"), SUMME.keys, "summe")
    text = dsnet_yaml([(["../d/synthetic_tvsum.h5/video_1", "synthetic_tvsum/video_2",
                         "x/my_tvsum.h5/video_4", "summe.H5/video_1"],
                        ["/abs/My_TVSum/video_3"])])
    (split,), _ = read_split_file(write(tmp_path, "s.yml", text), [renamed, other])
    assert split.train_keys == ["synthetic_tvsum/video_1", "synthetic_tvsum/video_2",
                                "synthetic_tvsum/video_4", "synthetic_summe/video_1"]
    assert split.test_keys == ["synthetic_tvsum/video_3"]


def test_dsnet_bad_files(tmp_path: Path) -> None:
    aug = write(tmp_path, "tvsum_aug.yml", dsnet_yaml([
        ([dsnet_key("tvsum", "video_1")], [dsnet_key("tvsum", "video_2")]),
        ([dsnet_key("tvsum", "video_1"), dsnet_key("ovp", "video_2")],
         [dsnet_key("tvsum", "video_3")]),
    ]))
    fails(aug, [TVSUM, SUMME], "split 1 field 'train_keys'",
          "dataset prefix '../datasets/eccv16_dataset_ovp_google_pool5.h5' matches no configured",
          f"known: 'eccv16_dataset_tvsum_google_pool5' ({TVSUM.path}), "
          f"'eccv16_dataset_summe_google_pool5' ({SUMME.path})")
    unknown = write(tmp_path, "u.yml", dsnet_yaml([
        ([dsnet_key("tvsum", "video_1")], [dsnet_key("tvsum", "video_2")]),
        ([dsnet_key("tvsum", "video_1")], [dsnet_key("tvsum", "video_99")]),
    ]))
    fails(unknown, [TVSUM], "split 1 field 'test_keys': unknown video key "
          f"'{dsnet_key('tvsum', 'video_99')}'", "has 10 videos")
    both = write(tmp_path, "b.yml", dsnet_yaml([
        ([dsnet_key("tvsum", "video_1"), dsnet_key("tvsum", "video_4")],
         [dsnet_key("tvsum", "video_4")]),
    ]))
    fails(both, [TVSUM], "split 0: keys in both train_keys and test_keys",
          dsnet_key("tvsum", "video_4"))
    # the same video under two spellings: found after mapping the prefixes
    spelled = write(tmp_path, "sp.yml", dsnet_yaml([
        ([dsnet_key("tvsum", "video_1")], ["eccv16_dataset_tvsum_google_pool5/video_1"]),
    ]))
    fails(spelled, [TVSUM, SUMME], "split 0: keys in both train_keys and test_keys: "
          "eccv16_dataset_tvsum_google_pool5/video_1")
    twice = write(tmp_path, "tw.yml", dsnet_yaml([
        ([dsnet_key("tvsum", "video_1"), "eccv16_dataset_tvsum_google_pool5.h5/video_1"],
         [dsnet_key("tvsum", "video_2")]),
    ]))
    fails(twice, [TVSUM], "split 0 field 'train_keys': video 'video_1' listed twice")
    plain = write(tmp_path, "p.yml", dsnet_yaml([
        ([dsnet_key("summe", "video_1"), "video_2"], [dsnet_key("summe", "video_3")]),
    ]))
    fails(plain, [SUMME, TVSUM], "split 0 field 'train_keys': key 'video_2' has no dataset "
          "prefix; with several datasets loaded each key needs one")
    copy = DatasetKeys("copy", Path("/other/eccv16_dataset_tvsum_google_pool5.h5"), ["video_1"])
    fails(aug, [TVSUM, copy], "split 0 field 'train_keys': dataset prefix "
          "'../datasets/eccv16_dataset_tvsum_google_pool5.h5' matches several configured datasets")
    broken = write(tmp_path, "broken.yml", "- test_keys:\n  - a\n train_keys: [\n")
    fails(broken, [TVSUM], "line 3 column 2: not a YAML splits file")
    not_list = write(tmp_path, "m.yml", "test_keys: [video_1]\n")
    fails(not_list, [TVSUM], "expected a non-empty list")
    numbers = write(tmp_path, "n.yml", "- test_keys: [1]\n  train_keys: []\n")
    fails(numbers, [TVSUM], "split 0 field 'test_keys': expected a list of video key strings")


# ----------------------------------------------------------------------------- CSTA text
CSTA_TVSUM = (
    "TVSum/split0/video_1,video_3,video_4,video_5,video_6/video_2,video_7\n"
    "TVSum/split1/video_2,video_7,video_8,video_9/video_1,video_10\n"
)


def test_csta_text_one_split_per_line(tmp_path: Path) -> None:
    expected = [
        Split(train_keys=["video_1", "video_3", "video_4", "video_5", "video_6"],
              test_keys=["video_2", "video_7"]),
        Split(train_keys=["video_2", "video_7", "video_8", "video_9"],
              test_keys=["video_1", "video_10"]),
    ]
    for name, text in (("TVSum_splits.txt", CSTA_TVSUM), ("splits", CSTA_TVSUM + "\n"),
                       ("crlf.txt", CSTA_TVSUM.replace("\n", "\r\n"))):
        splits, form = read_split_file(write(tmp_path, name, text), [TVSUM])
        assert form == "csta" and splits == expected
    # with other datasets loaded, the label's dataset (the target) qualifies the keys
    (first, _), _ = read_split_file(tmp_path / "TVSum_splits.txt", [TVSUM, OVP])
    assert first.test_keys == ["eccv16_dataset_tvsum_google_pool5/video_2",
                               "eccv16_dataset_tvsum_google_pool5/video_7"]
    # a label that says nothing against the target (its kind unknown) is taken as the target
    anonymous = DatasetKeys("mine", Path("/data/mine.h5"), TVSUM.keys)
    assert read_split_file(tmp_path / "TVSum_splits.txt", [anonymous])[0] == expected


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("TVSum/split0/video_1/video_2/video_3\n",
         ("line 1: expected '<dataset>/split<i>/", "got 5 '/'-separated fields")),
        ("TVSum/split0/video_1/video_2\nTVSum/fold1/video_1/video_2\n", ("line 2:", "fold1")),
        ("TVSum/split0/video_1,,video_3/video_2\n",
         ("line 1 (split0): empty key in the comma-separated train keys",)),
        ("TVSum/split0/video_1/\n", ("line 1 (split0): no test keys",)),
        ("TVSum/split0/video_1/video_2\n\nTVSum/split0/video_3/video_4\n",
         ("line 3: split name 'split0' repeats line 1",)),
        ("TVSum/split0/video_1/video_2\nSumMe/split1/video_1/video_2\n",
         ("line 2: dataset label 'SumMe', earlier lines 'TVSum'",)),
        ("TVSum/split0/video_1/video_2\nTVSum/split1/video_1/video_99\n",
         ("line 2 (split1) field 'test_keys': unknown video key 'video_99'",)),
        ("TVSum/split0/video_1,video_2/video_2\n",
         ("line 1 (split0): keys in both train_keys and test_keys: video_2",)),
        ("SumMe/split0/video_1/video_2\n",
         ("line 1: a SumMe split file, but the target dataset 'eccv16_dataset_tvsum_google_pool5'",
          "is tvsum-style")),
    ],
)
def test_csta_bad_files(tmp_path: Path, text: str, parts: tuple[str, ...]) -> None:
    fails(write(tmp_path, "bad.txt", text), [TVSUM], *parts)


# ----------------------------------------------------------------------------- common JSON
def test_common_json_plain_and_qualified(tmp_path: Path) -> None:
    plain = write(tmp_path, "plain.json", json.dumps(
        [{"train_keys": ["video_1"], "test_keys": ["video_2"]}]))
    assert read_split_file(plain, [TVSUM]) == ([Split(["video_1"], ["video_2"])], "json")
    bom = write(tmp_path, "bom.json", "\ufeff" + plain.read_text())  # as some editors save
    assert read_split_file(bom, [TVSUM]) == ([Split(["video_1"], ["video_2"])], "json")
    fails(plain, [TVSUM, OVP], "split 0 field 'train_keys': key 'video_1' has no dataset prefix")
    mixed = write(tmp_path, "mixed.json", json.dumps([{
        "train_keys": ["eccv16_dataset_ovp_google_pool5/video_3"],
        "test_keys": ["eccv16_dataset_tvsum_google_pool5/video_2"],
    }]))
    assert read_split_file(mixed, [TVSUM, OVP])[0] == [Split(
        ["eccv16_dataset_ovp_google_pool5/video_3"], ["eccv16_dataset_tvsum_google_pool5/video_2"])]


def test_files_of_no_known_form(tmp_path: Path) -> None:
    fails(write(tmp_path, "x", "video_1 video_2\n"), [TVSUM], "not a splits file")
    fails(write(tmp_path, "e.yml", " \n"), [TVSUM], "empty splits file")
    fails(tmp_path / "none.yml", [TVSUM], "no such splits file")
    fails(write(tmp_path, "bad.json", "[{"), [TVSUM], "not a JSON splits file")


def test_h5_dataset_keys_lists_groups_without_reading_records(tmp_path: Path) -> None:
    path = tmp_path / "eccv16_dataset_ovp_google_pool5.h5"
    with h5py.File(path, "w") as handle:
        for key in ("video_10", "video_2", "video_1"):
            handle.create_group(key).create_dataset("features", data=[[0.0]])
    keys = h5_dataset_keys(path)
    assert keys == DatasetKeys("eccv16_dataset_ovp_google_pool5", path,
                               ["video_1", "video_2", "video_10"], None)
    with h5py.File(path, "a") as handle:
        handle.attrs["dataset_name"] = "ovp"
        handle.attrs["annotation_style"] = "tvsum"
    assert (h5_dataset_keys(path).name, h5_dataset_keys(path).annotation_style) == ("ovp", "tvsum")
    with pytest.raises(DatasetError, match="no such file"):
        h5_dataset_keys(tmp_path / "none.h5")


# ----------------------------------------------------------------------------- datamodule
def test_datamodule_reads_dsnet_and_csta_files(small_tvsum_h5: Path, small_summe_h5: Path,
                                               tmp_path: Path) -> None:
    summe, tvsum = f"../datasets/{small_summe_h5.name}", f"../datasets/{small_tvsum_h5.name}"
    aug = write(tmp_path, "summe_aug.yml", dsnet_yaml([
        ([f"{summe}/video_1", f"{summe}/video_2", f"{tvsum}/video_12"], [f"{summe}/video_3"]),
        ([f"{summe}/video_3", f"{tvsum}/video_1"], [f"{summe}/video_1", f"{summe}/video_8"]),
    ]))
    dm = SummarizationDataModule(str(small_summe_h5), extra_datasets=[str(small_tvsum_h5)],
                                 split_file=str(aug), fold=1, val_fraction=0.0)
    assert len(dm.splits()) == 2
    assert dm.keys["test"] == ["synthetic_summe/video_1", "synthetic_summe/video_8"]
    assert dm.keys["train"] == ["synthetic_summe/video_3", "synthetic_tvsum/video_1"]
    assert dm.record("synthetic_tvsum/video_1").n_steps > 0
    # the augmented file without the TVSum file configured: its prefix is unknown
    alone = SummarizationDataModule(str(small_summe_h5), split_file=str(aug))
    with pytest.raises(DatasetError, match=f"prefix '{tvsum}' matches no configured dataset"):
        alone.splits()

    csta = write(tmp_path, "SumMe_splits.txt",
                 "SumMe/split0/video_1,video_2,video_3/video_4\n")
    dm = SummarizationDataModule(str(small_summe_h5), split_file=str(csta), val_fraction=0.0)
    assert dm.keys == {"train": ["video_1", "video_2", "video_3"], "val": [],
                       "test": ["video_4"]}
    with pytest.raises(DatasetError, match="a TVSum split file, but the target dataset"):
        SummarizationDataModule(str(small_summe_h5), split_file=str(
            write(tmp_path, "TVSum_splits.txt", "TVSum/split0/video_1/video_2\n"))).splits()
