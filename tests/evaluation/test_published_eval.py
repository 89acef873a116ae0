"""Rank correlation on the published TVSum file: refused without the per-user scores, the
literature's human figures once ``attach-annotations`` added them (Otani et al., CVPR 2019:
tau 0.177, rho 0.204), and every table says which annotations ranked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data.published_layout import write_published_tvsum  # tests/data, importable by all tests
from vsumlab.cli.main import main


@pytest.fixture(scope="module")
def tvsum_files(tmp_path_factory: pytest.TempPathFactory, tvsum_mat: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("published_eval")
    standard = write_published_tvsum(
        folder / "eccv16_dataset_tvsum_google_pool5.h5", tvsum_mat, dim=8
    )
    attached = folder / "tvsum_attached.h5"
    assert main(["data", "attach-annotations", str(standard), "--annotations", str(tvsum_mat),
                 "--out", str(attached)]) == 0
    return {"standard": standard, "attached": attached}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_attached_tvsum_gives_the_published_human_figures(
    tvsum_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "eval", "human", "--dataset", str(tvsum_files["attached"]), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["ranked_by"] == "user_anno"
    assert round(payload["mean"]["kendall"], 3) == 0.177
    assert round(payload["mean"]["spearman"], 3) == 0.204
    code, out, _ = run(capsys, "eval", "human", "--dataset", str(tvsum_files["attached"]))
    assert "ranked against: user_anno" in out.splitlines()[0]


def test_published_tvsum_refuses_rank_correlation_without_user_anno(
    tvsum_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "eval", "human", "--dataset", str(tvsum_files["standard"]))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "field 'user_anno': missing" in err and "vsumlab data attach-annotations" in err
    code, out, err = run(capsys, "eval", "baselines", "--dataset", str(tvsum_files["standard"]),
                         "--draws", "1", "--keys", "video_1")
    assert code == 2 and "user_anno" in err
    # asked for explicitly, the binary summaries rank, and the output says so
    code, out, _ = run(capsys, "eval", "human", "--dataset", str(tvsum_files["standard"]),
                       "--rank-annotations", "user_summary", "--keys", "video_1,video_2", "--json")
    assert code == 0 and json.loads(out)["ranked_by"] == "user_summary"
