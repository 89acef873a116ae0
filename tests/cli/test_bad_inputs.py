"""Bad-input suite: every CLI command against a table of broken files.

Each case runs one command in-process (``vsumlab.cli.main.main``) on one broken input and
asserts what a user must see: exit status 2, exactly one line on stderr, ``vsumlab: error:``, the
broken file (or key) named, and no traceback; where a case names its output, nothing was
written. Malicious checkpoints must also not run: their pickle would create a file, which must
not exist afterwards. The last test prints the count.

Faults come in classes (``_broken_inputs``), each tried on every command that reads that kind of
input: encodings (names that are not UTF-8), corrupt containers (a damaged object inside a
readable h5), wrong kinds, range and consistency, duplicate keys (JSON and YAML), foreign run
state (a cv folder's fold results, logs and checkpoints) and file system faults (an output
whose folder is a file, a read-only or full file system: those cases need a small tmpfs and
are skipped, never passed, where this machine cannot mount one).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.main import COMMAND_MODULES, LIGHTNING_SUBCOMMANDS, main

from ._broken_inputs import (
    BROKEN_DATASETS,
    SmallFS,
    corrupt_object,
    fake_summe_gt,
    mount_tmpfs,
    published_like,
    unmount,
)

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.0}'


class _RunsCode:
    """Unpickling this creates ``target`` (what a malicious downloaded checkpoint would do)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {shlex.quote(str(self.target))}",)


@dataclass
class Files:
    """The broken inputs (and a few valid ones they are combined with)."""

    root: Path
    dataset: Path  # a valid small TVSum-like set (64-d features, keys video_1..video_12)

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def pwned(self) -> Path:
        return self.root / "PWNED"


