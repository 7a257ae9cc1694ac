"""Tests of course_pkg.datasets: the shipped corpus, the synthetic tasks, batching."""

import hashlib
import itertools
import math
import re
from collections import Counter, defaultdict
from importlib import resources

import numpy as np
import pytest

from course_pkg import datasets as ds
from course_pkg.datasets import (
    CharVocab,
    adding_problem,
    batches,
    char_lm_batches,
    copy_task,
    load_text,
    make_windows,
    minibatches,
    noisy_periodic_series,
    number_to_words,
    number_translation,
    pad_sequences,
    parity_task,
    sentiment_label,
    toy_sentiment,
    toy_tagging,
    words_to_number,
)

GENESIS_CHARS = 196_818
GENESIS_ALPHABET = 60
GENESIS_SHA256 = "e7b72bfd25d395f55a3bd0c1ada5cbf3fd627f61734d239503d834ac9b5e23b6"


def rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def genesis():
    return load_text("genesis")


def test_genesis_is_ascii_verses_of_the_documented_size(genesis):
    assert len(genesis) == GENESIS_CHARS
    assert len(set(genesis)) == GENESIS_ALPHABET
    assert genesis.isascii()
    assert hashlib.sha256(genesis.encode("ascii")).hexdigest() == GENESIS_SHA256
    lines = genesis.split("\n")
    assert lines[-1] == ""  # ends with a newline
    assert len(lines) - 1 == 1533  # the verses of Genesis
    assert lines[0] == "In the beginning God created the heaven and the earth."
    assert lines[-2].startswith("So Joseph died")
    assert all(line == line.strip() and line for line in lines[:-1])
    assert not re.search(r"\d", genesis)  # verse references were removed
    assert set(genesis) <= set("\n !'(),.:;?-\"") | set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )


def test_corpus_readme_states_the_shipped_size_and_hash(genesis):
    readme = (resources.files("course_pkg.corpora") / "README.md").read_text(encoding="utf-8")
    assert f"{len(genesis):,} characters" in readme
    assert f"{GENESIS_ALPHABET} distinct characters" in readme
    assert GENESIS_SHA256 in readme
    assert "bible-kjv-text" in readme and "4.38" in readme


def test_kjv_is_the_whole_bible_read_from_its_xz_file():
    import hashlib

    kjv = load_text("kjv")
    assert hashlib.sha256(kjv.encode("ascii")).hexdigest() == (
        "376f0fd8429cec6cc77659d428b2debd01f069dbfb3917776a09a36a7cfed5c4"
    )
    assert kjv.startswith(load_text("genesis"))
    assert kjv.count("\n") == 31_102  # one verse per line
    assert kjv.endswith("The grace of our Lord Jesus Christ be with you all. Amen.\n")


def test_load_text_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown corpus 'shakespeare'; available: genesis, kjv"):
        load_text("shakespeare")
    with pytest.raises(TypeError, match="name must be a str, got int"):
        load_text(3)


def test_char_vocab_round_trips_the_corpus(genesis):
    vocab = CharVocab.from_text(genesis)
    assert vocab.size == GENESIS_ALPHABET == len(vocab.chars)
    assert list(vocab.chars) == sorted(set(genesis))
    ids = vocab.encode(genesis)
    assert ids.dtype == np.int64 and ids.shape == (len(genesis),)
    assert vocab.decode(ids) == genesis
    assert vocab.chars[ids[0]] == "I"
    assert vocab.encode("").shape == (0,)


def test_char_vocab_small_example_and_errors():
    vocab = CharVocab.from_text("hello")
    assert vocab.chars == ("e", "h", "l", "o")
    np.testing.assert_array_equal(vocab.encode("hole"), [1, 3, 2, 0])
    assert vocab.decode([1, 0, 2, 2, 3]) == "hello"
    with pytest.raises(ValueError, match=r"character 'x' at position 2 is not in the vocabulary"):
        vocab.encode("hoxl")
    with pytest.raises(ValueError, match=r"ids must hold indices in \[0, 4\), got values in"):
        vocab.decode(np.array([0, 4]))
    with pytest.raises(TypeError, match="ids must have an integer dtype, got float64"):
        vocab.decode(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="text must be non-empty"):
        CharVocab.from_text("")
    with pytest.raises(TypeError, match="text must be a str, got list"):
        vocab.encode(["h"])


# ----------------------------------------------------------------------- determinism

