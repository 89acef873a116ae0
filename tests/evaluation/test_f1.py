"""Per-user F1, its reductions and the length-mismatch options, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.errors import ConfigError, DatasetError
from vsumlab.evaluation.metrics import (
    align_lengths,
    f1_per_user,
    reduce_users,
    video_f1,
)
from vsumlab.evaluation.protocol import Protocol

from ._records import make_record

MACHINE = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
USERS = np.array(
    [
        [0, 0, 1, 1, 1, 1, 0, 0, 0, 0],  # overlap 2: P = 2/4, R = 2/4 -> F = 50
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],  # overlap 4: P = 1, R = 1/2 -> F = 200/3
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],  # overlap 0 -> F = 0 (no division by zero)
    ]
)


def test_f1_per_user_hand_values():
    np.testing.assert_allclose(f1_per_user(MACHINE, USERS), [50.0, 200.0 / 3.0, 0.0])


def test_f1_is_zero_for_empty_machine_or_user_summary():
    np.testing.assert_array_equal(f1_per_user(np.zeros(10), USERS), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(f1_per_user(MACHINE, np.zeros((1, 10))), [0.0])


def test_max_vs_mean_reduction():
    per_user = f1_per_user(MACHINE, USERS)
    assert reduce_users(per_user, "max") == pytest.approx(200.0 / 3.0)
    assert reduce_users(per_user, "mean") == pytest.approx((50.0 + 200.0 / 3.0) / 3.0)


@pytest.mark.parametrize(
    ("mode", "length", "expected"),
    [
        # n_frames=5: machine [1,1,0,0,1] (3), user [1,1,1,1,0] (4), overlap 2 -> 4/7
        ("n_frames", 5, 400.0 / 7.0),
        # truncate to 4: machine [1,1,0,0] (2), user (4), overlap 2 -> 4/6
        ("truncate", 4, 400.0 / 6.0),
        # pad to 6: machine (4), user [1,1,1,1,0,0] (4), overlap 2 -> 4/8
        ("pad", 6, 50.0),
        # users (DSNet): machine cut to the users' 4: [1,1,0,0] (2), user (4) -> 4/6
        ("users", 4, 400.0 / 6.0),
    ],
)
def test_length_mismatch_options(mode, length, expected):
    machine = np.array([1, 1, 0, 0, 1, 1])
    users = np.array([[1, 1, 1, 1]])
    aligned_machine, aligned_users = align_lengths(machine, users, n_frames=5, mode=mode)
    assert aligned_machine.shape == (length,) and aligned_users.shape == (1, length)
    assert f1_per_user(aligned_machine, aligned_users)[0] == pytest.approx(expected)


def test_users_mode_keeps_user_frames_beyond_n_frames():
    # n_frames=4 but the user summary is 6 long: "users" pads the machine to 6 and keeps the
    # user's frames 4..5 (|u| = 4, overlap 2 -> 4/6); "n_frames" cuts them (|u| = 2 -> 4/4)
    machine, users = np.array([1, 1, 0, 0]), np.array([[1, 1, 0, 0, 1, 1]])
    fitted_machine, fitted_users = align_lengths(machine, users, n_frames=4, mode="users")
    assert fitted_machine.tolist() == [1, 1, 0, 0, 0, 0] and fitted_users.shape == (1, 6)
    assert f1_per_user(fitted_machine, fitted_users)[0] == pytest.approx(400.0 / 6.0)
    assert f1_per_user(*align_lengths(machine, users, 4, "n_frames"))[0] == pytest.approx(100.0)


def test_unknown_length_mismatch_and_reduction():
    with pytest.raises(ConfigError, match="length_mismatch='stretch'"):
        align_lengths(np.ones(2), np.ones((1, 2)), 2, "stretch")
    with pytest.raises(ConfigError, match="reduction 'median'"):
        reduce_users(np.ones(2), "median")


def _video():
    # 4 shots of 10 frames, one step per shot; users pick shot 1 / frames 15..24
    summaries = np.zeros((2, 40))
    summaries[0, 10:20] = 1
    summaries[1, 15:25] = 1
    return make_record("v", 40, [0, 10, 20, 30], [[0, 9], [10, 19], [20, 29], [30, 39]], summaries)


def test_video_f1_reduction_follows_style():
    # budget 0.25 -> capacity 10 -> the best shot (1, frames 10..19); F = 100 and 50
    record, scores = _video(), np.array([0.1, 0.9, 0.2, 0.3])
    protocol = Protocol(budget=0.25)
    assert video_f1(record, scores, protocol, style="summe") == pytest.approx(100.0)
    assert video_f1(record, scores, protocol, style="tvsum") == pytest.approx(75.0)
    explicit = Protocol(budget=0.25, f1_reduction="mean")
    assert video_f1(record, scores, explicit, style="summe") == pytest.approx(75.0)


def test_video_f1_default_budget_can_select_nothing():
    # capacity floor(0.15 * 40) = 6 < every 10-frame shot: empty summary, F1 = 0
    assert video_f1(_video(), np.array([0.1, 0.9, 0.2, 0.3]), style="summe") == 0.0


def test_video_f1_auto_without_style_is_an_error():
    with pytest.raises(ConfigError, match="needs the annotation style"):
        video_f1(_video(), np.ones(4), Protocol(), style=None)


def test_video_f1_without_user_summary_is_a_dataset_error():
    record = make_record("v7", 40, [0, 10, 20, 30], [[0, 39]])
    with pytest.raises(DatasetError, match="video 'v7' field 'user_summary': missing"):
        video_f1(record, np.ones(4), style="tvsum")


def test_f1_is_zero_not_nan_when_both_summaries_are_empty():
    # no overlap, and |machine| + |user| = 0: F = 0 by the protocol, never 0/0
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(f1_per_user(np.zeros(4), np.zeros((2, 4))), [0.0, 0.0])