def _checkpoint_payload() -> dict:
    return {"epoch": 0, "loops": {}, "state_dict": {"summarizer.w": torch.zeros(256)},
            "vsumlab_class": "vsumlab.models.summarizer.SummarizerModule",
            "hyper_parameters": {"input_dim": 64}}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, small_tvsum_h5: Path) -> Files:
    from vsumlab.data.schema import read_dataset, write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.evaluation.predictions import write_predictions

    root = tmp_path_factory.mktemp("broken")
    f = Files(root, small_tvsum_h5)
    f.path("text.ckpt").write_text("this is not a checkpoint\n")
    torch.save(_checkpoint_payload(), f.path("good.ckpt"))
    blob = f.path("good.ckpt").read_bytes()
    f.path("truncated.ckpt").write_bytes(blob[: len(blob) // 2])
    torch.save({**_checkpoint_payload(), "extra": _RunsCode(f.pwned)}, f.path("evil.ckpt"))
    torch.save({**_checkpoint_payload(), "vsumlab_class": "subprocess.Popen",
                "hyper_parameters": {"_class_path": "subprocess.Popen"}}, f.path("foreign.ckpt"))
    f.path("text.h5").write_text("not hdf5\n")
    f.path("truncated.h5").write_bytes(small_tvsum_h5.read_bytes()[:4096])
    f.path("bad.npy").write_bytes(b"\x93NUMPY garbage")
    f.path("bad_recipe.yaml").write_text("trainer:\n  max_epochs: [1, 2\nmodel: {}\n")
    f.path("bad_sweep.yaml").write_text("command: [vsumlab, cv]\nparameters:\n  lr: {values: [1\n")
    f.path("captions_latin1.json").write_bytes('{"video_1": {"sentences": ["caf\xe9"]}}'
                                               .encode("latin-1"))
    f.path("captions.json").write_text("{}")
    f.path("not_a_video.mp4").write_text("not a video\n")
    one = make_synthetic_dataset("tvsum", feature_dim=64, n_videos=1, min_duration=20,
                                 max_duration=30)
    write_dataset(f.path("one_video.h5"), one, attrs=one.attrs)
    # a results folder whose run.json was cut short, and one whose results.json was
    cv_out = f.path("cv_out")
    (cv_out / "seed_default").mkdir(parents=True)
    (cv_out / "run.json").write_text('{"experiment": "x", "config_ha')
    results = f.path("results_dir")
    results.mkdir()
    (results / "results.json").write_text('{"rows": [')
    # one fold's predictions: a subset of the dataset, and keys another dataset lacks
    dataset = read_dataset(small_tvsum_h5)
    subset = {key: np.full(dataset[key].n_steps, 0.5) for key in dataset.keys[:3]}
    write_predictions(f.path("subset_predictions.h5"), subset)
    fold = f.path("fold_0")
    (fold / "checkpoints").mkdir(parents=True)
    (fold / "checkpoints" / "last.ckpt").write_bytes(blob)
    write_predictions(fold / "predictions.h5", subset)
    foreign = f.path("fold_foreign")
    (foreign / "checkpoints").mkdir(parents=True)
    (foreign / "checkpoints" / "last.ckpt").write_bytes(blob)
    write_predictions(foreign / "predictions.h5", {"video_99": np.zeros(5)})
    videos = f.path("videos")
    videos.mkdir()
    (videos / "broken.mp4").write_text("not a video\n")
    for name in ("GT", "web"):
        f.path(name).mkdir()
    (f.path("GT") / "Air_Force_One.mat").write_text("not a mat file\n")
    _broken_classes(f, dataset)
    return f


def _broken_classes(f: Files, dataset) -> None:  # noqa: ANN001
    """The files of the fault classes (module docstring)."""
    from vsumlab.data.schema import read_dataset
    from vsumlab.evaluation.predictions import write_predictions

    # datasets: each fault on the 12-video set, and on a published-like set attach accepts
    published = published_like(f.dataset, f.path("published_like.h5"))
    fake_summe_gt(f.path("fake_GT"), [r.n_frames for r in read_dataset(published)])
    for broken in BROKEN_DATASETS:
        broken.build(f.dataset, f.path(f"{broken.name}.h5"))
        broken.build(published, f.path(f"published_{broken.name}.h5"))
    (f.path("splits_ok.json")).write_text(json.dumps(
        [{"train_keys": [f"video_{i}" for i in range(3, 13)], "test_keys": ["video_1"]}]))
    # predictions covering every video, each with one fault
    full = {key: np.full(dataset[key].n_steps, 0.5) for key in dataset.keys}
    nan = dict(full)
    nan["video_2"] = full["video_2"].copy()
    nan["video_2"][3] = np.nan
    write_predictions(f.path("pred_nan.h5"), nan)
    write_predictions(f.path("pred_short.h5"), {**full, "video_2": full["video_2"][:-1]})
    write_predictions(f.path("pred_full.h5"), full)
    corrupt_object(f.path("pred_full.h5"), f.path("pred_corrupt.h5"), "video_1")
    shutil.copyfile(f.path("pred_full.h5"), f.path("pred_key_not_utf8.h5"))
    import h5py

    with h5py.File(f.path("pred_key_not_utf8.h5"), "r+") as handle:
        handle.move("video_2", b"video_\xff")
    # JSON and YAML files repeating a key (json and yaml keep the last value silently)
    f.path("splits_dup.json").write_text(
        '[{"train_keys": ["video_2", "video_3"], "test_keys": ["video_1"], '
        '"test_keys": ["video_4"]}]')
    (f.path("results_dup")).mkdir()
    (f.path("results_dup") / "results.json").write_text('{"title": "a", "title": "b", "rows": []}')
    for name, text in (("lots", '{"protocol": {"budget": "lots"}}'),
                       ("dup", '{"protocol": {"budget": 0.15, "budget": 0.5}}')):
        fold = f.path(f"fold_result_{name}")
        fold.mkdir()
        shutil.copyfile(f.path("pred_full.h5"), fold / "predictions.h5")
        (fold / "result.json").write_text(text)
    recipe = RECIPE.read_text()
    f.path("recipe_dup.yaml").write_text(recipe + "\nseed_everything: 1\nseed_everything: 2\n")
    f.path("sweep_dup.yaml").write_text("command: [vsumlab, cv]\nmethod: grid\nmethod: random\n"
                                        "parameters: {}\n")
    cv_out = f.path("cv_dup_run")
    (cv_out / "seed_default").mkdir(parents=True)
    (cv_out / "run.json").write_text('{"config_hash": "a", "config_hash": "b"}')
    # video folders whose file names cannot be h5 keys
    for name, file_name in (("videos_not_utf8", b"clip_\xff.mp4"), ("videos_dot", b"..mp4")):
        folder = f.path(name)
        folder.mkdir()
        with open(os.path.join(os.fsencode(folder), file_name), "wb") as handle:
            handle.write(b"not a video")


def _lightning(command: str, f: Files, *extra: str) -> list[str]:
    return [command, "--config", str(RECIPE), f"--data.init_args.dataset={f.dataset}",
            "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY}",
            "--trainer.accelerator=cpu", "--trainer.enable_progress_bar=false",
            f"--trainer.default_root_dir={f.root / 'lightning'}",
            f"--trainer.logger.init_args.save_dir={f.root / 'lightning'}", *extra]


def _cv(f: Files, *extra: str, config: Path = RECIPE, out: str = "cv_new") -> list[str]:
    return ["cv", "--config", str(config), "--out", str(f.path(out)), "--wandb-mode", "disabled",
            f"--data.init_args.dataset={f.dataset}", "--model.init_args.input_dim=64",
            f"--model.init_args.summarizer_args={TINY}", "--trainer.accelerator=cpu", *extra]


def _summarize(f: Files, checkpoint: str) -> list[str]:
    return ["summarize", str(f.path("not_a_video.mp4")), "--checkpoint", str(f.path(checkpoint)),
            "--out", str(f.path("s"))]  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Files], list[str]]
    named: Callable[[Files], str]  # what the one line must name (file, key or option)
    also: str = ""  # a further part of the message
    unwritten: str = ""  # an output (under the files' root) that must not exist afterwards
    needs: str = ""  # a fixture the case needs (a small file system: skipped where unavailable)
    setup: Callable[[Files], None] | None = None  # builds the case's own broken state


