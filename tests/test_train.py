import numpy as np
import pytest

from course_pkg.datasets import CharVocab
from course_pkg.models import CarriedState, CharLM
from course_pkg.optim import SGD, Adam
from course_pkg.train import SeedSpread, fit, seed_spread, train_char_lm


class Quadratic:
    """loss = 0.5 * ||w - target||^2: a model whose optimum is known exactly."""

    def __init__(self, target):
        self.target = np.asarray(target, dtype=np.float64)
        self.params = {"w": np.zeros_like(self.target)}

    def loss_and_grads(self, scale=1.0):
        diff = self.params["w"] - self.target
        with np.errstate(over="ignore"):  # the divergence test overflows on purpose
            return 0.5 * scale * float(diff @ diff), {"w": scale * diff}


def one_batch(epoch):
    return [()]


def test_fit_reaches_the_optimum_and_records_history():
    model = Quadratic([1.0, -2.0])
    history = fit(model, one_batch, SGD(0.5), 20)
    np.testing.assert_allclose(model.params["w"], [1.0, -2.0], atol=1e-5)
    assert len(history.train_loss) == 20 and len(history.grad_norm) == 20
    assert history.train_loss[0] == pytest.approx(2.5)  # 0.5 * (1 + 4)
    assert history.train_loss[1] == pytest.approx(2.5 / 4)  # each step halves the error
    assert not history.diverged and not history.stopped_early


def test_fit_stops_on_divergence():
    model = Quadratic([1.0])
    history = fit(model, one_batch, SGD(3.0), 2000)  # |1 - 3| > 1: the error doubles each step
    assert history.diverged
    assert len(history.train_loss) < 2000
    assert not np.isfinite(history.train_loss[-1]) or not np.isfinite(history.grad_norm[-1])


def test_clipping_bounds_the_step():
    model = Quadratic([100.0])
    fit(model, one_batch, SGD(1.0), 1, clip_norm=2.0)
    assert model.params["w"][0] == pytest.approx(2.0)  # gradient -100 clipped to norm 2
    model = Quadratic([100.0, -0.5])
    fit(model, one_batch, SGD(1.0), 1, clip_value=1.0)
    np.testing.assert_allclose(model.params["w"], [1.0, -0.5])
    # your own clipping: called on every step's gradients, its result is the update
    seen = []

    def halve(grads):
        seen.append(grads["w"].copy())
        return {"w": grads["w"] / 2}

    model = Quadratic([4.0])
    history = fit(model, one_batch, SGD(1.0), 2, clip=halve)
    np.testing.assert_allclose(np.concatenate(seen), [-4.0, -2.0])  # w: 0 -> 2 -> 3
    assert model.params["w"][0] == pytest.approx(3.0)
    assert history.grad_norm == pytest.approx([4.0, 2.0])  # recorded before clipping


def test_early_stopping_restores_best_parameters():
    model = Quadratic([1.0])
    vals = iter([3.0, 1.0, 2.0, 2.5, 0.5])
    seen = []

    def val_loss():
        seen.append(model.params["w"].copy())
        return next(vals)

    history = fit(model, one_batch, SGD(0.1), 10, val_loss=val_loss, patience=2)
    assert history.stopped_early and history.best_epoch == 1
    assert history.val_loss == [3.0, 1.0, 2.0, 2.5]
    np.testing.assert_array_equal(model.params["w"], seen[1])


def test_fit_rejects_bad_arguments():
    model = Quadratic([1.0])
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        fit(model, one_batch, SGD(0.1), 0)
    with pytest.raises(ValueError, match=r"patience \(early stopping\) needs a val_loss"):
        fit(model, one_batch, SGD(0.1), 3, patience=1)
    with pytest.raises(TypeError, match="clip must be callable, got float"):
        fit(model, one_batch, SGD(0.1), 3, clip=1.0)


def test_truncated_bptt_carries_state_between_chunks():
    text = "abcabcabd" * 40
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    model = CharLM(vocab.size, 8, rng=np.random.default_rng(0), cell="gru", embed_dim=4)
    calls = []  # (the CarriedState object, the states it held when the chunk started)
    original = model.loss_and_grads

    def spy(inputs, targets, carry=None):
        calls.append((carry, carry.states))
        return original(inputs, targets, carry)

    model.loss_and_grads = spy
    history = train_char_lm(model, ids, Adam(1e-2), 2, batch_size=4, seq_len=10)
    per_epoch = len(calls) // 2
    assert calls[0][1] is None and calls[per_epoch][1] is None  # zero states at each epoch
    assert calls[0][0] is not calls[per_epoch][0]  # a fresh CarriedState per epoch
    assert all(states is not None for _, states in calls[1:per_epoch])  # carried within one
    assert all(carry is calls[0][0] for carry, _ in calls[:per_epoch])
    assert history.train_loss[1] < history.train_loss[0]


def test_carried_state_continues_the_text():
    # two chunks with a CarriedState give the logits of one pass over both
    text = "abcabcabd" * 4
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)[None, :]  # (1, 36)
    model = CharLM(vocab.size, 8, rng=np.random.default_rng(1), cell="lstm", embed_dim=4)
    carry = CarriedState()
    model.loss_and_grads(ids[:, :20], ids[:, 1:21], carry)
    assert len(carry.states) == 1 and len(carry.states[0]) == 2  # one layer: (h, c)
    logits, _ = model.forward(ids[:, 20:35], carry.states)
    full, _ = model.forward(ids[:, :35])
    np.testing.assert_allclose(logits, full[:, 20:], rtol=0, atol=1e-12)
    with pytest.raises(TypeError, match="carry must be a CarriedState, got list"):
        model.loss_and_grads(ids[:, :20], ids[:, 1:21], carry.states)


def test_seed_spread_gives_median_and_range():
    spread = seed_spread([0.162, 0.042, 0.027, 0.079, 0.042])  # odd count: the middle value
    assert spread == SeedSpread(median=0.042, low=0.027, high=0.162, n_runs=5)
    assert (
        seed_spread(np.array([1.0, 2.0, 3.0, 10.0])).median == 2.5
    )  # even: mean of the middle two
    single = seed_spread([7])  # integers are accepted and become floats
    assert single == (7.0, 7.0, 7.0, 1) and isinstance(single.median, float)
    assert seed_spread(np.array([0.5, -1.5], dtype=np.float32)).low == -1.5


def test_seed_spread_formats_all_three_numbers():
    spread = seed_spread([0.162, 0.042, 0.027])
    assert f"{spread:.3f}" == "0.042 (0.027 to 0.162)"
    assert f"{spread:.1e}" == "4.2e-02 (2.7e-02 to 1.6e-01)"
    assert f"{seed_spread([1.0, 2.0]):.0f}" == "2 (1 to 2)"  # 1.5 rounds half to even


def test_seed_spread_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one run, got none"):
        seed_spread([])
    with pytest.raises(ValueError, match=r"1-D, one number per run, got shape \(2, 2\)"):
        seed_spread(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"must be finite, got \[0.5, inf\]; count diverged"):
        seed_spread([0.5, np.inf])
    with pytest.raises(ValueError, match="must be finite"):
        seed_spread(np.array([np.nan]))
    with pytest.raises(TypeError, match="list or 1-D array of numbers, one per run, got float"):
        seed_spread(0.5)
    with pytest.raises(TypeError, match="real numbers, got dtype bool"):
        seed_spread([True, False])
    with pytest.raises(TypeError, match="real numbers, got dtype <U"):
        seed_spread(["0.5"])
