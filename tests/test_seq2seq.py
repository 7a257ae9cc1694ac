"""The attention encoder-decoder, beam search, and the data helpers of chapter 12."""

import numpy as np
import pytest
import torch

from course_pkg.datasets import BOS, EOS, TGT_VOCAB, number_to_words, number_translation
from course_pkg.datasets.translation import translation_pairs, word_alignment
from course_pkg.gradcheck import check_model_gradients
from course_pkg.models import EncoderDecoder
from course_pkg.seq2seq import (
    AttentionDecoderState,
    AttentionEncoderDecoder,
    alignment_score,
    beam_search_decode,
    bigram_decoder,
    exact_match,
    initial_decoder_states,
    length_normalised,
    sequence_log_prob,
    train_seq2seq,
)

# a small batch: three sources of lengths 4, 2, 3 padded to S = 4, targets of 1 to 3 steps
SRC = np.array([[1, 2, 3, 4], [4, 1, 0, 0], [2, 2, 3, 0]])
SRC_LENGTHS = np.array([4, 2, 3])
TGT_IN = np.array([[1, 3, 5], [1, 4, 0], [1, 0, 0]])
TGT_OUT = np.array([[3, 5, 2], [4, 2, 0], [2, 0, 0]])
TGT_MASK = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def attention_model(seed=0, cell="gru", num_layers=1, H=3, scale=0.5, attention_size=4):
    """A small model with larger random parameters than the initial ones, so that no gradient
    is tiny: the attention's weights from N(0, 1) (and v twice that), the rest from N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    model = AttentionEncoderDecoder(
        5, 6, H, rng=rng, cell=cell, embed_dim=2, attention_size=attention_size,
        num_layers=num_layers,
    )  # fmt: skip
    for name, value in model.params.items():
        model.params[name] = (1.0 if name.startswith("att.") else scale) * rng.standard_normal(
            value.shape
        )
    model.params["att.v"] *= 2.0
    return model


def plain_model(seed=0, cell="gru", num_layers=1):
    rng = np.random.default_rng(seed)
    model = EncoderDecoder(5, 6, 3, rng=rng, cell=cell, embed_dim=2, num_layers=num_layers)
    for name, value in model.params.items():
        model.params[name] = rng.standard_normal(value.shape)
    return model


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("cell,num_layers", [("gru", 1), ("lstm", 2), ("rnn", 1)])
def test_gradients(cell, num_layers):
    # h = 1e-4: the loss is a mean over 6 tokens and the query's gradient (att.Wq) is small,
    # so with h = 1e-6 the rounding error of the loss difference dominates the check
    model = attention_model(cell=cell, num_layers=num_layers)
    errors = check_model_gradients(model, SRC, SRC_LENGTHS, TGT_IN, TGT_OUT, TGT_MASK, h=1e-4)
    assert set(errors) == set(model.params)


def test_gradients_without_lengths_and_mask():
    model = attention_model(seed=1, attention_size=None)
    assert model.params["att.Wq"].shape == (3, 3)  # the attention size defaults to H
    check_model_gradients(model, SRC, None, TGT_IN, TGT_OUT, h=1e-4)


# ------------------------------------------------------------------ PyTorch reference


def _torch_cell(cell, H):
    """One step of the package's cell in PyTorch: (x (N, D), state tuple, params) -> state."""
    if cell == "gru":  # reset gate before the recurrent product (course_pkg.gru, reset_after=False)

        def step(x, state, p):
            (h,) = state
            gx = x @ p["Wx"] + p["bx"]
            gh = h @ p["Wh"][:, : 2 * H] + p["bh"][: 2 * H]
            r = torch.sigmoid(gx[:, :H] + gh[:, :H])
            z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H:])
            n = torch.tanh(gx[:, 2 * H :] + (r * h) @ p["Wh"][:, 2 * H :] + p["bh"][2 * H :])
            return (z * h + (1 - z) * n,)

        return step

    def step(x, state, p):  # LSTM, gates i, f, g, o
        h, c = state
        a = x @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, f, g, o = (a[:, k * H : (k + 1) * H] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    return step


def torch_loss_and_grads(model, src, src_lengths, tgt_in, tgt_out, tgt_mask, cell):
    """The whole model written again in PyTorch, float64, with the model's weights copied."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    H, L = model.hidden_size, model.encoder.num_layers
    step = _torch_cell(cell, H)
    n_state = 2 if cell == "lstm" else 1
    N, S = src.shape

    def layer(prefix, l):
        return {k[len(f"{prefix}{l}.") :]: v for k, v in P.items() if k.startswith(f"{prefix}{l}.")}

    # encoder: every top-layer state is a key; each layer's state at the last real step
    # starts the decoder
    inputs = P["E_src"][torch.from_numpy(src)]  # (N, S, D)
    finals = []
    for l in range(L):
        state = tuple(torch.zeros(N, H, dtype=torch.float64) for _ in range(n_state))
        outputs, states = [], []
        for t in range(S):
            state = step(inputs[:, t], state, layer("enc", l))
            outputs.append(state[0])
            states.append(state)
        inputs = torch.stack(outputs, dim=1)
        rows = torch.arange(N)
        last = torch.from_numpy(src_lengths - 1)
        finals.append(
            tuple(torch.stack([s[k] for s in states], dim=1)[rows, last] for k in range(n_state))
        )
    keys = inputs  # (N, S, H)
    mask = torch.from_numpy(np.arange(S)[None, :] < src_lengths[:, None])
    states = finals
    logits = []
    for t in range(tgt_in.shape[1]):
        query = states[-1][0]
        hidden = torch.tanh((query @ P["att.Wq"])[:, None, :] + keys @ P["att.Wk"])
        scores = (hidden @ P["att.v"]).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        context = (weights[:, :, None] * keys).sum(dim=1)
        x = torch.cat([P["E_tgt"][torch.from_numpy(tgt_in[:, t])], context], dim=1)
        new_states = []
        for l in range(L):
            state = step(x, states[l], layer("dec", l))
            new_states.append(state)
            x = state[0]
        states = new_states
        logits.append(torch.cat([x, context], dim=1) @ P["V"] + P["c"])
    logp = torch.log_softmax(torch.stack(logits, dim=1), dim=-1)
    picked = logp.gather(2, torch.from_numpy(tgt_out)[:, :, None])[:, :, 0]
    m = torch.from_numpy(tgt_mask)
    loss = -(picked * m).sum() / m.sum()
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in P.items()}


@pytest.mark.parametrize("cell,num_layers", [("gru", 1), ("lstm", 2)])
def test_matches_torch(cell, num_layers):
    model = attention_model(seed=2, cell=cell, num_layers=num_layers, H=4)
    loss, grads = model.loss_and_grads(SRC, SRC_LENGTHS, TGT_IN, TGT_OUT, TGT_MASK)
    loss_t, grads_t = torch_loss_and_grads(model, SRC, SRC_LENGTHS, TGT_IN, TGT_OUT, TGT_MASK, cell)
    assert abs(float(loss) - loss_t) < 1e-10
    assert set(grads) == set(grads_t) == set(model.params)
    for name in grads:
        assert np.abs(grads[name]).max() > 0 or name == "E_src"  # no trivially zero gradient
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=0, atol=1e-10, err_msg=name)


# ------------------------------------------------------------------ masking, forward, decoding


def test_source_padding_changes_nothing():
    model = attention_model(seed=3)
    wider = np.concatenate([SRC, np.full((3, 2), 4)], axis=1)  # two more padded columns, not 0
    logits, cache = model.forward(SRC, SRC_LENGTHS, TGT_IN)
    logits_w, cache_w = model.forward(wider, SRC_LENGTHS, TGT_IN)
    np.testing.assert_allclose(logits_w, logits, rtol=0, atol=1e-13)
    np.testing.assert_allclose(cache_w.weights[:, :, :4], cache.weights, rtol=0, atol=1e-13)
    assert np.all(cache_w.weights[:, :, 4:] == 0.0)
    assert np.all(cache.weights[1, :, 2:] == 0.0) and np.all(cache.weights[2, :, 3:] == 0.0)
    np.testing.assert_allclose(cache.weights.sum(axis=2), 1.0, rtol=0, atol=1e-14)
    loss, grads = model.loss_and_grads(SRC, SRC_LENGTHS, TGT_IN, TGT_OUT, TGT_MASK)
    loss_w, grads_w = model.loss_and_grads(wider, SRC_LENGTHS, TGT_IN, TGT_OUT, TGT_MASK)
    assert abs(float(loss_w) - float(loss)) < 1e-13
    for name in grads:
        np.testing.assert_allclose(grads_w[name], grads[name], rtol=0, atol=1e-13, err_msg=name)
    # padding as decoded: greedy and beam search give the same tokens and scores
    np.testing.assert_array_equal(
        model.greedy_decode(wider, SRC_LENGTHS, 1, 2, 5),
        model.greedy_decode(SRC, SRC_LENGTHS, 1, 2, 5),
    )
    beam, beam_w = (beam_search_decode(model, s, SRC_LENGTHS, 3, 1, 2, 5) for s in (SRC, wider))
    np.testing.assert_array_equal(beam_w.beams, beam.beams)
    np.testing.assert_allclose(beam_w.beam_log_probs, beam.beam_log_probs, rtol=0, atol=1e-12)


def test_decode_step_reproduces_the_teacher_forced_forward():
    model = attention_model(seed=4, cell="lstm", num_layers=2)
    logits, cache = model.forward(SRC, SRC_LENGTHS, TGT_IN)
    state = model.initial_states(SRC, SRC_LENGTHS)
    assert isinstance(state, AttentionDecoderState) and np.all(state.weights == 0.0)
    for t in range(TGT_IN.shape[1]):
        step_logits, state = model.decode_step(TGT_IN[:, t], state)
        np.testing.assert_allclose(step_logits, logits[:, t], rtol=0, atol=1e-12)
        np.testing.assert_allclose(state.weights, cache.weights[:, t], rtol=0, atol=1e-12)


def test_greedy_decode_and_its_weights():
    model = attention_model(seed=5, scale=1.0)
    out, weights = model.greedy_decode(SRC, SRC_LENGTHS, BOS, 2, 6, return_weights=True)
    np.testing.assert_array_equal(out, model.greedy_decode(SRC, SRC_LENGTHS, BOS, 2, 6))
    # the same tokens fed back by hand, most likely token at every step
    state = model.initial_states(SRC, SRC_LENGTHS)
    tokens, done = np.full(3, BOS), np.zeros(3, dtype=bool)
    for t in range(6):
        logits, state = model.decode_step(tokens, state)
        tokens = logits.argmax(axis=1)
        np.testing.assert_array_equal(out[:, t], np.where(done, 0, tokens))
        expected = np.where(done[:, None], 0.0, state.weights)
        np.testing.assert_allclose(weights[:, t], expected, rtol=0, atol=1e-14)
        done |= tokens == 2
    assert done.any() and not done.all()  # some row ends early, another never: both paths run
    assert np.all(weights[1, :, 2:] == 0.0)  # padded source positions


# ------------------------------------------------------------------ beam search


@pytest.mark.parametrize("kind", ["plain", "attention"])
def test_beam_size_one_is_greedy_decoding(kind):
    for seed in range(4):
        model = (
            plain_model(seed, "lstm", 2) if kind == "plain" else attention_model(seed, scale=1.0)
        )
        greedy = model.greedy_decode(SRC, SRC_LENGTHS, BOS, 2, 7)
        result = beam_search_decode(model, SRC, SRC_LENGTHS, 1, BOS, 2, 7)
        np.testing.assert_array_equal(result.tokens, greedy)
        np.testing.assert_array_equal(result.beams[:, 0], greedy)
        recomputed = sequence_log_prob(model, SRC, SRC_LENGTHS, greedy, BOS, 2)
        np.testing.assert_allclose(result.log_prob, recomputed, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["plain", "attention"])
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_scores_are_the_log_probabilities_of_a_forward_pass(kind, length_penalty):
    model = plain_model(6, "gru") if kind == "plain" else attention_model(6, "lstm", scale=1.0)
    B, max_len = 4, 5
    result = beam_search_decode(model, SRC, SRC_LENGTHS, B, BOS, 2, max_len, length_penalty)
    for b in range(B):  # every hypothesis left in the beam, scored again by teacher forcing
        recomputed = sequence_log_prob(model, SRC, SRC_LENGTHS, result.beams[:, b], BOS, 2)
        np.testing.assert_allclose(result.beam_log_probs[:, b], recomputed, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(result.tokens, result.beams[:, 0])
    np.testing.assert_array_equal(result.log_prob, result.beam_log_probs[:, 0])
    lengths = np.where(
        (result.beams == 2).any(axis=2), (result.beams == 2).argmax(axis=2) + 1, max_len
    )
    ranked = length_normalised(result.beam_log_probs, lengths, length_penalty)
    assert np.all(np.diff(ranked, axis=1) <= 0)  # best first
    for n in range(3):  # distinct hypotheses
        assert len({tuple(row) for row in result.beams[n]}) == B


# Toy decoder: <pad> 0, <bos> 1, <eos> 2, a 3, b 4; the next word depends on the previous one.
# Greedy takes a (0.6) then <eos> (0.4): probability 0.24. "b <eos>" has 0.4 * 0.9 = 0.36.
TOY = np.array(
    [
        [1.0, 0.0, 0.0, 0.0, 0.0],  # after <pad>
        [0.0, 0.0, 0.0, 0.6, 0.4],  # after <bos>
        [1.0, 0.0, 0.0, 0.0, 0.0],  # after <eos>
        [0.0, 0.0, 0.4, 0.3, 0.3],  # after a
        [0.0, 0.0, 0.9, 0.05, 0.05],  # after b
    ]
)


def toy_model():
    return bigram_decoder(np.log(np.maximum(TOY, np.exp(-60.0))))  # probability 0 as e^-60


def test_bigram_decoder_gives_the_table():
    model = toy_model()
    states = initial_decoder_states(model, np.array([[1, 1], [1, 0]]), np.array([2, 1]))
    logits, _ = model.decode_step(np.array([3, 4]), states)
    np.testing.assert_allclose(np.exp(logits), TOY[[3, 4]], rtol=1e-12, atol=1e-25)
    with pytest.raises(ValueError, match=r"log_probs must have shape \(3, 3\), got \(3, 4\)"):
        bigram_decoder(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="log_probs contains NaN or infinite values"):
        bigram_decoder(np.where(TOY > 0, 0.0, -np.inf))


def test_beam_search_beats_greedy_on_a_toy_model():
    model, src = toy_model(), np.array([[1]])
    greedy = model.greedy_decode(src, None, BOS, EOS, 4)
    np.testing.assert_array_equal(greedy, [[3, 2, 0, 0]])  # "a <eos>"
    np.testing.assert_allclose(
        sequence_log_prob(model, src, None, greedy, BOS, EOS), [np.log(0.24)], rtol=1e-12
    )
    result = beam_search_decode(model, src, None, 2, BOS, EOS, 4)
    np.testing.assert_array_equal(result.tokens, [[4, 2, 0, 0]])  # "b <eos>", more probable
    np.testing.assert_allclose(result.log_prob, [np.log(0.36)], rtol=1e-12)
    np.testing.assert_allclose(np.exp(result.beam_log_probs), [[0.36, 0.24]], rtol=1e-12)
    wide = beam_search_decode(model, src, None, 3, BOS, EOS, 4)  # "a a <eos>": 0.6 * 0.3 * 0.4
    np.testing.assert_allclose(np.exp(wide.beam_log_probs), [[0.36, 0.24, 0.072]], rtol=1e-12)


def test_length_penalty_can_prefer_a_longer_output():
    # after <bos>: <eos> (0.5) at once, or a (0.5) then <eos> (0.9): 0.45 in two tokens
    table = np.full((5, 5), 1e-30)
    table[1, [2, 3]] = 0.5
    table[3, [2, 3]] = [0.9, 0.1]
    model, src = bigram_decoder(np.log(table)), np.array([[1]])
    plain = beam_search_decode(model, src, None, 2, BOS, EOS, 3)
    np.testing.assert_array_equal(plain.tokens, [[2, 0, 0]])  # "<eos>" alone: 0.5
    long = beam_search_decode(model, src, None, 2, BOS, EOS, 3, length_penalty=2.0)
    np.testing.assert_array_equal(long.tokens, [[3, 2, 0]])  # "a <eos>": less probable, longer
    np.testing.assert_allclose(long.log_prob, [np.log(0.45)], rtol=1e-10)
    # log(0.45) / (7/6)^2 = -0.587 beats log(0.5) / 1 = -0.693
    scores = length_normalised(np.log([0.5, 0.45]), np.array([1, 2]), 2.0)
    np.testing.assert_allclose(scores, [np.log(0.5), np.log(0.45) / (7 / 6) ** 2], rtol=1e-14)
    np.testing.assert_array_equal(long.beams, [[[3, 2, 0], [2, 0, 0]]])


def test_beam_search_leaves_its_inputs_alone():
    model = attention_model(7)
    src, lengths = SRC.copy(), SRC_LENGTHS.copy()
    params = {k: v.copy() for k, v in model.params.items()}
    first = beam_search_decode(model, src, lengths, 3, BOS, 2, 5)
    second = beam_search_decode(model, src, lengths, 3, BOS, 2, 5)
    np.testing.assert_array_equal(first.beams, second.beams)
    np.testing.assert_array_equal(src, SRC)
    np.testing.assert_array_equal(lengths, SRC_LENGTHS)
    assert all(np.array_equal(model.params[k], v) for k, v in params.items())


# ------------------------------------------------------------------ scoring helpers and data


def test_exact_match_and_sequence_log_prob():
    decoded = np.array([[5, 2, 0, 0], [5, 6, 2, 0], [5, 0, 0, 0]])  # widths may differ
    reference = np.array([[5, 2, 0], [5, 2, 0], [5, 2, 0]])
    np.testing.assert_array_equal(exact_match(decoded, reference), [True, False, False])
    model = plain_model(8)
    # a row without <eos> counts all its tokens; tokens after <eos> are ignored
    tokens = np.array([[3, 4, 2, 5], [3, 4, 5, 3], [2, 5, 5, 5]])
    logits, _ = model.forward(
        SRC, SRC_LENGTHS, np.array([[1, 3, 4, 2], [1, 3, 4, 5], [1, 2, 5, 5]])
    )
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    expected = [
        logp[0, 0, 3] + logp[0, 1, 4] + logp[0, 2, 2],
        logp[1, 0, 3] + logp[1, 1, 4] + logp[1, 2, 5] + logp[1, 3, 3],
        logp[2, 0, 2],
    ]
    np.testing.assert_allclose(
        sequence_log_prob(model, SRC, SRC_LENGTHS, tokens, 1, 2), expected, rtol=0, atol=1e-12
    )


def test_word_alignment_points_at_the_digits_each_word_spells():
    cases = {
        0: [(0,)],
        7: [(0,)],
        13: [(0, 1)],
        40: [(0,)],
        305: [(0,), (), (2,)],
        110_000: [(0,), (), (1, 2), ()],
        624_765: [(0,), (), (1,), (2,), (), (3,), (), (4,), (5,)],
        500_091: [(0,), (), (), (4,), (5,)],
    }
    for value, expected in cases.items():
        assert word_alignment(value) == expected, value
    for value in np.random.default_rng(0).integers(0, 1_000_000, 2000).tolist():
        digits, spans = str(value), word_alignment(value)
        words = number_to_words(value)
        assert len(spans) == len(words)
        spelled = [p for span in spans for p in span]
        assert len(spelled) == len(set(spelled))  # no digit spelled twice
        for word, span in zip(words, spans, strict=True):
            assert (span == ()) == (word in ("hundred", "thousand"))
            if len(span) == 2:  # a teen: the tens digit is 1
                assert digits[span[0]] == "1" and span[1] == span[0] + 1
            elif span and value:
                assert digits[span[0]] != "0"
        assert {i for i, d in enumerate(digits) if d != "0"} <= set(spelled) or value == 0


def test_translation_pairs_and_uniform_digits():
    pairs = translation_pairs(np.array([624_765, 7]))
    words = [[TGT_VOCAB[i] for i in row if i > EOS] for row in pairs.tgt_out]
    assert words == [number_to_words(624_765), ["seven"]]
    np.testing.assert_array_equal(pairs.src_lengths, [6, 1])
    np.testing.assert_array_equal(pairs.src[1], [8, 0, 0, 0, 0, 0])
    held = np.arange(100, 200)
    data = number_translation(
        3000, np.random.default_rng(0), max_value=99_999, uniform_digits=True, exclude=held
    )
    counts = np.bincount(data.src_lengths, minlength=6)[1:]
    assert counts.sum() == 3000 and counts.min() > 500  # about 600 of each length 1 to 5
    values = [
        int("".join(str(d - 1) for d in row[:n]))
        for row, n in zip(data.src, data.src_lengths, strict=True)
    ]
    assert not np.isin(values, held).any() and max(values) <= 99_999
    # the default draw is what it always was: one uniform draw per pair, in order
    expected = np.random.default_rng(1).integers(0, 1_000_000, size=50)
    default = number_translation(50, np.random.default_rng(1), max_value=999_999)
    np.testing.assert_array_equal(default.src, translation_pairs(expected).src)


def test_alignment_score_counts_where_each_word_looks():
    weights = np.array(
        [
            [[0.9, 0.1, 0.0], [0.0, 0.2, 0.8], [0.0, 0.3, 0.7], [0.5, 0.5, 0.0]],
            [[0.2, 0.7, 0.1], [0.6, 0.4, 0.0], [0.1, 0.1, 0.8], [0.0, 0.0, 0.0]],
        ]
    )
    # row 0: aligned, unaligned (next aligned word at position 2), aligned; step 3 is <eos>
    # row 1: aligned to position 0 but looks at 1; unaligned with no aligned word after it
    score = alignment_score(weights, [[(0,), (), (2,)], [(0,), ()]])
    assert score.n_aligned == 3 and score.n_unaligned == 1
    assert score.on_own == pytest.approx(2 / 3, abs=1e-15)
    assert score.own_weight == pytest.approx((0.9 + 0.7 + 0.2) / 3, abs=1e-15)
    assert score.on_next == 1.0
    with pytest.raises(ValueError, match="alignments must hold one list per output, N=2, got 1"):
        alignment_score(weights, [[(0,)]])
    with pytest.raises(ValueError, match=r"alignments\[1\] does not fit weights of 4 steps"):
        alignment_score(weights, [[(0,)], [(3,)]])


def test_train_seq2seq_learns_and_is_deterministic():
    data = number_translation(200, np.random.default_rng(0), max_value=9)[:5]  # one word each

    def run():
        model = AttentionEncoderDecoder(11, len(TGT_VOCAB), 8, rng=np.random.default_rng(1))
        history = train_seq2seq(
            model, data, np.random.default_rng(2), learning_rates=(3e-2, 3e-2, 1e-2)
        )
        return model, history

    (model, history), (twin, twin_history) = run(), run()
    assert len(history.train_loss) == 3 and len(history.grad_norm) == 3 * 7  # 200 / 32 -> 7
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]  # about 2.9 -> 1.1 nats per token
    assert history.train_loss == twin_history.train_loss
    assert all(np.array_equal(model.params[k], twin.params[k]) for k in model.params)
    with pytest.raises(ValueError, match="learning_rates must hold at least one rate"):
        train_seq2seq(model, data, np.random.default_rng(0), learning_rates=())
    with pytest.raises(ValueError, match="learning rate must be a finite number > 0, got -1.0"):
        train_seq2seq(model, data, np.random.default_rng(0), learning_rates=(-1.0,))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        train_seq2seq(model, data, 0)


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    model = attention_model()
    cases = [
        (lambda: AttentionEncoderDecoder(5, 6, 3, rng=0), TypeError, "rng must be a numpy.random"),
        (
            lambda: AttentionEncoderDecoder(5, 6, 0, rng=rng),
            ValueError,
            "hidden_size must be >= 1, got 0",
        ),
        (
            lambda: AttentionEncoderDecoder(5, 6, 3, rng=rng, dtype=int),
            TypeError,
            "dtype must be float32 or float64",
        ),
        (
            lambda: AttentionEncoderDecoder(5, 6, 3, rng=rng, attention_size=2.0),
            TypeError,
            "attention_size must be an integer, got float",
        ),
        (
            lambda: model.forward(SRC + 2, SRC_LENGTHS, TGT_IN),
            ValueError,
            r"src must hold indices in \[0, 5\), got values in \[2, 6\]",
        ),
        (
            lambda: model.forward(SRC * 1.0, SRC_LENGTHS, TGT_IN),
            TypeError,
            "src must have an integer dtype, got float64",
        ),
        (
            lambda: model.forward(SRC, np.array([4, 2, 5]), TGT_IN),
            ValueError,
            r"lengths must lie in \[1, T=4\], got values in \[2, 5\]",
        ),
        (
            lambda: model.forward(SRC, SRC_LENGTHS, TGT_IN[:2]),
            ValueError,
            r"tgt_in must hold one row per source: src has N=3, tgt_in has shape \(2, 3\)",
        ),
        (
            lambda: model.forward(SRC[:, :0], None, TGT_IN),
            ValueError,
            "src must hold at least one position",
        ),
        (
            lambda: model.loss_and_grads(SRC, SRC_LENGTHS, TGT_IN, TGT_OUT[:, :2], TGT_MASK),
            ValueError,
            r"tgt_out must have shape \(3, 3\), got \(3, 2\)",
        ),
        (
            lambda: model.decode_step(np.array([1, 1, 1]), [(np.zeros((3, 3)),)]),
            TypeError,
            "state must be the AttentionDecoderState",
        ),
        (
            lambda: model.decode_step(np.array([1, 1]), model.initial_states(SRC, SRC_LENGTHS)),
            ValueError,
            r"tokens must have shape \(3,\), got \(2,\)",
        ),
        (
            lambda: model.greedy_decode(SRC, SRC_LENGTHS, 1, 6, 5),
            ValueError,
            r"eos must be in \[0, 5\], got 6",
        ),
        (
            lambda: model.greedy_decode(SRC, SRC_LENGTHS, 1, 2, 5, return_weights=1),
            TypeError,
            "return_weights must be a bool, got int",
        ),
        (
            lambda: beam_search_decode(model, SRC, SRC_LENGTHS, 0, 1, 2, 5),
            ValueError,
            r"beam_size must be in \[1, 6\], got 0",
        ),
        (
            lambda: beam_search_decode(model, SRC, SRC_LENGTHS, 7, 1, 2, 5),
            ValueError,
            r"beam_size must be in \[1, 6\], got 7",
        ),
        (
            lambda: beam_search_decode(model, SRC, SRC_LENGTHS, 2, 1, 2, 0),
            ValueError,
            "max_len must be >= 1, got 0",
        ),
        (
            lambda: beam_search_decode(model, SRC, SRC_LENGTHS, 2, 1, 2, 5, -1.0),
            ValueError,
            "length_penalty must be a finite number >= 0, got -1.0",
        ),
        (
            lambda: beam_search_decode(object(), SRC, SRC_LENGTHS, 2, 1, 2, 5),
            TypeError,
            "model must have tgt_vocab and decode_step",
        ),
        (
            lambda: initial_decoder_states(object(), SRC, None),
            TypeError,
            "model must be an EncoderDecoder or have initial_states",
        ),
        (
            lambda: exact_match(np.zeros((2, 3), dtype=int), np.zeros((3, 3), dtype=int)),
            ValueError,
            "tokens and tgt_out must hold the same number of rows",
        ),
        (
            lambda: sequence_log_prob(model, SRC, SRC_LENGTHS, np.zeros((3, 0), dtype=int), 1, 2),
            ValueError,
            "tokens must hold at least one step",
        ),
        (
            lambda: translation_pairs(np.array([1_000_000])),
            ValueError,
            r"values must hold indices in \[0, 1000000\)",
        ),
        (
            lambda: translation_pairs(np.array([], dtype=int)),
            ValueError,
            "values must hold at least one number",
        ),
        (
            lambda: number_translation(5, rng, 99, uniform_digits=True, exclude=np.arange(10)),
            ValueError,
            "exclude holds every number from 0 to 9",
        ),
        (
            lambda: number_translation(5, rng, 99, uniform_digits=1),
            TypeError,
            "uniform_digits must be a bool, got int",
        ),
        (
            lambda: word_alignment(1_000_000),
            ValueError,
            r"value must be in \[0, 999999\], got 1000000",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
