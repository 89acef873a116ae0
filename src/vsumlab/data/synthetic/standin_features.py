"""Scene-like placeholder features for imported annotations that come without features
(``vsumlab data import`` without a features folder; such files are flagged
``synthetic_features=True``)."""

from __future__ import annotations

import numpy as np

#: dimension of the synthetic stand-in features (GoogLeNet pool5, like the standard files)
STANDIN_DIM = 1024


def standin_features(n_steps: int, rng: np.random.Generator, dim: int = STANDIN_DIM) -> np.ndarray:
    """Scene-like placeholder features: constant random scenes of 2-10 s plus noise.

    They only make a file complete (KTS finds scene changes in them); they say nothing about
    the annotations, so models trained on them learn nothing.
    """
    scene_lengths = rng.integers(4, 21, size=n_steps)  # steps at 2 fps
    scene_of_step = np.repeat(np.arange(n_steps), scene_lengths)[:n_steps]
    scenes = rng.standard_normal((int(scene_of_step[-1]) + 1, dim))
    feats = scenes[scene_of_step] + 0.3 * rng.standard_normal((n_steps, dim))
    return feats.astype(np.float32)