CASES = [
    # ---------------------------------------------------------------- checkpoints
    Case("summarize/text-checkpoint",
         lambda f: _summarize(f, "text.ckpt"),
         lambda f: str(f.path("text.ckpt")), "not a readable checkpoint"),
    Case("summarize/truncated-checkpoint",
         lambda f: _summarize(f, "truncated.ckpt"),
         lambda f: str(f.path("truncated.ckpt")), "truncated"),
    Case("summarize/malicious-checkpoint",
         lambda f: _summarize(f, "evil.ckpt"),
         lambda f: str(f.path("evil.ckpt")), "refused to load: it would create posix.system"),
    Case("summarize/foreign-class",
         lambda f: _summarize(f, "foreign.ckpt"),
         lambda f: str(f.path("foreign.ckpt")), "--trust-class subprocess.Popen"),
    Case("timelapse/malicious-checkpoint",
         lambda f: ["timelapse", str(f.path("not_a_video.mp4")), "--checkpoint",
                    str(f.path("evil.ckpt")), "--out", str(f.path("t.mp4"))],
         lambda f: str(f.path("evil.ckpt")), "refused to load"),
    Case("desumnet-refine/malicious-checkpoint",
         lambda f: ["desumnet", "refine", "--checkpoint", str(f.path("evil.ckpt")), "--web",
                    str(f.path("web")), "--out", str(f.path("refined.txt"))],
         lambda f: str(f.path("evil.ckpt")), "refused to load"),
    Case("desumnet-importance/truncated-checkpoint",
         lambda f: ["desumnet", "importance", "--checkpoint", str(f.path("truncated.ckpt")),
                    "--dataset", str(f.dataset), "--videos", str(f.path("videos")), "--out",
                    str(f.path("imp.h5"))],
         lambda f: str(f.path("truncated.ckpt")), "not a readable checkpoint"),
    Case("predict/text-checkpoint",
         lambda f: _lightning("predict", f, f"--ckpt_path={f.path('text.ckpt')}"),
         lambda f: str(f.path("text.ckpt")), "--ckpt_path"),
    Case("predict/truncated-checkpoint",
         lambda f: _lightning("predict", f, f"--ckpt_path={f.path('truncated.ckpt')}"),
         lambda f: str(f.path("truncated.ckpt")), "truncated"),
    Case("test/malicious-checkpoint",
         lambda f: _lightning("test", f, f"--ckpt_path={f.path('evil.ckpt')}"),
         lambda f: str(f.path("evil.ckpt")), "refused to load"),
    Case("validate/foreign-model-class",
         lambda f: _lightning("validate", f, f"--ckpt_path={f.path('foreign.ckpt')}"),
         lambda f: str(f.path("foreign.ckpt")), "'subprocess.Popen'"),
    Case("fit/malicious-pretrained",
         lambda f: _lightning("fit", f, f"--model.init_args.pretrained={f.path('evil.ckpt')}"),
         lambda f: str(f.path("evil.ckpt")), "model.pretrained"),
    Case("cv/malicious-pretrained",
         lambda f: _cv(f, f"--model.init_args.pretrained={f.path('evil.ckpt')}"),
         lambda f: str(f.path("evil.ckpt")), "refused to load"),
    # ---------------------------------------------------------------- runs and recipes
    Case("cv/corrupt-run-json",
         lambda f: _cv(f, out="cv_out"),
         lambda f: str(f.path("cv_out") / "run.json"), "not valid JSON (line 1"),
    Case("cv/splits-random-zero",
         lambda f: _cv(f, "--splits", "random:0", out="cv_splits_zero"),
         lambda f: "--splits random:0", "expected at least 1 random split",
         unwritten="cv_splits_zero"),
    Case("cv/splits-random-malformed",
         lambda f: _cv(f, "--splits", "random:x", out="cv_splits_x"),
         lambda f: "--splits random:x", "expected random:N[:SEED]", unwritten="cv_splits_x"),
    Case("cv/splits-missing-file",
         lambda f: _cv(f, "--splits", str(f.path("no_splits.json")), out="cv_splits_file"),
         lambda f: f"--splits {f.path('no_splits.json')}", "no such split file",
         unwritten="cv_splits_file"),
    Case("cv/more-folds-than-videos",
         lambda f: _cv(f, "--data.init_args.n_folds=13", out="cv_folds"),
         lambda f: "data.n_folds=13", "has 12 video(s)", unwritten="cv_folds"),
    Case("cv/random-splits-of-one-video",
         lambda f: _cv(f, "--splits", "random:3", f"--data.init_args.dataset={f.path('one_video.h5')}",
                       out="cv_one_video"),
         lambda f: "data.splits=random:3:0", "at least 2 target videos", unwritten="cv_one_video"),
    Case("cv/random-splits-of-transfer",
         lambda f: _cv(f, "--splits", "random:3", "--data.init_args.setting=transfer",
                       f"--data.init_args.extra_datasets=[{f.path('one_video.h5')}]",
                       out="cv_transfer"),
         lambda f: "data.splits=random:3:0", "setting 'transfer' has one fixed split",
         unwritten="cv_transfer"),
    Case("cv/seeds-repeated",
         lambda f: _cv(f, "--seeds", "0,1,1", out="cv_seeds_repeated"),
         lambda f: "--seeds 0,1,1", "seed 1 is repeated", unwritten="cv_seeds_repeated"),
    Case("cv/seeds-zero",
         lambda f: _cv(f, "--seeds", "0", out="cv_seeds_zero"),
         lambda f: "--seeds 0", "a number of seeds must be >= 1", unwritten="cv_seeds_zero"),
    Case("cv/recipe-yaml-error",
         lambda f: _cv(f, config=f.path("bad_recipe.yaml")),
         lambda f: str(f.path("bad_recipe.yaml")), "line 3, column 6"),
    Case("validate/recipe-yaml-error",
         lambda f: ["validate", "--config", str(f.path("bad_recipe.yaml"))],
         lambda f: str(f.path("bad_recipe.yaml")), "line 3, column 6"),
    Case("sweep/yaml-error",
         lambda f: ["sweep", str(f.path("bad_sweep.yaml")), "--trials", "1"],
         lambda f: str(f.path("bad_sweep.yaml")), "line 4, column 1"),
    Case("results/truncated-results-json",
         lambda f: ["results", str(f.path("results_dir"))],
         lambda f: str(f.path("results_dir") / "results.json")),
    Case("reproduce/published-yaml-error",
         lambda f: ["reproduce", "--published", str(f.path("published")), "--dry-run",
                    "--out", str(f.path("repro"))],
         lambda f: str(f.path("published") / "broken.yaml"), "line"),
    # ---------------------------------------------------------------- data and evaluation
    Case("eval/predictions-cover-a-subset",
         lambda f: ["eval", "--dataset", str(f.dataset), "--predictions",
                    str(f.path("subset_predictions.h5"))],
         lambda f: str(f.path("subset_predictions.h5")),
         "pass --keys video_1,video_2,video_3 to score only those"),
    Case("eval/text-dataset",
         lambda f: ["eval", "--dataset", str(f.path("text.h5")), "--predictions",
                    str(f.path("subset_predictions.h5"))],
         lambda f: str(f.path("text.h5"))),
    Case("eval-human/truncated-dataset",
         lambda f: ["eval", "human", "--dataset", str(f.path("truncated.h5"))],
         lambda f: str(f.path("truncated.h5"))),
    Case("eval-baselines/text-dataset",
         lambda f: ["eval", "baselines", "--dataset", str(f.path("text.h5"))],
         lambda f: str(f.path("text.h5"))),
    Case("data-validate/truncated-dataset",
         lambda f: ["data", "validate", str(f.path("truncated.h5"))],
         lambda f: str(f.path("truncated.h5"))),
    Case("data-info/text-dataset",
         lambda f: ["data", "info", str(f.path("text.h5"))],
         lambda f: str(f.path("text.h5"))),
    Case("data-splits/text-dataset",
         lambda f: ["data", "splits", "--dataset", str(f.path("text.h5")), "--out",
                    str(f.path("splits.json"))],
         lambda f: str(f.path("text.h5"))),
    Case("data-kts/bad-npy",
         lambda f: ["data", "kts", str(f.path("bad.npy"))],
         lambda f: str(f.path("bad.npy"))),
    Case("data-import-summe/bad-mat",
         lambda f: ["data", "import-summe", "--annotations", str(f.path("GT")), "--out",
                    str(f.path("summe.h5"))],
         lambda f: "Air_Force_One.mat"),
    Case("data-import-tvsum/text-mat",
         lambda f: ["data", "import-tvsum", "--annotations", str(f.path("text.h5")), "--out",
                    str(f.path("tvsum.h5"))],
         lambda f: str(f.path("text.h5"))),
    Case("data-synth/output-exists",
         lambda f: ["data", "synth", "--kind", "summe", "--out", str(f.path("text.h5"))],
         lambda f: str(f.path("text.h5")), "--force"),
    Case("features-extract/only-a-broken-video",
         lambda f: ["features", "extract", str(f.path("videos")), "--out",
                    str(f.path("feats.h5")), "--model", "colorhist", "--no-progress"],
         lambda f: "broken.mp4", "was not written"),
    Case("clipit-query-demo/non-utf8-captions",
         lambda f: ["clipit", "query-demo", "--fold", str(f.path("fold_0")), "--dataset",
                    str(f.dataset), "--captions", str(f.path("captions_latin1.json"))],
         lambda f: str(f.path("captions_latin1.json")), "not UTF-8"),
    Case("clipit-query-demo/keys-of-another-dataset",
         lambda f: ["clipit", "query-demo", "--fold", str(f.path("fold_foreign")), "--dataset",
                    str(f.dataset), "--captions", str(f.path("captions.json"))],
         lambda f: "'video_99'", str(Path("fold_foreign"))),
    Case("clipit-data/output-exists",
         lambda f: ["clipit", "data", "--out", str(f.path("clipit_out")), "--videos", "1"],
         lambda f: str(f.path("clipit_out")), "--force"),
]


