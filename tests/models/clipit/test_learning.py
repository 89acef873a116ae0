"""Learning is real: on caption-aligned synthetic videos the language-guided model beats the
same network without its text branch and the random baseline, and a query moves the scores.

Data: 70 SumMe-like videos (:func:`make_caption_aligned_dataset`): captioned highlight events
plus twice as many uncaptioned distractor events of the same kinds, so that from frames alone an
event is a coin flip. 50 videos train (8 epochs, batch 1), 20 are held out. Margins were set
below what three training seeds gave (text - ablation: F1 +4.7 to +14, tau +0.05 to +0.12;
text - random F1 +13 to +19) on a 2-core CPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.data.synthetic.caption_aligned import query_contrasts
from vsumlab.evaluation.metrics import evaluate_dataset, random_baseline

from .helpers import fit, learning_set, predict, sentences, tiny_module

pytestmark = pytest.mark.slow

N_TRAIN = 50
EPOCHS = 8


@pytest.fixture(scope="module")
def trained():
    dataset, captions = learning_set()
    texts = sentences(captions)
    train, test = dataset.keys[:N_TRAIN], dataset.keys[N_TRAIN:]
    models = {}
    for use_text in (True, False):
        module = tiny_module(128, use_text=use_text, d_model=64, n_layers=2, dropout=0.1)
        models[use_text] = fit(module, dataset, train, texts, epochs=EPOCHS, seed=0)
    return dataset, texts, test, models


def _event_means(dataset, predictions, keys):
    scores = np.concatenate([predictions[k] for k in keys])
    event = np.concatenate([dataset[k].extra["event"] for k in keys])
    captioned = np.concatenate([dataset[k].extra["event_planted"] for k in keys]).astype(bool)
    return scores[captioned].mean(), scores[(event >= 0) & ~captioned].mean()


def test_text_guided_model_beats_its_text_ablation_and_random(trained):
    dataset, texts, test, models = trained
    guided = predict(models[True], dataset, test, texts)
    ablation = predict(models[False], dataset, test, texts)
    with_text = evaluate_dataset(dataset, guided, keys=test).mean
    without = evaluate_dataset(dataset, ablation, keys=test).mean
    chance = random_baseline(dataset, keys=test, draws=20).mean
    print(f"\nF1/tau/rho text {with_text}\nablation {without}\nrandom {chance}")
    assert with_text.f1 >= without.f1 + 3.0
    assert with_text.kendall >= without.kendall + 0.03
    assert with_text.spearman >= without.spearman + 0.03
    assert with_text.f1 >= chance.f1 + 10.0
    assert with_text.kendall >= chance.kendall + 0.1
    # the mechanism: captioned events score above uncaptioned ones of the same kinds only
    # when the model reads the captions
    captioned, distractor = _event_means(dataset, guided, test)
    captioned_ablation, distractor_ablation = _event_means(dataset, ablation, test)
    print(f"captioned/distractor text {captioned:.3f}/{distractor:.3f} "
          f"ablation {captioned_ablation:.3f}/{distractor_ablation:.3f}")
    assert captioned - distractor >= 0.15
    assert abs(captioned_ablation - distractor_ablation) < 0.1


def test_a_query_naming_an_event_raises_that_event(trained):
    """For held-out videos with two captioned events A and B: querying A's sentence scores A's
    steps higher than querying B's sentence does (and the other way round)."""
    dataset, _, test, models = trained
    model = models[True]
    gains = []
    for key in test:
        gains += [a - b for _, _, a, b in query_contrasts(model, dataset[key])]
    print(f"\nquery gain over {len(gains)} (video, event, other event) cases: "
          f"mean {np.mean(gains):.3f}, positive in {np.mean(np.array(gains) > 0):.0%}")
    assert len(gains) >= 10
    assert np.mean(gains) >= 0.2
    assert np.mean(np.array(gains) > 0) >= 0.8
