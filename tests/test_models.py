"""Whole-model gradient checks: every parameter of every model, through every layer."""

import numpy as np
import pytest

from course_pkg._fused import rnn as fused_rnn
from course_pkg.cells import Cell
from course_pkg.gradcheck import check_model_gradients
from course_pkg.lstm import lstm_backward, lstm_forward
from course_pkg.models import (
    CarriedState,
    CharLM,
    ConditionalGenerator,
    EncoderDecoder,
    Forecaster,
    SequenceClassifier,
    SequenceTagger,
    count_params,
    sample_from_logits,
)

from gradutil import scaled


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_charlm_gradients_with_carried_state(cell, num_layers):
    rng = np.random.default_rng(0)
    model = CharLM(7, 4, rng=rng, cell=cell, embed_dim=3, num_layers=num_layers)
    scaled(model, rng)
    ids = rng.integers(0, 7, size=(2, 5))
    states0 = [
        tuple(0.5 * rng.standard_normal((2, 4)) for _ in range(2 if cell == "lstm" else 1))
        for _ in range(num_layers)
    ]
    carry = CarriedState(states0)
    check_model_gradients(model, ids[:, :-1], ids[:, 1:], carry, h=1e-5)
    assert carry.states is states0  # the check ran on copies of the carried state
    model.loss_and_grads(ids[:, :-1], ids[:, 1:], carry)
    final = carry.states
    # the final states are those of the last step, ready for the next chunk
    full_logits, _ = model.forward(ids[:, :-1], states0)
    assert len(final) == num_layers and final[-1][0].shape == (2, 4)
    next_logits, _ = model.forward(ids[:, -1:], final)
    joined, _ = model.forward(ids, states0)
    np.testing.assert_allclose(next_logits[:, 0], joined[:, -1], atol=1e-12)
    np.testing.assert_allclose(full_logits, joined[:, :-1], atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["bce", "ce"])
