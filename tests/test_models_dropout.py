"""Dropout inside the models: gradients through a fixed mask, evaluation without it, the
variational (one mask per sequence) option, and the switch ``train=True, rng=...``."""

import numpy as np
import pytest

from course_pkg.gradcheck import check_model_gradients
from course_pkg.layers import dense_forward, dropout_forward, embedding_forward
from course_pkg.models import CharLM, Forecaster, SequenceClassifier, SequenceTagger
from course_pkg.optim import Adam
from course_pkg.train import fit

from gradutil import scaled

# ------------------------------------------------------------------ gradients through a mask


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("variational", [False, True])
def test_charlm_gradients_through_fixed_dropout_mask(cell, variational):
    rng = np.random.default_rng(0)
    model = CharLM(
        7, 4, rng=rng, cell=cell, embed_dim=3, num_layers=2, dropout=0.4, variational=variational
    )
    scaled(model, rng)
    ids = rng.integers(0, 7, size=(2, 6))
    # the generator is copied for every evaluation: the same masks, so the loss is smooth
    rng = np.random.default_rng(42)
    check_model_gradients(model, ids[:, :-1], ids[:, 1:], train=True, rng=rng, h=1e-5)
    loss = model.loss_and_grads(ids[:, :-1], ids[:, 1:], train=True, rng=rng)[0]
    # the masks really act: the training loss differs from the evaluation loss
    assert abs(loss - model.loss_and_grads(ids[:, :-1], ids[:, 1:])[0]) > 1e-3


@pytest.mark.parametrize("cell", ["rnn", "gru"])
@pytest.mark.parametrize("loss", ["bce", "ce"])
@pytest.mark.parametrize("variational", [False, True])
def test_classifier_gradients_through_fixed_dropout_mask(cell, loss, variational):
    rng = np.random.default_rng(1)
    n_out = 1 if loss == "bce" else 3
    model = SequenceClassifier(
        4,
        rng=rng,
        vocab_size=6,
        n_outputs=n_out,
        loss=loss,
        cell=cell,
        embed_dim=3,
        dropout=0.3,
        variational=variational,
    )
    scaled(model, rng)
    ids = rng.integers(1, 6, size=(3, 5))
    lengths = np.array([5, 2, 3])
    y = rng.integers(0, 2, size=3).astype(float) if loss == "bce" else rng.integers(0, 3, size=3)
    check_model_gradients(model, ids, y, lengths, train=True, rng=np.random.default_rng(7), h=1e-5)


def test_forecaster_passes_dropout_on_and_its_gradients_check():
    rng = np.random.default_rng(2)
    model = Forecaster(4, rng=rng, horizon=2, cell="lstm", dropout=0.25, variational=True)
    assert model.dropout == 0.25 and model.variational is True
    scaled(model, rng)
    x = rng.standard_normal((3, 6, 1))
    y = rng.standard_normal((3, 2))
    check_model_gradients(model, x, y, train=True, rng=np.random.default_rng(3), h=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("variational", [False, True])
def test_tagger_gradients_through_fixed_dropout_mask(bidirectional, variational):
    rng = np.random.default_rng(3)
    model = SequenceTagger(
        6,
        3,
        4,
        rng=rng,
        cell="gru",
        embed_dim=3,
        bidirectional=bidirectional,
        dropout=0.5,
        variational=variational,
    )
    scaled(model, rng)
    ids = rng.integers(1, 6, size=(3, 4))
    tags = rng.integers(0, 3, size=(3, 4))
    lengths = np.array([4, 1, 3])
    check_model_gradients(
        model, ids, tags, lengths, train=True, rng=np.random.default_rng(11), h=1e-5
    )


# ------------------------------------------------------------- against a hand-built forward


@pytest.mark.parametrize("variational", [False, True])
def test_charlm_training_forward_matches_hand_composition(variational):
    """Embedding, dropout, stack, dropout, dense: the masks drawn in that order."""
    rng = np.random.default_rng(4)
    model = CharLM(5, 3, rng=rng, cell="rnn", embed_dim=2, dropout=0.5, variational=variational)
    ids = rng.integers(0, 5, size=(2, 4))
    logits, _ = model.forward(ids, train=True, rng=np.random.default_rng(9))

    masks = np.random.default_rng(9)
    x, _ = embedding_forward(ids, model.params["E"])
    x, _ = dropout_forward(x, 0.5, masks, same_mask_over_time=variational)
    h, _ = model.stack.forward(x, model.params)
    h, _ = dropout_forward(h, 0.5, masks, same_mask_over_time=variational)
    expected, _ = dense_forward(h, model.params["V"], model.params["c"])
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-14)


