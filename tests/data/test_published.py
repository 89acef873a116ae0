"""The published feature files as users download them (stand-ins in their exact layout, built
from the real annotations): they read unchanged, say what they can be used for, and
``attach-annotations`` completes them without altering a published byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.attach import attach_annotations
from vsumlab.data.importers import read_summe_video, read_tvsum_videos, summe_files
from vsumlab.data.schema import read_dataset, require_fps
from vsumlab.data.uses import dataset_uses, require_evaluable
from vsumlab.errors import DatasetError

from .published_layout import (
    PUBLISHED_FIELDS,
    TRAIN_ONLY_FIELDS,
    published_datasets,
    write_published_set,
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, tvsum_mat: Path, summe_gt_dir: Path):
    folder = tmp_path_factory.mktemp("published")
    return write_published_set(
        folder, tvsum_mat, summe_gt_dir, dim=16, n_videos={"ovp": 4, "youtube": 3}
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_stand_ins_have_exactly_the_published_layout(published: dict[str, Path]) -> None:
    expected = {
        "summe": {*PUBLISHED_FIELDS, "video_name"},
        "tvsum": set(PUBLISHED_FIELDS),
        "ovp": set(TRAIN_ONLY_FIELDS),
        "youtube": set(TRAIN_ONLY_FIELDS),
    }
    for name, path in published.items():
        with h5py.File(path, "r") as handle:
            assert not handle.attrs, name
            for key, group in handle.items():
                assert set(group) == expected[name], (name, key)
                assert not group.attrs
                for field in ("n_frames", "picks", "change_points", "n_frame_per_seg", "n_steps"):
                    if field in group:
                        assert group[field].dtype == np.float64
    with h5py.File(published["summe"], "r") as handle:
        assert handle["video_6"]["video_name"][()] == b"car_over_camera"
        assert len(handle) == 25
    with h5py.File(published["tvsum"], "r") as handle:
        assert len(handle) == 50


def test_stand_ins_carry_the_real_frame_counts_and_selections(
    published: dict[str, Path], tvsum_mat: Path, summe_gt_dir: Path
) -> None:
    summe = read_dataset(published["summe"])
    first = read_summe_video(summe_files(summe_gt_dir)[0])
    assert summe["video_1"].video_name == "Air_Force_One" == first.name
    np.testing.assert_array_equal(summe["video_1"].user_summary, (first.user_score > 0).T)
    tvsum = read_dataset(published["tvsum"])
    _, videos = read_tvsum_videos(tvsum_mat, {0, 49})
    assert tvsum["video_1"].n_frames == videos[0].n_frames
    assert tvsum["video_50"].n_frames == videos[49].n_frames
    # each TVSum user summary is that user's 15% knapsack: at most 15% of the frames
    shares = tvsum["video_1"].user_summary.mean(axis=1)
    assert np.all((shares > 0.05) & (shares <= 0.15))


def test_each_file_says_which_uses_it_supports(
    published: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    labels = {name: dataset_uses(read_dataset(path)).label for name, path in published.items()}
    assert labels == {
        "summe": "rank-evaluable",
        "tvsum": "evaluable",
        "ovp": "train-only",
        "youtube": "train-only",
    }
    code, out, _ = run(capsys, "data", "validate", str(published["tvsum"]))
    assert code == 0 and "evaluable (not rank-evaluable: video 'video_1' lacks user_anno" in out
    assert "attach-annotations" in out
    code, out, _ = run(capsys, "data", "validate", str(published["ovp"]))
    assert code == 0 and "4 videos, train-only (not evaluable: video 'video_1' lacks picks" in out
    code, out, _ = run(capsys, "data", "info", "--json", str(published["summe"]))
    assert code == 0 and '"uses": "rank-evaluable"' in out
    # no fps in the published files: seconds are unknown, and info says where they come from
    assert '"seconds_mean": null' in out and "attach-annotations" in out


def test_a_train_only_file_as_evaluation_target_is_one_line(
    published: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DatasetError, match="lacks picks, n_frames, change_points"):
        require_evaluable(read_dataset(published["youtube"]), "data.dataset")
    code, _, err = run(capsys, "eval", "human", "--dataset", str(published["ovp"]))
    assert code == 2 and err.count("\n") == 1
    assert "eval --dataset cannot be evaluated, the file is train-only" in err
    assert "n_frame_per_seg, user_summary" in err


def test_seconds_need_an_fps_that_the_published_files_lack(published: dict[str, Path]) -> None:
    record = read_dataset(published["summe"])["video_1"]
    assert record.fps is None
    with pytest.raises(DatasetError, match=r"video 'video_1' field 'fps': frame rate unknown"):
        require_fps(record, published["summe"])


def test_attach_adds_annotations_and_alters_no_published_byte(
    published: dict[str, Path], tvsum_mat: Path, summe_gt_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = {name: published_datasets(path) for name, path in published.items()}
    out = tmp_path / "tvsum_attached.h5"
    code, text, _ = run(
        capsys, "data", "attach-annotations", str(published["tvsum"]),
        "--annotations", str(tvsum_mat), "--out", str(out),
    )
    assert code == 0 and "50 tvsum videos" in text and "rank-evaluable" in text
    after = published_datasets(out)
    assert {k: v for k, v in after.items() if k in before["tvsum"]} == before["tvsum"]
    assert set(after) - set(before["tvsum"]) == {
        f"video_{i}/{f}" for i in range(1, 51) for f in ("fps", "user_anno")
    }
    tvsum = read_dataset(out)
    _, videos = read_tvsum_videos(tvsum_mat, {1})
    record = tvsum["video_2"]
    np.testing.assert_array_equal(record.user_anno, videos[1].user_anno)
    assert record.video_id == "98MoyGZKHXc" and record.category == videos[1].category
    assert record.fps == pytest.approx(videos[1].n_frames / videos[1].length)
    assert tvsum.attrs["annotation_style"] == "tvsum"
    assert tvsum.name == "eccv16_dataset_tvsum_google_pool5"  # the published name stays
    code, text, _ = run(capsys, "data", "info", str(out))
    assert "from the annotations (ydata-tvsum50.mat)" in text and "seconds_mean        251.7" in text

    summe_out = attach_annotations(published["summe"], summe_gt_dir, tmp_path / "s.h5").out
    assert {k: v for k, v in published_datasets(summe_out).items() if k in before["summe"]} == (
        before["summe"]
    )
    summe = read_dataset(summe_out)
    assert summe["video_2"].video_name == "Base jumping" and summe["video_2"].fps > 0
    assert summe["video_2"].user_anno is None
    # the inputs themselves are untouched
    assert {name: published_datasets(path) for name, path in published.items()} == before


def _copy(path: Path, tmp_path: Path, edit) -> Path:
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    with h5py.File(copy, "r+") as handle:
        edit(handle)
    return copy


def test_attach_refuses_a_file_that_does_not_match(
    published: dict[str, Path], tvsum_mat: Path, summe_gt_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def shorten(handle: h5py.File) -> None:
        handle["video_3"]["n_frames"][()] = handle["video_3"]["n_frames"][()] - 1

    real = read_tvsum_videos(tvsum_mat, {2})[1][2].n_frames
    cases = {
        f"video 'video_3' (J0nA4VgnoCo) has n_frames {real - 1} but ydata-tvsum50.mat gives {real}": (
            _copy(published["tvsum"], tmp_path, shorten), tvsum_mat
        ),
        "video 'video_1' (AwmHb44_ouw) has n_frames 4494 but": (published["summe"], tvsum_mat),
        "video 'video_1' field 'n_frames': missing": (published["ovp"], tvsum_mat),
        "no such file or folder": (published["tvsum"], tmp_path / "absent.mat"),
    }
    for message, (standard, source) in cases.items():
        code, _, err = run(
            capsys, "data", "attach-annotations", str(standard),
            "--annotations", str(source), "--out", str(tmp_path / "out.h5"),
        )
        assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out.h5").exists()

    def rename(handle: h5py.File) -> None:
        del handle["video_2"]["video_name"]
        handle["video_2"].create_dataset("video_name", data=np.bytes_(b"Bike Polo"))

    folder = tmp_path / "renamed"
    folder.mkdir()
    renamed = _copy(published["summe"], folder, rename)
    with pytest.raises(DatasetError, match="'video_name' is 'Bike Polo' but the published order"):
        attach_annotations(renamed, summe_gt_dir, tmp_path / "o.h5")
    attached = attach_annotations(published["tvsum"], tvsum_mat, tmp_path / "once.h5").out
    with pytest.raises(DatasetError, match="already has 'fps'"):
        attach_annotations(attached, tvsum_mat, tmp_path / "twice.h5")


def test_dsnet_split_files_name_the_attached_file_by_its_published_name(
    published: dict[str, Path], tvsum_mat: Path, tmp_path: Path
) -> None:
    """attach keeps dataset_name = the published stem, so DSNet's key prefixes
    (``../datasets/eccv16_dataset_tvsum_google_pool5.h5/video_i``) still find the videos."""
    from vsumlab.data.standard_h5 import SummarizationDataModule

    attached = attach_annotations(published["tvsum"], tvsum_mat, tmp_path / "tvsum_annotated.h5")
    prefix = "../datasets/eccv16_dataset_tvsum_google_pool5.h5"
    split = tmp_path / "tvsum.yml"
    train = "\n".join(f"  - {prefix}/video_{i}" for i in range(3, 51))
    split.write_text(f"- train_keys:\n{train}\n  test_keys:\n  - {prefix}/video_1\n  - {prefix}/video_2\n")
    module = SummarizationDataModule(str(attached.out), split_file=str(split))
    assert module.keys["test"] == ["video_1", "video_2"]