def test_classifier_gradients_with_lengths(cell, loss):
    rng = np.random.default_rng(1)
    n_out = 1 if loss == "bce" else 3
    model = SequenceClassifier(
        4, rng=rng, vocab_size=6, n_outputs=n_out, loss=loss, cell=cell, embed_dim=3
    )
    scaled(model, rng)
    ids = rng.integers(1, 6, size=(3, 5))
    lengths = np.array([5, 2, 3])
    y = rng.integers(0, 2, size=3).astype(float) if loss == "bce" else rng.integers(0, 3, size=3)
    check_model_gradients(model, ids, y, lengths, h=1e-5)
    # what follows a sequence's end does not change its prediction
    ids2 = ids.copy()
    ids2[1, 2:] = 5
    np.testing.assert_array_equal(model.predict(ids, lengths), model.predict(ids2, lengths))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forecaster_gradients(cell):
    rng = np.random.default_rng(2)
    model = Forecaster(4, rng=rng, horizon=2, cell=cell, num_layers=2)
    scaled(model, rng)
    x = rng.standard_normal((3, 6, 1))
    y = rng.standard_normal((3, 2))
    check_model_gradients(model, x, y, h=1e-5)
    assert model.predict(x).shape == (3, 2)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_gradients(cell, bidirectional):
    rng = np.random.default_rng(3)
    model = SequenceTagger(
        6, 3, 4, rng=rng, cell=cell, embed_dim=3, bidirectional=bidirectional, num_layers=2
    )
    scaled(model, rng)
    ids = rng.integers(1, 6, size=(3, 4))
    tags = rng.integers(0, 3, size=(3, 4))
    lengths = np.array([4, 1, 3])
    check_model_gradients(model, ids, tags, lengths, h=1e-5)
    pred = model.predict(ids, lengths)
    assert np.all(pred[1, 1:] == 0) and np.all(pred[2, 3:] == 0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_encoder_decoder_gradients(cell, num_layers):
    rng = np.random.default_rng(4)
    model = EncoderDecoder(5, 6, 3, rng=rng, cell=cell, embed_dim=2, num_layers=num_layers)
    scaled(model, rng)
    src = rng.integers(1, 5, size=(2, 4))
    src_lengths = np.array([4, 2])  # the encoder state is read at step 2 for row 1
    tgt_in = rng.integers(0, 6, size=(2, 3))
    tgt_out = rng.integers(0, 6, size=(2, 3))
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    check_model_gradients(model, src, src_lengths, tgt_in, tgt_out, mask, h=1e-5)


def test_greedy_decode_follows_decode_step():
    rng = np.random.default_rng(5)
    model = EncoderDecoder(5, 6, 4, rng=rng, cell="lstm")
    scaled(model, rng, 1.0)
    src = rng.integers(1, 5, size=(3, 4))
    lengths = np.array([4, 2, 3])
    out = model.greedy_decode(src, lengths, bos=1, eos=2, max_len=5)
    states, _, _ = model.encode(src, lengths)
    tokens = np.full(3, 1)
    for t in range(5):
        logits, states = model.decode_step(tokens, states)
        tokens = logits.argmax(axis=1)
        for n in range(3):
            if 2 not in out[n, :t]:
                assert out[n, t] == tokens[n]
            else:
                assert out[n, t] == 0


def test_sampling_is_seeded_and_top_k_one_is_greedy():
    rng = np.random.default_rng(6)
    model = CharLM(9, 8, rng=rng, cell="gru")
    scaled(model, rng, 1.0)
    prompt = np.array([1, 2, 3])
    a = model.sample(prompt, 20, np.random.default_rng(7), temperature=0.8)
    b = model.sample(prompt, 20, np.random.default_rng(7), temperature=0.8)
    np.testing.assert_array_equal(a, b)
    greedy = model.sample(prompt, 10, np.random.default_rng(8), top_k=1)
    ids = prompt.copy()
    for i in range(10):
        logits, _ = model.forward(ids[None])
        assert greedy[i] == logits[0, -1].argmax()
        ids = np.append(ids, greedy[i])


def test_sample_from_logits_distribution():
    logits = np.log(np.array([[0.1, 0.2, 0.7]]))
    rng = np.random.default_rng(9)
    draws = np.array([sample_from_logits(logits, rng)[0] for _ in range(20000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.1, 0.2, 0.7], atol=0.01)
    cold = np.array([sample_from_logits(logits, rng, temperature=0.1)[0] for _ in range(2000)])
    assert (cold == 2).mean() > 0.99  # (0.7/0.2)**10: almost always the top class
    top2 = np.array([sample_from_logits(logits, rng, top_k=2)[0] for _ in range(5000)])
    assert 0 not in top2
    np.testing.assert_allclose((top2 == 1).mean(), 0.2 / 0.9, atol=0.02)
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        sample_from_logits(logits, rng, temperature=0)
    with pytest.raises(ValueError, match=r"top_k must be an integer in \[1, 3\], got 4"):
        sample_from_logits(logits, rng, top_k=4)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*got int"):
        sample_from_logits(logits, 3)


def test_custom_cell_functions_are_used():
    calls = []

    # the default cell's own (fused) functions, wrapped: the model must give the same bits
    def my_forward(*args):
        calls.append("forward")
        return fused_rnn.rnn_forward(*args)

    def my_backward(*args):
        calls.append("backward")
        return fused_rnn.rnn_backward(*args)

    rng = np.random.default_rng(10)
    ours = SequenceClassifier(
        3, rng=np.random.default_rng(0), vocab_size=5, cell=Cell("rnn", my_forward, my_backward)
    )
    ref = SequenceClassifier(3, rng=np.random.default_rng(0), vocab_size=5, cell="rnn")
    ids = rng.integers(0, 5, size=(2, 4))
    y = np.array([0.0, 1.0])
    loss_a, grads_a = ours.loss_and_grads(ids, y)
    loss_b, grads_b = ref.loss_and_grads(ids, y)
    assert calls == ["forward", "backward"]
    assert loss_a == loss_b
    for k in grads_b:
        np.testing.assert_array_equal(grads_a[k], grads_b[k])


def test_an_lstm_cell_without_its_cell_state_refuses_one():
    cell = Cell("lstm", forward=lstm_forward, backward=lstm_backward, cell_state=False)
    rng = np.random.default_rng(11)
    params = cell.init_params(2, 3, rng)
    x = rng.standard_normal((1, 2, 2))
    h, cache = cell.forward(x, params, cell.zero_state(1, 3))
    with pytest.raises(ValueError, match=r"state0 must be a tuple of 1 array\(s\) \('h',\), got 2"):
        cell.forward(x, params, (h[:, -1], cache.c[:, -1]))


def test_parameter_count_does_not_depend_on_sequence_length():
    rng = np.random.default_rng(12)
    D, H, K = 10, 20, 5
    counts = {
        "rnn": D * H + H * H + H,
        "lstm": 4 * (D * H + H * H + H),
        "gru": 3 * (D * H + H * H + 2 * H),
    }
    for cell, expected in counts.items():
        model = SequenceTagger(30, K, H, rng=rng, cell=cell, embed_dim=D)
        assert count_params(model.params) == 30 * D + expected + H * K + K


def test_models_reject_bad_input():
    rng = np.random.default_rng(13)
    with pytest.raises(ValueError, match="give exactly one of vocab_size"):
        SequenceClassifier(3, rng=rng)
    with pytest.raises(
        ValueError, match=r"loss must be one of \('bce', 'ce', 'mse'\), got 'hinge'"
    ):
        SequenceClassifier(3, rng=rng, vocab_size=4, loss="hinge")
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*got int"):
        CharLM(5, 3, rng=0)
    model = CharLM(5, 3, rng=rng)
    with pytest.raises(
        ValueError, match=r"ids must hold indices in \[0, 5\), got values in \[0, 7\]"
    ):
        model.forward(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="prompt_ids must hold at least one id"):
        model.sample(np.array([], dtype=np.int64), 3, rng)
    with pytest.raises(ValueError, match="cell kind must be one of"):
        CharLM(5, 3, rng=rng, cell="lstn")


# ------------------------------------------------------------- one-to-many: ConditionalGenerator


def _generator(cell="gru", num_layers=1, classes=False, seed=14):
    """A small generator (K=6, H=3) on class ids (4 classes) or features (F=4), scaled up."""
    rng = np.random.default_rng(seed)
    kind = {"n_classes": 4} if classes else {"input_size": 4}
    model = ConditionalGenerator(
        6, 3, rng=rng, cell=cell, embed_dim=2, num_layers=num_layers, **kind
    )
    scaled(model, rng)
    inputs = rng.integers(0, 4, size=2) if classes else rng.standard_normal((2, 4))
    return model, inputs, rng


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("classes", [False, True])
def test_conditional_generator_gradients(cell, num_layers, classes):
    model, inputs, rng = _generator(cell, num_layers, classes)
    tgt_in = rng.integers(0, 6, size=(2, 4))
    tgt_out = rng.integers(0, 6, size=(2, 4))
    mask = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    # h = 1e-4: the first layer's init0.W gets gradients near 1e-5 under a 2-layer LSTM, and
    # at h = 1e-5 the rounding of the loss (about 1e-16 / h) is already 1e-7 of them
    errors = check_model_gradients(model, inputs, tgt_in, tgt_out, mask, h=1e-4)
    expected = {"init0.W", "init0.b", "E_tgt", "V", "c"} | ({"E_cls"} if classes else set())
    assert expected <= set(errors) and set(errors) == set(model.params)
    assert f"init{num_layers - 1}.W" in errors  # every layer has its own initial state


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_conditional_generator_initial_state_is_tanh_of_the_input(cell):
    model, x, rng = _generator(cell, num_layers=2)
    states = model.initial_states(x)
    assert len(states) == 2
    for layer, state in enumerate(states):
        h0 = np.tanh(x @ model.params[f"init{layer}.W"] + model.params[f"init{layer}.b"])
        np.testing.assert_allclose(state[0], h0, rtol=0, atol=1e-15)
        if cell == "lstm":
            np.testing.assert_array_equal(state[1], np.zeros((2, 3)))  # c0 = 0
        else:
            assert len(state) == 1
    # teacher forcing computes what stepping the decoder by hand computes
    tgt_in = rng.integers(0, 6, size=(2, 5))
    logits, _ = model.forward(x, tgt_in)
    for t in range(5):
        step_logits, states = model.decode_step(tgt_in[:, t], states)
        np.testing.assert_allclose(step_logits, logits[:, t], rtol=0, atol=1e-12)


def test_conditional_generator_padding_changes_nothing():
    model, inputs, _ = _generator("lstm", classes=True)
    tgt_in = np.array([[1, 3, 4], [1, 5, 0]])
    tgt_out = np.array([[3, 4, 2], [5, 2, 0]])
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    loss, grads = model.loss_and_grads(inputs, tgt_in, tgt_out, mask)
    # two more padded steps, with garbage ids where the mask is 0
    padded_in = np.array([[1, 3, 4, 5, 5], [1, 5, 3, 4, 1]])
    padded_out = np.array([[3, 4, 2, 1, 3], [5, 2, 4, 4, 5]])
    padded_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], dtype=bool)
    padded_loss, padded_grads = model.loss_and_grads(inputs, padded_in, padded_out, padded_mask)
    np.testing.assert_allclose(padded_loss, loss, rtol=1e-14)
    for k in grads:
        np.testing.assert_allclose(padded_grads[k], grads[k], rtol=1e-12, atol=1e-15)
    # no mask: every step counts
    full, _ = model.loss_and_grads(inputs, tgt_in, tgt_out)
    everything = np.ones((2, 3), dtype=bool)
    np.testing.assert_allclose(full, model.loss_and_grads(inputs, tgt_in, tgt_out, everything)[0])