# ------------------------------------------------------------------ classes of faults
#: every command that reads a dataset file: argv given the files and the broken file
DATASET_READERS: dict[str, Callable[[Files, Path], list[str]]] = {
    "data-validate": lambda f, p: ["data", "validate", str(p)],
    "data-info": lambda f, p: ["data", "info", str(p)],
    "data-splits": lambda f, p: ["data", "splits", "--dataset", str(p), "--out",
                                 str(f.path("out_splits.json"))],
    "eval": lambda f, p: ["eval", "--dataset", str(p), "--predictions",
                          str(f.path("pred_full.h5"))],
    "eval-human": lambda f, p: ["eval", "human", "--dataset", str(p)],
    "eval-baselines": lambda f, p: ["eval", "baselines", "--dataset", str(p), "--draws", "2"],
    "desumnet-map": lambda f, p: ["desumnet", "map", "--dataset", str(p), "--predictions",
                                  str(f.path("pred_full.h5"))],
    "desumnet-importance": lambda f, p: ["desumnet", "importance", "--checkpoint",
                                         str(f.path("truncated.ckpt")), "--dataset", str(p),
                                         "--videos", str(f.path("videos")), "--out",
                                         str(f.path("out_importance.h5"))],
    "clipit-query-demo": lambda f, p: ["clipit", "query-demo", "--fold", str(f.path("fold_0")),
                                       "--dataset", str(p), "--captions",
                                       str(f.path("captions.json"))],
    "cv": lambda f, p: _cv(f, f"--data.init_args.dataset={p}", out="out_cv_dataset"),
    "fit": lambda f, p: _lightning("fit", f, f"--data.init_args.dataset={p}",
                                   "--trainer.max_epochs=1"),
}
#: commands that read only a dataset's keys and file attributes
KEY_READERS: dict[str, Callable[[Files, Path], list[str]]] = {
    "data-splits-from": lambda f, p: ["data", "splits", "--dataset", str(p), "--from",
                                      str(f.path("splits_ok.json")), "--out",
                                      str(f.path("out_splits_from.json"))],
}
#: the output each reader would write (which must not exist afterwards)
OUTPUT_OF = {"data-splits": "out_splits.json", "desumnet-importance": "out_importance.h5",
             "cv": "out_cv_dataset", "data-splits-from": "out_splits_from.json"}

