"""The echo state network: fixed random recurrent layer, ridge-regression readout."""

from __future__ import annotations

import numpy as np
import pytest

from course_pkg.datasets import toy_sentiment
from course_pkg.experiments.sequences import spectral_radius
from course_pkg.reservoir import ReservoirClassifier
from course_pkg.rnn import rnn_forward


def small(rng_seed=0, **kwargs):
    return ReservoirClassifier(7, 5, rng=np.random.default_rng(rng_seed), embed_dim=3, **kwargs)


def test_weights_are_random_and_w_has_the_requested_spectral_radius():
    esn = small(spectral_radius=0.8)
    assert esn.embedding.shape == (7, 3) and esn.U.shape == (3, 5) and esn.W.shape == (5, 5)
    assert spectral_radius(esn.W) == pytest.approx(0.8, rel=1e-12)
    assert np.array_equal(esn.b, np.zeros(5))
    again = small(spectral_radius=0.8)
    assert np.array_equal(esn.W, again.W) and np.array_equal(esn.embedding, again.embedding)
    assert not np.array_equal(esn.W, small(1, spectral_radius=0.8).W)


def test_features_are_the_state_after_each_sequence_and_a_bias():
    esn = small()
    ids = np.array([[1, 2, 3, 0], [4, 5, 6, 6]])
    lengths = np.array([3, 4])
    features = esn.features(ids, lengths)
    h, _ = rnn_forward(esn.embedding[ids], np.zeros((2, 5)), esn.U, esn.W, esn.b)
    np.testing.assert_allclose(features[0, :5], h[0, 2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(features[1, :5], h[1, 3], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(features[:, 5], [1.0, 1.0])
    # what follows a sequence's end (padding) does not change its features
    padded = ids.copy()
    padded[0, 3] = 6
    np.testing.assert_array_equal(esn.features(padded, lengths), features)


def test_readout_is_the_ridge_regression_solution():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 7, size=(20, 6))
    lengths = rng.integers(1, 7, size=20)
    labels = rng.integers(0, 2, size=20).astype(float)
    esn = small(ridge=0.5).fit(ids, lengths, labels)
    phi = esn.features(ids, lengths)
    # ridge regression = least squares on the data stacked over sqrt(lambda) I, targets 0
    stacked = np.vstack([phi, np.sqrt(0.5) * np.eye(6)])
    targets = np.concatenate([2 * labels - 1, np.zeros(6)])
    expected = np.linalg.lstsq(stacked, targets, rcond=None)[0]
    np.testing.assert_allclose(esn.readout, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(esn.predict(ids, lengths), (phi @ expected > 0).astype(float))


def test_the_given_forward_pass_computes_the_states():
    calls = []

    def my_forward(x, h0, U, W, b):
        calls.append(x.shape)
        return rnn_forward(x, h0, U, W, b)

    esn = small(forward=my_forward)
    esn.features(np.array([[1, 2]]), np.array([2]))
    assert calls == [(1, 2, 3)]

    def zero_forward(x, h0, U, W, b):
        return np.zeros((x.shape[0], x.shape[1], W.shape[0])), None

    features = small(forward=zero_forward).features(np.array([[1, 2]]), np.array([2]))
    np.testing.assert_array_equal(features, [[0, 0, 0, 0, 0, 1.0]])


@pytest.mark.learning
def test_an_echo_state_network_classifies_toy_sentiment():
    train = toy_sentiment(2000, np.random.default_rng(0))
    test = toy_sentiment(500, np.random.default_rng(1))
    accuracies = []
    for seed in range(3):
        esn = ReservoirClassifier(len(train.vocab), 256, rng=np.random.default_rng(seed))
        esn.fit(train.ids, train.lengths, train.labels)
        accuracies.append((esn.predict(test.ids, test.lengths) == test.labels).mean())
    assert min(accuracies) > 0.9, accuracies
    tiny = ReservoirClassifier(len(train.vocab), 8, rng=np.random.default_rng(0))
    tiny.fit(train.ids, train.lengths, train.labels)
    assert (tiny.predict(test.ids, test.lengths) == test.labels).mean() < min(accuracies) - 0.1


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"vocab_size": 0}, ValueError, r"vocab_size must be >= 1, got 0"),
        ({"hidden_size": 2.0}, TypeError, r"hidden_size must be an integer, got float"),
        ({"rng": 0}, TypeError, r"rng must be a numpy.random.Generator.*got int"),
        ({"spectral_radius": -1.0}, ValueError, r"spectral_radius must be a finite number > 0"),
        ({"ridge": -0.1}, ValueError, r"ridge must be a finite number >= 0, got -0.1"),
        ({"forward": "rnn"}, TypeError, r"forward must be callable like rnn_forward, got str"),
    ],
)
def test_bad_construction_is_refused(kwargs, error, match):
    args = {"vocab_size": 7, "hidden_size": 5, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error, match=match):
        ReservoirClassifier(args.pop("vocab_size"), args.pop("hidden_size"), **args)


def test_bad_data_is_refused():
    esn = small()
    ids, lengths = np.array([[1, 2]]), np.array([2])
    with pytest.raises(ValueError, match=r"the readout is not trained yet"):
        esn.predict(ids, lengths)
    with pytest.raises(ValueError, match=r"labels must be 0 or 1, one per sequence \(1,\)"):
        esn.fit(ids, lengths, np.array([2.0]))
    with pytest.raises(ValueError, match=r"ids must hold indices in \[0, 7\)"):
        esn.features(np.array([[1, 9]]), lengths)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=2\]"):
        esn.features(ids, np.array([3]))
    wrong = small(forward=lambda x, h0, U, W, b: (np.zeros((1, 5)), None))
    with pytest.raises(ValueError, match=r"forward returned states of shape \(1, 5\), expected"):
        wrong.features(ids, lengths)
