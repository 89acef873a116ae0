"""No argparse command takes an abbreviation of an option: a typo exits 2 naming it."""

from __future__ import annotations

import argparse

import pytest

from vsumlab.cli.main import build_parser, main


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _subparsers(sub)


def test_every_command_parser_refuses_abbreviations() -> None:
    parser = build_parser()
    parsers = [("vsumlab", parser), *_subparsers(parser)]
    assert len(parsers) > 20
    assert [name for name, sub in parsers if sub.allow_abbrev] == []


@pytest.mark.parametrize("argv", [
    ["data", "info", "x.h5", "--js"],                                 # --json
    ["eval", "--dataset", "d.h5", "--predictions", "p.h5", "--jso"],  # --json
    ["summarize", "v.mp4", "--checkpoint", "c.ckpt", "--out", "o", "--forc"],  # --force
    ["cv", "--config", "supervised/transformer_tvsum", "--forc"],      # --force
])  # fmt: skip
def test_an_abbreviation_exits_2_naming_it(argv, capsys) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own error exit (one line, see cli.main._Parser)
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and argv[-1] in err[0], err