# ------------------------------------------------------------------------ variational masks


def test_variational_mask_is_constant_over_time_and_ordinary_mask_is_not():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 9, size=(4, 30))
    for variational in (True, False):
        model = CharLM(9, 8, rng=np.random.default_rng(0), cell="gru", embed_dim=6, dropout=0.5,
                       variational=variational)  # fmt: skip
        _, cache = model.forward(ids, train=True, rng=np.random.default_rng(1))
        for drop, size in ((cache.drop_in, 6), (cache.drop_out, 8)):
            mask = np.broadcast_to(drop.mask, (4, 30, size))
            assert set(np.unique(mask)) == {0.0, 2.0}  # dropped, or kept and scaled by 1/(1-p)
            constant = np.all(mask == mask[:, :1], axis=1)  # (N, size): same at every step?
            if variational:
                assert drop.mask.shape == (4, 1, size)
                assert constant.all()
            else:
                assert drop.mask.shape == (4, 30, size)
                assert constant.mean() < 0.01  # 30 fair coin flips all equal: 2 * 2**-30


def test_variational_dropout_zeroes_whole_input_features_of_a_tagger():
    model = SequenceTagger(6, 3, 5, rng=np.random.default_rng(0), embed_dim=8, dropout=0.5,
                           variational=True)  # fmt: skip
    ids = np.ones((3, 7), dtype=np.int64)
    _, cache = model.forward(ids, train=True, rng=np.random.default_rng(2))
    x_dropped = cache.stack.caches[0].x  # what the recurrent layer actually read, (N, T, D)
    zero_features = np.all(x_dropped == 0.0, axis=1)  # (N, D): zero at every step
    assert zero_features.any()
    np.testing.assert_array_equal(zero_features, cache.drop_in.mask[:, 0] == 0.0)


def test_dropped_fraction_is_close_to_p():
    model = SequenceClassifier(50, rng=np.random.default_rng(0), input_size=40, dropout=0.3)
    x = np.random.default_rng(1).standard_normal((200, 5, 40))
    _, cache = model.forward(x, train=True, rng=np.random.default_rng(2))
    assert abs((cache.drop_in.mask == 0).mean() - 0.3) < 0.01  # 40 000 draws
    assert cache.drop_out.mask.shape == (200, 50)  # the one state the output layer reads
    assert abs((cache.drop_out.mask == 0).mean() - 0.3) < 0.02  # 10 000 draws


# -------------------------------------------------------------------------- evaluation mode


def test_dropout_is_off_at_evaluation():
    rng = np.random.default_rng(6)
    # the same initialisation seed for both: the same parameters
    plain = SequenceClassifier(6, rng=np.random.default_rng(0), vocab_size=8, cell="lstm")
    dropped = SequenceClassifier(
        6, rng=np.random.default_rng(0), vocab_size=8, cell="lstm", dropout=0.5, variational=True
    )
    ids = rng.integers(0, 8, size=(5, 7))
    lengths = np.array([7, 3, 5, 1, 6])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    # evaluation ignores the dropout rate entirely
    np.testing.assert_array_equal(plain.predict(ids, lengths), dropped.predict(ids, lengths))
    np.testing.assert_array_equal(dropped.predict(ids, lengths), dropped.predict(ids, lengths))
    assert plain.loss_and_grads(ids, y, lengths)[0] == dropped.loss_and_grads(ids, y, lengths)[0]
    # a training pass with dropout changes the loss; different seeds give different masks
    a = dropped.loss_and_grads(ids, y, lengths, train=True, rng=np.random.default_rng(1))[0]
    b = dropped.loss_and_grads(ids, y, lengths, train=True, rng=np.random.default_rng(2))[0]
    c = dropped.loss_and_grads(ids, y, lengths, train=True, rng=np.random.default_rng(1))[0]
    assert a != b and a == c


