"""Caption timestamps on the step axis: step ranges, boxes, captioned masks."""

from __future__ import annotations

import numpy as np

from vsumlab.data.captions.format import load_captions
from vsumlab.data.captions.steps import captioned_mask, event_boxes, event_step_range

from ._samples import SAMPLE, write


def test_timestamp_to_steps_uniform_by_hand():
    # 20 s, 10 steps of 2 s: [2, 6] overlaps steps 1, 2 (step 3 starts at 6: not overlapped)
    assert event_step_range(2.0, 6.0, 20.0, 10) == (1, 2)
    assert event_step_range(2.5, 6.1, 20.0, 10) == (1, 3)
    assert event_step_range(0.0, 100.0, 20.0, 10) == (0, 9)  # clipped to the video
    assert event_step_range(7.0, 7.0, 20.0, 10) == (3, 3)  # a point event keeps one step


def test_timestamp_to_steps_with_picks():
    times = np.array([0.0, 0.5, 1.0, 4.0])  # uneven steps, e.g. picks / fps
    assert event_step_range(0.7, 3.0, 5.0, 4, times) == (1, 2)
    assert event_step_range(4.5, 5.0, 5.0, 4, times) == (3, 3)


def test_event_boxes_and_captioned_mask(tmp_path):
    video = load_captions(write(tmp_path, SAMPLE))["v_a"]
    boxes = event_boxes(video, 10)
    # steps 1..2 -> [0.1, 0.3] -> center 0.2 length 0.2; steps 5..9 -> [0.5, 1.0]
    np.testing.assert_allclose(boxes, [[0.2, 0.2], [0.75, 0.5]], atol=1e-6)
    np.testing.assert_array_equal(captioned_mask(boxes, 10), [0, 1, 1, 0, 0, 1, 1, 1, 1, 1])
