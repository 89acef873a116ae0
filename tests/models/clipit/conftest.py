"""One torch thread for the CLIP-It tests: their ops are tiny, and on a loaded 2-core machine
OpenMP barriers made a second thread 20-40x slower (measured: 1.5 s vs 60 s for the same test)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
