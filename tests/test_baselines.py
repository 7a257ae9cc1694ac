"""The non-recurrent baselines: values computed by hand, gradients, and what each one can't do."""

import numpy as np
import pytest

from course_pkg.datasets import (
    make_windows,
    minibatches,
    noisy_periodic_series,
    toy_sentiment,
    toy_tagging,
)
from course_pkg.experiments.baselines import (
    BagOfWordsClassifier,
    LinearAutoregression,
    MajorityTagger,
    NgramCharModel,
    bag_of_words,
    persistence_forecast,
)
from course_pkg.gradcheck import numerical_gradient, rel_error
from course_pkg.optim import Adam
from course_pkg.train import fit

# ----------------------------------------------------------------------- bag of words


def test_bag_of_words_counts_only_real_positions():
    ids = np.array([[3, 1, 3, 0, 0], [2, 2, 2, 2, 1]])
    counts = bag_of_words(ids, 4, lengths=np.array([3, 4]))
    np.testing.assert_array_equal(counts, [[0, 1, 0, 2], [0, 0, 4, 0]])
    # without lengths every position counts, padding id 0 included
    np.testing.assert_array_equal(bag_of_words(ids, 4), [[2, 1, 0, 2], [0, 1, 4, 0]])


def test_bag_of_words_ignores_order():
    a = np.array([[1, 2, 3, 4]])
    b = np.array([[4, 3, 2, 1]])
    np.testing.assert_array_equal(bag_of_words(a, 5), bag_of_words(b, 5))


def test_bag_of_words_classifier_gradients():
    rng = np.random.default_rng(0)
    model = BagOfWordsClassifier(6, weight_decay=0.3)
    model.params["V"] = rng.standard_normal((6, 1))
    model.params["c"] = rng.standard_normal(1)
    ids = rng.integers(0, 6, size=(5, 4))
    lengths = np.array([4, 2, 3, 1, 4])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    _, grads = model.loss_and_grads(ids, y, lengths)
    for name, value in model.params.items():

        def f(v, name=name, original=value):
            model.params[name] = v
            try:
                return model.loss_and_grads(ids, y, lengths)[0]
            finally:
                model.params[name] = original

        assert rel_error(numerical_gradient(f, value), grads[name]) < 1e-8


def test_bag_of_words_classifier_starts_at_log_two_and_same_bag_same_prediction():
    model = BagOfWordsClassifier(5)
    ids = np.array([[1, 2, 3], [3, 2, 1]])
    loss, _ = model.loss_and_grads(ids, np.array([1.0, 0.0]))
    assert np.isclose(loss, np.log(2))  # all-zero weights: probability 1/2
    model.params["V"][:] = np.arange(5.0)[:, None]
    p = model.predict(ids)
    assert p[0] == p[1]  # the same words in another order


def test_bag_of_words_cannot_solve_toy_sentiment():
    # measured: test accuracy 0.57 (the recurrent classifier reaches 1.00, test_learning.py)
    train = toy_sentiment(2000, np.random.default_rng(0))
    test = toy_sentiment(500, np.random.default_rng(1))
    model = BagOfWordsClassifier(len(train.vocab))
    rng = np.random.default_rng(2)
    data = (train.ids, train.labels, train.lengths)
    history = fit(model, minibatches(data, 32, rng), Adam(0.1), 10)
    accuracy = ((model.predict(test.ids, test.lengths) > 0.5) == test.labels).mean()
    assert history.train_loss[-1] > 0.6  # barely below log 2 = 0.693
    assert accuracy < 0.65
    # on one-clause sentences without a negator the words do decide the label
    words = np.array(train.vocab)
    simple = ~np.isin(words[test.ids], ["but", "not", "never"]).any(axis=1)
    assert ((model.predict(test.ids, test.lengths) > 0.5) == test.labels)[simple].mean() > 0.8


def test_bag_of_words_validation():
    with pytest.raises(ValueError, match=r"ids must hold indices in \[0, 3\)"):
        bag_of_words(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=2\]"):
        bag_of_words(np.array([[0, 1]]), 3, lengths=np.array([3]))
    with pytest.raises(TypeError, match="vocab_size must be an integer, got float"):
        BagOfWordsClassifier(3.0)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0, got -1"):
        BagOfWordsClassifier(3, weight_decay=-1)


# ----------------------------------------------------------------------------- n-grams


def test_bigram_probabilities_by_hand():
    ids = np.array([0, 1, 0, 1, 2, 0])
    model = NgramCharModel(3, order=2, alpha=1.0).fit(ids)
    # bigrams 01, 10, 01, 12, 20: row u of the table counts what followed u
    np.testing.assert_array_equal(model.counts, [[0, 2, 0], [1, 0, 1], [1, 0, 0]])
    p = np.exp(model.log_probs())
    np.testing.assert_allclose(p[0], [1 / 5, 3 / 5, 1 / 5])  # (count + 1) / (2 + 3)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    # cross-entropy of "0 1 2": predictions p(1|0) = 3/5, p(2|1) = 2/5
    expected = -(np.log(3 / 5) + np.log(2 / 5)) / 2
    assert np.isclose(model.evaluate(np.array([0, 1, 2])), expected)


