"""Tests of course_pkg.experiments.inspect_cells, against values computed another way."""

import numpy as np
import pytest

from course_pkg.cells import Cell
from course_pkg.datasets import TAGGING_WORDS
from course_pkg.experiments.inspect_cells import (
    accuracy_by_word,
    cell_path_gain,
    input_gradient,
    unit_target_correlation,
)
from course_pkg.gradcheck import numerical_gradient, rel_error
from course_pkg.lstm import lstm_backward_with_cell_state, lstm_forward

from gradutil import randn


def lstm_args(rng, N=3, T=5, D=2, H=4, recurrent=True):
    Wh = randn(rng, H, 4 * H, scale=0.5) if recurrent else np.zeros((H, 4 * H))
    return dict(
        x=randn(rng, N, T, D),
        h0=randn(rng, N, H, scale=0.5),
        Wx=randn(rng, D, 4 * H, scale=0.5),
        Wh=Wh,
        b=randn(rng, 4 * H, scale=0.1),
        c0=randn(rng, N, H, scale=0.5),
    )


def test_cell_path_gain_by_hand():
    f = np.array([[[0.5], [0.9], [0.8]]])  # (N=1, T=3, H=1)
    np.testing.assert_allclose(cell_path_gain(f)[0, :, 0], [0.72, 0.8, 1.0], rtol=1e-15)


def test_cell_path_gain_is_the_cell_state_gradient_without_recurrent_weights():
    # With Wh = 0 the gates do not depend on the past, so the cell path is the only path
    # from c_T back to c_0: d c_T / d c_0 = f_1 * ... * f_T = gain[:, 0] * f[:, 0].
    rng = np.random.default_rng(4)
    args = lstm_args(rng, N=2, T=7, D=3, H=5, recurrent=False)
    h, cache = lstm_forward(**args)
    f = cache.f
    dc = np.zeros_like(h)
    dc[:, -1] = 1.0
    _, _, dc0, *_ = lstm_backward_with_cell_state(np.zeros_like(h), dc, cache)
    np.testing.assert_allclose(dc0, cell_path_gain(f)[:, 0] * f[:, 0], rtol=1e-13, atol=0)


def test_cell_path_gain_rejects_non_gates():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cell_path_gain(np.full((1, 2, 1), 1.5))
    with pytest.raises(ValueError, match="3-dimensional"):
        cell_path_gain(np.ones((2, 3)))


def test_unit_target_correlation_matches_corrcoef():
    rng = np.random.default_rng(5)
    y = rng.random(50)
    noisy = y + 0.3 * rng.standard_normal(50)
    states = np.stack([2 * y + 1, -y, np.full(50, 0.7), noisy], axis=1)  # (N, H=4)
    rho = unit_target_correlation(states, y)
    np.testing.assert_allclose(rho[:3], [1.0, -1.0, 0.0], atol=1e-12)
    assert rho[3] == pytest.approx(np.corrcoef(noisy, y)[0, 1], rel=1e-12)


def test_unit_target_correlation_rejects_bad_input():
    with pytest.raises(ValueError, match="constant"):
        unit_target_correlation(np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        unit_target_correlation(np.ones((4, 2)), np.arange(3.0))
    with pytest.raises(ValueError, match="two examples"):
        unit_target_correlation(np.ones((1, 2)), np.ones(1))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_input_gradient_matches_numerical_gradient(kind):
    rng = np.random.default_rng(7)
    cell = Cell(kind)
    N, T, D, H = 2, 5, 3, 4
    params = cell.init_params(D, H, rng)
    x, v = randn(rng, N, T, D), randn(rng, H)

    def readout(xx):
        h, _ = cell.forward(xx, params, cell.zero_state(N, H))
        return h[:, -1] @ v  # (N,)

    num = numerical_gradient(readout, x, np.ones(N))
    assert rel_error(num, input_gradient(kind, params, x, v)) < 1e-7


def test_input_gradient_of_a_memoryless_rnn_sees_only_the_last_step():
    # with W = 0 the last state depends on the last input only
    rng = np.random.default_rng(8)
    params = {"U": randn(rng, 2, 3), "W": np.zeros((3, 3)), "b": np.zeros(3)}
    x = randn(rng, 4, 6, 2)
    dx = input_gradient("rnn", params, x, np.ones(3))
    assert np.all(dx[:, :-1] == 0)
    h_last = np.tanh(x[:, -1] @ params["U"])
    np.testing.assert_allclose(dx[:, -1], (1 - h_last**2) @ params["U"].T, rtol=1e-13)


def test_input_gradient_rejects_a_wrong_readout_or_missing_parameters():
    params = Cell("rnn").init_params(2, 3, np.random.default_rng(9))
    with pytest.raises(ValueError, match="shape"):
        input_gradient("rnn", params, np.zeros((1, 4, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        input_gradient("rnn", {"U": params["U"], "W": params["W"]}, np.zeros((1, 4, 2)), np.ones(3))


def test_accuracy_by_word_counts_real_tokens_only():
    words = ("<pad>", "the", "stone", "fell")
    ids = np.array([[1, 2, 3], [1, 2, 0]])
    tags = np.array([[1, 3, 4], [1, 2, 0]])
    pred = np.array([[1, 2, 4], [1, 2, 3]])  # "stone" wrong once, padding "wrong" but masked
    mask = np.array([[1.0, 1, 1], [1, 1, 0]])
    result = accuracy_by_word(ids, tags, pred, mask, words)
    assert result == {"the": (2, 1.0), "stone": (2, 0.5), "fell": (1, 1.0)}


def test_accuracy_by_word_rejects_mismatched_shapes():
    ids = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="shape of ids"):
        accuracy_by_word(ids, ids, ids[:, :2], np.ones((2, 3)), TAGGING_WORDS)
    with pytest.raises(TypeError, match="integer"):
        accuracy_by_word(ids, ids, ids.astype(float), np.ones((2, 3)), TAGGING_WORDS)
