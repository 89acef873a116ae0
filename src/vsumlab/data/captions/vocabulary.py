"""Caption tokens and the vocabulary.

Tokens: lower-cased runs of letters/digits (deterministic, no external tokenizer). The
vocabulary is built from training captions: words with at least ``min_count`` occurrences,
ordered by (-count, word); it saves/loads as JSON and travels inside Cap2Sum checkpoints.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vsumlab.data.captions.format import CaptionError, CaptionVideo, read_json_file
from vsumlab.errors import ConfigError
from vsumlab.io import check_writable, write_json_atomic

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3; padding is id 0 everywhere
VOCAB_FORMAT = "vsumlab-vocabulary"
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(sentence: str) -> list[str]:
    """Lower-cased runs of ASCII letters and digits: "The man's dog." -> the, man, s, dog."""
    return _WORD.findall(sentence.lower())


class Vocabulary:
    """Word <-> id map; ids 0..3 are <pad>, <bos>, <eos>, <unk>."""

    def __init__(self, words: Sequence[str], min_count: int = 1):
        words = [w for w in words if w not in SPECIALS]
        if len(set(words)) != len(words):
            raise ConfigError("vocabulary: duplicate words")
        self.itos: list[str] = [*SPECIALS, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.min_count = min_count

    pad, bos, eos, unk = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Iterable[str], min_count: int = 5) -> Vocabulary:
        """Words seen at least ``min_count`` times, most frequent first, ties alphabetical."""
        counts = Counter(word for s in sentences for word in tokenize(s))
        kept = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(kept, min_count)

    @classmethod
    def from_captions(cls, videos: Mapping[str, CaptionVideo], min_count: int = 5) -> Vocabulary:
        return cls.build((e.sentence for v in videos.values() for e in v.events), min_count)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    @property
    def words(self) -> list[str]:
        return self.itos[len(SPECIALS) :]

    def encode(self, sentence: str, max_len: int = 30) -> list[int]:
        """<bos> + at most ``max_len`` word ids + <eos>."""
        ids = [self.stoi.get(w, self.unk) for w in tokenize(sentence)[:max_len]]
        return [self.bos, *ids, self.eos]

    def decode(self, ids: Iterable[int]) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i not in (self.pad, self.bos):
                words.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return " ".join(words)

    def to_dict(self) -> dict[str, Any]:
        return {"format": VOCAB_FORMAT, "min_count": self.min_count, "words": self.words}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<vocabulary>") -> Vocabulary:
        if not isinstance(data, Mapping) or data.get("format") != VOCAB_FORMAT:
            raise CaptionError(f"{source}: field 'format': expected '{VOCAB_FORMAT}'")
        words = data.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CaptionError(f"{source}: field 'words': expected a list of strings")
        return cls(words, int(data.get("min_count", 1)))

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        path = check_writable(path, force)
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        path = Path(path)
        return cls.from_dict(read_json_file(path, "vocabulary file"), str(path))


