"""A small caption file shared by the caption tests."""

from __future__ import annotations

import json

SAMPLE = {
    "v_a": {"duration": 20.0, "timestamps": [[2.0, 6.0], [10.0, 25.0]],
            "sentences": ["A man runs.", " The man's dog jumps!"]},
    "v_b": {"duration": 10.0, "timestamps": [[0, 4.5]], "sentences": ["a dog runs fast"]},
}  # fmt: skip


def write(tmp_path, data, name="captions.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path
