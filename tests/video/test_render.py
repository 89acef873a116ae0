from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from vsumlab.data.synthetic.scene_videos import scene_colour
from vsumlab.data.video_decode import VideoError, iter_frames, probe
from vsumlab.video.render import write_contact_sheet, write_score_plot, write_summary_video


def _audio(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        signal = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])
        return signal, stream.codec_context.sample_rate


def _pitch(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("with_audio", [False, True])
def test_summary_video_concatenates_the_segments(scene_video, audio_video, scenes, tmp_path,
                                                 with_audio):
    source = audio_video if with_audio else scene_video
    out = tmp_path / "summary.mp4"
    # frames 150..194 (the whole third scene) then 60..89 (start of the second); given out of
    # order on purpose: the summary follows the video's order
    captured = write_summary_video(source, out, [(150, 194), (60, 89)], capture=[170, 75])
    info = probe(out)
    assert info.n_frames == 30 + 45 and info.fps == 30.0 and (info.width, info.height) == (96, 64)
    assert info.has_audio is with_audio
    colours = [img.reshape(-1, 3).mean(0) for _, img in iter_frames(out, np.array([0, 29, 30, 74]))]
    for colour, source_frame in zip(colours, [60, 89, 150, 194]):
        assert np.abs(colour - scene_colour(source_frame, scenes)).max() < 25
    assert sorted(captured) == [75, 170] and captured[75].shape == (64, 96, 3)
    if with_audio:
        signal, rate = _audio(out)
        # 75 frames = 2.5 s of audio; AAC adds at most one 1024-sample frame of padding
        assert 2.5 - 0.01 <= len(signal) / rate <= 2.5 + 1024 / 16000 + 0.01
        # the source plays 220 + 110 * scene Hz: scene 1 (330 Hz) for 1 s, then scene 2 (440 Hz)
        assert _pitch(signal[int(0.1 * rate) : int(0.9 * rate)], rate) == pytest.approx(330, abs=5)
        assert _pitch(signal[int(1.1 * rate) : int(2.4 * rate)], rate) == pytest.approx(440, abs=5)
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_summary_video_needs_a_segment(scene_video, tmp_path):
    with pytest.raises(VideoError, match="no segment selected"):
        write_summary_video(scene_video, tmp_path / "s.mp4", [])
    assert not (tmp_path / "s.mp4").exists()


def test_contact_sheet_grid_and_labels(tmp_path):
    images = [np.full((60, 80, 3), c, np.uint8) for c in (0, 80, 160, 240, 120)]
    out = write_contact_sheet(images, [f"0:0{i}.00" for i in range(5)], tmp_path / "k.jpg",
                              thumb_width=100, columns=4)
    with Image.open(out) as sheet:
        assert sheet.format == "JPEG"
        # 4 columns x 2 rows of 100x75 thumbnails with 4-pixel gaps
        assert sheet.size == (4 * 104 + 4, 2 * 79 + 4)
        pixels = np.asarray(sheet.convert("RGB"), dtype=float)
    # the label box is drawn in the top-left corner of a thumbnail: black box, white text
    corner = pixels[4:20, 4:60]
    assert corner.min() < 30 and corner.max() > 200
    # the thumbnail's lower part keeps its colour (160 for the third one)
    assert abs(pixels[60:75, 2 * 104 + 4 : 2 * 104 + 100].mean() - 160) < 5


def test_score_plot_png(tmp_path):
    scores = np.r_[np.zeros(30), np.ones(30)]
    shots = np.array([[0, 29], [30, 59]])
    out = write_score_plot(scores, 30.0, shots, [1], tmp_path / "scores.png", title="t")
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1000, 300)