for _broken in BROKEN_DATASETS:
    readers = {**DATASET_READERS, **KEY_READERS} if _broken.keys_only else DATASET_READERS
    for _command, _argv in readers.items():
        CASES.append(Case(
            f"{_command}/dataset-{_broken.name}",
            lambda f, a=_argv, b=_broken: a(f, f.path(f"{b.name}.h5")),
            lambda f, b=_broken: f"{f.path(f'{b.name}.h5')}", _broken.also,
            unwritten=OUTPUT_OF.get(_command, "")))
    # attach-annotations copies the file and adds to it: every fault refused, nothing written
    CASES.append(Case(
        f"data-attach/dataset-{_broken.name}",
        lambda f, b=_broken: ["data", "attach-annotations",
                              str(f.path(f"published_{b.name}.h5")), "--annotations",
                              str(f.path("fake_GT")), "--out", str(f.path("out_attached.h5"))],
        lambda f, b=_broken: f"published_{b.name}.h5", _broken.also,
        unwritten="out_attached.h5"))

#: every command that reads a predictions file: (file, what the line must also say)
BROKEN_PREDICTIONS = {
    "nan": ("pred_nan.h5", "NaN"),
    "one-step-short": ("pred_short.h5", "expected shape"),
    "key-not-utf8": ("pred_key_not_utf8.h5", "video_\\xff"),
    "corrupt-object": ("pred_corrupt.h5", "corrupt"),
}
PREDICTION_READERS: dict[str, Callable[[Files, Path], list[str]]] = {
    "eval": lambda f, p: ["eval", "--dataset", str(f.dataset), "--predictions", str(p)],
    "desumnet-map": lambda f, p: ["desumnet", "map", "--dataset", str(f.dataset),
                                  "--predictions", str(p)],
}
for _fault, (_file, _also) in BROKEN_PREDICTIONS.items():
    for _command, _argv in PREDICTION_READERS.items():
        CASES.append(Case(f"{_command}/predictions-{_fault}",
                          lambda f, a=_argv, n=_file: a(f, f.path(n)),
                          lambda f, n=_file: str(f.path(n)), _also))