GENERATORS = {
    "adding": lambda g: adding_problem(5, 10, g),
    "copy": lambda g: copy_task(5, 4, 3, 2, g),
    "parity": lambda g: parity_task(5, 8, g),
    "sentiment": lambda g: toy_sentiment(20, g)[:3],
    "tagging": lambda g: toy_tagging(20, g)[:4],
    "series": lambda g: (noisy_periodic_series(50, g),),
    "translation": lambda g: number_translation(20, g)[:5],
    "batches": lambda g: tuple(batches(10, 3, g)),
}


def _same(a, b):
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_different_seed_different_data(name):
    make = GENERATORS[name]
    assert _same(make(rng(1)), make(rng(1)))
    assert not _same(make(rng(1)), make(rng(2)))


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_reject_a_seed_in_place_of_a_generator(name):
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator .*got int"):
        GENERATORS[name](42)


def test_legacy_random_state_is_rejected_too():
    with pytest.raises(TypeError, match="got RandomState"):
        parity_task(3, 4, np.random.RandomState(0))


# ------------------------------------------------------------------------ memory tasks


def test_adding_problem_targets_are_the_marked_sums():
    x, y = adding_problem(500, 9, rng())
    assert x.shape == (500, 9, 2) and y.shape == (500,) and x.dtype == y.dtype == np.float64
    values, markers = x[..., 0], x[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)  # exactly two markers
    np.testing.assert_array_equal(markers[:, :4].sum(axis=1), 1.0)  # one in [0, T // 2)
    np.testing.assert_array_equal(markers[:, 4:].sum(axis=1), 1.0)  # one in [T // 2, T)
    for i in range(500):
        first, second = np.flatnonzero(markers[i])
        assert y[i] == values[i, first] + values[i, second]


def test_adding_problem_constant_one_baseline_is_one_sixth():
    _, y = adding_problem(200_000, 4, rng(3))
    mse = np.mean((y - 1.0) ** 2)
    assert abs(mse - 1 / 6) < 0.004  # the standard error is about 0.0004
    assert abs(y.mean() - 1.0) < 0.005


def test_adding_problem_float32_and_smallest_T():
    x, y = adding_problem(3, 2, rng(), dtype=np.float32)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x[..., 1], 1.0)  # T = 2: both steps are marked
    np.testing.assert_array_equal(y, x[:, 0, 0] + x[:, 1, 0])


def test_copy_task_targets_are_the_inputs_shifted():
    n_symbols, length, delay = 6, 4, 3
    inputs, targets, mask = copy_task(200, n_symbols, length, delay, rng())
    T = 2 * length + delay + 1
    assert inputs.shape == targets.shape == mask.shape == (200, T)
    assert inputs.dtype == targets.dtype == np.int64 and mask.dtype == np.float64
    symbols = inputs[:, :length]
    assert symbols.min() >= 1 and symbols.max() <= n_symbols
    np.testing.assert_array_equal(inputs[:, length : length + delay], 0)
    np.testing.assert_array_equal(inputs[:, length + delay], n_symbols + 1)  # go
    np.testing.assert_array_equal(inputs[:, length + delay + 1 :], 0)
    np.testing.assert_array_equal(targets[:, -length:], symbols)
    np.testing.assert_array_equal(targets[:, :-length], 0)
    np.testing.assert_array_equal(mask, (np.arange(T) >= T - length) * np.ones((200, 1)))


def test_copy_task_symbols_are_uniform_so_chance_is_log_n_symbols():
    inputs, _, _ = copy_task(20_000, 5, 10, 0, rng(4))
    freq = np.bincount(inputs[:, :10].ravel(), minlength=6)[1:] / inputs[:, :10].size
    entropy = -np.sum(freq * np.log(freq))
    assert abs(entropy - math.log(5)) < 1e-3
    inputs, targets, _ = copy_task(2, 3, 2, 0, rng())  # delay 0: go right after the symbols
    assert inputs.shape == (2, 5)
    np.testing.assert_array_equal(inputs[:, 2], 4)
    np.testing.assert_array_equal(targets[:, 3:], inputs[:, :2])


def test_parity_task_labels_are_the_parity():
    x, y = parity_task(300, 7, rng())
    assert x.shape == (300, 7, 1) and y.shape == (300,)
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(y, x[:, :, 0].sum(axis=1) % 2)
    assert 0.4 < y.mean() < 0.6
    x1, y1 = parity_task(10, 1, rng(), dtype=np.float32)
    assert y1.dtype == np.float32
    np.testing.assert_array_equal(y1, x1[:, 0, 0])  # one bit: parity is the bit


