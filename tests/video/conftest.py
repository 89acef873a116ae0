"""Synthetic videos with planted scenes, written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.data.synthetic.scene_videos import write_scene_video

#: 30 fps; every cut is a multiple of 15 frames, so 2 fps picks land on both sides of each cut
SCENES = (60, 90, 45, 75)


@pytest.fixture(scope="session")
def scenes() -> tuple[int, ...]:
    return SCENES


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def scene_video(video_dir: Path) -> Path:
    """270 frames at 30 fps, 96x64, four colour scenes, no audio."""
    return write_scene_video(video_dir / "scenes.mp4", SCENES, fps=30, size=(96, 64))


@pytest.fixture(scope="session")
def audio_video(video_dir: Path) -> Path:
    """The same scenes with an AAC tone track."""
    return write_scene_video(
        video_dir / "scenes_audio.mp4", SCENES, fps=30, size=(96, 64), audio=True
    )