CASES += [
    # ------------------------------------------------ duplicate keys in JSON and YAML
    Case("data-splits-from/json-key-twice",
         lambda f: ["data", "splits", "--dataset", str(f.dataset), "--from",
                    str(f.path("splits_dup.json")), "--out", str(f.path("out_dup_splits.json"))],
         lambda f: str(f.path("splits_dup.json")), "key 'test_keys' appears twice",
         unwritten="out_dup_splits.json"),
    Case("cv/split-file-key-twice",
         lambda f: _cv(f, "--splits", str(f.path("splits_dup.json")), out="out_cv_dup_splits"),
         lambda f: str(f.path("splits_dup.json")), "key 'test_keys' appears twice",
         unwritten="out_cv_dup_splits"),
    Case("results/json-key-twice",
         lambda f: ["results", str(f.path("results_dup"))],
         lambda f: str(f.path("results_dup") / "results.json"), "key 'title' appears twice"),
    Case("eval/fold-result-key-twice",
         lambda f: ["eval", "--dataset", str(f.dataset), "--predictions",
                    str(f.path("fold_result_dup") / "predictions.h5")],
         lambda f: str(f.path("fold_result_dup") / "result.json"), "key 'budget' appears twice"),
    Case("eval/fold-result-budget-of-wrong-kind",
         lambda f: ["eval", "--dataset", str(f.dataset), "--predictions",
                    str(f.path("fold_result_lots") / "predictions.h5")],
         lambda f: str(f.path("fold_result_lots") / "result.json"),
         "key 'protocol': option 'budget' is 'lots'; expected float"),
    Case("cv/run-json-key-twice",
         lambda f: _cv(f, out="cv_dup_run"),
         lambda f: str(f.path("cv_dup_run") / "run.json"), "key 'config_hash' appears twice"),
    Case("cv/recipe-key-twice",
         lambda f: _cv(f, config=f.path("recipe_dup.yaml"), out="out_cv_dup_recipe"),
         lambda f: str(f.path("recipe_dup.yaml")), "found key 'seed_everything' twice",
         unwritten="out_cv_dup_recipe"),
    Case("sweep/yaml-key-twice",
         lambda f: ["sweep", str(f.path("sweep_dup.yaml")), "--trials", "1"],
         lambda f: str(f.path("sweep_dup.yaml")), "found key 'method' twice"),
    # ------------------------------------------------ file names that cannot be h5 keys
    Case("features-extract/file-name-not-utf8",
         lambda f: ["features", "extract", str(f.path("videos_not_utf8")), "--out",
                    str(f.path("out_feats_nonutf8.h5")), "--model", "colorhist", "--no-progress"],
         lambda f: "clip_\\xff.mp4", "not UTF-8", unwritten="out_feats_nonutf8.h5.parts"),
    Case("features-extract/file-name-dot",
         lambda f: ["features", "extract", str(f.path("videos_dot")), "--out",
                    str(f.path("out_feats_dot.h5")), "--model", "colorhist", "--no-progress"],
         lambda f: "..mp4", "video key '.'", unwritten="out_feats_dot.h5.parts"),
    # ------------------------------------------------ outputs whose folder is a file
    *[Case(f"{command}/out-folder-is-a-file", argv,
           lambda f: f"{f.path('text.h5')} is a file, not a folder")
      for command, argv in (
          ("data-synth", lambda f: ["data", "synth", "--kind", "summe", "--videos", "2",
                                    "--out", str(f.path("text.h5") / "sub" / "s.h5")]),
          ("data-splits", lambda f: ["data", "splits", "--dataset", str(f.dataset), "--out",
                                     str(f.path("text.h5") / "splits.json")]),
          ("data-attach", lambda f: ["data", "attach-annotations", str(f.path(
              "published_like.h5")), "--annotations", str(f.path("fake_GT")), "--out",
              str(f.path("text.h5") / "a.h5")]),
          ("desumnet-importance", lambda f: [
              "desumnet", "importance", "--checkpoint", str(f.path("truncated.ckpt")),
              "--dataset", str(f.dataset), "--videos", str(f.path("videos")), "--out",
              str(f.path("text.h5") / "imp.h5")]),
          ("features-extract", lambda f: ["features", "extract", str(f.path("videos")), "--out",
                                          str(f.path("text.h5") / "f.h5"), "--model",
                                          "colorhist", "--no-progress"]),
          ("video_demo", lambda f: ["video-demo", "--out", str(f.path("text.h5") / "demo"),
                                    "--videos", "5"]),
      )],
    Case("video_demo/too-few-videos",
         lambda f: ["video-demo", "--out", str(f.path("demo_few")), "--videos", "2"],
         lambda f: "--videos 2", "expected at least 5", unwritten="demo_few"),
    Case("cv/out-folder-is-a-file",
         lambda f: _cv(f, out="text.h5/run"), lambda f: str(f.path("text.h5"))),
]


# ------------------------------------------------------------------ file system faults
@dataclass(frozen=True)
class FSCase:
    """A command writing onto a read-only or full file system (``fs.root``)."""

    id: str
    argv: Callable[[Files, Path], list[str]]  # (files, output path on the small fs)
    output: str  # the output's name


FS_WRITERS = [
    FSCase("data-synth", lambda f, out: ["data", "synth", "--kind", "summe", "--videos", "2",
                                         "--out", str(out), "--force"], "synth.h5"),
    FSCase("data-splits", lambda f, out: ["data", "splits", "--dataset", str(f.dataset),
                                          "--out", str(out), "--force"], "splits.json"),
    FSCase("data-attach", lambda f, out: ["data", "attach-annotations",
                                          str(f.path("published_like.h5")), "--annotations",
                                          str(f.path("fake_GT")), "--out", str(out), "--force"],
           "attached.h5"),
    FSCase("data-import-summe", lambda f, out: ["data", "import-summe", "--annotations",
                                                str(f.path("fake_GT")), "--out", str(out),
                                                "--force"], "imported.h5"),
    FSCase("clipit-data", lambda f, out: ["clipit", "data", "--out", str(out), "--videos", "2",
                                          "--force"], "clipit"),
]


