"""A number's value in, its English words out: a one-to-many task.

Taught in "Architecture types" (``book/04_architectures``), where
:class:`course_pkg.models.ConditionalGenerator` learns it. Unlike
:func:`~course_pkg.datasets.number_translation`, whose source is a sequence of
digits read one per step, here each number is one fixed-size vector, given
all at once: the model "captions" it, as a captioning model describes an
image from one vector of image features.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_index_array, check_rng
from ._checks import check_int
from .batching import pad_sequences
from .translation import BOS, EOS, MAX_NUMBER, TGT_VOCAB, number_to_words


class CaptionData(NamedTuple):
    """Numbers and their words: see :func:`number_captions`."""

    values: np.ndarray  # (n,) int64 the numbers
    features: np.ndarray  # (n, 10 * digits) float64 place-value code of each number
    tgt_in: np.ndarray  # (n, L) int64 decoder input: <bos> w_1 .. w_k, 0-padded
    tgt_out: np.ndarray  # (n, L) int64 decoder target: w_1 .. w_k <eos>, 0-padded
    tgt_mask: np.ndarray  # (n, L) float64, 1.0 on the k + 1 real target steps
    tgt_vocab: tuple  # ("<pad>", "<bos>", "<eos>", "zero", ...), as number_translation's


class CaptionSplit(NamedTuple):
    """Training and held-out numbers; no number is in both."""

    train: CaptionData
    test: CaptionData


def place_value_code(values, max_value: int = 999) -> np.ndarray:
    """One one-hot block of 10 per decimal digit, most significant digit first.

    Every number up to ``max_value`` gets as many digits as ``max_value``
    has, with leading zeros: for ``max_value=999``, 7 is coded as the digits
    0, 0, 7 and 40 as 0, 4, 0.

    Parameters
    ----------
    values : ndarray (n,) of int, in ``[0, max_value]``
    max_value : int, in [1, 999_999]

    Returns
    -------
    ndarray (n, 10 * digits) float64, digits = ``len(str(max_value))``
        Row i has a 1 at ``10 * j + d`` where ``d`` is digit ``j`` of
        ``values[i]``, and 0 elsewhere.

    Raises
    ------
    TypeError
        ``values`` not integers, ``max_value`` not an integer.
    ValueError
        ``values`` not 1-D or outside ``[0, max_value]``.

    Examples
    --------
    >>> code = place_value_code(np.array([40]), max_value=99)
    >>> code.shape, np.flatnonzero(code[0]).tolist()  # tens digit 4, units digit 0
    ((1, 20), [4, 10])
    """
    max_value = check_int("max_value", max_value, 1, MAX_NUMBER)
    values = as_index_array("values", values, ndim=1, upper=max_value + 1)
    digits = len(str(max_value))
    powers = 10 ** np.arange(digits - 1, -1, -1)  # (digits,) most significant first
    digit = (values[:, None] // powers) % 10  # (n, digits)
    code = np.zeros((len(values), digits, 10))
    np.put_along_axis(code, digit[:, :, None], 1.0, axis=2)
    return code.reshape(len(values), 10 * digits)


def _captions(values: np.ndarray, max_value: int) -> CaptionData:
    word_id = {w: i for i, w in enumerate(TGT_VOCAB)}
    tgt_in, tgt_out = [], []
    for value in values.tolist():
        words = [word_id[w] for w in number_to_words(value)]
        tgt_in.append(np.array([BOS, *words], dtype=np.int64))
        tgt_out.append(np.array([*words, EOS], dtype=np.int64))
    tgt_in_ids, lengths = pad_sequences(tgt_in)
    tgt_out_ids, _ = pad_sequences(tgt_out)
    tgt_mask = (np.arange(tgt_in_ids.shape[1]) < lengths[:, None]).astype(np.float64)
    features = place_value_code(values, max_value)
    return CaptionData(values, features, tgt_in_ids, tgt_out_ids, tgt_mask, TGT_VOCAB)


def number_captions(n_test: int, rng: np.random.Generator, max_value: int = 999) -> CaptionSplit:
    """Every number from 0 to ``max_value`` with its English words, split into train and test.

    The input of each example is one vector, the number's place-value code
    (:func:`place_value_code`); the output is its words, "three hundred
    fourteen" for 314 (:func:`~course_pkg.datasets.number_to_words`). The
    numbers are shuffled by ``rng`` and the first ``n_test`` are held out,
    so a model is scored on numbers it never saw, only their digits in
    other combinations.

    Teacher forcing, as in :func:`~course_pkg.datasets.number_translation`:
    the decoder reads ``tgt_in`` (``<bos>`` then the words) and is trained
    to output ``tgt_out`` (the words then ``<eos>``).

    Parameters
    ----------
    n_test : int
        Numbers held out, in ``[1, max_value]`` (at least one is left to train on).
    rng : numpy.random.Generator
        Shuffles the numbers before the split.
    max_value : int
        Largest number, in [1, 999_999]. There are ``max_value + 1`` numbers in all.

    Returns
    -------
    CaptionSplit
        ``train`` and ``test``, each a :class:`CaptionData`: ``values`` (n,)
        int64 in shuffled order; ``features`` (n, 10 * digits) float64;
        ``tgt_in`` and ``tgt_out`` (n, L) int64 ids of ``tgt_vocab`` (0
        ``<pad>``, 1 ``<bos>``, 2 ``<eos>``), L = most words + 1 within that
        part; ``tgt_mask`` (n, L) float64, 1 on the real target steps.

    Raises
    ------
    TypeError
        ``rng`` not a Generator; ``n_test`` or ``max_value`` not integers.
    ValueError
        ``max_value`` outside [1, 999_999]; ``n_test`` outside [1, max_value].

    Examples
    --------
    >>> split = number_captions(2, np.random.default_rng(0), max_value=9)
    >>> len(split.train.values), len(split.test.values)
    (8, 2)
    """
    max_value = check_int("max_value", max_value, 1, MAX_NUMBER)
    n_test = check_int("n_test", n_test, 1, max_value)
    check_rng(rng)
    values = rng.permutation(max_value + 1).astype(np.int64)
    return CaptionSplit(
        _captions(values[n_test:], max_value), _captions(values[:n_test], max_value)
    )
