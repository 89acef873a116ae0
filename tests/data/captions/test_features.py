"""Caption features in the layouts ActivityNet features ship in (C3D h5 groups, TSP h5 and
.npy, CLIP .npy, PDVC resnet/bn pairs): reading, id matching, time alignment, bad files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.data.captions.datamodule import CaptionDataModule
from vsumlab.data.captions.features import open_features, resample_nearest
from vsumlab.data.captions.format import CaptionError
from vsumlab.errors import ConfigError, DatasetError

# 12.5 s over 5 steps: step t covers [2.5 t, 2.5 (t + 1)) seconds
CAPTIONS = {
    "v_a": {"duration": 12.5, "timestamps": [[3.0, 7.4], [7.5, 12.5]],
            "sentences": ["a man runs", "a dog jumps"]},
    "v_b": {"duration": 8.0, "timestamps": [[0.0, 2.0]], "sentences": ["a dog runs"]},
}  # fmt: skip
FORMATS = ("h5_groups", "h5_flat", "npy_dir", "pdvc_pairs")
DIM = 6  # pdvc_pairs: 4 "_resnet" columns + 2 "_bn" columns


def features(n_steps: int, dim: int = DIM, offset: float = 0.0) -> np.ndarray:
    """Step t, column j holds offset + 10 t + j: every value says where it came from."""
    return offset + 10.0 * np.arange(n_steps)[:, None] + np.arange(dim)[None, :]


def write_format(tmp_path: Path, fmt: str, arrays: dict[str, np.ndarray]) -> tuple[Path, dict]:
    """``arrays`` (video id as in the caption file -> (T, D)) in ``fmt``'s published layout:
    C3D/TSP keep ActivityNet's ``v_`` ids, PDVC's TSN pairs the bare YouTube ids."""
    if fmt == "h5_groups":  # sub_activitynet_v1-3.c3d.hdf5: float64 c3d_features per group
        path = tmp_path / "sub_activitynet_v1-3.c3d.hdf5"
        with h5py.File(path, "w") as handle:
            for vid, array in arrays.items():
                handle.create_group(vid).create_dataset("c3d_features", data=array)
        return path, {"features_format": fmt, "features_key": "c3d_features"}
    if fmt == "h5_flat":  # TSP's h5: a float32 dataset per video
        path = tmp_path / "r2plus1d_34-tsp_on_activitynet-train_features.h5"
        with h5py.File(path, "w") as handle:
            for vid, array in arrays.items():
                handle.create_dataset(vid, data=array.astype(np.float32))
        return path, {"features_format": fmt}
    folder = tmp_path / fmt
    folder.mkdir()
    for vid, array in arrays.items():
        if fmt == "npy_dir":
            np.save(folder / f"{vid}.npy", array.astype(np.float32))
        else:  # PDVC: <youtube id>_resnet.npy + <youtube id>_bn.npy
            np.save(folder / f"{vid.removeprefix('v_')}_resnet.npy", array[:, :4])
            np.save(folder / f"{vid.removeprefix('v_')}_bn.npy", array[:, 4:])
    if fmt == "pdvc_pairs":
        return folder, {"features_format": fmt, "feature_suffixes": ["_resnet", "_bn"]}
    return folder, {"features_format": fmt}


def write_captions(tmp_path: Path, data: object = CAPTIONS, name: str = "captions.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def datamodule(tmp_path: Path, features: Path, options: dict, **kwargs) -> CaptionDataModule:
    captions = write_captions(tmp_path)
    return CaptionDataModule(str(captions), str(features), val_captions=str(captions),
                             min_word_count=1, batch_size=2, **options, **kwargs)  # fmt: skip


# ------------------------------------------------------------------------- each format
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_the_features_and_aligns_steps_to_the_duration(tmp_path, fmt):
    arrays = {"v_a": features(5), "v_b": features(4, offset=1000.0)}
    path, options = write_format(tmp_path, fmt, arrays)
    dm = datamodule(tmp_path, path, options)
    assert dm.feature_dim == DIM
    batch = next(iter(dm.val_dataloader()))
    assert batch["keys"] == ["v_a", "v_b"]  # named by the caption file, whatever the files say
    np.testing.assert_array_equal(batch["features"][0].numpy(), features(5))
    np.testing.assert_array_equal(batch["features"][1, :4].numpy(), features(4, offset=1000.0))
    assert batch["mask"].sum(1).tolist() == [5, 4]  # v_b padded in the batch only
    # v_a: 12.5 s, 5 steps of 2.5 s. [3.0, 7.4] overlaps steps 1 [2.5, 5) and 2 [5, 7.5);
    # [7.5, 12.5] starts exactly where step 3 starts: steps 3, 4.
    np.testing.assert_allclose(batch["event_boxes"][0].numpy(), [[0.4, 0.4], [0.8, 0.4]])
    assert batch["captioned"][0].tolist() == [0, 1, 1, 1, 1]
    # v_b: 8 s, 4 steps of 2 s; [0, 2] is step 0 alone
    np.testing.assert_allclose(batch["event_boxes"][1].numpy(), [[0.125, 0.25]])
    assert batch["captioned"][1, :4].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("fmt", ["h5_groups", "pdvc_pairs"])
def test_dataloader_workers_read_the_same_features(tmp_path, fmt):
    """Worker processes open their own h5 handle after the main process has read the file."""
    arrays = {"v_a": features(5), "v_b": features(4, offset=1000.0)}
    path, options = write_format(tmp_path, fmt, arrays)
    dm = datamodule(tmp_path, path, options, num_workers=2)
    assert dm.feature_dim == DIM  # the main process reads (and opens) the store first
    dm.hparams.batch_size = 1
    loaded = {b["keys"][0]: b["features"][0].numpy() for b in dm.val_dataloader()}
    assert sorted(loaded) == ["v_a", "v_b"]
    for vid, array in arrays.items():
        np.testing.assert_array_equal(loaded[vid], array)


def test_c3d_file_keeps_its_float64_values_and_needs_its_key(tmp_path):
    path, _ = write_format(tmp_path, "h5_groups", {"v_a": features(5) + 0.25})
    store = open_features(path, "h5_groups", features_key="c3d_features")
    feats, times = store.load("v_a")
    assert feats.dtype == np.float32 and times is None
    np.testing.assert_array_equal(feats, features(5) + 0.25)
    with pytest.raises(DatasetError) as info:  # the default key is this project's 'features'
        open_features(path).load("v_a")
    message = str(info.value)
    assert message.startswith(f"{path}: video 'v_a' key 'features': missing")
    assert "c3d_features" in message and "features_key" in message and "\n" not in message


def test_ids_with_or_without_the_v_prefix_match_and_the_exact_name_wins(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    np.save(folder / "a.npy", features(3, 2))  # bare YouTube id
    np.save(folder / "v_b.npy", features(3, 2))  # ActivityNet id
    np.save(folder / "b.npy", features(3, 2, offset=50.0))  # both present: v_b is exact
    np.save(folder / "v_c~1.npy", features(3, 2))  # a further recording keeps the suffix
    store = open_features(folder)
    assert store.keys_for("v_a") == ["v_a"] and store.keys_for("a") == ["a"]
    assert store.entry_of("v_a") == "a" and store.entry_of("v_b") == "v_b"
    assert store.entry_of("b") == "b"
    assert store.keys_for("c") == ["c~1"] and store.entry_of("c~1") == "v_c~1"
    np.testing.assert_array_equal(store.load("v_b")[0], features(3, 2))
    assert "v_d" not in store and store.keys_for("v_d") == []


def test_pdvc_pairs_concatenate_in_suffix_order(tmp_path):
    folder = tmp_path / "tsn"
    folder.mkdir()
    np.save(folder / "a_resnet.npy", features(3, 4))
    np.save(folder / "a_bn.npy", features(3, 2, offset=500.0))
    feats = open_features(folder, "pdvc_pairs").load("v_a")[0]
    np.testing.assert_array_equal(feats, np.hstack([features(3, 4), features(3, 2, 500.0)]))
    swapped = open_features(folder, "pdvc_pairs", feature_suffixes=["_bn", "_resnet"])
    np.testing.assert_array_equal(swapped.load("v_a")[0][:, :2], features(3, 2, 500.0))


def test_pdvc_pairs_of_different_lengths_are_refused_or_resampled_as_pdvc(tmp_path):
    folder = tmp_path / "tsn"
    folder.mkdir()
    np.save(folder / "a_resnet.npy", features(5, 4))
    np.save(folder / "a_bn.npy", features(3, 2, offset=500.0))
    with pytest.raises(DatasetError) as info:
        open_features(folder, "pdvc_pairs").load("v_a")
    message = str(info.value)
    assert "a_resnet.npy 5 steps" in message and "a_bn.npy 3 steps" in message
    assert "pair_lengths=nearest" in message and "\n" not in message
    feats = open_features(folder, "pdvc_pairs", pair_lengths="nearest").load("v_a")[0]
    # 3 -> 5 steps: sample points 0, 0.5, 1, 1.5, 2 -> nearest steps 0, 0, 1, 1, 2
    # (halves round down, as scipy's interp1d 'nearest' that PDVC uses)
    np.testing.assert_array_equal(feats[:, :4], features(5, 4))
    np.testing.assert_array_equal(feats[:, 4:], features(3, 2, 500.0)[[0, 0, 1, 1, 2]])


def test_resample_nearest_keeps_ends_and_repeats_a_single_step():
    x = features(4, 1)  # 0, 10, 20, 30
    # 4 -> 7 steps: points 0, .5, 1, 1.5, 2, 2.5, 3 -> 0, 0, 1, 1, 2, 2, 3
    np.testing.assert_array_equal(resample_nearest(x, 7)[:, 0], [0, 0, 10, 10, 20, 20, 30])
    # 4 -> 2 steps: points 0, 3
    np.testing.assert_array_equal(resample_nearest(x, 2)[:, 0], [0, 30])
    np.testing.assert_array_equal(resample_nearest(x[:1], 3)[:, 0], [0, 0, 0])


# ------------------------------------------------------------------ missing and bad input
@pytest.mark.parametrize("fmt", FORMATS)
def test_videos_without_features_are_reported_once_and_skipped(tmp_path, capsys, fmt):
    path, options = write_format(tmp_path, fmt, {"v_a": features(5)})
    dm = datamodule(tmp_path, path, options)
    assert dm.dataset("train").keys == ["v_a"]  # v_b skipped, not zero-padded
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 of 2 videos have no features" in err and "'v_b'" in err


def test_a_pdvc_video_with_one_part_counts_as_missing_and_says_which_file(tmp_path, capsys):
    path, options = write_format(tmp_path, "pdvc_pairs", {"v_a": features(5)})
    np.save(path / "b_resnet.npy", features(4, 4))
    dm = datamodule(tmp_path, path, options)
    assert dm.dataset("train").keys == ["v_a"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 of them only some parts (e.g. b_bn.npy missing)" in err


def bad_npy(folder: Path, name: str, content: object, pickled: bool = False) -> None:
    if pickled:
        with open(folder / name, "wb") as handle:  # an object array: only pickle can read it
            np.save(handle, np.array([content], dtype=object), allow_pickle=True)
    else:
        np.save(folder / name, content)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (features(4, DIM - 1).astype(np.float32), r"expected shape \(n_steps >= 1, 6\) of floating-point numbers "
                               r"\(D of the first video 'v_a'\), got \(4, 5\) float32"),
        (features(4).astype(np.int64), r"got \(4, 6\) int64"),
        (features(4)[:, 0].astype(np.float32), r"got \(4,\) float32"),
        (np.zeros((0, DIM), np.float32), r"got \(0, 6\) float32"),
        (np.full((4, DIM), np.nan, np.float32), "contains NaN or infinite values"),
    ],
)  # fmt: skip
def test_bad_npy_features_are_one_line_errors_naming_file_and_shape(tmp_path, content, expected):
    path, options = write_format(tmp_path, "npy_dir", {"v_a": features(5)})
    np.save(path / "v_b.npy", content)
    dm = datamodule(tmp_path, path, options)
    with pytest.raises(DatasetError, match=expected) as info:
        dm.dataset("train")[1]  # shapes fail when the dataset is made, NaN when read
    assert str(info.value).startswith(f"{path / 'v_b.npy'}: video 'v_b'")
    assert "\n" not in str(info.value)


def test_bad_features_stop_before_training(tmp_path):
    """Shapes are checked from the headers of every video when the dataset is made."""
    path, options = write_format(tmp_path, "pdvc_pairs", {"v_a": features(5), "v_b": features(4)})
    np.save(path / "b_bn.npy", features(4, 3))  # the bn part of v_b has 3 columns, not 2
    with pytest.raises(DatasetError) as info:
        datamodule(tmp_path, path, options).dataset("train")
    message = str(info.value)
    assert message.startswith(f"{path / 'b_bn.npy'}: video 'b'")
    assert "(n_steps >= 1, 2)" in message and "got (4, 3)" in message


def test_c3d_features_of_another_dimension_name_the_file_video_and_key(tmp_path):
    path, options = write_format(tmp_path, "h5_groups", {"v_a": features(5), "v_b": features(4)})
    with h5py.File(path, "a") as handle:
        del handle["v_b/c3d_features"]
        handle["v_b"].create_dataset("c3d_features", data=features(4, 500))
    with pytest.raises(DatasetError) as info:
        datamodule(tmp_path, path, options).dataset("val")
    assert str(info.value) == (
        f"{path}: video 'v_b' key 'c3d_features': expected shape (n_steps >= 1, 6) of "
        "floating-point numbers (D of the first video 'v_a'), got (4, 500) float64"
    )


def test_only_the_videos_used_are_checked(tmp_path):
    path, options = write_format(tmp_path, "npy_dir", {"v_a": features(5), "v_b": features(4)})
    np.save(path / "v_0.npy", features(3, 2).astype(np.float32))  # first in the folder, unused
    dm = datamodule(tmp_path, path, options)
    assert dm.dataset("train").keys == ["v_a", "v_b"] and dm.feature_dim == DIM


def test_validation_features_of_another_dimension_are_refused(tmp_path):
    train, options = write_format(tmp_path, "npy_dir", {"v_a": features(5), "v_b": features(4)})
    val = tmp_path / "val"
    val.mkdir()
    np.save(val / "v_a.npy", features(5, 4).astype(np.float32))
    dm = datamodule(tmp_path, train, options, val_features=str(val))
    with pytest.raises(DatasetError) as info:
        dm.val_dataloader()
    assert str(info.value) == (
        f"{val}: 4-d validation features, but the training features {train} are 6-d"
    )


def test_pickled_npy_is_never_unpickled(tmp_path):
    folder = tmp_path / "feats"
    folder.mkdir()
    bad_npy(folder, "v_a.npy", {"not": "features"}, pickled=True)
    with pytest.raises(DatasetError, match="not a readable numeric .npy array") as info:
        open_features(folder).load("v_a")
    assert str(info.value).startswith(f"{folder / 'v_a.npy'}: video 'v_a'")


def test_unreadable_feature_files_are_one_line_errors(tmp_path):
    fake = tmp_path / "c3d.hdf5"
    fake.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DatasetError, match="not a readable HDF5 file") as info:
        open_features(fake, "h5_groups", features_key="c3d_features")
    assert str(info.value).startswith(str(fake)) and "\n" not in str(info.value)
    with pytest.raises(DatasetError, match="no such feature folder"):
        open_features(tmp_path / "nope", "npy_dir")
    with pytest.raises(DatasetError, match="no such feature file or folder"):
        open_features(tmp_path / "nope")


def test_corrupt_caption_file_is_a_one_line_error_naming_it(tmp_path):
    path, options = write_format(tmp_path, "npy_dir", {"v_a": features(5)})
    captions = write_captions(tmp_path, '{"v_a": {"duration": 12.5,', name="broken.json")
    dm = CaptionDataModule(str(captions), str(path), **options)
    with pytest.raises(CaptionError) as info:
        dm.dataset("train")
    assert str(info.value).startswith(f"{captions}: not valid JSON")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"features_format": "c3d"}, "features_format='c3d': expected one of auto, h5_groups"),
        ({"features_format": "npy_dir", "features_key": "x"}, "features_key applies to"),
        ({"features_format": "h5_groups", "feature_suffixes": ["_bn"]}, "pdvc_pairs only"),
        ({"features_format": "pdvc_pairs", "feature_suffixes": []}, "non-empty"),
        ({"features_format": "pdvc_pairs", "feature_suffixes": ["_bn", "_bn"]}, "repeated"),
        ({"pair_lengths": "linear"}, "pair_lengths='linear': expected one of error, nearest"),
        ({"features_format": "pdvc_pairs", "synthetic": {}}, "synthetic=null"),
    ],
)
def test_feature_options_are_checked_when_the_datamodule_is_made(tmp_path, options, expected):
    captions = write_captions(tmp_path)
    with pytest.raises(ConfigError, match=expected):
        CaptionDataModule(str(captions), str(tmp_path / "f"), **options)


def test_features_key_on_a_folder_is_a_config_error(tmp_path):
    path, _ = write_format(tmp_path, "npy_dir", {"v_a": features(5)})
    with pytest.raises(ConfigError, match="is a folder"):
        open_features(path, features_key="c3d_features")


# ------------------------------------------------------------------------ the recipe
RECIPES = Path(__file__).resolve().parents[3] / "experiments" / "cap2sum"
SUMMARIZER = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.0}'
CAPTIONER = json.dumps(dict(d_model=16, n_heads=2, n_points=2, n_levels=2, enc_layers=1,
                            dec_layers=1, n_queries=4, ffn_dim=32, max_events=4, caption_hidden=16,
                            caption_word_dim=8, norm_groups=4, dropout=0.0, caption_attend=False))  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_pretraining_recipe_reads_each_format(tmp_path, fmt):
    """experiments/cap2sum/pretrain_small.yaml with real-feature overrides (as its comments
    say) builds its datamodule from each format, yields batches and trains a step."""
    from vsumlab.cli.lightning import expand_recipes, make_cli

    path, options = write_format(tmp_path, fmt, {"v_a": features(5), "v_b": features(4)})
    captions = write_captions(tmp_path)
    overrides = [f"--data.init_args.{name}={value if isinstance(value, str) else json.dumps(value)}"
                 for name, value in options.items()]  # fmt: skip
    args = expand_recipes(
        ["--config", str(RECIPES / "pretrain_small.yaml"), "--trainer.fast_dev_run=true",
         "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
         "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}",
         f"--data.init_args.train_captions={captions}", f"--data.init_args.val_captions={captions}",
         f"--data.init_args.features={path}", "--data.init_args.synthetic=null",
         "--data.init_args.min_word_count=1", *overrides,
         f"--model.init_args.input_dim={DIM}", f"--model.init_args.captioner={CAPTIONER}",
         f"--model.init_args.summarizer_args={SUMMARIZER}", "--model.init_args.use_prior=false"],
        tmp_path,
    )  # fmt: skip
    cli = make_cli(args, run=False, trainer_overrides={"logger": False})
    assert cli.datamodule.feature_options == {
        "features_key": None, "feature_suffixes": None, "pair_lengths": "error", **options
    }  # fmt: skip
    batch = next(iter(cli.datamodule.train_dataloader()))
    assert batch["features"].shape == (2, 5, DIM) and sorted(batch["keys"]) == ["v_a", "v_b"]
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.state.finished and cli.trainer.global_step == 1
