r"""Data for the recurrent networks of the course: a shipped corpus, synthetic tasks, batching.

Every task is generated on the spot from an explicit ``rng``
(``numpy.random.Generator``), so the same seed gives the same arrays and
nothing is downloaded. The data sets and what each one is for:

- :func:`load_text` and :class:`CharVocab`: a character language model on the
  Book of Genesis (``course_pkg/corpora/README.md`` says where it comes from);
  :func:`char_lm_batches` feeds it to truncated BPTT.
- :func:`adding_problem`, :func:`copy_task`, :func:`parity_task`: long-range
  memory benchmarks for vanishing gradients, LSTM and GRU.
- :func:`toy_sentiment`: many-to-one classification where word order matters
  (negation, "X but Y").
- :func:`toy_tagging`: many-to-many tagging where some words can only be
  tagged by looking ahead, for bidirectional RNNs.
- :func:`noisy_periodic_series` and :func:`make_windows`: one-step and
  multi-step forecasting.
- :func:`number_translation`: digits to English number words, for an
  encoder-decoder whose source and target lengths differ.
- :func:`number_captions` and :func:`place_value_code`: a number given as one
  vector, its English words as the output, for a one-to-many generator.

Shapes: n examples in a data set (``n`` in the signatures), N in a batch (as
everywhere in the package), T time steps.
Token ids are ``int64`` and id 0 is always padding (or the blank of the copy
task).
"""

from __future__ import annotations

from .batching import batches, char_lm_batches, minibatches, pad_sequences
from .captions import CaptionData, CaptionSplit, number_captions, place_value_code
from .corpus import CharVocab, load_text
from .memory_tasks import CopyData, adding_problem, copy_task, parity_task
from .sentiment import (
    SENTIMENT_NEGATIVE,
    SENTIMENT_NEGATORS,
    SENTIMENT_POSITIVE,
    SENTIMENT_VOCAB,
    SentimentData,
    sentiment_label,
    toy_sentiment,
)
from .series import make_windows, noisy_periodic_series
from .tagging import TAG_NAMES, TAGGING_AMBIGUOUS, TAGGING_WORDS, TaggingData, toy_tagging
from .translation import (
    BOS,
    EOS,
    MAX_NUMBER,
    PAD,
    SRC_VOCAB,
    TGT_VOCAB,
    TranslationData,
    number_to_words,
    number_translation,
    words_to_number,
)

__all__ = [
    "BOS",
    "EOS",
    "MAX_NUMBER",
    "PAD",
    "SENTIMENT_NEGATIVE",
    "SENTIMENT_NEGATORS",
    "SENTIMENT_POSITIVE",
    "SENTIMENT_VOCAB",
    "SRC_VOCAB",
    "TAGGING_AMBIGUOUS",
    "TAGGING_WORDS",
    "TAG_NAMES",
    "TGT_VOCAB",
    "CaptionData",
    "CaptionSplit",
    "CharVocab",
    "CopyData",
    "SentimentData",
    "TaggingData",
    "TranslationData",
    "adding_problem",
    "batches",
    "char_lm_batches",
    "copy_task",
    "load_text",
    "make_windows",
    "minibatches",
    "noisy_periodic_series",
    "number_captions",
    "number_to_words",
    "number_translation",
    "pad_sequences",
    "parity_task",
    "place_value_code",
    "sentiment_label",
    "toy_sentiment",
    "toy_tagging",
    "words_to_number",
]
