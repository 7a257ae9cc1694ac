import warnings

import numpy as np
import pytest

from course_pkg.activations import relu
from course_pkg.experiments.sequences import (
    batch_padding_fraction,
    feedforward_param_count,
    fraction_truncated,
    next_char_counts,
    padding_fraction,
    run_recurrence,
    scale_to_spectral_radius,
    spectral_radius,
)
from course_pkg.rnn import rnn_forward, rnn_num_params

# ----------------------------------------------------------------------- padding cost


def test_padding_fraction_by_hand():
    lengths = np.array([2, 5, 3])
    assert padding_fraction(lengths) == pytest.approx((3 + 0 + 2) / 15)
    assert padding_fraction(lengths, pad_to=10) == pytest.approx((8 + 5 + 7) / 30)
    assert padding_fraction(np.array([4, 4])) == 0.0


def test_padding_fraction_rejects_truncation_and_bad_lengths():
    with pytest.raises(ValueError, match="shorter than the longest"):
        padding_fraction(np.array([2, 5]), pad_to=4)
    with pytest.raises(ValueError, match=">= 1"):
        padding_fraction(np.array([0, 3]))
    with pytest.raises(ValueError, match="empty"):
        padding_fraction(np.array([], dtype=np.int64))
    with pytest.raises(TypeError, match="integer dtype"):
        padding_fraction(np.array([2.0, 3.0]))
    with pytest.raises(ValueError, match="1-dimensional"):
        padding_fraction(np.array([[2, 3]]))
    with pytest.raises(TypeError, match="pad_to must be an integer"):
        padding_fraction(np.array([2, 3]), pad_to=4.0)


def test_batch_padding_fraction_by_hand():
    lengths = np.array([1, 4, 2, 3, 5])
    # batches [1, 4] [2, 3] [5]: padded sizes 8 + 6 + 5 = 19, real 15
    assert batch_padding_fraction(lengths, 2) == pytest.approx(1 - 15 / 19)
    # sorted [1, 2] [3, 4] [5]: 4 + 8 + 5 = 17
    assert batch_padding_fraction(lengths, 2, sort=True) == pytest.approx(1 - 15 / 17)
    # one batch is the global padding, batch size 1 has none
    assert batch_padding_fraction(lengths, 5) == pytest.approx(padding_fraction(lengths))
    assert batch_padding_fraction(lengths, 1) == 0.0


def test_batch_padding_fraction_does_not_reorder_the_input():
    lengths = np.array([5, 1, 3])
    batch_padding_fraction(lengths, 2, sort=True)
    np.testing.assert_array_equal(lengths, [5, 1, 3])


def test_batch_padding_fraction_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        batch_padding_fraction(np.array([1, 2]), 0)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        batch_padding_fraction(np.array([1, 2]), True)


def test_fraction_truncated():
    lengths = np.array([3, 8, 5, 10])
    assert fraction_truncated(lengths, 5) == 0.5
    assert fraction_truncated(lengths, 10) == 0.0
    assert fraction_truncated(lengths, 1) == 1.0
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        fraction_truncated(lengths, 0)


# ------------------------------------------------------------------ next-character counts


def test_next_char_counts_by_hand():
    text = "tomato tomb"
    r = next_char_counts(text, "to")
    assert r.occurrences == 3  # "tom", "to ", "tom"
    assert r.probs == pytest.approx({"m": 2 / 3, " ": 1 / 3})
    assert list(r.probs) == ["m", " "]  # most likely first


def test_next_char_counts_overlapping_and_text_end():
    r = next_char_counts("aaaa", "aa")  # at 0, 1 (followed by a) and 2 (end of text)
    assert r.occurrences == 2
    assert r.probs == {"a": 1.0}
    assert next_char_counts("ab", "b").occurrences == 0


def test_next_char_counts_empty_context_gives_character_frequencies():
    r = next_char_counts("abca", "")
    assert r.occurrences == 4
    assert r.probs == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.25})
    assert sum(r.probs.values()) == pytest.approx(1.0)


def test_next_char_counts_unseen_context_and_ties():
    r = next_char_counts("hello", "xyz")
    assert r.occurrences == 0 and r.probs == {}
    assert list(next_char_counts("ba ab", "").probs) == ["a", "b", " "]  # ties alphabetically


def test_next_char_counts_rejects_bad_arguments():
    with pytest.raises(TypeError, match="text must be a str"):
        next_char_counts(b"abc", "a")
    with pytest.raises(TypeError, match="context must be a str"):
        next_char_counts("abc", 1)
    with pytest.raises(ValueError, match="non-empty"):
        next_char_counts("", "a")


# -------------------------------------------------------------------- parameter counts


def test_feedforward_param_count_grows_with_T_while_rnn_does_not():
    D, H, K = 3, 4, 2
    counts = [feedforward_param_count(T, D, H, K) for T in (1, 10, 100)]
    assert counts == [T * D * H + H + H * K + K for T in (1, 10, 100)]
    assert counts[2] - counts[1] == 90 * D * H
    # with one step and no recurrent matrix, the two networks have the same size
    assert feedforward_param_count(1, D, H, K) == rnn_num_params(D, H, K) - H * H