# --------------------------------------------------------------------------- sentiment


@pytest.mark.parametrize(
    ("sentence", "label"),
    [
        ("good", 1),
        ("not good", 0),
        ("the movie was not very good", 0),
        ("never bad", 1),
        ("i did not hate this film", 1),
        ("i really loved this film", 1),
        ("bad but great", 1),
        ("great but bad", 0),
        ("the plot was bad but the acting was great", 1),
        ("the plot was not bad but the acting was not great", 0),
        ("not good but not bad", 1),
    ],
)
def test_sentiment_rule_on_hand_written_sentences(sentence, label):
    assert sentiment_label(sentence) == label
    assert sentiment_label(sentence.split()) == label


def test_sentiment_rule_refuses_a_clause_without_sentiment():
    with pytest.raises(ValueError, match=r"cannot label 'good but the movie'"):
        sentiment_label("good but the movie")


def _sentences(data):
    return [[data.vocab[j] for j in data.ids[i, : data.lengths[i]]] for i in range(len(data.ids))]


def test_toy_sentiment_labels_follow_the_rule_and_order_matters():
    data = toy_sentiment(3000, rng())
    assert data.vocab[0] == "<pad>"
    assert data.ids.dtype == data.lengths.dtype == np.int64 and data.labels.dtype == np.float64
    assert data.ids.shape == (3000, data.lengths.max()) and data.lengths.max() <= 12
    for i, length in enumerate(data.lengths):
        assert np.all(data.ids[i, :length] > 0) and np.all(data.ids[i, length:] == 0)
    sentences = _sentences(data)
    np.testing.assert_array_equal(data.labels, [sentiment_label(s) for s in sentences])
    assert 0.47 < data.labels.mean() < 0.53  # balanced
    two_clause = [s for s in sentences if "but" in s]
    negated = [s for s in sentences if {"not", "never"} & set(s)]
    assert 0.4 < len(two_clause) / len(sentences) < 0.55  # drawn with probability 1/2
    assert 0.3 < len(negated) / len(sentences) < 0.7
    for s in two_clause[:200]:  # swapping the clauses swaps the label: order matters
        k = s.index("but")
        assert sentiment_label([*s[k + 1 :], "but", *s[:k]]) == 1 - sentiment_label(s)
    # a negator occurs in both classes, so its presence alone says nothing
    labels_with_not = {sentiment_label(s) for s in negated}
    assert labels_with_not == {0, 1}


def test_toy_sentiment_short_max_len_drops_two_clause_sentences():
    data = toy_sentiment(200, rng(), max_len=6)
    assert data.lengths.max() <= 6 and data.lengths.min() >= 4
    assert all("but" not in s for s in _sentences(data))
    with pytest.raises(ValueError, match="max_len must be >= 4, got 3"):
        toy_sentiment(5, rng(), max_len=3)


# ----------------------------------------------------------------------------- tagging


def test_toy_tagging_ambiguous_words_take_the_tag_the_next_word_decides():
    data = toy_tagging(3000, rng())
    adj, noun = data.tag_names.index("ADJ"), data.tag_names.index("NOUN")
    assert data.tag_names[0] == "<pad>" and data.words[0] == "<pad>"
    np.testing.assert_array_equal(data.mask, (data.tags != 0).astype(np.float64))
    np.testing.assert_array_equal(data.mask.sum(axis=1), data.lengths)
    np.testing.assert_array_equal(data.ids != 0, data.tags != 0)
    ambiguous = {data.words.index(w) for w in ds.TAGGING_AMBIGUOUS}

    tags_of = defaultdict(set)  # word id -> tags it takes
    tag_given_next = defaultdict(set)  # next word id (0 = end) -> tags of an ambiguous word
    n_ambiguous = 0
    for i, length in enumerate(data.lengths):
        for t in range(length):
            w, tag = data.ids[i, t], data.tags[i, t]
            tags_of[w].add(tag)
            if w in ambiguous:
                n_ambiguous += 1
                tag_given_next[data.ids[i, t + 1] if t + 1 < length else 0].add(tag)
    for w in ambiguous:
        assert tags_of[w] == {adj, noun}
    assert all(len(tags) == 1 for w, tags in tags_of.items() if w not in ambiguous)
    assert all(len(tags) == 1 for tags in tag_given_next.values())  # a function of the next word
    nouns = {w for w, tags in tags_of.items() if tags == {noun}}
    for nxt, tags in tag_given_next.items():
        assert tags == ({adj} if nxt in nouns | ambiguous else {noun})
    assert n_ambiguous / data.lengths.sum() >= 0.10


