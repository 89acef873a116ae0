from __future__ import annotations

import numpy as np
import pytest

from vsumlab.errors import ConfigError
from vsumlab.segmentation.fallback import split_long_shots


def test_only_shots_longer_than_the_limit_are_split_into_equal_pieces() -> None:
    shots = np.array([[0, 9], [10, 20], [21, 21], [22, 45]])  # 10, 11, 1, 24 frames
    fitted = split_long_shots(shots, 10)
    # 11 -> 6 + 5 (the first piece takes the remainder); 24 -> 8 + 8 + 8
    assert fitted.change_points.tolist() == [
        [0, 9], [10, 15], [16, 20], [21, 21], [22, 29], [30, 37], [38, 45]]
    assert fitted.n_split == 2 and fitted.max_frames == 10
    assert fitted.n_frame_per_seg.tolist() == [10, 6, 5, 1, 8, 8, 8]


def test_one_long_shot_becomes_fixed_length_segments() -> None:
    fitted = split_long_shots(np.array([[0, 239]]), 8)
    assert len(fitted.change_points) == 30 and set(fitted.n_frame_per_seg.tolist()) == {8}
    assert fitted.change_points[0].tolist() == [0, 7]
    assert fitted.change_points[-1].tolist() == [232, 239]
    # the pieces tile the shot: consecutive, no frame lost or repeated
    assert np.all(fitted.change_points[1:, 0] == fitted.change_points[:-1, 1] + 1)


def test_shots_within_the_limit_are_kept_as_they_are() -> None:
    shots = np.array([[0, 4], [5, 9]])
    fitted = split_long_shots(shots, 5)
    assert fitted.change_points.tolist() == shots.tolist() and fitted.n_split == 0


@pytest.mark.parametrize("limit", [0, -3, 2.5, True])
def test_the_limit_is_a_positive_integer(limit) -> None:
    with pytest.raises(ConfigError, match="max_frames: expected an integer >= 1"):
        split_long_shots(np.array([[0, 9]]), limit)
