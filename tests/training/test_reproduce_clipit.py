"""CLIP-It rows of `vsumlab reproduce`: the Cap2Sum pretraining's checkpoint goes to CLIP-It's
``captioner`` (its guiding dense captions), other rows keep ``pretrained`` and their run slugs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from vsumlab.training import cv
from vsumlab.training.published_tables import Column, Row, load_paper
from vsumlab.training.reproduce import (
    DataSources,
    ReproduceOptions,
    Reproducer,
    RunSpec,
    plan_cell,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(small_tvsum_h5: Path, small_summe_h5: Path) -> DataSources:
    return DataSources.from_env({"TVSUM_H5": str(small_tvsum_h5),
                                 "SUMME_H5": str(small_summe_h5)})  # fmt: skip


def _clipit_row() -> Row:
    paper = load_paper(ROOT / "experiments" / "published" / "visp.yaml")
    return next(r for t in paper.tables for r in t.rows if r.name.startswith("CLIP-It"))


def test_clipit_runs_take_the_pretrained_checkpoint_as_captioner(
    data: DataSources, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    column = Column("tvsum_tau", "TVSum tau", dataset="tvsum", setting="canonical")
    spec = plan_cell(_clipit_row(), column, data, quick=True)
    assert spec.pretrain_into == "captioner"
    assert spec.pretrain == "experiments/cap2sum/pretrain_small.yaml"
    seen: list = []

    def fake_run_cv(options):  # record the fold overrides instead of training
        seen.append(options)
        raise RuntimeError("not training in this test")

    monkeypatch.setattr(cv, "run_cv", fake_run_cv)
    environ = {"TVSUM_H5": str(data.datasets["tvsum"]), "SUMME_H5": str(data.datasets["summe"])}
    reproducer = Reproducer(ReproduceOptions(out_dir=tmp_path, quick=True, environ=environ))
    monkeypatch.setattr(reproducer, "pretrained", lambda recipe, overrides: Path("/ck/cap.ckpt"))
    reproducer.run(spec)
    # the checkpoint is a typed field of the run plan, routed to the model's `captioner`
    assert seen[0].pretrained == Path("/ck/cap.ckpt") and seen[0].pretrain_into == "captioner"
    assert not any(o.startswith("--model.init_args.") and "ckpt" in o for o in seen[0].overrides)


def test_default_target_keeps_pretrained_and_the_old_slug() -> None:
    spec = RunSpec(recipe="experiments/visp/finetune_tvsum.yaml", dataset="tvsum",
                   setting="canonical", pretrain="experiments/visp/pretrain.yaml")  # fmt: skip
    assert spec.pretrain_into == "pretrained"
    digest = hashlib.sha256(json.dumps(
        [spec.recipe, spec.dataset, spec.setting, (), spec.pretrain, ()]).encode()).hexdigest()[:8]
    assert spec.slug == f"visp-finetune_tvsum-canonical-{digest}"
    other = RunSpec(**{**spec.__dict__, "pretrain_into": "captioner"})
    assert other.slug != spec.slug
