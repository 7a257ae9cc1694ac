"""Digits to English number words: source and target of different lengths."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_rng
from ._checks import check_int
from .batching import pad_sequences

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SRC_VOCAB = ("<pad>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
TGT_VOCAB = ("<pad>", "<bos>", "<eos>", *_ONES, *_TENS[2:], "hundred", "thousand")
PAD, BOS, EOS = 0, 1, 2
MAX_NUMBER = 999_999


class TranslationData(NamedTuple):
    """The number translation task: see :func:`number_translation`."""

    src: np.ndarray  # (n, S) int64 digit ids, 0-padded
    src_lengths: np.ndarray  # (n,) int64 number of digits
    tgt_in: np.ndarray  # (n, L) int64 decoder input: <bos> w_1 .. w_k, 0-padded
    tgt_out: np.ndarray  # (n, L) int64 decoder target: w_1 .. w_k <eos>, 0-padded
    tgt_mask: np.ndarray  # (n, L) float64, 1.0 on the k + 1 real target steps
    src_vocab: tuple  # ("<pad>", "0", ..., "9")
    tgt_vocab: tuple  # ("<pad>", "<bos>", "<eos>", "zero", ...)


def _below_thousand(value: int) -> list[str]:
    hundreds, rest = divmod(value, 100)
    words = [_ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(_TENS[rest // 10])
        if rest % 10:
            words.append(_ONES[rest % 10])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(value: int) -> list[str]:
    """English words of an integer in ``[0, 999_999]``, without "and" or hyphens.

    >>> number_to_words(314)
    ['three', 'hundred', 'fourteen']
    >>> number_to_words(40_007)
    ['forty', 'thousand', 'seven']
    """
    value = check_int("value", value, 0, MAX_NUMBER)
    thousands, rest = divmod(value, 1000)
    if not thousands:
        return _below_thousand(rest)
    return _below_thousand(thousands) + ["thousand"] + (_below_thousand(rest) if rest else [])


def words_to_number(words) -> int:
    """Inverse of :func:`number_to_words`, for scoring a decoder's output.

    Parameters
    ----------
    words : str or sequence of str
        E.g. ``"three hundred fourteen"`` or ``["three", "hundred", "fourteen"]``.

    Raises
    ------
    ValueError
        An unknown word, or words that are not exactly how
        :func:`number_to_words` spells a number ("hundred three", "one one").
    """
    if isinstance(words, str):
        words = words.split()
    words = list(words)
    total, current = 0, 0
    for w in words:
        if w in _ONES:
            current += _ONES.index(w)
        elif w in _TENS[2:]:
            current += 10 * _TENS.index(w)
        elif w == "hundred":
            current *= 100
        elif w == "thousand":
            total, current = total + 1000 * current, 0
        else:
            raise ValueError(f"unknown number word {w!r} in {' '.join(words)!r}")
    value = total + current
    if not words or value > MAX_NUMBER or number_to_words(value) != words:
        raise ValueError(f"{' '.join(words)!r} is not a well-formed number")
    return value


def number_translation(n: int, rng: np.random.Generator, max_value: int = 999) -> TranslationData:
    """Translate digits into English number words (sequence to sequence).

    Source "3 1 4" becomes target "three hundred fourteen"; "4 0" becomes
    "forty" and "1 0 0" "one hundred", so the source and target lengths
    differ and neither fixes the other: a job for an encoder-decoder.
    Numbers are drawn uniformly from ``[0, max_value]``.

    Teacher forcing: the decoder reads ``tgt_in`` (``<bos>`` then the
    words) and is trained to output ``tgt_out`` (the words then ``<eos>``),
    the same sequence shifted by one step.

    Parameters
    ----------
    n : int
        Number of pairs, >= 1.
    rng : numpy.random.Generator
    max_value : int
        Largest number, in [1, 999_999].

    Returns
    -------
    TranslationData
        ``src`` (n, S) int64, digit d has id d + 1 (``src_vocab``), padded
        with 0 after the digits, S the most digits drawn; ``src_lengths``
        (n,) int64; ``tgt_in`` and ``tgt_out`` (n, L) int64 ids of
        ``tgt_vocab`` (0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``), L = most
        words + 1; ``tgt_mask`` (n, L) float64, 1 on the real target steps.
        Decode a target with :func:`words_to_number`.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` or ``max_value`` not integers.
    ValueError
        ``n < 1`` or ``max_value`` outside [1, 999_999].
    """
    n = check_int("n", n, 1)
    max_value = check_int("max_value", max_value, 1, MAX_NUMBER)
    check_rng(rng)
    word_id = {w: i for i, w in enumerate(TGT_VOCAB)}
    values = rng.integers(0, max_value + 1, size=n)
    src, tgt_in, tgt_out = [], [], []
    for value in values.tolist():
        src.append(np.array([int(d) + 1 for d in str(value)], dtype=np.int64))
        words = [word_id[w] for w in number_to_words(value)]
        tgt_in.append(np.array([BOS, *words], dtype=np.int64))
        tgt_out.append(np.array([*words, EOS], dtype=np.int64))
    src_ids, src_lengths = pad_sequences(src)
    tgt_in_ids, tgt_lengths = pad_sequences(tgt_in)
    tgt_out_ids, _ = pad_sequences(tgt_out)
    tgt_mask = (np.arange(tgt_in_ids.shape[1]) < tgt_lengths[:, None]).astype(np.float64)
    return TranslationData(
        src_ids, src_lengths, tgt_in_ids, tgt_out_ids, tgt_mask, SRC_VOCAB, TGT_VOCAB
    )
