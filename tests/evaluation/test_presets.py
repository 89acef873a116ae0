"""Protocol presets (vsumlab, dsnet, pglsum, csta): their option values, explicit options over
them, the one-line error for an unknown name, and hand-computed videos on which each preset's
choices change the summary, the F1 and the rank correlation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from vsumlab.errors import ConfigError
from vsumlab.evaluation.metrics import video_f1, video_rank_correlation
from vsumlab.protocol.keyshots import keyshot_summary
from vsumlab.protocol.options import DEFAULT_PROTOCOL, PRESETS, Protocol, preset_options

from ._records import make_record


def test_presets_fix_the_documented_values():
    assert Protocol.from_preset("vsumlab") == Protocol(preset="vsumlab")
    assert Protocol.from_preset("vsumlab").to_dict() == {**DEFAULT_PROTOCOL.to_dict(),
                                                         "preset": "vsumlab"}
    dsnet = Protocol.from_preset("dsnet")
    assert (dsnet.capacity_from, dsnet.knapsack_values, dsnet.length_mismatch) == (
        "n_frames", "int1000", "users")
    assert dsnet.model_selection == "best_test" and dsnet.rank_rate == "full"
    for name in ("pglsum", "csta"):
        p = Protocol.from_preset(name)
        assert (p.capacity_from, p.knapsack_values, p.length_mismatch) == (
            "last_change_point", "exact", "pad")
        assert (p.rank_rate, p.rank_stride, p.f1_reduction) == ("stride", 15, "auto")
    assert Protocol.from_preset("pglsum").model_selection == "last"
    assert Protocol.from_preset("csta").model_selection == "best_test"
    assert all(p.get("budget", 0.15) == 0.15 for p in PRESETS.values())


def test_explicit_options_override_the_preset():
    p = Protocol.from_preset("dsnet", knapsack_values="exact", budget=None)
    assert p.knapsack_values == "exact" and p.capacity_from == "n_frames" and p.budget == 0.15
    q = Protocol.from_dict({"preset": "pglsum", "capacity_from": "n_frames"})
    assert q.capacity_from == "n_frames" and q.length_mismatch == "pad"
    assert q.overrides() == {"capacity_from": "n_frames"}
    assert Protocol.from_dict(q.to_dict()) == q  # the stored dict reads back to the same


def test_unknown_preset_is_a_one_line_error_listing_the_known_ones():
    for build in (lambda: Protocol.from_preset("dsnett"),
                  lambda: Protocol.from_dict({"preset": "dsnett"}),
                  lambda: preset_options("dsnett")):
        with pytest.raises(ConfigError) as info:
            build()
        message = str(info.value)
        assert "\n" not in message and "'dsnett'" in message
        assert "vsumlab, dsnet, pglsum, csta" in message


def test_labels_name_the_preset_overrides_and_best_test():
    assert Protocol().describe() == ""
    assert Protocol.from_preset("pglsum").describe() == "preset pglsum"
    label = Protocol.from_preset("dsnet", tie_break="include").describe()
    assert label == ("preset dsnet; tie_break=include; "
                     "model selection: best test epoch (not comparable)")
    assert "best test epoch" in Protocol.from_preset("csta").describe()


# ---------------------------------------------------------------------------------------------
# One video on which the three families choose three different summaries.
# n_frames = 100, one step per frame; shots A [0,14] (15 frames), B [15,27] (13), C [28,34] (7),
# D [35,42] (8), E [43,89] (47); no shot covers frames 90..99 (last change point end + 1 = 90).
# Scores: A 0.9995, B 0.6, C = D 0.4999, E 0.
#   capacity floor(0.15 * 100) = 15: exact values pick C+D (0.9998 > A 0.9995 > B 0.6);
#   int(1000 * score): A 999 > C+D 499+499 = 998 -> A;
#   capacity floor(0.15 * 90) = 13: only B, C or D fit -> B (0.6).
# Two users, 110 frames long (longer than the video): u1 = A + frames 100..104 (20 frames),
# u2 = B + C = frames 15..34 (20 frames). TVSum style (mean over users).
SHOTS = [[0, 14], [15, 27], [28, 34], [35, 42], [43, 89]]


def _video():
    scores = np.zeros(100)
    for (start, end), value in zip(SHOTS, (0.9995, 0.6, 0.4999, 0.4999, 0.0)):
        scores[start:end + 1] = value
    users = np.zeros((2, 110))
    users[0, 0:15] = users[0, 100:105] = 1
    users[1, 15:35] = 1
    return make_record("tvsum/v", 100, np.arange(100), SHOTS, users), scores


def _frames(summary: np.ndarray) -> list[int]:
    return np.flatnonzero(summary).tolist()


@pytest.mark.parametrize(
    ("preset", "frames", "f1"),
    [
        # C+D = 28..42 (15); users cut to 100: u1 15 frames, overlap 0 -> 0;
        # u2 20 frames, overlap 28..34 = 7 -> 2*7/(15+20) = 40; mean 20
        ("vsumlab", list(range(28, 43)), 20.0),
        # A = 0..14 (15); machine padded to the users' 110: u1 (20) overlap 15 -> 2*15/35;
        # u2 overlap 0; mean 300/7
        ("dsnet", list(range(0, 15)), 300.0 / 7.0),
        # B = 15..27 (13); both padded to 110: u1 overlap 0; u2 (20) overlap 13 -> 2*13/33;
        # mean 1300/33
        ("pglsum", list(range(15, 28)), 1300.0 / 33.0),
        ("csta", list(range(15, 28)), 1300.0 / 33.0),
    ],
)
def test_each_preset_summary_and_f1_by_hand(preset, frames, f1):
    record, scores = _video()
    protocol = Protocol.from_preset(preset)
    summary = keyshot_summary(scores, record.change_points, 100, record.picks, protocol)
    assert _frames(summary) == frames
    assert video_f1(record, scores, protocol, style="tvsum") == pytest.approx(f1)


def test_dsnet_length_rule_changes_f1_on_its_own():
    # the DSNet summary A scored with the users cut to n_frames (vsumlab's rule): u1 has 15
    # frames -> 100; u2 0; mean 50 instead of 300/7
    record, scores = _video()
    cut = Protocol.from_preset("dsnet", length_mismatch="n_frames")
    assert video_f1(record, scores, cut, style="tvsum") == pytest.approx(50.0)


def test_reduction_follows_style_under_every_preset():
    record, scores = _video()
    # max over users: vsumlab 40, dsnet 600/7, pglsum 2600/33
    expected = {"vsumlab": 40.0, "dsnet": 600.0 / 7.0, "pglsum": 2600.0 / 33.0}
    for preset, value in expected.items():
        got = video_f1(record, scores, Protocol.from_preset(preset), style="summe")
        assert got == pytest.approx(value)


# ---------------------------------------------------------------------------------------------
# Rank correlation at every 15th frame (pglsum, csta: CA-SUM/CSTA slice the ydata scores [::15])
# vs every frame (vsumlab, dsnet). 45 frames, steps at 0, 15, 30 with scores 1, 2, 3.
# At frames 0, 15, 30: annotator 1 = 1, 2, 3 (tau 1, rho 1); annotator 2 = 1, 3, 2 (pairs: 2
# concordant, 1 discordant -> tau 1/3; rank differences 0, 1, 1 -> rho 1 - 6*2/(3*8) = 1/2).
# Mean over annotators: tau 2/3, rho 3/4. Other frames hold 5 (ties), which the full rate sees.
def _ranked_video():
    anno = np.full((2, 45), 5.0)
    anno[0, [0, 15, 30]] = [1, 2, 3]
    anno[1, [0, 15, 30]] = [1, 3, 2]
    users = np.zeros((2, 45))
    users[:, :6] = 1
    return make_record("r", 45, [0, 15, 30], [[0, 44]], users, anno), np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("preset", ["pglsum", "csta"])
def test_stride_presets_rank_by_hand(preset):
    record, scores = _ranked_video()
    tau, rho = video_rank_correlation(record, scores, Protocol.from_preset(preset))
    assert tau == pytest.approx(2.0 / 3.0) and rho == pytest.approx(0.75)


@pytest.mark.parametrize("preset", ["vsumlab", "dsnet"])
def test_full_rate_presets_rank_every_frame(preset):
    record, scores = _ranked_video()
    tau, rho = video_rank_correlation(record, scores, Protocol.from_preset(preset))
    frames = np.repeat(scores, 15)
    reference = [(kendalltau(frames, a)[0], spearmanr(frames, a)[0]) for a in record.user_anno]
    assert tau == pytest.approx(np.mean([r[0] for r in reference]))
    assert rho == pytest.approx(np.mean([r[1] for r in reference]))
    assert tau != pytest.approx(2.0 / 3.0)
