"""`vsumlab cv` options: --seeds syntax, --splits as data-module overrides, --help."""

from __future__ import annotations

import pytest

from vsumlab.cli.cv import parse_seeds
from vsumlab.errors import ConfigError
from vsumlab.training.cv import splits_overrides


@pytest.mark.parametrize(("text", "seeds"), [
    ("3", [0, 1, 2]),     # a count: seeds 0..K-1
    ("1", [0]),
    ("0,1,2", [0, 1, 2]),  # a list
    ("7,", [7]),           # one seed: a list of one, written with its comma
    ("5, 3", [5, 3]),
])
def test_seeds_are_a_count_or_a_list(text, seeds) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(("text", "message"), [
    ("0", "--seeds 0: a number of seeds must be >= 1"),
    ("-2", "--seeds -2: a number of seeds must be >= 1"),
    ("0,1,1", "--seeds 0,1,1: seed 1 is repeated"),
    ("1,-1", "--seeds 1,-1: seeds are integers >= 0, got -1"),
    ("a,b", "--seeds a,b: expected K"),
    ("x", "--seeds x: expected K"),
    (",", "--seeds: expected at least one seed"),
])
def test_bad_seeds_name_the_option_and_the_syntax(text, message) -> None:
    with pytest.raises(ConfigError, match=f"^{message}"):
        parse_seeds(text)


def test_splits_set_the_data_module_arguments(tmp_path) -> None:
    assert splits_overrides("random:5") == ["--data.init_args.splits=random:5:0",
                                            "--data.init_args.split_file=null"]
    assert splits_overrides("canonical") == ["--data.init_args.splits=canonical",
                                             "--data.init_args.split_file=null"]
    file = tmp_path / "TVSum_splits.txt"
    file.write_text("TVSum/split0/video_1/video_2\n")
    assert splits_overrides(str(file)) == ["--data.init_args.splits=null",
                                           f"--data.init_args.split_file={file}"]


def test_help_documents_both_options(capsys) -> None:
    from vsumlab.cli.main import main

    with pytest.raises(SystemExit):
        main(["cv", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--splits canonical|random:N[:SEED]|FILE" in text
    assert "N random 80/20 splits" in text and "SEED default 0" in text
    assert "K (an integer >= 1: the K seeds 0..K-1)" in text and "one seed: 7, with the comma" in text


def test_reproduce_reads_seeds_as_cv_does() -> None:
    """`vsumlab reproduce --seeds 3` repeats each CV with seeds 0, 1, 2 (as `vsumlab cv
    --seeds 3` does), not with the single seed 3."""
    from vsumlab.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["reproduce", "--seeds", "3"]).seeds == [0, 1, 2]
    assert parser.parse_args(["reproduce", "--seeds", "3,"]).seeds == [3]