def test_conditional_generator_generation_is_greedy_or_seeded():
    model = ConditionalGenerator(9, 8, rng=np.random.default_rng(15), input_size=4)
    scaled(model, np.random.default_rng(16), 1.0)
    x = np.random.default_rng(17).standard_normal((5, 4))
    greedy = model.generate(x, bos=1, eos=2, max_len=6)
    states, tokens = model.initial_states(x), np.full(5, 1)
    for t in range(6):
        logits, states = model.decode_step(tokens, states)
        tokens = logits.argmax(axis=1)
        for n in range(5):
            assert greedy[n, t] == (0 if 2 in greedy[n, :t] else tokens[n])
    a = model.generate(x, 1, 2, 6, rng=np.random.default_rng(7), temperature=1.5)
    b = model.generate(x, 1, 2, 6, rng=np.random.default_rng(7), temperature=1.5)
    np.testing.assert_array_equal(a, b)
    c = model.generate(x, 1, 2, 6, rng=np.random.default_rng(8), temperature=1.5)
    assert not np.array_equal(a, c)
    top1 = model.generate(x, 1, 2, 6, rng=np.random.default_rng(9), top_k=1)
    np.testing.assert_array_equal(top1, greedy)


def test_conditional_generator_learns_number_words_exactly():
    # one class per number 0..19, its English words out: 20 sequences of 1 or 2 words
    from course_pkg.datasets import BOS, EOS, TGT_VOCAB, number_to_words, pad_sequences
    from course_pkg.optim import Adam

    values = np.arange(20)
    words = [[TGT_VOCAB.index(w) for w in number_to_words(v)] for v in values]
    tgt_in, lengths = pad_sequences([np.array([BOS, *w]) for w in words])
    tgt_out, _ = pad_sequences([np.array([*w, EOS]) for w in words])
    mask = np.arange(tgt_in.shape[1]) < lengths[:, None]
    model = ConditionalGenerator(len(TGT_VOCAB), 16, rng=np.random.default_rng(0), n_classes=20)
    optimizer = Adam(2e-2)
    losses = []
    for _ in range(150):
        loss, grads = model.loss_and_grads(values, tgt_in, tgt_out, mask)
        optimizer.step(model.params, grads)
        losses.append(float(loss))
    assert losses[0] > 3.0 and losses[-1] < 0.01
    generated = model.generate(values, BOS, EOS, max_len=tgt_out.shape[1])
    np.testing.assert_array_equal(generated, tgt_out)  # every number spelled, then <eos>


