r"""The training loop: forward, loss, backward, optional clipping, update, repeat.

Taught in "Training and losses" (``book/05_training``).
:func:`seed_spread` summarises one result over training runs that differ only
in their seed (the multi-seed experiments of ``book/05_training`` and
``book/07_gradient_problems``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from ._validate import check_int
from .datasets import char_lm_batches
from .models import CarriedState
from .optim import clip_grad_norm, clip_grad_value


@dataclass
class History:
    """What happened during :func:`fit`, one entry per epoch (``grad_norm``: per step)."""

    train_loss: list = field(default_factory=list)  # mean training loss of each epoch
    val_loss: list = field(default_factory=list)  # validation loss after each epoch
    grad_norm: list = field(default_factory=list)  # global gradient norm before clipping
    best_epoch: int | None = None  # epoch whose parameters were kept (early stopping)
    stopped_early: bool = False
    diverged: bool = False  # the loss or the gradient became NaN or infinite


def _gradient_norm(grads: dict) -> float:
    """The global L2 norm that :func:`fit` records: plain float64 arithmetic, so it is
    ``inf`` once the squares overflow (beyond about 1e154, a gradient that has exploded);
    :func:`course_pkg.optim.global_norm` computes such norms exactly."""
    with np.errstate(over="ignore"):
        return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))


def fit(
    model,
    batches: Callable[[int], Iterable],
    optimizer,
    epochs: int,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    val_loss: Callable[[], float] | None = None,
    patience: int | None = None,
    progress: bool = False,
    on_epoch_end: Callable[[int, History], None] | None = None,
    dropout_rng: np.random.Generator | None = None,
    clip: Callable[[dict], dict] | None = None,
) -> History:
    """Train ``model`` and return its :class:`History`.

    Parameters
    ----------
    model
        Has ``params`` (dict of arrays, updated in place) and
        ``loss_and_grads(*batch) -> (loss, grads)``.
    batches : callable
        ``batches(epoch)`` returns the epoch's batches, each a tuple of the
        arguments of ``loss_and_grads`` (for truncated BPTT, with the
        epoch's :class:`~course_pkg.models.CarriedState` last).
    optimizer
        Has ``step(params, grads)`` (see :mod:`course_pkg.optim`).
    epochs : int
    clip_norm : float, optional
        Rescale the gradients when their global norm exceeds this.
    clip_value : float, optional
        Clip every gradient entry to ``[-clip_value, clip_value]``.
    val_loss : callable, optional
        ``val_loss()`` is evaluated after every epoch.
    patience : int, optional
        Early stopping (needs ``val_loss``): stop after ``patience`` epochs
        without a better validation loss, and restore the best parameters.
    progress : bool
        Show a tqdm progress bar over epochs.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, history)``, e.g. to print samples.
    dropout_rng : numpy.random.Generator, optional
        Train with dropout: every step calls
        ``model.loss_and_grads(*batch, train=True, rng=dropout_rng)``, so the
        masks come from this generator. None: ``model.loss_and_grads(*batch)``.
    clip : callable, optional
        ``clip(grads) -> grads``, your own clipping, applied to every step's
        gradients before the update (after ``clip_norm`` and ``clip_value``).

    Notes
    -----
    Training stops at once, with ``history.diverged`` set, when a loss or a
    gradient norm is not finite: the parameters would be garbage after that
    step, and the record shows where it happened.
    """
    epochs = check_int("epochs", epochs, 1)
    if patience is not None and val_loss is None:
        raise ValueError("patience (early stopping) needs a val_loss function")
    if dropout_rng is not None and not isinstance(dropout_rng, np.random.Generator):
        raise TypeError(
            f"dropout_rng must be a numpy.random.Generator, got {type(dropout_rng).__name__}"
        )
    if clip is not None and not callable(clip):
        raise TypeError(f"clip must be callable, got {type(clip).__name__}")
    options = {} if dropout_rng is None else {"train": True, "rng": dropout_rng}
    history = History()
    best, best_params, waited = np.inf, None, 0
    bar = tqdm(range(epochs), disable=not progress, desc="epochs")
    for epoch in bar:
        losses = []
        for batch in batches(epoch):
            loss, grads = model.loss_and_grads(*batch, **options)
            norm = _gradient_norm(grads)
            history.grad_norm.append(norm)
            losses.append(float(loss))
            if not (np.isfinite(loss) and np.isfinite(norm)):
                history.train_loss.append(float(np.mean(losses)))
                history.diverged = True
                return history
            if clip_norm is not None:
                grads, _ = clip_grad_norm(grads, clip_norm)
            if clip_value is not None:
                grads = clip_grad_value(grads, clip_value)
            if clip is not None:
                grads = clip(grads)
            optimizer.step(model.params, grads)
        history.train_loss.append(float(np.mean(losses)))
        if val_loss is not None:
            history.val_loss.append(float(val_loss()))
            bar.set_postfix(loss=history.train_loss[-1], val=history.val_loss[-1])
            if history.val_loss[-1] < best:
                best, waited, history.best_epoch = history.val_loss[-1], 0, epoch
                best_params = {k: v.copy() for k, v in model.params.items()}
            else:
                waited += 1
        else:
            bar.set_postfix(loss=history.train_loss[-1])
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
    if patience is not None and best_params is not None:
        for k, v in best_params.items():
            model.params[k][...] = v
    return history


def train_char_lm(
    model,
    ids,
    optimizer,
    epochs: int,
    *,
    batch_size: int = 32,
    seq_len: int = 50,
    clip_norm: float | None = 5.0,
    progress: bool = False,
    on_epoch_end: Callable[[int, History], None] | None = None,
    val_loss: Callable[[], float] | None = None,
) -> History:
    """Train a :class:`course_pkg.models.CharLM` by truncated BPTT.

    The id stream is cut into ``batch_size`` parallel rows, walked in
    chunks of ``seq_len`` characters; each chunk starts from the final state
    of the previous chunk of the same row (the state is carried, but no
    gradient flows across a chunk boundary). The state is reset to zero at
    the start of every epoch.
    """

    def batches(epoch):
        carry = CarriedState()  # every epoch starts each row from zero states
        return ((x, y, carry) for x, y in char_lm_batches(ids, batch_size, seq_len))

    return fit(
        model,
        batches,
        optimizer,
        epochs,
        clip_norm=clip_norm,
        progress=progress,
        on_epoch_end=on_epoch_end,
        val_loss=val_loss,
    )


class SeedSpread(NamedTuple):
    """Median and range of one result over runs that differ only in their seed.

    A format specification applies to all three numbers:
    ``f"{spread:.3f}"`` reads ``"0.042 (0.027 to 0.162)"``, the median
    followed by the smallest and the largest value.
    """

    median: float
    low: float  # smallest value over the runs
    high: float  # largest value over the runs
    n_runs: int

    def __format__(self, spec: str) -> str:
        return (
            f"{format(self.median, spec)} ({format(self.low, spec)} to {format(self.high, spec)})"
        )


def seed_spread(values) -> SeedSpread:
    r"""Summarise a result measured once per seed by its median and its range.

    A single training run is one draw from a distribution: another seed (or
    another CPU's rounding, in a chaotic run) gives another number. The
    book therefore runs each setting with several seeds and reports the
    median, which one unlucky run cannot move far, with the smallest and
    largest value to show how wide the distribution is.

    Parameters
    ----------
    values : sequence of float or ndarray (S,)
        One finite number per run, ``S >= 1``: a final loss, a test error,
        a gradient norm.

    Returns
    -------
    SeedSpread
        ``median``, ``low`` (minimum), ``high`` (maximum) as floats and
        ``n_runs = S``. ``f"{spread:.2f}"`` formats all three.

    Raises
    ------
    TypeError
        ``values`` is not a list, tuple or array of real numbers (strings,
        booleans, complex numbers, objects).
    ValueError
        ``values`` is not 1-D, is empty, or holds NaN or infinity (a run
        that diverged has no place in a median: count it separately).

    Notes
    -----
    For sorted values :math:`v_{(1)} \le \dots \le v_{(S)}` the median is
    :math:`v_{((S+1)/2)}` for odd :math:`S` and the mean of the two middle
    values for even :math:`S`, as :func:`numpy.median` computes it.

    Examples
    --------
    >>> s = seed_spread([0.162, 0.042, 0.027])
    >>> s.median, s.n_runs
    (0.042, 3)
    >>> f"{s:.3f}"
    '0.042 (0.027 to 0.162)'
    """
    array = np.asarray(values) if isinstance(values, (list, tuple)) else values
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"values must be a list or 1-D array of numbers, one per run, "
            f"got {type(values).__name__}"
        )
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"values must be real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"values must be 1-D, one number per run, got shape {array.shape}")
    if array.size == 0:
        raise ValueError("values must hold at least one run, got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"values must be finite, got {array.tolist()}; "
            "count diverged runs separately instead of taking their median"
        )
    array = array.astype(np.float64)
    return SeedSpread(
        float(np.median(array)), float(array.min()), float(array.max()), int(array.size)
    )
