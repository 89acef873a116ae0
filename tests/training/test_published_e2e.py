"""End to end on stand-ins of the published feature files (tests/data/published_layout.py):
`make finetune-tvsum` attaches the configured annotations and runs the CV; without them, rank
correlation is refused; the CLIP-It augmented and transfer recipes train on TVSum + SumMe +
the train-only OVP and YouTube files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.published_layout import write_published_set
from models.clipit.helpers import save_checkpoint, tiny_cap2sum
from vsumlab.cli.main import main

REPO = Path(__file__).resolve().parents[2]
DIM = 16
FAST = [
    "--trainer.fast_dev_run=true",
    "--trainer.accelerator=cpu",
    f"--model.init_args.input_dim={DIM}",
    "--folds", "0",
    "--reference-draws", "1",
    "--wandb-mode", "disabled",
]  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, tvsum_mat: Path, summe_gt_dir: Path):
    folder = tmp_path_factory.mktemp("published_e2e")
    paths = write_published_set(
        folder, tvsum_mat, summe_gt_dir, dim=DIM, n_videos={"ovp": 6, "youtube": 5}
    )
    attached = folder / "tvsum_attached.h5"
    assert main(["data", "attach-annotations", str(paths["tvsum"]), "--annotations",
                 str(tvsum_mat), "--out", str(attached)]) == 0  # fmt: skip
    return {**paths, "tvsum_attached": attached}


def test_make_finetune_tvsum_attaches_the_annotations_and_runs(
    published: dict[str, Path], tvsum_mat: Path, tmp_path: Path
) -> None:
    generated, out = tmp_path / "generated", tmp_path / "run"
    command = [
        "make", "-C", str(REPO), "-o", "install", "finetune-tvsum",
        f"TVSUM_H5={published['tvsum']}", f"TVSUM_ANNOTATIONS={tvsum_mat}",
        f"GENERATED={generated}", f"VSUMLAB={Path(sys.executable).parent / 'vsumlab'}",
        "ARGS=" + " ".join([*FAST, "--out", str(out)]),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "WANDB_MODE": "disabled"})  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    attached = generated / "eccv16_dataset_tvsum_google_pool5_annotated.h5"
    assert attached.is_file() and f"--out {attached}" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["ranked_by"] == "user_anno"
    assert [row["name"] for row in results["rows"]][1:] == ["random", "uniform", "human"]
    assert "Rank correlation against: user_anno." in (out / "results.md").read_text()


def test_cv_on_the_published_tvsum_without_user_anno_is_refused(
    published: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
    code = main(["cv", "--config", str(recipe), f"--data.init_args.dataset={published['tvsum']}",
                 "--out", str(tmp_path / "run"), *FAST])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    line = [x for x in err.splitlines() if x.startswith("vsumlab: error:")]
    assert len(line) == 1 and "field 'user_anno': missing" in line[0]
    assert "vsumlab data attach-annotations" in line[0]
    # a train-only file as the CV target: one line naming the missing fields
    code = main(["cv", "--config", str(recipe), f"--data.init_args.dataset={published['ovp']}",
                 "--out", str(tmp_path / "ovp"), *FAST])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "data.dataset cannot be evaluated, the file is train-only" in err


@pytest.mark.parametrize("setting", ["augmented", "transfer"])
def test_clipit_recipes_train_on_the_published_sets(
    published: dict[str, Path], tmp_path: Path, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIPIT_TEXT_ENCODER", "vsumlab-tiny-clip")
    monkeypatch.setenv("CLIPIT_TEXT_DIM", "32")
    extra = ",".join(str(published[name]) for name in ("summe", "ovp", "youtube"))
    # the recipes' default guide: dense captions of a Cap2Sum captioner (a tiny random one here)
    captioner = save_checkpoint(tiny_cap2sum(0, input_dim=DIM), tmp_path / "cap2sum.ckpt")
    out = tmp_path / setting
    code = main([
        "cv", "--config", str(REPO / "experiments" / "clipit" / f"{setting}_tvsum.yaml"),
        f"--data.init_args.dataset={published['tvsum_attached']}",
        f"--data.init_args.extra_datasets=[{extra}]",
        f"--model.init_args.text_cache_dir={tmp_path / 'text_cache'}",
        f"--model.init_args.captioner={captioner}",
        f"--model.init_args.caption_cache_dir={tmp_path / 'caption_cache'}",
        "--out", str(out), *FAST,
    ])  # fmt: skip
    assert code == 0
    # every video of every set was guided by the captioner's generated captions
    assert len(list((tmp_path / "caption_cache").rglob("*.json"))) == 50 + 25 + 6 + 5
    fold = json.loads((out / "seed_default" / "fold_0" / "result.json").read_text())
    assert fold["ranked_by"] == "user_anno" and fold["data"]["setting"] == setting
    data = fold["data"]
    # every SumMe, OVP and YouTube video trains (+ TVSum's training folds when augmented)
    assert data["n_test"] == (10 if setting == "augmented" else 50)
    assert data["n_train"] + data["n_val"] == 25 + 6 + 5 + (40 if setting == "augmented" else 0)


def test_make_reproduce_and_summe_attach_when_annotations_are_configured(
    tmp_path: Path, tvsum_mat: Path, summe_gt_dir: Path
) -> None:
    """Dry run (make -n): what reproduce and finetune-summe would run."""
    tvsum, summe = tmp_path / "eccv16_dataset_tvsum_google_pool5.h5", tmp_path / "summe_pub.h5"
    tvsum.touch()
    summe.touch()
    common = ["make", "-n", "-C", str(REPO), "-o", "install", f"GENERATED={tmp_path / 'gen'}",
              f"TVSUM_H5={tvsum}", f"SUMME_H5={summe}"]  # fmt: skip
    configured = [f"TVSUM_ANNOTATIONS={tvsum_mat}", f"SUMME_ANNOTATIONS={summe_gt_dir}"]
    plan = subprocess.run([*common, *configured, "reproduce"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    tvsum_out = tmp_path / "gen" / "eccv16_dataset_tvsum_google_pool5_annotated.h5"
    summe_out = tmp_path / "gen" / "summe_pub_annotated.h5"
    assert f"attach-annotations {tvsum} --annotations {tvsum_mat} --out {tvsum_out}" in plan
    assert f"attach-annotations {summe} --annotations {summe_gt_dir} --out {summe_out}" in plan
    assert f"TVSUM_H5={tvsum_out} SUMME_H5={summe_out}" in plan
    plan = subprocess.run([*common, *configured, "finetune-summe"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert f"--data.init_args.dataset={summe_out}" in plan and "attach-annotations" in plan
    # not configured: the published files are used as given, nothing attached
    plan = subprocess.run([*common, "finetune-tvsum"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "attach-annotations" not in plan and f"--data.init_args.dataset={tvsum}" in plan
