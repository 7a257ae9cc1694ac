"""The showcase language model: its data split, schedule, file format and shipped weights.

The shipped weights (``course_pkg/pretrained/kjv_lstm.npz``) come from ``make lm``
(an hour on one core). ``test_short_schedule_follows_the_shipped_log`` reruns
the first 20 updates of the same recipe and checks them against the training
log stored in the file: a change to the recipe, the data or the arithmetic
that would make ``make lm`` train a different model fails here.
"""

import io

import numpy as np
import pytest

from course_pkg.datasets import load_text
from course_pkg.experiments import language_model as lm_mod
from course_pkg.experiments.language_model import (
    RECIPE,
    LMRecipe,
    kjv_split,
    learning_rate,
    load_lm,
    load_pretrained_lm,
    new_model,
    save_lm,
    train_lm,
    updates_per_epoch,
)


@pytest.fixture(scope="module")
def split():
    return kjv_split()


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained_lm()


def test_split_holds_out_the_end_of_genesis(split):
    kjv, genesis = load_text("kjv"), load_text("genesis")
    assert len(kjv) == 4_137_847 and kjv.startswith(genesis)
    held = split.vocab.decode(split.held_out)
    assert held == genesis[-10_000:]
    assert held.endswith("put in a coffin in Egypt.\n")
    train = split.vocab.decode(split.train_ids)
    assert len(train) == len(kjv) - 10_000
    assert train == genesis[:-10_000] + kjv[len(genesis) :]
    # the held-out verses occur nowhere in the training text
    assert held[2000:2300] not in train
    assert split.vocab.size == 63 and "Q" in split.vocab.chars


def test_learning_rate_schedule():
    r = LMRecipe(lr=1e-3, final_lr=1e-4, constant_fraction=0.5)
    total = 101
    assert learning_rate(r, 0, total) == 1e-3
    assert learning_rate(r, 49, total) == 1e-3
    assert learning_rate(r, 50, total) == pytest.approx(1e-3)
    assert learning_rate(r, 75, total) == pytest.approx(5.5e-4)
    assert learning_rate(r, 100, total) == pytest.approx(1e-4)
    assert updates_per_epoch(RECIPE, 4_127_847) == 644


def test_save_and_load_round_trip(split):
    recipe = LMRecipe(hidden_size=8, embed_dim=4, epochs=1)
    small = lm_mod.LMSplit(split.vocab, split.train_ids[:20_000], split.held_out[:500])
    model, log = train_lm(recipe, small, max_updates=2, every=1, held_out_every=2)
    assert log.steps == [1, 2] and np.isnan(log.held_out_loss[0])
    assert log.held_out_loss[1] == pytest.approx(model.evaluate(small.held_out))
    buf = io.BytesIO()
    save_lm(buf, model, recipe, log, small, 2)
    buf.seek(0)
    loaded = load_lm(buf, dtype=np.float32)
    assert loaded.recipe == recipe and loaded.updates == 2
    assert loaded.vocab.chars == split.vocab.chars
    for name, value in model.params.items():
        # stored as float16: within float16's rounding of the float32 weights
        np.testing.assert_allclose(loaded.model.params[name], value, rtol=1e-3, atol=1e-4)
        assert loaded.model.params[name].dtype == np.float32
    buf.seek(0)
    as64 = load_lm(buf)  # the default: float64, holding the same float16 values exactly
    for name, value in loaded.model.params.items():
        assert as64.model.params[name].dtype == np.float64
        np.testing.assert_array_equal(as64.model.params[name], value)


def test_load_rejects_a_wrong_shape(split):
    recipe = LMRecipe(hidden_size=8, embed_dim=4, epochs=1)
    model = new_model(recipe, split.vocab.size)
    log = lm_mod.TrainingLog([1], [4.0], [4.0], [0.0])
    buf = io.BytesIO()
    save_lm(buf, model, recipe._replace(hidden_size=9), log, split, 1)
    buf.seek(0)
    with pytest.raises(ValueError, match="shape"):
        load_lm(buf)


def test_bad_arguments(split):
    with pytest.raises(ValueError, match="multiple of every"):
        train_lm(RECIPE, split, max_updates=1, every=20, held_out_every=30)
    with pytest.raises(ValueError, match="max_updates"):
        train_lm(RECIPE, split, max_updates=0)


def test_shipped_model_is_the_full_recipe(shipped, split):
    assert shipped.recipe == RECIPE
    total = updates_per_epoch(RECIPE, len(split.train_ids)) * RECIPE.epochs
    assert shipped.updates == total == shipped.log.steps[-1]
    assert shipped.vocab.chars == split.vocab.chars
    # the log: every 20 updates, the held-out loss every 500 and at the end
    assert shipped.log.steps[:3] == [20, 40, 60]
    measured = [
        s for s, h in zip(shipped.log.steps, shipped.log.held_out_loss, strict=True) if h == h
    ]
    assert measured[:2] == [500, 1000] and measured[-1] == total
    # training went down: the last records are far below the first
    assert shipped.log.train_loss[-1] < shipped.log.train_loss[0] - 1.5


def test_shipped_weights_give_the_logged_held_out_loss(shipped, split):
    nats = shipped.model.evaluate(split.held_out)
    # float16 storage moves the loss by a rounding amount only
    assert abs(nats - shipped.log.held_out_loss[-1]) < 0.005
    assert nats < 1.2


def test_short_schedule_follows_the_shipped_log(shipped, split):
    _, log = train_lm(RECIPE, split, max_updates=20, every=20, held_out_every=20)
    assert log.steps == [20]
    # the same recipe, data and arithmetic: the mean loss of updates 1-20 matches
    # the full run's (float32; other processors round a little differently)
    assert log.train_loss[0] == pytest.approx(shipped.log.train_loss[0], abs=0.01)
    # on track: 20 updates already took the loss well below uniform guessing, ln 63
    assert log.train_loss[0] < np.log(63) - 0.7
    assert log.held_out_loss[0] < np.log(63) - 1.0  # and on text it never saw
