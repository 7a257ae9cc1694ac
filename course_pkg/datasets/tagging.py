"""A toy tagging language where some words can only be tagged by looking ahead."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_rng
from ._checks import check_int, pick
from .batching import pad_sequences

TAG_NAMES = ("<pad>", "DET", "ADJ", "NOUN", "VERB", "ADV")
_DET, _ADJ_TAG, _NOUN, _VERB, _ADV = 1, 2, 3, 4, 5
TAGGING_AMBIGUOUS = ("light", "stone", "paper", "iron")  # ADJ before a noun, else NOUN
_DETS = ("the", "a", "this", "every")
_ADJECTIVES = ("old", "small", "heavy", "bright", "red", "broken")
_NOUNS = ("wall", "door", "box", "lamp", "table", "bridge", "cup", "road")
_INTRANSITIVE = ("fell", "broke", "shone", "cracked", "moved")
_TRANSITIVE = ("hit", "held", "covered", "touched")
_ADVERBS = ("slowly", "suddenly", "again", "quickly")
TAGGING_WORDS = (
    "<pad>", *_DETS, *_ADJECTIVES, *_NOUNS, *TAGGING_AMBIGUOUS,
    *_INTRANSITIVE, *_TRANSITIVE, *_ADVERBS,
)  # fmt: skip


class TaggingData(NamedTuple):
    """The toy tagging task: see :func:`toy_tagging`."""

    ids: np.ndarray  # (n, T) int64 word ids, 0-padded
    tags: np.ndarray  # (n, T) int64 tag ids, 0-padded
    lengths: np.ndarray  # (n,) int64 number of real words
    mask: np.ndarray  # (n, T) float64, 1.0 on real words
    words: tuple  # words[i] is the word with id i; words[0] == "<pad>"
    tag_names: tuple  # tag_names[j] is the tag with id j; tag_names[0] == "<pad>"


def _noun_phrase(rng: np.random.Generator) -> list[tuple[str, int]]:
    """DET [ADJ] [ambiguous word as modifier] (NOUN | ambiguous word as head)."""
    words = [(pick(rng, _DETS), _DET)]
    if rng.random() < 0.3:
        words.append((pick(rng, _ADJECTIVES), _ADJ_TAG))
    if rng.random() < 0.35:  # "the stone wall": a noun modifier, tagged ADJ
        words.append((pick(rng, TAGGING_AMBIGUOUS), _ADJ_TAG))
    if rng.random() < 0.55:  # "the stone fell": the head noun
        words.append((pick(rng, TAGGING_AMBIGUOUS), _NOUN))
    else:
        words.append((pick(rng, _NOUNS), _NOUN))
    return words


def toy_tagging(n: int, rng: np.random.Generator, max_len: int = 12) -> TaggingData:
    """Part-of-speech tagging where some words need the next word (many-to-many).

    Sentences follow the grammar ::

        S  -> NP VERB_intransitive [ADV] | NP VERB_transitive NP [ADV]
        NP -> DET [ADJ] [MOD] HEAD

    ("the old stone wall fell slowly", "a lamp hit the paper"). The words
    ``light``, ``stone``, ``paper`` and ``iron`` (:data:`TAGGING_AMBIGUOUS`)
    serve both as MOD, a noun modifier tagged ADJ ("the stone wall"), and as
    HEAD, tagged NOUN ("the stone fell"). Their tag is a function of the
    following word: ADJ if it is a noun or another ambiguous word, NOUN
    otherwise (a verb, an adverb or the end). Every other word has one tag.

    Right after DET or DET ADJ, an ambiguous word is a modifier with
    probability 0.35 and a head with probability 0.65 * 0.55 = 0.36, so
    a left-to-right tagger, which has not seen the next word yet, can only
    guess there (about 50% right); these are about 80% of the ambiguous
    tokens, and ambiguous words are about a quarter of all tokens. A
    bidirectional tagger sees the next word and can tag every token.

    Parameters
    ----------
    n : int
        Number of sentences, >= 1.
    rng : numpy.random.Generator
    max_len : int
        Longest sentence in words, >= 3; longer ones are drawn again (the
        grammar makes at most 10 words).

    Returns
    -------
    TaggingData
        ``ids`` and ``tags`` (n, T) int64 padded with 0, T the longest
        sentence drawn; ``lengths`` (n,) int64; ``mask`` (n, T) float64, 1
        on real tokens; ``words`` and ``tag_names`` the vocabularies,
        ``tag_names == ("<pad>", "DET", "ADJ", "NOUN", "VERB", "ADV")``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` or ``max_len`` not integers.
    ValueError
        ``n < 1`` or ``max_len < 3``.
    """
    n = check_int("n", n, 1)
    max_len = check_int("max_len", max_len, 3)
    check_rng(rng)
    index = {w: i for i, w in enumerate(TAGGING_WORDS)}
    word_seqs, tag_seqs = [], []
    while len(word_seqs) < n:
        pairs = _noun_phrase(rng)
        if rng.random() < 0.5:
            pairs.append((pick(rng, _INTRANSITIVE), _VERB))
        else:
            pairs.append((pick(rng, _TRANSITIVE), _VERB))
            pairs += _noun_phrase(rng)
        if rng.random() < 0.3:
            pairs.append((pick(rng, _ADVERBS), _ADV))
        if len(pairs) > max_len:
            continue
        word_seqs.append(np.array([index[w] for w, _ in pairs], dtype=np.int64))
        tag_seqs.append(np.array([t for _, t in pairs], dtype=np.int64))
    ids, lengths = pad_sequences(word_seqs)
    tags, _ = pad_sequences(tag_seqs)
    mask = (np.arange(ids.shape[1]) < lengths[:, None]).astype(np.float64)  # (n, T)
    return TaggingData(ids, tags, lengths, mask, TAGGING_WORDS, TAG_NAMES)
