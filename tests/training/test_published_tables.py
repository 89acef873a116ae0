"""Published tables: transcription checks against the papers, file validation, markdown, and
the guiding text of CLIP-It rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.errors import ConfigError
from vsumlab.training.published_tables import (
    GUIDE_NOTES,
    TITLE_ABLATION,
    Cell,
    RenderContext,
    clipit_guide,
    load_paper,
    load_papers,
    render_paper,
)

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "experiments" / "published"


def _value(paper, table_id: str, row: str, column: str) -> float | None:
    table = next(t for t in paper.tables if t.id == table_id)
    return next(r for r in table.rows if r.name == row).published.get(column)


def test_every_published_file_loads_and_names_its_source() -> None:
    papers = {p.key: p for p in load_papers(PUBLISHED)}
    assert {"cap2sum", "visp", "desumnet"} <= set(papers)
    for paper in papers.values():
        assert paper.source.startswith("papers/") and paper.tables
        for table in paper.tables:
            assert table.caption.startswith("Table"), (paper.key, table.id)
            names = [r.name for r in table.rows]
            assert len(names) == len(set(names)), f"{paper.key} {table.id}: duplicate rows"
            for row in table.rows:
                ours = row.ours or {}
                if "of" in ours:  # a reference row takes another row's run
                    assert ours["of"] in names, (paper.key, row.name)
                if "recipe" in ours:
                    assert ours["recipe"].startswith("experiments/"), row.name


def test_values_as_printed_in_the_papers() -> None:
    papers = {p.key: p for p in load_papers(PUBLISHED)}
    cap2sum, visp, desumnet = papers["cap2sum"], papers["visp"], papers["desumnet"]
    # spot checks read off papers/cap2sum.txt, visp.txt, desumnet.txt
    assert _value(cap2sum, "table1", "unsup.", "summe") == 54.5
    assert _value(cap2sum, "table3", "CLIP-It [21] (NeurIPS 2021)", "tvsum_transfer") == 65.5
    assert _value(cap2sum, "table3", "A2Summ [7] (CVPR 2023)", "summe_augmented") is None
    assert _value(cap2sum, "table4", "CA-SUM [2] (ACM ICMR 2022)", "tvsum") == 61.4
    assert _value(visp, "table2", "CSTA (Son et al., 2024)", "tvsum_tau") == 0.194
    assert _value(visp, "table2", "ViSP+CSTA", "summe_rho") == 0.305
    assert _value(desumnet, "table3", "Pre-train", "tvsum") == 75.2
    # the same experiment printed in several Cap2Sum tables must agree
    for col in ("summe", "tvsum"):
        weak = _value(cap2sum, "table1", "weak sup.", col)
        assert weak == _value(cap2sum, "table2", "prior: pre-training yes, fine-tuning yes", col)
        assert weak == _value(cap2sum, "table3", "Cap2Sum_wsup", f"{col}_augmented")
        assert _value(cap2sum, "table1", "sup. 80% videos", col) == _value(
            cap2sum, "table3", "Cap2Sum_sup", f"{col}_augmented")
        assert _value(cap2sum, "table1", "unsup.", col) == _value(
            cap2sum, "table4", "Cap2Sum_unsup", col)
    # ViSP's "Avg." is the mean of the four metrics: catches transcription slips
    table = visp.tables[0]
    parts = ("summe_tau", "summe_rho", "tvsum_tau", "tvsum_rho")
    checked = 0
    for row in table.rows:
        values = [row.published.get(c) for c in parts]
        if all(v is not None for v in values) and row.published.get("avg") is not None:
            assert sum(values) / 4 == pytest.approx(row.published["avg"], abs=0.0011), row.name
            checked += 1
    assert checked == 24  # every row with both datasets


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "paper.yaml"
    path.write_text(text)
    return path


BASE = """
paper: P
source: papers/p.txt
tables:
  - id: t1
    caption: "Table 1: x"
    columns:
      - {id: a, label: A, dataset: tvsum, setting: canonical}
    rows:
"""


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("      - {name: m, published: {b: 1.0}}", "row 'm': published has unknown column"),
        ("      - {name: m, published: {a: high}}", "published a='high' is not a number"),
        ("      - {name: m, published: {a: 1}, ours: {recipe: r.yaml, epochs: 3}}",
         "ours has unknown field"),
        ("      - {name: m, published: {a: 1}, ours: {reference: oracle, of: x}}",
         "ours.reference='oracle'"),
        ("      - {name: m, published: {a: 1}, ours: {overrides: []}}", "ours needs a recipe"),
        ("      - {name: m, published: {a: 1}, ours: {recipe: r.yaml, "
         "by_setting: {fewshot: {setting: canonical}}}}", "ours.by_setting must map"),
        ("      - {name: m, published: {a: 1}, ours: {recipe: r.yaml, "
         "by_setting: {augmented: {epochs: 3}}}}", "ours.by_setting must map"),
    ],
)
def test_bad_files_name_file_table_row_and_field(tmp_path, row: str, message: str) -> None:
    path = _write(tmp_path, BASE + row + "\n")
    with pytest.raises(ConfigError, match="paper.yaml: table 't1'") as info:
        load_paper(path)
    assert message in str(info.value)
    bad_setting = BASE.replace("setting: canonical", "setting: fewshot") + \
        "      - {name: m, published: {a: 1}}\n"
    with pytest.raises(ConfigError, match="column 'a': setting='fewshot'"):
        load_paper(_write(tmp_path, bad_setting))


def test_markdown_puts_ours_beside_published(tmp_path) -> None:
    text = BASE.replace("columns:\n", "columns:\n      - {id: x, label: X}\n") + (
        "      - {name: base, published: {x: 70.0, a: 50.25}}\n"
        "      - {name: mine, published: {a: 60.0}, ours: {recipe: r.yaml}}\n"
        "      - {name: gone, published: {a: 61.0}, ours: {recipe: q.yaml}}\n"
        "      - {name: long, published: {a: 62.0}, ours: {recipe: q.yaml}}\n")
    paper = load_paper(_write(tmp_path, text))
    # ours: the results report's mean ± 95% interval half-width, n = 5, and PoR (F1 cells)
    cells = {("t1", "mine", "a"): Cell("ok", 41.234, 1.5, 5, synthetic=True, half_width=2.0,
                                       por=103.4),
             ("t1", "gone", "a"): Cell("unavailable", reason="recipe q.yaml is not here"),
             ("t1", "base", "a"): Cell("none"),
             ("t1", "long", "a"): Cell("failed", reason="x" * 500)}
    markdown = render_paper(paper, cells, RenderContext({"tvsum": "t.h5 (synthetic)"}, quick=True))
    lines = markdown.splitlines()
    assert "| method | X (paper) | A (paper) | A (ours) |" in lines
    assert "| base | 70.0 | 50.2 |  |" in lines  # 50.25 -> 50.2 (round half to even)
    assert "| mine | - | 60.0 | 41.2 ± 2.0 (PoR 103%) † |" in lines  # the interval, not std
    assert "| gone | - | 61.0 | n/a [1] |" in lines
    assert "[1] recipe q.yaml is not here" in lines
    assert "| long | - | 62.0 | failed [2] |" in lines
    assert "[2] " + "x" * 240 + " ..." in lines  # long messages are cut in the footnote
    assert any(line.startswith("† ran on synthetic data") for line in lines)
    assert "**Quick run**" in markdown and "tvsum = t.h5 (synthetic)" in markdown


# Tables comparing with published CLIP-It rows say which guiding text ours used: the paper's
# generated dense captions (Cap2Sum's captioner) or titles, an ablation labelled in the row.

# BASE's table with CLIP-It rows; CAPTIONS and TITLED stand for the two recipes' paths
CLIPIT_ROWS = """\
      - {name: CLIP-It, published: {a: 66.3}, ours: {recipe: CAPTIONS}}
      - name: CLIP-It titles
        published: {a: 66.3}
        ours: {recipe: CAPTIONS, overrides: [--model.init_args.guide=title]}
      - {name: CLIP-It title recipe, published: {a: 66.3}, ours: {recipe: TITLED}}
      - {name: other, published: {a: 60.0}, ours: {recipe: experiments/csta/x.yaml}}
"""


def test_every_published_clipit_row_is_guided_by_the_pretrained_captioner(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    rows = [
        row
        for paper in load_papers(PUBLISHED)
        for table in paper.tables
        for row in table.rows
        if clipit_guide(row) is not None
    ]
    assert len(rows) >= 3  # Cap2Sum tables 3 and 4, ViSP's table
    for row in rows:
        assert clipit_guide(row) == "captions", row.name
        assert row.ours["pretrain_into"] == "captioner", row.name
        assert row.ours["pretrain"] == "experiments/cap2sum/pretrain.yaml", row.name


def test_title_rows_are_labelled_as_the_ablation(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    recipes = Path("experiments/clipit")
    recipes.mkdir(parents=True)
    (recipes / "titled_tvsum.yaml").write_text("model:\n  init_args:\n    guide: title\n")
    (recipes / "captioned_tvsum.yaml").write_text("defaults: [model.yaml]\n")
    text = (
        (BASE + CLIPIT_ROWS)
        .replace("CAPTIONS", "'experiments/clipit/captioned_{dataset}.yaml'")
        .replace("TITLED", "'experiments/clipit/titled_{dataset}.yaml'")
    )
    (tmp_path / "p.yaml").write_text(text)
    paper = load_paper(tmp_path / "p.yaml")
    rows = {row.name: row for row in paper.tables[0].rows}
    assert {name: clipit_guide(row) for name, row in rows.items()} == {
        "CLIP-It": "captions", "CLIP-It titles": "title", "CLIP-It title recipe": "title",
        "other": None,
    }  # fmt: skip
    cells = {("t1", name, "a"): Cell("ok", 50.0) for name in rows}
    lines = render_paper(paper, cells, RenderContext()).splitlines()
    assert "| CLIP-It | 66.3 | 50.0 |" in lines
    assert f"| CLIP-It titles{TITLE_ABLATION} | 66.3 | 50.0 |" in lines
    assert f"| CLIP-It title recipe{TITLE_ABLATION} | 66.3 | 50.0 |" in lines
    assert "| other | 60.0 | 50.0 |" in lines
    assert GUIDE_NOTES["captions"] in lines and GUIDE_NOTES["title"] in lines
    assert "ablation" in GUIDE_NOTES["title"] and "Cap2Sum" in GUIDE_NOTES["captions"]