def test_unigram_is_the_character_frequency_and_higher_orders_fit_better():
    rng = np.random.default_rng(1)
    # a Markov chain: each symbol is mostly the previous one plus one (mod 4)
    ids = [0]
    for _ in range(5000):
        ids.append((ids[-1] + 1) % 4 if rng.random() < 0.9 else int(rng.integers(4)))
    ids = np.array(ids)
    uni = NgramCharModel(4, order=1, alpha=1e-9).fit(ids)
    freq = np.bincount(ids, minlength=4) / len(ids)
    np.testing.assert_allclose(np.exp(uni.log_probs()), freq, atol=1e-9)
    bi = NgramCharModel(4, order=2).fit(ids)
    assert bi.evaluate(ids) < uni.evaluate(ids) - 0.5  # the chain is first-order: context helps


def test_ngram_validation():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        NgramCharModel(5, alpha=0.0)
    with pytest.raises(ValueError, match=r"60\*\*5 entries is too large"):
        NgramCharModel(60, order=5)
    with pytest.raises(ValueError, match="at least order=3 characters, got 2"):
        NgramCharModel(5, order=3).fit(np.array([1, 2]))
    with pytest.raises(TypeError, match="order must be an integer, got float"):
        NgramCharModel(5, order=2.0)


# ----------------------------------------------------------------------------- tagging


def test_majority_tagger_by_hand():
    ids = np.array([[1, 2, 3], [1, 3, 0], [2, 2, 0]])
    tags = np.array([[1, 2, 2], [1, 3, 0], [2, 2, 0]])
    lengths = np.array([3, 2, 2])
    model = MajorityTagger(5, 4).fit(ids, tags, lengths)
    # word 1: tag 1 twice; word 2: tag 2 three times; word 3: tag 2 once and tag 3 once, a
    # tie, so the smaller id; words 0 and 4, unseen: the most frequent tag overall, 2 (4
    # times, against 2 for tag 1 and 1 for tag 3); the padding (id 0, tag 0) is not counted
    np.testing.assert_array_equal(model.table, [2, 1, 2, 2, 2])
    np.testing.assert_array_equal(model.predict(np.array([[4, 1, 2]]), np.array([2])), [[2, 1, 0]])


def test_majority_tagger_on_toy_tagging_fails_only_on_ambiguous_words():
    train = toy_tagging(1000, np.random.default_rng(0))
    test = toy_tagging(300, np.random.default_rng(1))
    model = MajorityTagger(len(train.words), len(train.tag_names))
    pred = model.fit(train.ids, train.tags, train.lengths).predict(test.ids, test.lengths)
    real = test.mask > 0
    ambiguous = np.isin(np.array(train.words)[test.ids], ["light", "stone", "paper", "iron"])
    assert (pred == test.tags)[real & ~ambiguous].mean() == 1.0
    assert 0.3 < (pred == test.tags)[real & ambiguous].mean() < 0.8


def test_majority_tagger_needs_fit():
    with pytest.raises(ValueError, match="call fit"):
        MajorityTagger(3, 2).predict(np.zeros((1, 2), dtype=np.int64))


# ------------------------------------------------------------------------- forecasting


def test_persistence_repeats_the_last_value():
    x = np.array([[[1.0], [2.0], [3.0]], [[5.0], [4.0], [-1.0]]])
    np.testing.assert_array_equal(persistence_forecast(x, 3), [[3, 3, 3], [-1, -1, -1]])
    np.testing.assert_array_equal(persistence_forecast(x[:, :, 0]), [[3], [-1]])
    with pytest.raises(ValueError, match=r"x must have shape \(N, W, 1\) or \(N, W\)"):
        persistence_forecast(np.zeros((2, 3, 2)))


def test_linear_autoregression_recovers_an_exact_recurrence():
    # s_t = 2 cos(w) s_{t-1} - s_{t-2}: a sine is predicted exactly from two lags
    w = 2 * np.pi / 24
    s = np.sin(w * np.arange(200))
    x, y = make_windows(s, 2, horizon=1)
    model = LinearAutoregression().fit(x, y)
    np.testing.assert_allclose(model.A[:, 0], [-1.0, 2 * np.cos(w)], atol=1e-9)
    np.testing.assert_allclose(model.d, 0.0, atol=1e-9)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-9)


def test_linear_autoregression_reaches_the_noise_floor_and_ridge_shrinks():
    # measured: test MSE 0.0124 (noise floor 0.01), persistence 0.436
    series = noisy_periodic_series(2000, np.random.default_rng(0))
    x, y = make_windows(series, 48, horizon=3)
    model = LinearAutoregression().fit(x[:1500], y[:1500])
    mse = ((model.predict(x[1500:]) - y[1500:]) ** 2).mean(axis=0)  # (3,)
    persistence = ((persistence_forecast(x[1500:], 3) - y[1500:]) ** 2).mean(axis=0)
    assert np.all(mse < 0.02) and np.all(mse > 0.01)
    assert np.all(persistence > 10 * mse)
    ridge = LinearAutoregression(ridge=1e3).fit(x[:1500], y[:1500])
    assert np.linalg.norm(ridge.A) < np.linalg.norm(model.A)


def test_linear_autoregression_validation():
    model = LinearAutoregression()
    with pytest.raises(ValueError, match="call fit"):
        model.predict(np.zeros((1, 3)))
    model.fit(np.zeros((4, 3)) + np.arange(3.0), np.ones((4, 1)))
    with pytest.raises(ValueError, match="windows of length 3"):
        model.predict(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="same number of examples, got 4 and 2"):
        model.fit(np.zeros((4, 3)), np.ones((2, 1)))
