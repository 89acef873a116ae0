"""Summary outputs: the summary video, a keyframe contact sheet and a score plot.

Frame indices follow :mod:`vsumlab.data.video_decode` (decoded frames counted from 0); times are
``index / fps``. Every file is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from vsumlab.data.video_decode import VideoError, open_video
from vsumlab.io import atomic_path


def _in_segments(index: int, starts: np.ndarray, ends: np.ndarray) -> bool:
    i = np.searchsorted(starts, index, side="right") - 1
    return bool(i >= 0 and index <= ends[i])


def _even(value: int) -> int:
    return max(2, value - value % 2)  # yuv420p needs even sizes


def write_summary_video(
    source: str | os.PathLike,
    out: str | os.PathLike,
    segments: Sequence[tuple[int, int]],
    capture: Iterable[int] = (),
) -> dict[int, np.ndarray]:
    """Concatenate the inclusive frame ranges ``segments`` of ``source`` into an H.264 mp4.

    Audio, when the source has it, is cut to the same time ranges and re-encoded as AAC. One
    decoding pass over the source; frames listed in ``capture`` (inside the segments) are
    returned as RGB arrays, so keyframes need no second pass.
    """
    import av

    source, out = Path(source), Path(out)
    order = np.argsort([s for s, _ in segments])
    starts = np.asarray([segments[i][0] for i in order], dtype=np.int64)
    ends = np.asarray([segments[i][1] for i in order], dtype=np.int64)
    if starts.size == 0:
        raise VideoError(f"{out}: no segment selected, nothing to write")
    wanted = set(int(i) for i in capture)
    captured: dict[int, np.ndarray] = {}
    container = open_video(source)
    with container, atomic_path(out) as tmp:
        vin = container.streams.video[0]
        vin.thread_type = "AUTO"
        ain = container.streams.audio[0] if container.streams.audio else None
        rate = Fraction(vin.average_rate or vin.guessed_rate or 25).limit_denominator(100000)
        with av.open(str(tmp), "w", format="mp4") as output:
            vout = output.add_stream("libx264", rate=rate)
            vout.width = _even(vin.codec_context.width)
            vout.height = _even(vin.codec_context.height)
            vout.pix_fmt = "yuv420p"
            vout.options = {"preset": "veryfast", "crf": "23"}
            vout.codec_context.time_base = 1 / rate
            audio = _AudioCutter(output, ain, vin, starts, ends, rate) if ain else None
            streams = [vin] + ([ain] if ain is not None else [])
            index, written, last = 0, 0, int(ends[-1])
            for packet in container.demux(*streams):
                if packet.stream is vin:
                    if index > last:
                        if audio is None or audio.done:
                            break
                        continue
                    for frame in packet.decode():
                        if index <= last and _in_segments(index, starts, ends):
                            if index in wanted:
                                captured[index] = frame.to_ndarray(format="rgb24")
                            image = frame.reformat(
                                width=vout.width, height=vout.height, format="yuv420p"
                            )
                            image.pts, image.time_base = written, vout.codec_context.time_base
                            written += 1
                            for out_packet in vout.encode(image):
                                output.mux(out_packet)
                        index += 1
                elif audio is not None:
                    audio.feed(packet)
            for out_packet in vout.encode():
                output.mux(out_packet)
            if audio is not None:
                audio.flush()
        if written == 0:
            raise VideoError(f"{source}: none of the selected frames could be decoded")
    return captured


class _AudioCutter:
    """Keeps the audio samples whose time falls in the selected frame ranges, re-encoded AAC."""

    def __init__(self, output, ain, vin, starts, ends, rate: Fraction) -> None:
        import av

        self.sample_rate = int(ain.codec_context.sample_rate or 44100)
        layout = "stereo" if ain.codec_context.layout.nb_channels >= 2 else "mono"
        self.stream = output.add_stream("aac", rate=self.sample_rate)
        self.stream.layout = layout
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=self.sample_rate)
        self.layout = layout
        # segment bounds in seconds, relative to the first video frame
        self.t_starts = starts / float(rate)
        self.t_ends = (ends + 1) / float(rate)
        vstart = vin.start_time if vin.start_time is not None else 0
        self.offset = float(vstart * vin.time_base) if vin.time_base else 0.0
        self.written = 0
        self.done = False
        self.output = output

    def feed(self, packet) -> None:
        import av

        if self.done:
            return
        for frame in packet.decode():
            if frame.pts is None or frame.time_base is None:
                continue
            t0 = float(frame.pts * frame.time_base) - self.offset
            for resampled in self.resampler.resample(frame):
                samples = resampled.to_ndarray()  # (channels, n) float32 planar
                times = t0 + np.arange(samples.shape[1]) / self.sample_rate
                t0 += samples.shape[1] / self.sample_rate
                keep = np.zeros(samples.shape[1], dtype=bool)
                for start, end in zip(self.t_starts, self.t_ends):
                    keep |= (times >= start) & (times < end)
                if times.size and times[0] >= self.t_ends[-1]:
                    self.done = True
                if not keep.any():
                    continue
                piece = np.ascontiguousarray(samples[:, keep])
                out = av.AudioFrame.from_ndarray(piece, format="fltp", layout=self.layout)
                out.sample_rate = self.sample_rate
                out.pts, out.time_base = self.written, Fraction(1, self.sample_rate)
                self.written += piece.shape[1]
                for out_packet in self.stream.encode(out):
                    self.output.mux(out_packet)

    def flush(self) -> None:
        for out_packet in self.stream.encode():
            self.output.mux(out_packet)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size bitmap font
        return ImageFont.load_default()


def write_contact_sheet(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    out: str | os.PathLike,
    thumb_width: int = 320,
    columns: int = 4,
) -> Path:
    """A JPEG grid of thumbnails, each with its label (e.g. the timestamp) drawn on it."""
    from PIL import Image, ImageDraw

    if not images:
        raise VideoError(f"{out}: no keyframe to put on the contact sheet")
    thumbs = []
    for image in images:
        h, w = image.shape[:2]
        size = (thumb_width, max(1, round(h * thumb_width / w)))
        thumbs.append(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    columns = min(columns, len(thumbs))
    rows = -(-len(thumbs) // columns)
    cell_h = max(t.height for t in thumbs)
    gap = 4
    sheet = Image.new("RGB", (columns * (thumb_width + gap) + gap, rows * (cell_h + gap) + gap))
    font = _font(max(12, thumb_width // 16))
    for i, (thumb, label) in enumerate(zip(thumbs, labels)):
        x = gap + (i % columns) * (thumb_width + gap)
        y = gap + (i // columns) * (cell_h + gap)
        sheet.paste(thumb, (x, y))
        draw = ImageDraw.Draw(sheet)
        box = draw.textbbox((x + 4, y + 4), label, font=font)
        draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=(0, 0, 0))
        draw.text((x + 4, y + 4), label, fill=(255, 255, 255), font=font)
    out = Path(out)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="JPEG", quality=90)
    return out


def write_score_plot(
    frame_scores: np.ndarray,
    fps: float,
    shots: np.ndarray,
    selected: Sequence[int],
    out: str | os.PathLike,
    title: str = "",
) -> Path:
    """PNG: frame scores over time (s), selected shots shaded, shot boundaries ticked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # a Figure with its own Agg canvas never touches pyplot's global backend
    fig = Figure(figsize=(10, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    times = np.arange(len(frame_scores)) / fps
    for i, index in enumerate(selected):
        start, end = shots[index]
        ax.axvspan(start / fps, (end + 1) / fps, color="tab:orange", alpha=0.3, lw=0,
                   label="selected shots" if i == 0 else None)
    for start, _ in shots[1:]:
        ax.axvline(start / fps, color="0.8", lw=0.5, zorder=0)
    ax.plot(times, frame_scores, color="tab:blue", lw=1.2, label="frame score")
    ax.set_xlim(0, len(frame_scores) / fps)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out