def test_toy_tagging_left_context_cannot_decide_the_ambiguous_words():
    data = toy_tagging(4000, rng(5))
    adj = data.tag_names.index("ADJ")
    det_or_adj = {data.words.index(w) for w in ("the", "a", "this", "every", "old", "red")}
    ambiguous = {data.words.index(w) for w in ds.TAGGING_AMBIGUOUS}
    after_det = Counter()  # tag of an ambiguous word right after a determiner or adjective
    for i, length in enumerate(data.lengths):
        for t in range(1, length):
            if data.ids[i, t] in ambiguous and data.ids[i, t - 1] in det_or_adj:
                after_det[data.tags[i, t] == adj] += 1
    share_adj = after_det[True] / (after_det[True] + after_det[False])
    assert 0.4 < share_adj < 0.6  # a left-to-right tagger can only guess here


def test_toy_tagging_respects_max_len():
    data = toy_tagging(300, rng(), max_len=4)
    assert data.lengths.max() <= 4 and data.lengths.min() >= 3
    with pytest.raises(ValueError, match="max_len must be >= 3, got 2"):
        toy_tagging(5, rng(), max_len=2)


# ------------------------------------------------------------------------- time series


def test_noisy_periodic_series_is_sines_plus_noise():
    t = np.arange(200)
    clean = np.sin(2 * np.pi * t / 24.0) + np.sin(2 * np.pi * t / 7.0)
    np.testing.assert_allclose(noisy_periodic_series(200, rng(), noise=0.0), clean, atol=1e-12)
    noisy = noisy_periodic_series(20_000, rng(), periods=(10.0,), noise=0.5)
    residual = noisy - np.sin(2 * np.pi * np.arange(20_000) / 10.0)
    assert abs(residual.std() - 0.5) < 0.01 and abs(residual.mean()) < 0.02
    assert noisy_periodic_series(5, rng(), dtype=np.float32).dtype == np.float32


def test_noisy_periodic_series_rejects_bad_arguments():
    with pytest.raises(
        ValueError, match=r"periods must be one or more numbers > 0, got \[24.0, 0.0\]"
    ):
        noisy_periodic_series(10, rng(), periods=(24.0, 0.0))
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -0\.1"):
        noisy_periodic_series(10, rng(), noise=-0.1)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got <class 'int'>"):
        noisy_periodic_series(10, rng(), dtype=int)


def test_make_windows_values():
    series = np.arange(7.0)
    x, y = make_windows(series, window=3, horizon=2)
    assert x.shape == (3, 3, 1) and y.shape == (3, 2)  # M = 7 - 3 - 2 + 1
    np.testing.assert_array_equal(x[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [[3, 4], [4, 5], [5, 6]])
    x[0, 0, 0] = 99.0  # a copy, not a view of the series
    assert series[0] == 0.0
    x1, y1 = make_windows(np.arange(4.0), window=3)
    np.testing.assert_array_equal(x1[:, :, 0], [[0, 1, 2]])
    np.testing.assert_array_equal(y1, [[3]])


def test_make_windows_rejects_short_or_integer_series():
    with pytest.raises(
        ValueError,
        match=r"series of length 4 is too short for window=3 and horizon=2: need at least 5",
    ):
        make_windows(np.arange(4.0), 3, 2)
    with pytest.raises(TypeError, match="series must have dtype float32 or float64, got int64"):
        make_windows(np.arange(10), 3)
    with pytest.raises(ValueError, match="series must be 1-dimensional"):
        make_windows(np.zeros((10, 1)), 3)


# ------------------------------------------------------------------ number translation


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (314, "three hundred fourteen"),
        (7, "seven"),
        (40, "forty"),
        (100, "one hundred"),
        (999, "nine hundred ninety nine"),
        (0, "zero"),
        (110, "one hundred ten"),
        (1000, "one thousand"),
        (40_007, "forty thousand seven"),
        (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    ],
)
def test_number_words_both_ways(value, words):
    assert " ".join(number_to_words(value)) == words
    assert words_to_number(words) == value


