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


class EmptyStageError(VsumError):
    """A pipeline stage produced nothing the next stage can use (e.g. a refinement that kept no
    segment after a shortened training): the pipeline stops there, saying what to raise."""
