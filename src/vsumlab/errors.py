"""Errors that the CLI turns into one-line messages (never tracebacks)."""

from __future__ import annotations


class VsumError(Exception):
    """Base class for user-facing errors: the message alone must tell what is wrong."""


class DatasetError(VsumError):
    """A dataset file violates the standard schema (names file, key, field and expectation)."""


class PredictionError(VsumError):
    """A predictions file does not fit the dataset it is scored against."""


class ConfigError(VsumError):
    """An unknown option, key or value in a command or recipe."""


class OutputExistsError(VsumError):
    """An output exists and would be overwritten without --force."""


class OutputError(VsumError):
    """An output cannot be written: its folder is a file, the file system is read-only or full.
    The message names the output; the previous file (if any) is kept and no temporary is left."""


def printable(name: object) -> str:
    """``name`` as text that any terminal prints: bytes that are not UTF-8 (an h5 key, a file
    name decoded with surrogateescape) appear escaped as ``\\xff`` instead of raising."""
    if isinstance(name, bytes):
        return name.decode("utf-8", "backslashreplace")
    text = str(name)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:  # file names: undecodable bytes became surrogates U+DC80..U+DCFF
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


class EmptyStageError(VsumError):
    """A pipeline stage produced nothing the next stage can use (e.g. a refinement that kept no
    segment after a shortened training): the pipeline stops there, saying what to raise."""