def test_number_words_round_trip_and_malformed_words():
    for value in [*range(2000), *rng().integers(0, 1_000_000, 500).tolist()]:
        assert words_to_number(number_to_words(value)) == value
    for bad in ("hundred three", "one one", "twenty ten", "zero hundred", ""):
        with pytest.raises(ValueError, match="is not a well-formed number"):
            words_to_number(bad)
    with pytest.raises(ValueError, match="unknown number word 'apple'"):
        words_to_number("three apple")
    with pytest.raises(ValueError, match=r"value must be in \[0, 999999\], got 1000000"):
        number_to_words(1_000_000)


def test_number_translation_targets_decode_to_the_source_number():
    data = number_translation(500, rng(), max_value=999)
    bos, eos = data.tgt_vocab.index("<bos>"), data.tgt_vocab.index("<eos>")
    assert data.tgt_vocab[:3] == ("<pad>", "<bos>", "<eos>") and data.src_vocab[0] == "<pad>"
    tgt_lengths = data.tgt_mask.sum(axis=1).astype(int)
    for i in range(500):
        digits = "".join(data.src_vocab[j] for j in data.src[i, : data.src_lengths[i]])
        assert np.all(data.src[i, data.src_lengths[i] :] == 0)
        k = tgt_lengths[i]
        words = [data.tgt_vocab[j] for j in data.tgt_out[i, : k - 1]]
        assert words_to_number(words) == int(digits) <= 999
        assert data.tgt_out[i, k - 1] == eos and data.tgt_in[i, 0] == bos
        np.testing.assert_array_equal(data.tgt_in[i, 1:k], data.tgt_out[i, : k - 1])
        assert np.all(data.tgt_out[i, k:] == 0) and np.all(data.tgt_in[i, k:] == 0)
    np.testing.assert_array_equal(data.tgt_mask, (data.tgt_out != 0).astype(np.float64))
    assert np.any(data.src_lengths + 1 != tgt_lengths)  # lengths differ between the sides


def test_number_translation_rejects_bad_max_value():
    with pytest.raises(ValueError, match=r"max_value must be in \[1, 999999\], got 0"):
        number_translation(3, rng(), max_value=0)
    with pytest.raises(TypeError, match="max_value must be an integer, got float"):
        number_translation(3, rng(), max_value=99.0)


# ---------------------------------------------------------------------------- batching


def test_pad_sequences_values_and_errors():
    ids, lengths = pad_sequences([np.array([3, 1, 4]), np.array([1]), np.array([5, 9])], pad=7)
    np.testing.assert_array_equal(ids, [[3, 1, 4], [1, 7, 7], [5, 9, 7]])
    np.testing.assert_array_equal(lengths, [3, 1, 2])
    assert ids.dtype == lengths.dtype == np.int64
    with pytest.raises(ValueError, match="seqs must hold at least one sequence"):
        pad_sequences([])
    with pytest.raises(ValueError, match=r"seqs\[1\] is empty"):
        pad_sequences([np.array([1]), np.array([], dtype=np.int64)])
    with pytest.raises(TypeError, match=r"seqs\[0\] must have an integer dtype, got float64"):
        pad_sequences([np.array([1.0])])
    with pytest.raises(TypeError, match="seqs must be a list of 1-D integer arrays, got ndarray"):
        pad_sequences(np.zeros((2, 3), dtype=np.int64))


def test_batches_cover_every_index_once():
    ordered = list(batches(10, 4))
    assert [b.tolist() for b in ordered] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = list(batches(10, 4, rng(7)))
    assert [len(b) for b in shuffled] == [4, 4, 2]
    flat = np.concatenate(shuffled)
    assert sorted(flat.tolist()) == list(range(10)) and flat.tolist() != list(range(10))


def test_batches_validate_at_the_call():
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        batches(10, 4, rng=0)  # raised before the first next()
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        batches(10, 0)


def test_char_lm_batches_rows_continue_each_other():
    ids = np.arange(103)
    out = list(char_lm_batches(ids, batch_size=4, seq_len=5))
    P = (103 - 1) // 4  # 25 tokens per row
    assert len(out) == P // 5
    for inputs, targets in out:
        assert inputs.shape == targets.shape == (4, 5) and inputs.dtype == np.int64
        np.testing.assert_array_equal(targets, inputs + 1)  # the next token
    for (_, prev_targets), (next_inputs, _) in itertools.pairwise(out):
        np.testing.assert_array_equal(next_inputs[:, 0], prev_targets[:, -1])
    rows = np.concatenate([inputs for inputs, _ in out], axis=1)  # (4, 25)
    np.testing.assert_array_equal(rows, ids[: 4 * P].reshape(4, P))


