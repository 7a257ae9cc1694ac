"""The text corpus shipped with the package, and its character vocabulary."""

from __future__ import annotations

import lzma
from collections.abc import Sequence
from importlib import resources

import numpy as np

from .._validate import as_index_array

_SUFFIXES = (".txt", ".txt.xz")  # plain, or compressed with xz (LZMA)


def _corpus_files() -> dict[str, str]:
    folder = resources.files("course_pkg.corpora")
    files = {}
    for p in folder.iterdir():
        for suffix in _SUFFIXES:
            if p.name.endswith(suffix):
                files[p.name[: -len(suffix)]] = p.name
    return files


def _corpus_names() -> tuple[str, ...]:
    return tuple(sorted(_corpus_files()))


def load_text(name: str = "genesis") -> str:
    """Read a text corpus shipped with the package.

    Parameters
    ----------
    name : str
        Corpus name: the file ``course_pkg/corpora/{name}.txt`` (or
        ``{name}.txt.xz``, read through :mod:`lzma`). ``"genesis"`` is the
        Book of Genesis (King James Version), one verse per line, plain ASCII,
        196,818 characters, 60 distinct characters. ``"kjv"`` is the whole
        King James Bible in the same form, Genesis to Revelation, 4,137,847
        characters, 63 distinct characters; its first 196,818 characters are
        ``"genesis"``.

    Returns
    -------
    text : str

    Raises
    ------
    TypeError
        ``name`` not a string.
    ValueError
        No corpus of that name; the message lists the available ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    available = _corpus_names()
    if name not in available:
        raise ValueError(f"unknown corpus {name!r}; available: {', '.join(available)}")
    path = resources.files("course_pkg.corpora") / _corpus_files()[name]
    if path.name.endswith(".xz"):
        return lzma.decompress(path.read_bytes()).decode("ascii")
    return path.read_text(encoding="ascii")


class CharVocab:
    """A character vocabulary: character <-> integer id.

    Build one with :meth:`CharVocab.from_text`, which takes the sorted set of
    characters of a text, so the same text always gives the same ids.

    Attributes
    ----------
    chars : tuple of str
        ``chars[i]`` is the character with id ``i``.
    size : int
        Number of characters, ``len(chars)`` (K, the output size of a
        character language model).

    Examples
    --------
    >>> vocab = CharVocab.from_text("hello")
    >>> vocab.chars
    ('e', 'h', 'l', 'o')
    >>> vocab.encode("hole").tolist()
    [1, 3, 2, 0]
    >>> vocab.decode(vocab.encode("hole"))
    'hole'
    """

    def __init__(self, chars: Sequence[str]):
        chars = tuple(chars)
        if not chars:
            raise ValueError("chars must hold at least one character, got none")
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise TypeError(f"chars[{i}] must be a single character, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat a character")
        self.chars = chars
        self.size = len(chars)
        self._index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the sorted unique characters of ``text`` (non-empty str)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text must be non-empty to build a vocabulary, got ''")
        return cls(sorted(set(text)))

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``: int64 array (L,), L = ``len(text)``.

        Raises ``ValueError`` naming the first character not in the vocabulary.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        index = self._index
        try:
            return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in index)
            raise ValueError(
                f"character {text[pos]!r} at position {pos} is not in the vocabulary "
                f"of {self.size} characters"
            ) from None

    def decode(self, ids) -> str:
        """The text of ids (L,) (integers in ``[0, size)``)."""
        ids = as_index_array("ids", ids, ndim=1, upper=self.size)
        chars = self.chars
        return "".join(chars[i] for i in ids.tolist())

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"