@pytest.fixture(scope="module")
def small_fs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SmallFS | str]]:
    """A full tmpfs (each output's previous version written first) and a read-only one; where
    mounting is impossible, the reason (the cases using it are then skipped with it)."""
    root = tmp_path_factory.mktemp("small_fs")
    mounted: dict[str, SmallFS | str] = {}
    try:
        mounted["full"] = mount_tmpfs(root / "full", 512)
        mounted["readonly"] = mount_tmpfs(root / "readonly", 64, readonly=True)
        full = mounted["full"]
        if isinstance(full, SmallFS):
            for case in FS_WRITERS:
                previous = full.root / case.output
                if case.output.endswith((".h5", ".json")):
                    previous.write_text("previous output\n")
                else:
                    previous.mkdir()
                    (previous / "previous.txt").write_text("previous output\n")
            full.fill()
        yield mounted
    finally:
        for fs in mounted.values():
            if isinstance(fs, SmallFS):
                unmount(fs)


def _assert_one_line(code: int, err: str) -> str:
    """Exit 2 and one ``vsumlab: error:`` line (Lightning's "INFO: Seed set" notes aside)."""
    lines = [line for line in err.strip().splitlines() if not line.startswith("INFO: ")]
    assert "Traceback" not in err
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("vsumlab: error: "), err
    return lines[0]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("filler")}


@pytest.mark.parametrize("kind", ["full", "readonly"])
@pytest.mark.parametrize("case", FS_WRITERS, ids=[c.id for c in FS_WRITERS])
def test_a_full_or_read_only_file_system_is_one_line_and_keeps_the_previous_output(
    case: FSCase, kind: str, files: Files, small_fs, capsys, monkeypatch
) -> None:
    """Real file systems (a tmpfs of 512 KB filled to the last byte, and a read-only one): the
    line names the output and the reason; no temporary is left; a previous output is kept."""
    fs = small_fs[kind]
    if not isinstance(fs, SmallFS):
        pytest.skip(fs)
    monkeypatch.chdir(files.root)
    out = fs.root / case.output
    before = _tree(fs.root)
    capsys.readouterr()
    code = main(case.argv(files, out))
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("INFO: ")]
    _assert_one_line(code, err)
    reason = "No space left on device" if kind == "full" else "Read-only file system"
    assert str(fs.root) in lines[0] and reason in lines[0], err
    assert _tree(fs.root) == before  # previous output kept, no temporary left


@pytest.fixture(scope="module")
def published(files: Files) -> Path:
    folder = files.path("published")
    folder.mkdir(exist_ok=True)
    (folder / "broken.yaml").write_text("paper: x\ntables:\n  - name: [a\n")
    return folder


@pytest.fixture(scope="module")
def clipit_out(files: Files) -> Path:
    out = files.path("clipit_out")
    out.mkdir(exist_ok=True)
    for kind in ("summe", "tvsum"):
        (out / f"captioned_{kind}.h5").write_text("x")
        (out / f"captioned_{kind}_captions.json").write_text("{}")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_naming_it(case: Case, files: Files, published, clipit_out,
                                         capsys, monkeypatch) -> None:
    monkeypatch.chdir(files.root)  # Lightning writes nothing into the checkout
    monkeypatch.setenv("WANDB_MODE", "disabled")
    capsys.readouterr()
    code = main(case.argv(files))
    err = capsys.readouterr().err
    # Lightning's own progress notes ("INFO: Seed set to 0") may precede the error line
    lines = [line for line in err.strip().splitlines() if not line.startswith("INFO: ")]
    assert "Traceback" not in err
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("vsumlab: error: "), err
    assert case.named(files) in lines[0], err
    assert case.also in lines[0], err
    assert not (case.unwritten and files.path(case.unwritten).exists()), "an output was written"
    assert not files.pwned.exists(), "a checkpoint's pickle ran code"


def test_the_malicious_checkpoint_does_run_code_when_unpickled(files: Files) -> None:
    """The control: loaded the unsafe way (in a child process), the file creates PWNED."""
    target = files.path("PWNED_control")
    torch.save({"x": _RunsCode(target)}, files.path("control.ckpt"))
    subprocess.run([sys.executable, "-c",
                    "import sys, torch; torch.load(sys.argv[1], weights_only=False)",
                    str(files.path("control.ckpt"))], check=False, capture_output=True)
    assert target.exists()


def test_the_table_covers_every_command(capsys) -> None:
    commands = {case.id.split("/")[0].split("-")[0] for case in CASES}
    expected = {m.rsplit(".", 1)[1] for m in COMMAND_MODULES} | set(LIGHTNING_SUBCOMMANDS)
    missing = expected - commands
    with capsys.disabled():
        print(f"\nbad-input suite: {len(CASES)} cases over {len(commands)} commands")
    assert not missing, f"commands without a bad-input case: {sorted(missing)}"
    assert len(CASES) >= 30


# ------------------------------------------------------------------ foreign or corrupt run state
def _state_cv(f: Files, out: Path, *extra: str) -> list[str]:
    return ["cv", "--config", str(RECIPE), "--out", str(out), "--wandb-mode", "disabled",
            "--folds", "0", f"--data.init_args.dataset={f.dataset}",
            "--data.init_args.n_folds=2", "--model.init_args.input_dim=64",
            f"--model.init_args.summarizer_args={TINY}", "--trainer.accelerator=cpu",
            "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", *extra]