def test_char_lm_batches_on_the_corpus_and_errors(genesis):
    vocab = CharVocab.from_text(genesis)
    ids = vocab.encode(genesis)
    first = next(char_lm_batches(ids, batch_size=2, seq_len=20))
    assert vocab.decode(first[0][0]) == genesis[:20]
    assert vocab.decode(first[1][0]) == genesis[1:21]
    last = list(char_lm_batches(ids[:41], batch_size=2, seq_len=20))  # exactly B * S + 1
    assert len(last) == 1
    assert vocab.decode(last[0][0][1]) == genesis[20:40]


# ----------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: adding_problem(0, 5, rng()), ValueError, "n must be >= 1, got 0"),
        (lambda: adding_problem(3, 1, rng()), ValueError, "T must be >= 2, got 1"),
        (lambda: adding_problem(3.0, 5, rng()), TypeError, "n must be an integer, got float"),
        (lambda: adding_problem(3, True, rng()), TypeError, "T must be an integer, got bool"),
        (
            lambda: adding_problem(3, 5, rng(), dtype=np.int64),
            TypeError,
            "dtype must be float32 or float64, got <class 'numpy.int64'>",
        ),
        (lambda: copy_task(3, 0, 2, 1, rng()), ValueError, "n_symbols must be >= 1, got 0"),
        (lambda: copy_task(3, 4, 0, 1, rng()), ValueError, "length must be >= 1, got 0"),
        (lambda: copy_task(3, 4, 2, -1, rng()), ValueError, "delay must be >= 0, got -1"),
        (lambda: parity_task(3, 0, rng()), ValueError, "T must be >= 1, got 0"),
        (lambda: toy_sentiment(0, rng()), ValueError, "n must be >= 1, got 0"),
        (lambda: toy_tagging(0, rng()), ValueError, "n must be >= 1, got 0"),
        (lambda: noisy_periodic_series(0, rng()), ValueError, "n_steps must be >= 1, got 0"),
        (lambda: make_windows(np.arange(9.0), 0), ValueError, "window must be >= 1, got 0"),
        (lambda: number_translation(0, rng()), ValueError, "n must be >= 1, got 0"),
        (
            lambda: char_lm_batches(np.arange(8), 2, 4),
            ValueError,
            "ids of length 8 is too short for batch_size=2 and seq_len=4: need at least 9",
        ),
        (
            lambda: char_lm_batches(np.arange(10.0), 2, 4),
            TypeError,
            "ids must have an integer dtype, got float64",
        ),
        (lambda: char_lm_batches(np.arange(20), 2, 0), ValueError, "seq_len must be >= 1, got 0"),
    ],
)
def test_bad_arguments_raise_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_minibatches_gives_aligned_rows_and_the_order_of_batches():
    x = np.arange(7) * 10
    y = np.arange(7)
    epoch_batches = minibatches((x, y), 3, np.random.default_rng(5))
    reference = np.random.default_rng(5)
    for epoch in range(3):  # a new order every epoch, drawn as batches draws it
        got = list(epoch_batches(epoch))
        expected = list(batches(7, 3, reference))
        assert [len(b[0]) for b in got] == [3, 3, 1]
        for (bx, by), idx in zip(got, expected, strict=True):
            np.testing.assert_array_equal(by, idx)
            np.testing.assert_array_equal(bx, 10 * idx)
    in_order = [b[1].tolist() for b in minibatches((x, y), 4)(0)]
    assert in_order == [[0, 1, 2, 3], [4, 5, 6]]


def test_minibatches_rejects_bad_input():
    with pytest.raises(ValueError, match=r"same length .*\[3, 2\]"):
        minibatches((np.zeros(3), np.zeros(2)), 2)
    with pytest.raises(ValueError, match="at least one array"):
        minibatches((), 2)
    with pytest.raises(ValueError, match="batch_size"):
        minibatches((np.zeros(3),), 0)
    with pytest.raises(TypeError, match="Generator"):
        minibatches((np.zeros(3),), 2, rng=3)