def test_conditional_generator_rejects_bad_input():
    rng = np.random.default_rng(18)
    with pytest.raises(ValueError, match="give exactly one of n_classes .* got n_classes=None"):
        ConditionalGenerator(6, 3, rng=rng)
    with pytest.raises(ValueError, match="give exactly one of n_classes"):
        ConditionalGenerator(6, 3, rng=rng, n_classes=3, input_size=2)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*got int"):
        ConditionalGenerator(6, 3, rng=0, n_classes=3)
    with pytest.raises(ValueError, match=r"n_classes must be >= 1, got 0"):
        ConditionalGenerator(6, 3, rng=rng, n_classes=0)
    with pytest.raises(TypeError, match="input_size must be an integer, got float"):
        ConditionalGenerator(6, 3, rng=rng, input_size=2.0)
    with pytest.raises(ValueError, match="tgt_vocab must be >= 2, got 1"):
        ConditionalGenerator(1, 3, rng=rng, n_classes=3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got <class 'int'>"):
        ConditionalGenerator(6, 3, rng=rng, n_classes=3, dtype=int)
    features = ConditionalGenerator(6, 3, rng=rng, input_size=4)
    tgt = np.array([[1, 3], [1, 4]])
    with pytest.raises(
        ValueError, match=r"inputs must have shape \(N, 4\) \(input_size\), got \(2, 3\)"
    ):
        features.forward(np.zeros((2, 3)), tgt)
    with pytest.raises(TypeError, match="inputs must have dtype float64 like the parameters"):
        features.forward(np.zeros((2, 4), dtype=np.float32), tgt)
    with pytest.raises(TypeError, match="inputs must have dtype float32 or float64, got int64"):
        features.forward(np.zeros((2, 4), dtype=np.int64), tgt)
    with pytest.raises(ValueError, match="inputs contains NaN or infinite values"):
        features.forward(np.full((2, 4), np.nan), tgt)
    with pytest.raises(ValueError, match=r"tgt_in must hold one row per input: inputs have N=3"):
        features.forward(np.zeros((3, 4)), tgt)
    classes = ConditionalGenerator(6, 3, rng=rng, n_classes=3)
    with pytest.raises(ValueError, match=r"inputs must hold indices in \[0, 3\), got values in"):
        classes.forward(np.array([0, 3]), tgt)
    with pytest.raises(ValueError, match=r"inputs must be 1-dimensional, got shape \(2, 1\)"):
        classes.forward(np.array([[0], [1]]), tgt)
    with pytest.raises(ValueError, match=r"tgt_in must hold indices in \[0, 6\)"):
        classes.forward(np.array([0, 1]), np.array([[1, 6], [1, 2]]))
    with pytest.raises(ValueError, match=r"tgt_out must have shape \(2, 2\), got \(2, 3\)"):
        classes.loss_and_grads(np.array([0, 1]), tgt, np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="mask must hold only 0"):
        classes.loss_and_grads(np.array([0, 1]), tgt, tgt, np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"eos must be in \[0, 5\], got 6"):
        classes.generate(np.array([0, 1]), bos=1, eos=6, max_len=3)
    with pytest.raises(ValueError, match="max_len must be >= 1, got 0"):
        classes.generate(np.array([0, 1]), bos=1, eos=2, max_len=0)
    with pytest.raises(ValueError, match="rng=None decodes greedily: pass rng="):
        classes.generate(np.array([0, 1]), 1, 2, 3, temperature=0.5)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*got int"):
        classes.generate(np.array([0, 1]), 1, 2, 3, rng=1)
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got 0.0"):
        classes.generate(np.array([0, 1]), 1, 2, 3, rng=rng, temperature=0)