@pytest.fixture(scope="module")
def cv_state(files: Files) -> Path:
    """A finished one-fold, one-epoch cv run whose folder each case copies and breaks."""
    out = files.path("cv_state")
    cwd = Path.cwd()
    os.chdir(files.root)
    try:
        assert main(_state_cv(files, out)) == 0
    finally:
        os.chdir(cwd)
    return out


FOLD = Path("seed_default") / "fold_0"


def _edit_checkpoint(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        (run / FOLD / "result.json").unlink()
        for ckpt in (run / FOLD / "checkpoints").glob("*.ckpt"):
            payload = torch.load(ckpt, weights_only=True)
            change(payload)
            torch.save(payload, ckpt)

    return edit


def _set(path: tuple[str, ...], value: object) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _write(relative: str, text: str | bytes, drop_result: bool = False) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        if drop_result:  # the fold is unfinished: the cv resumes it
            (run / FOLD / "result.json").unlink()
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (run / relative).write_bytes(data)

    return edit


RUN_STATE = {
    # name: (break the copied run, the file named, what the line must also say)
    "fold-result-truncated": (_write(f"{FOLD}/result.json", '{"fold": 0, "mod'),
                              f"{FOLD}/result.json", "not valid JSON (line 1"),
    "fold-result-empty-object": (_write(f"{FOLD}/result.json", "{}"), f"{FOLD}/result.json",
                                 "key 'fold': expected the fold's number"),
    "fold-result-key-twice": (_write(f"{FOLD}/result.json", '{"fold": 0, "fold": 1}'),
                              f"{FOLD}/result.json", "key 'fold' appears twice"),
    "metrics-csv-corrupt": (_write(f"{FOLD}/csv/metrics.csv", "epoch,step\nzero,1\n", True),
                            f"{FOLD}/csv/metrics.csv", "line 2 field 'epoch'"),
    "metrics-csv-not-utf8": (_write(f"{FOLD}/csv/metrics.csv", b"epoch,st\xffep\n0,1\n", True),
                             f"{FOLD}/csv/metrics.csv", "not the CSV log"),
    "checkpoint-of-another-model-class": (
        _edit_checkpoint(_set(("vsumlab_class",), "vsumlab.models.desumnet.DeSumNet")),
        f"{FOLD}/checkpoints/last.ckpt", "model class is vsumlab.models.desumnet.DeSumNet"),
    "checkpoint-of-another-feature-width": (
        _edit_checkpoint(_set(("hyper_parameters", "input_dim"), 1024)),
        f"{FOLD}/checkpoints/last.ckpt", "feature width is 1024 but this run's is 64"),
    "checkpoint-of-another-fold": (
        _edit_checkpoint(_set(("vsumlab_run", "fold"), 1)),
        f"{FOLD}/checkpoints/last.ckpt", "fold is 1 but this run's is 0"),
    "checkpoint-of-another-run": (
        _edit_checkpoint(_set(("vsumlab_run", "run"), "0123456789abcdef")),
        f"{FOLD}/checkpoints/last.ckpt", "run configuration (config hash) is 0123456789abcdef"),
    "checkpoint-without-run-identity": (
        _edit_checkpoint(lambda payload: payload.pop("vsumlab_run")),
        f"{FOLD}/checkpoints/last.ckpt", "records no run identity"),
}


@pytest.mark.parametrize("name", list(RUN_STATE))
def test_foreign_or_corrupt_run_state_is_one_line_naming_it(
    name: str, files: Files, cv_state: Path, capsys, monkeypatch
) -> None:
    """A resumed cv meets one broken piece of its folder: refused with one line naming the
    file, and nothing of the folder is changed (no log truncated, no checkpoint replaced)."""
    breaks, named, also = RUN_STATE[name]
    run = files.path(f"state_{name}")
    shutil.copytree(cv_state, run)
    breaks(run)
    before = _tree(run)
    monkeypatch.chdir(files.root)
    capsys.readouterr()
    line = _assert_one_line(main(_state_cv(files, run)), capsys.readouterr().err)
    assert str(run / named) in line and also in line, line
    assert _tree(run) == before


def test_force_onto_a_symlinked_results_folder_keeps_the_link(files: Files, cv_state: Path,
                                                              monkeypatch) -> None:
    """`cv --force` onto a link to the results (kept on another disk) empties the linked folder
    and runs there, keeping the link; a link to a folder holding no run is refused."""
    target = files.path("linked_results")
    shutil.copytree(cv_state, target)
    (target / "stale.txt").write_text("from the earlier run\n")
    link = files.path("results_link")
    link.symlink_to(target)
    monkeypatch.chdir(files.root)
    assert main(_state_cv(files, link, "--force")) == 0
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert not (target / "stale.txt").exists() and (target / FOLD / "result.json").is_file()
    other = files.path("not_a_run")
    other.mkdir()
    (other / "keep.txt").write_text("mine\n")
    files.path("link_to_other").symlink_to(other)
    assert main(_state_cv(files, files.path("link_to_other"), "--force")) == 2
    assert (other / "keep.txt").read_text() == "mine\n"