def test_the_package_exports_every_public_name():
    # course_pkg.datasets is a package of several modules; chapters, assignments and the
    # other modules import these names from it directly
    expected = {
        "BOS", "EOS", "PAD", "CharVocab", "CopyData", "MAX_NUMBER", "SENTIMENT_NEGATIVE",
        "SENTIMENT_NEGATORS", "SENTIMENT_POSITIVE", "SENTIMENT_VOCAB", "SRC_VOCAB",
        "SentimentData", "TAGGING_AMBIGUOUS", "TAGGING_WORDS", "TAG_NAMES", "TGT_VOCAB",
        "TaggingData", "TranslationData", "adding_problem", "batches", "char_lm_batches",
        "copy_task", "load_text", "make_windows", "minibatches", "noisy_periodic_series",
        "number_to_words", "number_translation", "pad_sequences", "parity_task",
        "sentiment_label", "toy_sentiment", "toy_tagging", "words_to_number",
        "CaptionData", "CaptionSplit", "number_captions", "place_value_code",
    }  # fmt: skip
    assert set(ds.__all__) == expected
    assert all(hasattr(ds, name) for name in expected)
    assert (ds.PAD, ds.BOS, ds.EOS) == (0, 1, 2)


# ------------------------------------------------------------------ number captions


def test_place_value_code_one_hot_per_digit():
    code = ds.place_value_code(np.array([0, 7, 40, 314, 999]))
    assert code.shape == (5, 30) and code.dtype == np.float64
    np.testing.assert_array_equal(code.sum(axis=1), 3)  # one 1 per digit, leading zeros too
    np.testing.assert_array_equal(np.flatnonzero(code[3]), [3, 10 + 1, 20 + 4])  # 3, 1, 4
    np.testing.assert_array_equal(np.flatnonzero(code[1]), [0, 10, 27])  # 0, 0, 7
    assert ds.place_value_code(np.array([5, 12_345]), max_value=99_999).shape == (2, 50)
    with pytest.raises(ValueError, match=r"values must hold indices in \[0, 100\), got values"):
        ds.place_value_code(np.array([100]), max_value=99)
    with pytest.raises(TypeError, match="values must have an integer dtype, got float64"):
        ds.place_value_code(np.array([1.0]))


def test_number_captions_split_every_number_once_and_spell_it():
    split = ds.number_captions(30, rng(3), max_value=120)
    train, test = split
    assert len(test.values) == 30 and len(train.values) == 91
    assert sorted([*train.values, *test.values]) == list(range(121))  # disjoint, complete
    for part in (train, test):
        np.testing.assert_array_equal(part.features, ds.place_value_code(part.values, 120))
        assert part.tgt_vocab == ds.TGT_VOCAB
        lengths = part.tgt_mask.sum(axis=1).astype(int)
        for i, value in enumerate(part.values):
            k = lengths[i]
            words = [part.tgt_vocab[j] for j in part.tgt_out[i, : k - 1]]
            assert words_to_number(words) == value
            assert part.tgt_in[i, 0] == ds.BOS and part.tgt_out[i, k - 1] == ds.EOS
            np.testing.assert_array_equal(part.tgt_in[i, 1:k], part.tgt_out[i, : k - 1])
            assert np.all(part.tgt_out[i, k:] == 0) and np.all(part.tgt_in[i, k:] == 0)
        np.testing.assert_array_equal(part.tgt_mask, (part.tgt_out != 0).astype(np.float64))


def test_number_captions_are_seeded():
    a, b, c = (ds.number_captions(5, rng(seed), max_value=50) for seed in (1, 1, 2))
    np.testing.assert_array_equal(a.test.values, b.test.values)
    np.testing.assert_array_equal(a.train.tgt_in, b.train.tgt_in)
    assert not np.array_equal(a.test.values, c.test.values)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator .*got int"):
        ds.number_captions(5, 42)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_test": 0}, ValueError, "n_test must be in [1, 999], got 0"),
        ({"n_test": 1000}, ValueError, "n_test must be in [1, 999], got 1000"),
        ({"n_test": 2.0}, TypeError, "n_test must be an integer, got float"),
        ({"n_test": 1, "max_value": 0}, ValueError, "max_value must be in [1, 999999], got 0"),
    ],
)
def test_number_captions_reject_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        ds.number_captions(rng=rng(), **kwargs)
