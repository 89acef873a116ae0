"""Bad-input suite: every CLI command against a table of broken files.

Each case runs one command in-process (``vsumlab.cli.main.main``) on one broken input and
asserts what a user must see: exit status 2, exactly one line on stderr, ``vsumlab: error:``, the
broken file (or key) named, and no traceback; where a case names its output, nothing was written. Malicious checkpoints must also not run: their
pickle would create a file, which must not exist afterwards. The last test prints the count.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.main import COMMAND_MODULES, LIGHTNING_SUBCOMMANDS, main

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
    return f


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
