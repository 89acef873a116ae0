"""PDVC captioner: shapes, padding invariance, event counter, decoding, criterion."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.pdvc.captioner import PDVCCaptioner, joint_score
from vsumlab.models.components.pdvc.decoding import beam_search, greedy_decode
from vsumlab.models.components.pdvc.heads import EventCounter
from vsumlab.models.losses.captioning import DenseCaptionCriterion, EventTargets

TINY = dict(
    d_model=16,
    n_heads=2,
    n_points=2,
    n_levels=3,
    n_queries=4,
    ffn_dim=32,
    max_events=4,
    caption_hidden=16,
    caption_word_dim=8,
    norm_groups=4,
    dropout=0.0,
)


def tiny_captioner(vocab_size: int = 12, **overrides) -> PDVCCaptioner:
    torch.manual_seed(0)
    return PDVCCaptioner(input_dim=6, vocab_size=vocab_size, **{**TINY, **overrides}).eval()


def test_output_shapes_and_box_range():
    model = tiny_captioner()
    out = model(torch.randn(2, 11, 6), torch.ones(2, 11, dtype=torch.bool))
    assert len(out.layers) == 2  # one per decoder layer (aux + last)
    assert out.last.boxes.shape == (2, 4, 2) and out.last.logits.shape == (2, 4)
    assert out.last.count_logits.shape == (2, 5)
    assert out.last.boxes.min() >= 0 and out.last.boxes.max() <= 1
    assert out.level_lengths == [11, 6, 3]


@pytest.mark.parametrize("attend", [True, False])
def test_padding_does_not_change_a_videos_outputs(attend):
    model = tiny_captioner(caption_attend=attend)
    torch.manual_seed(3)
    long, short = torch.randn(1, 13, 6), torch.randn(1, 6, 6)
    batch = torch.cat([long, torch.cat([short, torch.randn(1, 7, 6)], 1)])  # junk padding
    valid = torch.arange(13)[None] < torch.tensor([[13], [6]])
    out = model(batch, valid)
    alone = model(short, torch.ones(1, 6, dtype=torch.bool))
    torch.testing.assert_close(out.last.boxes[1], alone.last.boxes[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.last.logits[1], alone.last.logits[0], atol=1e-5, rtol=1e-4)
    tokens = torch.tensor([[1, 5, 6, 7]])
    q = torch.tensor([2])
    padded_words = model.caption_logits(out, out.last, torch.tensor([1]), q, tokens)
    alone_words = model.caption_logits(alone, alone.last, torch.tensor([0]), q, tokens)
    torch.testing.assert_close(padded_words, alone_words, atol=1e-5, rtol=1e-4)


def test_event_counter_max_pools_queries_by_hand():
    counter = EventCounter(d_model=2, max_events=1)
    with torch.no_grad():
        counter.fc.weight.copy_(torch.eye(2))
        counter.fc.bias.zero_()
    queries = torch.tensor([[[1.0, -2.0], [3.0, 0.0]]])
    torch.testing.assert_close(counter(queries), torch.tensor([[3.0, 0.0]]))
    # order of the queries does not matter
    torch.testing.assert_close(counter(queries.flip(1)), counter(queries))


def test_predict_events_takes_as_many_events_as_the_counter_says():
    model = tiny_captioner()
    with torch.no_grad():
        model.counters[-1].fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 50.0, 0.0]))  # 3 events
    out = model(torch.randn(2, 9, 6), torch.ones(2, 9, dtype=torch.bool))
    events = model.predict_events(out, bos=1, eos=2, max_len=5)
    assert [len(e) for e in events] == [3, 3]
    for video in events:
        starts = [e.start for e in video]
        assert starts == sorted(starts)
        assert all(0.0 <= e.start <= e.end <= 1.0 and len(e.tokens) <= 5 for e in video)


# Markov "language model" for decoding: 0 pad, 1 bos, 2 eos, 3 'a', 4 'b'.
# bos -> a 0.6 / b 0.4; a -> eos 0.4, a 0.3, b 0.3; b -> eos 1.0.
TABLE = torch.log(
    torch.tensor(
        [
            [1.0, 1e-9, 1e-9, 1e-9, 1e-9],
            [1e-9, 1e-9, 1e-9, 0.6, 0.4],
            [1e-9, 1e-9, 1.0, 1e-9, 1e-9],
            [1e-9, 1e-9, 0.4, 0.3, 0.3],
            [1e-9, 1e-9, 1.0, 1e-9, 1e-9],
        ]
    )
)


def markov_step(tokens, state, rows):
    return TABLE[tokens], state


def test_greedy_is_myopic_and_beam_search_finds_the_better_caption():
    state = (torch.zeros(1, 1),)
    tokens, logp = greedy_decode(markov_step, state, n=1, bos=1, eos=2, max_len=4)
    assert tokens.tolist() == [[3, 2, 0, 0]]  # "a <eos>", p = 0.6 * 0.4 = 0.24
    assert logp.item() == pytest.approx(math.log(0.24), rel=1e-4)
    tokens, logp = beam_search(markov_step, state, n=1, bos=1, eos=2, max_len=4, beam_size=2)
    assert tokens.tolist() == [[4, 2, 0, 0]]  # "b <eos>", p = 0.4
    assert logp.item() == pytest.approx(math.log(0.4), rel=1e-4)


def test_beam_search_handles_several_inputs_and_beam_one_equals_greedy():
    state = (torch.zeros(3, 1),)
    greedy, _ = greedy_decode(markov_step, state, n=3, bos=1, eos=2, max_len=4)
    beam1, _ = beam_search(markov_step, state, n=3, bos=1, eos=2, max_len=4, beam_size=1)
    beam3, _ = beam_search(markov_step, state, n=3, bos=1, eos=2, max_len=4, beam_size=3)
    assert torch.equal(greedy, beam1)
    assert beam3.tolist() == [[4, 2, 0, 0]] * 3


def test_captioner_beam_decoding_runs_and_scores_at_least_as_well_on_one_word():
    model = tiny_captioner()
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    bi, qi = torch.tensor([0, 0]), torch.tensor([0, 1])
    greedy, g_logp = model.generate(out, bi, qi, bos=1, eos=2, max_len=1)
    beam, b_logp = model.generate(out, bi, qi, bos=1, eos=2, max_len=1, beam_size=3)
    # With a single word both pick the most likely word.
    assert torch.equal(greedy, beam)
    torch.testing.assert_close(g_logp, b_logp)


def test_criterion_sums_weighted_components_over_layers():
    model = tiny_captioner().train()
    targets = [
        EventTargets(
            torch.tensor([[0.3, 0.2], [0.7, 0.3]]), torch.tensor([[1, 5, 6, 2], [1, 7, 2, 0]])
        ),
        EventTargets(torch.tensor([[0.5, 0.5]]), torch.tensor([[1, 8, 9, 2]])),
    ]
    out = model(torch.randn(2, 10, 6), torch.ones(2, 10, dtype=torch.bool))
    last_only = DenseCaptionCriterion(aux_loss=False)
    total, logs = last_only(model, out, targets)
    expected = 4 * logs["giou"] + 2 * logs["cls"] + 0.5 * logs["ec"] + 0.5 * logs["caption"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    with_aux, _ = DenseCaptionCriterion(aux_loss=True)(model, out, targets)
    first = DenseCaptionCriterion().weighted(
        DenseCaptionCriterion().layer_losses(model, out, out.layers[0], targets)
    )
    assert with_aux.item() == pytest.approx(total.item() + first.item(), rel=1e-5)
    with_aux.backward()
    assert model.query_embed.weight.grad.abs().sum() > 0
    assert model.caption_head.out.weight.grad.abs().sum() > 0


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="vocab_size"):
        PDVCCaptioner(input_dim=4, vocab_size=3)
    model = tiny_captioner()
    with pytest.raises(ConfigError, match="dim 5"):
        model(torch.randn(1, 4, 5), torch.ones(1, 4, dtype=torch.bool))


def test_joint_score_by_hand():
    # PDVC: c_loc + ec_alpha * sum log p / n_words ** 2, ec_alpha = 1.0 (cfgs/anet_c3d_pdvc.yml);
    # no words -> the caption adds nothing
    loc = torch.tensor([0.9, 0.5, 0.4])
    logp = torch.tensor([-8.0, -2.0, 0.0])
    words = torch.tensor([2, 4, 0])
    expected = torch.tensor([0.9 - 8 / 4, 0.5 - 2 / 16, 0.4])
    torch.testing.assert_close(joint_score(loc, logp, words), expected)
    light = torch.tensor([0.9 - 0.3 * 8 / 4, 0.5 - 0.3 * 2 / 16, 0.4])  # opts.py / PDVC-light
    torch.testing.assert_close(joint_score(loc, logp, words, caption_weight=0.3), light)


def test_pdvc_values_of_the_standard_captioner_on_activitynet():
    # PDVC cfgs/anet_c3d_pdvc.yml "ec_alpha: 1.0" (opts.py default 0.3 is PDVC-light's) and its
    # base cfgs/anet_c3d_pdvcl.yml "transformer_ff_dim: 512" (opts.py default 2048)
    import inspect

    from vsumlab.models.components.pdvc.captioner import PDVC_EC_ALPHA, PDVC_FFN_DIM
    from vsumlab.training.recipes import compose_recipe

    assert (PDVC_EC_ALPHA, PDVC_FFN_DIM) == (1.0, 512)
    assert inspect.signature(PDVCCaptioner.predict_events).parameters[
        "caption_weight"].default == 1.0
    model = PDVCCaptioner(input_dim=6, vocab_size=12, d_model=16, n_heads=2, n_levels=3,
                          norm_groups=4)
    assert model.encoder.layers[0].ffn.net[0].out_features == 512
    assert model.decoder.layers[0].ffn.net[0].out_features == 512
    root = Path(__file__).resolve().parents[3]
    recipe = compose_recipe(root / "experiments" / "cap2sum" / "model.yaml")
    assert recipe["model"]["init_args"]["captioner"]["ffn_dim"] == 512


def test_predict_events_ranks_queries_by_the_joint_score():
    model = tiny_captioner()
    with torch.no_grad():
        model.counters[-1].fc.bias.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0, 0.0]))  # 2 events
    torch.manual_seed(5)
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    loc = out.last.logits.detach().sigmoid()[0]
    bi, qi = torch.zeros(4, dtype=torch.long), torch.arange(4)
    tokens, _ = model.generate(out, bi, qi, bos=1, eos=2, max_len=5)
    sentence, n_words = model.caption_log_probs(out, bi, qi, tokens, bos=1, eos=2)
    for weight in (0.3, 100.0):
        joint = joint_score(loc, sentence, n_words, weight)
        events = model.predict_events(out, bos=1, eos=2, max_len=5, caption_weight=weight)[0]
        chosen = sorted(joint.topk(2).indices.tolist())
        assert sorted(round(e.confidence, 5) for e in events) == sorted(
            round(float(joint[q]), 5) for q in chosen)
    by_loc = model.predict_events(out, bos=1, eos=2, max_len=5, rank_by="localization")[0]
    assert sorted(e.score for e in by_loc) == pytest.approx(sorted(loc.topk(2).values.tolist()))
    assert [e.confidence for e in by_loc] == [e.score for e in by_loc]
    with pytest.raises(ConfigError, match="rank_by='best'"):
        model.predict_events(out, bos=1, eos=2, rank_by="best")


def test_caption_confidence_never_sees_the_word_it_scores():
    # PDVC's confidence sums log p(w_t | w_<t): the distribution that scores word t is fed
    # <bos> w_1 .. w_{t-1} only. Changing word t (or a later one) leaves that distribution as it
    # was: the new word's log-probability is read from the same distribution.
    model = tiny_captioner()
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    b, q = torch.tensor([0]), torch.tensor([2])
    tokens = torch.tensor([[5, 6, 7, 8]])
    base = model.word_log_probs(out, b, q, tokens, bos=1)
    # by hand: the step-by-step decoder (generation's path) fed bos, then the previous words
    head, query = model.caption_head, out.last.features[b, q]
    ctx = model.caption_context(out, out.last, b, q)
    state, previous, stepwise, full = head.start(query), torch.tensor([1]), [], []
    for t in range(4):
        logits, state = head.step(previous, state, query, ctx)
        full.append(logits.float().log_softmax(-1)[0])
        stepwise.append(full[-1][tokens[0, t]])
        previous = tokens[:, t]
    torch.testing.assert_close(base[0], torch.stack(stepwise), rtol=1e-5, atol=1e-5)
    for t in range(4):
        changed = tokens.clone()
        changed[0, t:] = 9 if t % 2 else 10
        logp = model.word_log_probs(out, b, q, changed, bos=1)
        torch.testing.assert_close(logp[0, :t], base[0, :t])  # earlier words unchanged
        # word t is scored by the same distribution as before: it never saw word t
        torch.testing.assert_close(logp[0, t], full[t][changed[0, t]], rtol=1e-5, atol=1e-5)
    # the caption confidence is their sum over words (no <eos>, no padding)
    padded = torch.tensor([[5, 6, 2, 0]])
    total, n_words = model.caption_log_probs(out, b, q, padded, bos=1, eos=2)
    per_word = model.word_log_probs(out, b, q, padded, bos=1)
    assert n_words.tolist() == [2]
    torch.testing.assert_close(total, per_word[:, :2].sum(1))


def test_caption_head_is_causal():
    # logits at step t read the input words 0..t only: changing input word t+1 leaves them
    model = tiny_captioner()
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    q, b = torch.tensor([1]), torch.tensor([0])
    tokens = torch.tensor([[1, 5, 6, 7, 8]])
    base = model.caption_logits(out, out.last, b, q, tokens)
    for t in range(1, 5):
        changed = tokens.clone()
        changed[0, t] = 9
        logits = model.caption_logits(out, out.last, b, q, changed)
        torch.testing.assert_close(logits[:, :t], base[:, :t])
        assert not torch.allclose(logits[:, t], base[:, t])


def _criterion_caption_calls(model, monkeypatch):
    calls = []
    original = model.caption_logits

    def spy(output, layer, batch_index, query_index, tokens_in):
        logits = original(output, layer, batch_index, query_index, tokens_in)
        calls.append((tokens_in.clone(), logits.detach()))
        return logits

    monkeypatch.setattr(model, "caption_logits", spy)
    return calls


def test_criterion_teacher_forces_the_shifted_caption(monkeypatch):
    # input = <bos> w1 .. (the caption without its last token), targets = w1 .. <eos>: no step
    # is fed the word it must predict, so changing target word t leaves steps <= t unchanged
    model = tiny_captioner()
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    caption = torch.tensor([[1, 5, 6, 7, 2]])
    boxes = torch.tensor([[0.5, 0.4]])
    criterion = DenseCaptionCriterion(aux_loss=False)
    calls = _criterion_caption_calls(model, monkeypatch)
    criterion(model, out, [EventTargets(boxes, caption)])
    (tokens_in, base), = calls
    assert tokens_in.tolist() == [[1, 5, 6, 7]]
    for t in range(4):  # target word t is caption[t + 1]
        changed = caption.clone()
        changed[0, t + 1] = 9
        calls.clear()
        criterion(model, out, [EventTargets(boxes, changed)])
        logits = calls[0][1]
        torch.testing.assert_close(logits[:, : t + 1], base[:, : t + 1])


def test_caption_loss_is_the_cross_entropy_of_the_next_word(monkeypatch):
    model = tiny_captioner()
    out = model(torch.randn(1, 9, 6), torch.ones(1, 9, dtype=torch.bool))
    caption = torch.tensor([[1, 5, 6, 2, 0]])  # padded: the pad is not a target
    calls = _criterion_caption_calls(model, monkeypatch)
    _, logs = DenseCaptionCriterion(aux_loss=False)(
        model, out, [EventTargets(torch.tensor([[0.5, 0.4]]), caption)]
    )
    (_, logits), = calls
    logp = logits[0].log_softmax(-1)
    expected = -(logp[0, 5] + logp[1, 6] + logp[2, 2]) / 3
    assert logs["caption"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_criterion_normalises_box_losses_by_the_number_of_events():
    # PDVC / Deformable DETR: focal and GIoU losses are sums over queries / matched pairs divided
    # by the number of ground-truth events in the batch (here 6: 5 + 1, of which only 4 + 1 can
    # be matched to the 4 queries), not means
    from vsumlab.models.components.pdvc.matcher import HungarianMatcher
    from vsumlab.models.losses.captioning import giou_loss, sigmoid_focal_loss

    model = tiny_captioner()
    five = torch.tensor([[0.1, 0.1], [0.3, 0.2], [0.5, 0.1], [0.7, 0.3], [0.9, 0.1]])
    targets = [
        EventTargets(five, torch.tensor([[1, 5, 6, 2]] * 5)),
        EventTargets(torch.tensor([[0.5, 0.5]]), torch.tensor([[1, 8, 9, 2]])),
    ]
    out = model(torch.randn(2, 10, 6), torch.ones(2, 10, dtype=torch.bool))
    layer = out.last
    criterion = DenseCaptionCriterion(aux_loss=False)
    losses = criterion.layer_losses(model, out, layer, targets)
    matches = HungarianMatcher()(layer.logits, layer.boxes, [t.boxes for t in targets])
    onehot = torch.zeros_like(layer.logits)
    pred, gold = [], []
    for b, (q, g) in enumerate(matches):
        onehot[b, q] = 1.0
        pred.append(layer.boxes[b, q])
        gold.append(targets[b].boxes[g])
    assert sum(len(q) for q, _ in matches) == 5
    focal = sigmoid_focal_loss(layer.logits, onehot).sum() / 6
    giou = giou_loss(torch.cat(pred), torch.cat(gold)).sum() / 6
    assert losses["cls"].item() == pytest.approx(focal.item(), rel=1e-5)
    assert losses["giou"].item() == pytest.approx(giou.item(), rel=1e-5)
    # 5 events with a counter for 0..4: the target is clipped to 4
    count = torch.nn.functional.cross_entropy(layer.count_logits, torch.tensor([4, 1]))
    assert losses["ec"].item() == pytest.approx(count.item(), rel=1e-5)


def test_criterion_matches_with_class_cost_2_and_giou_cost_4():
    # the hand-computed case of test_matcher_and_segments: GIoU 0.75 / 0.6 of query 0
    boxes = torch.tensor([[0.2, 0.4], [0.1, 0.2]])  # [0, 0.4], [0, 0.2] as (center, length)
    events = torch.tensor([[0.15, 0.3], [0.3, 0.4]])  # [0, 0.3], [0.1, 0.5]
    cost = DenseCaptionCriterion().matcher.cost_matrix(torch.tensor([2.0, 0.0]), boxes, events)
    p = torch.sigmoid(torch.tensor(2.0))
    focal = 0.25 * (1 - p) ** 2 * -torch.log(p) - 0.75 * p**2 * -torch.log(1 - p)
    torch.testing.assert_close(cost[0], 2 * focal - 4 * torch.tensor([0.75, 0.6]))