def test_charlm_evaluate_and_sample_never_drop():
    ids = np.random.default_rng(7).integers(0, 9, size=200)
    plain = CharLM(9, 6, rng=np.random.default_rng(0), cell="gru", embed_dim=4)
    dropped = CharLM(9, 6, rng=np.random.default_rng(0), cell="gru", embed_dim=4, dropout=0.5)
    assert plain.evaluate(ids, seq_len=50) == dropped.evaluate(ids, seq_len=50)
    a = plain.sample(ids[:3], 20, np.random.default_rng(1))
    b = dropped.sample(ids[:3], 20, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_zero_dropout_with_train_true_changes_nothing(cell):
    rng = np.random.default_rng(8)
    model = SequenceTagger(6, 3, 4, rng=rng, cell=cell, embed_dim=3, num_layers=2)
    ids = rng.integers(1, 6, size=(3, 4))
    tags = rng.integers(0, 3, size=(3, 4))
    lengths = np.array([4, 1, 3])
    masks = np.random.default_rng(0)
    state_before = masks.bit_generator.state
    loss_t, grads_t = model.loss_and_grads(ids, tags, lengths, train=True, rng=masks)
    loss_e, grads_e = model.loss_and_grads(ids, tags, lengths)
    assert loss_t == loss_e
    for k in grads_e:
        np.testing.assert_array_equal(grads_t[k], grads_e[k])
    assert masks.bit_generator.state == state_before  # nothing was drawn
    # train=True without any rng is fine when there is nothing to drop
    assert model.loss_and_grads(ids, tags, lengths, train=True)[0] == loss_e


def test_fit_trains_with_dropout():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((64, 6, 1))
    y = x[:, -1] + x[:, -2]  # (64, 1): the sum of the last two inputs
    model = Forecaster(8, rng=np.random.default_rng(0), dropout=0.1)

    def batches(epoch):
        return [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]

    masks = np.random.default_rng(1)
    history = fit(model, batches, Adam(1e-2), 30, dropout_rng=masks)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    # every step drew its masks from dropout_rng: the generator has moved on
    assert masks.bit_generator.state != np.random.default_rng(1).bit_generator.state
    # and the run is reproducible: same seeds, same losses; without dropout it differs
    again = Forecaster(8, rng=np.random.default_rng(0), dropout=0.1)
    rerun = fit(again, batches, Adam(1e-2), 30, dropout_rng=np.random.default_rng(1))
    assert rerun.train_loss == history.train_loss
    plain = Forecaster(8, rng=np.random.default_rng(0), dropout=0.1)
    assert fit(plain, batches, Adam(1e-2), 30).train_loss != history.train_loss
    with pytest.raises(TypeError, match="dropout_rng must be a numpy.random.Generator, got int"):
        fit(again, batches, Adam(1e-2), 1, dropout_rng=1)


# ------------------------------------------------------------------------------- validation


def test_dropout_arguments_are_validated():
    rng = np.random.default_rng(10)
    with pytest.raises(ValueError, match=r"dropout must be a finite number in \[0, 1\), got 1.0"):
        CharLM(5, 3, rng=rng, dropout=1.0)
    with pytest.raises(ValueError, match=r"dropout must be a finite number in \[0, 1\), got -0.1"):
        SequenceTagger(5, 2, 3, rng=rng, dropout=-0.1)
    with pytest.raises(TypeError, match="dropout must be a real number, got str"):
        SequenceClassifier(3, rng=rng, vocab_size=5, dropout="0.5")
    with pytest.raises(TypeError, match="dropout must be a real number, got bool"):
        Forecaster(3, rng=rng, dropout=True)
    with pytest.raises(TypeError, match="variational must be a bool, got int"):
        CharLM(5, 3, rng=rng, dropout=0.2, variational=1)


def test_train_and_rng_are_validated():
    model = CharLM(5, 3, rng=np.random.default_rng(0), dropout=0.2)
    ids = np.zeros((1, 4), dtype=np.int64)
    with pytest.raises(TypeError, match=r"train=True with dropout=0.2 needs rng=np\.random"):
        model.loss_and_grads(ids, ids, train=True)
    with pytest.raises(TypeError, match="got rng of type int"):
        model.forward(ids, train=True, rng=3)
    with pytest.raises(ValueError, match="rng was given but train=False"):
        model.loss_and_grads(ids, ids, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="train must be a bool, got str"):
        model.forward(ids, train="yes", rng=np.random.default_rng(0))
