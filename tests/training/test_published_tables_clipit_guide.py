"""Tables comparing with published CLIP-It rows say which guiding text ours used: the paper's
generated dense captions (Cap2Sum's captioner) or titles, an ablation labelled in the row."""

from __future__ import annotations

from pathlib import Path

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

PAPER = """
paper: P
source: papers/p.txt
tables:
  - id: t1
    caption: "Table 1: x"
    columns:
      - {{id: a, label: A, dataset: tvsum, setting: canonical}}
    rows:
      - {{name: CLIP-It, published: {{a: 66.3}}, ours: {{recipe: {captions}}}}}
      - name: CLIP-It titles
        published: {{a: 66.3}}
        ours: {{recipe: {captions}, overrides: [--model.init_args.guide=title]}}
      - {{name: CLIP-It title recipe, published: {{a: 66.3}}, ours: {{recipe: {titled}}}}}
      - {{name: other, published: {{a: 60.0}}, ours: {{recipe: experiments/csta/x.yaml}}}}
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
    text = PAPER.format(captions="'experiments/clipit/captioned_{dataset}.yaml'",
                        titled="'experiments/clipit/titled_{dataset}.yaml'")  # fmt: skip
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
