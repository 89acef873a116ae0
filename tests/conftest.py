"""Shared fixtures. Real annotations are found through VSUMLAB_DATA, else ../shared/data beside
the checkout. Where they are missing the tests that need them skip, unless
VSUMLAB_REQUIRE_REAL_DATA=1 (CI sets it), which makes a missing folder a failure: CI never
counts a skipped real-data test as run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# `make test` runs two pytest workers on two cores: one BLAS/OpenMP thread each avoids
# oversubscription, which slowed small torch models down 20-80x here. Subprocesses (DDP tests,
# CLI runs) inherit the setting through the environment.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Tests never fetch weights: drop a developer's opt-in (vsumlab.video.weights.DOWNLOAD_ENV).
os.environ.pop("VSUMLAB_DOWNLOAD_WEIGHTS", None)


def pytest_configure(config: pytest.Config) -> None:
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _lightning_logs_to_current_stderr() -> None:
    """Lightning's console handlers keep the sys.stderr of the test that first imported it, a
    capture stream closed since: point them at this test's stream, or a later log record prints
    a 'Logging error' traceback into the stderr a test inspects."""
    import logging
    import sys

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = sys.stderr  # setStream would flush the closed one


def _shared_data() -> Path | None:
    value = os.environ.get("VSUMLAB_DATA")
    path = Path(value) if value else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def _missing(reason: str) -> None:
    if os.environ.get("VSUMLAB_REQUIRE_REAL_DATA") == "1":
        pytest.fail(f"{reason} (VSUMLAB_REQUIRE_REAL_DATA=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real SumMe/TVSum/ActivityNet annotations, or skip with the reason."""
    path = _shared_data()
    if path is None:
        _missing("real annotations unavailable: set VSUMLAB_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def summe_gt_dir(shared_data: Path) -> Path:
    path = shared_data / "summe" / "GT"
    if not path.is_dir():
        _missing(f"SumMe ground truth not found at {path}")
    return path


@pytest.fixture(scope="session")
def tvsum_mat(shared_data: Path) -> Path:
    path = shared_data / "tvsum" / "ydata-tvsum50.mat"
    if not path.is_file():
        _missing(f"TVSum annotations not found at {path}")
    return path


@pytest.fixture(scope="session")
def anet_captions_dir(shared_data: Path) -> Path:
    path = shared_data / "activitynet_captions"
    if not path.is_dir():
        _missing(f"ActivityNet Captions not found at {path}")
    return path


def _small_set(factory: pytest.TempPathFactory, kind: str, **options) -> Path:
    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset

    dataset = make_synthetic_dataset(kind, feature_dim=64, **options)
    path = factory.mktemp("data") / f"small_{kind}.h5"
    write_dataset(path, dataset, attrs=dataset.attrs)
    return path


@pytest.fixture(scope="session")
def small_tvsum_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic TVSum-like set (12 videos, 64-d features) written as standard h5."""
    return _small_set(tmp_path_factory, "tvsum", seed=3, n_videos=12, min_duration=40,
                      max_duration=80)


@pytest.fixture(scope="session")
def small_summe_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic SumMe-like set (8 videos, 64-d features)."""
    return _small_set(tmp_path_factory, "summe", seed=4, n_videos=8, min_duration=30,
                      max_duration=60)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache under tmp_path (where the GoogLeNet ImageNet file would be);
    torch.hub's download fails the test if called."""
    import torch

    from vsumlab.video.encoders import googlenet_cache_file
    from vsumlab.video.weights import DOWNLOAD_ENV

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(DOWNLOAD_ENV, raising=False)

    def no_fetch(*args: object, **kwargs: object) -> None:
        raise AssertionError("a fetch was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_fetch)
    return googlenet_cache_file()
