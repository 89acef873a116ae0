"""Tokens and the vocabulary: order, min_count, round trip, file errors."""

from __future__ import annotations

import pytest

from vsumlab.data.captions.format import CaptionError
from vsumlab.data.captions.vocabulary import Vocabulary, tokenize

from ._samples import write


def test_tokenizer_is_deterministic_and_simple():
    assert tokenize("The man's dog, 2 times!") == ["the", "man", "s", "dog", "2", "times"]


def test_vocabulary_order_min_count_and_round_trip(tmp_path):
    sentences = ["b a c", "a b", "a d", "c"]
    vocab = Vocabulary.build(sentences, min_count=2)
    # counts a 3, b 2, c 2, d 1 -> by (-count, word); d dropped
    assert vocab.words == ["a", "b", "c"]
    assert Vocabulary.build(reversed(sentences), min_count=2) == vocab  # order-independent
    assert vocab.encode("a d b") == [1, 4, 3, 5, 2]  # <bos> a <unk> b <eos>
    assert vocab.encode("a b c", max_len=2) == [1, 4, 5, 2]
    assert vocab.decode([1, 4, 5, 2, 6]) == "a b"
    path = vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(path) == vocab


def test_vocabulary_file_errors(tmp_path):
    with pytest.raises(CaptionError, match="field 'format'"):
        Vocabulary.load(write(tmp_path, {"words": ["a"]}))
    with pytest.raises(CaptionError, match="field 'words'"):
        Vocabulary.load(write(tmp_path, {"format": "vsumlab-vocabulary", "words": [1]}))
