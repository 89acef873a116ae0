"""`vsumlab clipit data|query-demo`: the CLIP-It tools outside Lightning."""

from __future__ import annotations

import json

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset


def test_data_writes_both_caption_aligned_sets(tmp_path, capsys):
    out = tmp_path / "clipit"
    args = ["clipit", "data", "--out", str(out), "--videos", "3", "--min-duration", "20",
            "--max-duration", "30"]
    assert main(args) == 0
    for kind in ("summe", "tvsum"):
        dataset = read_dataset(out / f"captioned_{kind}.h5")
        captions = json.loads((out / f"captioned_{kind}_captions.json").read_text())
        assert len(dataset) == 3 and set(captions) == set(dataset.keys)
        for key in dataset.keys:
            record = dataset[key]
            assert record.extra["event"].shape == (record.n_steps,)
            assert captions[key]["sentences"]
    # a second run refuses to overwrite, naming the file
    capsys.readouterr()
    assert main(args) == 2
    assert "captioned_summe_captions.json" in capsys.readouterr().err


def test_query_demo_without_a_trained_fold_is_one_line(tmp_path, capsys):
    code = main(["clipit", "query-demo", "--fold", str(tmp_path / "fold_0"), "--dataset",
                 str(tmp_path / "x.h5"), "--captions", str(tmp_path / "c.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "last.ckpt" in err[0]