def test_feedforward_param_count_rejects_bad_sizes():
    with pytest.raises(ValueError, match="T must be >= 1"):
        feedforward_param_count(0, 1, 1, 1)
    with pytest.raises(TypeError, match="H must be an integer"):
        feedforward_param_count(1, 1, 2.5, 1)


# --------------------------------------------------------------------------- recurrences


def _params(rng, N=2, T=5, D=3, H=4, dtype=np.float64):
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    U = rng.standard_normal((D, H)).astype(dtype)
    W = (0.5 * rng.standard_normal((H, H))).astype(dtype)
    b = rng.standard_normal(H).astype(dtype)
    return x, h0, U, W, b


def test_run_recurrence_tanh_equals_rnn_forward():
    x, h0, U, W, b = _params(np.random.default_rng(0))
    h, a = run_recurrence(x, h0, U, W, b, "tanh")
    h_ref, _ = rnn_forward(x, h0, U, W, b)
    np.testing.assert_allclose(h, h_ref, atol=1e-14)
    np.testing.assert_allclose(np.tanh(a), h, atol=1e-15)


def test_run_recurrence_relu_by_hand():
    x, h0, U, W, b = _params(np.random.default_rng(1), N=1, T=3, D=2, H=2)
    h, a = run_recurrence(x, h0, U, W, b, "relu")
    prev = h0
    for t in range(3):
        pre = x[:, t] @ U + prev @ W + b
        prev = np.maximum(pre, 0.0)
        np.testing.assert_allclose(a[:, t], pre, atol=1e-14)
        np.testing.assert_allclose(h[:, t], prev, atol=1e-14)
    np.testing.assert_allclose(h, relu(a))


def test_run_recurrence_identity_and_sigmoid():
    x, h0, U, W, b = _params(np.random.default_rng(2), T=1)
    h, a = run_recurrence(x, h0, U, W, b, "identity")
    np.testing.assert_allclose(h[:, 0], x[:, 0] @ U + h0 @ W + b, atol=1e-14)
    h, a = run_recurrence(x, h0, U, W, b, "sigmoid")
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-a)), atol=1e-15)


def test_linear_recurrence_grows_like_the_spectral_radius():
    W = np.array([[1.5, 0.0], [0.0, 0.5]])
    x = np.zeros((1, 10, 1))
    h, _ = run_recurrence(x, np.ones((1, 2)), np.zeros((1, 2)), W, np.zeros(2), "identity")
    np.testing.assert_allclose(h[0, :, 0], 1.5 ** np.arange(1, 11))
    np.testing.assert_allclose(h[0, :, 1], 0.5 ** np.arange(1, 11))


def test_run_recurrence_returns_exploding_states_without_warning():
    W = np.array([[1e200]])
    x = np.zeros((1, 4, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, _ = run_recurrence(x, np.ones((1, 1)), np.zeros((1, 1)), W, np.zeros(1), "relu")
        h_tanh, _ = run_recurrence(x, np.ones((1, 1)), np.zeros((1, 1)), W, np.zeros(1), "tanh")
    assert np.isinf(h[0, -1, 0])
    assert np.all(h_tanh == 1.0)  # tanh keeps every state in [-1, 1]


def test_run_recurrence_keeps_float32():
    args = _params(np.random.default_rng(3), dtype=np.float32)
    h, a = run_recurrence(*args, "relu")
    assert h.dtype == np.float32 and a.dtype == np.float32


def test_run_recurrence_rejects_bad_arguments():
    x, h0, U, W, b = _params(np.random.default_rng(4))
    with pytest.raises(ValueError, match="activation must be one of"):
        run_recurrence(x, h0, U, W, b, "softmax")
    with pytest.raises(ValueError, match=r"W must have shape \(4, 4\), got \(3, 3\)"):
        run_recurrence(x, h0, U, W[:3, :3], b)
    with pytest.raises(ValueError, match=r"U must have shape \(3, 4\)"):
        run_recurrence(x, h0, U.T, W, b)
    with pytest.raises(ValueError, match="x must be 3-dimensional"):
        run_recurrence(x[0], h0, U, W, b)
    with pytest.raises(TypeError, match="one float dtype"):
        run_recurrence(x.astype(np.float32), h0, U, W, b)
    with pytest.raises(ValueError, match="NaN"):
        run_recurrence(np.full_like(x, np.nan), h0, U, W, b)


def test_spectral_radius_and_rescaling():
    W = np.array([[0.0, 2.0], [-2.0, 0.0]])  # eigenvalues +-2i
    assert spectral_radius(W) == pytest.approx(2.0)
    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 6))
    B = scale_to_spectral_radius(A, 0.9)
    assert spectral_radius(B) == pytest.approx(0.9)
    np.testing.assert_allclose(B / A, 0.9 / spectral_radius(A))  # a pure rescaling
    assert spectral_radius(A) != pytest.approx(0.9)  # the input is not modified


def test_spectral_radius_rejects_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rho must be a finite number > 0"):
        scale_to_spectral_radius(np.eye(2), 0.0)
    with pytest.raises(TypeError, match="rho must be a real number"):
        scale_to_spectral_radius(np.eye(2), "1")
    with pytest.raises(ValueError, match="spectral radius 0"):
        scale_to_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)
