"""How alike the submissions' code is: a plagiarism report, found by winnowing as MOSS does.

``python -m autograder similarity ASSIGNMENT`` compares every pair of submissions of one
assignment, and each submission with the reference solution and with ``course_pkg``'s
source, and writes ``similarity.html`` (ranked pairs, matching regions side by side; the
flagged pairs under "Needs a look") and ``similarity.csv`` (the ranked pairs).

The method is Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting" (SIGMOD 2003):

1. A submission's code is its answer cells (nbgrader ``solution: true``) and the code
   cells the student added (no nbgrader metadata: copied code could hide there, and the
   grader runs them). It is tokenized and normalized: every identifier becomes ``ID``,
   every string ``STR``, every number ``NUM``; comments and layout are dropped; keywords
   and operators stay. Renaming variables, rewording comments and strings, reflowing
   the code change nothing.
2. The code the release gives students (every code cell of the release notebook: the
   stubs, the setup, the tests) is left out twice over: its lines, such as the headers
   ``def tanh(z):``, are taken out of the token stream, and its k-gram hashes are never
   fingerprints.
3. Every run of ``k`` tokens within one top-level function (a k-gram) is hashed; in each
   window of ``window`` consecutive hashes the smallest is kept (winnowing). The kept
   hashes are the fingerprints: a match of ``k + window - 1`` tokens or more always
   shares one, a match shorter than ``k`` never does.
4. A pair's scores are the share of A's fingerprints found in B and of B's found in A;
   pairs are ranked by the larger, so a copied part of a larger file still ranks high. A
   pair is flagged ("Needs a look") when that score reaches ``threshold`` and the two share
   ``min_shared`` fingerprints. A submission with fewer than ``min_fingerprints``
   fingerprints (a blank or nearly blank one) is not compared. Between students,
   fingerprints held by more than ``max_holders`` submissions are common idiom and left
   out (MOSS's ``-m``); against the reference solution and course_pkg they count, so a
   whole class that pasted the solution is still caught.

The defaults come from ``tests/test_similarity.py`` on ``a1_unfolding``, whose answers
are short (12 functions, 50 to 65 lines, 520 to 600 tokens). With ``k = 14`` (about a
line of code) and ``window = 5`` (any match of 18 tokens is found): a copy with every
name, comment, string and blank line changed scores 1.00; the same copy with a statement
split, moved or added every few lines 0.50; one function of four copied 0.33 (ranked, not
flagged); three honest implementations written by hand at most 0.07 against each other,
0.13 against the reference solution and 0.18 against course_pkg (whose 450 kB hold many
short generic shapes). ``threshold = 0.4`` sits between the edited copy and the honest
work. At ``k = 12`` the honest scores against course_pkg rose to 0.29; at ``k = 16`` the
edited copy fell to 0.41.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import keyword
import re
import tempfile
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

from .collect import Entry, collect, read_roster
from .report import spreadsheet_safe
from .stage import Ungradable, read_submission

MAX_NOTEBOOK_BYTES = 32 * 2**20  # a notebook past this is not read (its outputs, mostly)
MAX_CODE_CHARS = 200_000  # code of one submission past this is cut (the answers are ~3,000)
MAX_FILE_BYTES = 1_000_000  # a course_pkg file past this is left out


def _setting(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    """What counts as a match and what gets flagged (the module docstring explains each)."""

    k: int = _setting(14, "tokens per k-gram: shorter matches are never counted")
    window: int = _setting(5, "k-grams per winnowing window: matches of k + window - 1 tokens")
    threshold: float = _setting(0.4, "flag a pair when this share of one side is in the other")
    min_shared: int = _setting(8, "flag a pair only if it shares this many fingerprints")
    min_fingerprints: int = _setting(10, "submissions with fewer (beyond the starter) are skipped")
    max_holders: int = _setting(10, "fingerprints in more submissions than this are idiom")
    detailed: int = _setting(20, "pairs shown side by side beyond the flagged ones")

    def __post_init__(self):
        lowest = {"k": 2, "window": 1, "min_shared": 1, "min_fingerprints": 1, "max_holders": 2}
        for name, low in {**lowest, "detailed": 0}.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise TypeError(f"threshold must be a number, got {type(self.threshold).__name__}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")


class Kind(StrEnum):
    """What a document is (its value is how the report names the reference documents)."""

    STUDENT = "student"
    REFERENCE = "reference solution"
    PACKAGE = "course_pkg"


@dataclass(frozen=True)
class Document:
    """One thing compared: a submission, the reference solution or course_pkg's source."""

    name: str
    kind: Kind
    parts: dict[str, str]  # grade_id, "extra cell N" or file -> its code
    fingerprints: int  # beyond the starter code
    note: str = ""  # what was noticed reading it; why it was not compared
    compared: bool = True


@dataclass(frozen=True)
class Region:
    """One stretch of code found in both documents of a pair; lines are 1-based, inclusive."""

    part_a: str
    lines_a: tuple[int, int]
    part_b: str
    lines_b: tuple[int, int]
    tokens: int


@dataclass(frozen=True)
class PairResult:
    """A student (``a``) against another student or a reference document (``b``)."""

    a: str
    b: str
    kind_b: Kind
    score_a: float  # share of a's fingerprints found in b
    score_b: float  # share of b's fingerprints found in a
    shared: int  # fingerprints both hold
    fingerprints_a: int
    fingerprints_b: int
    flagged: bool
    regions: tuple[Region, ...] = ()  # for the flagged pairs and the first ``detailed`` others

    @property
    def score(self) -> float:
        """What the pairs are ranked by: the larger share."""
        return max(self.score_a, self.score_b)


@dataclass(frozen=True)
class SimilarityReport:
    pairs: list[PairResult]  # every pair sharing a fingerprint, most alike first
    flagged: list[PairResult]  # the pairs that need a look, in the same order
    documents: list[Document]  # the students by name, then the reference documents
    skipped: list[tuple[str, str]]  # (student, why) for submissions without a notebook
    settings: Settings
    common: int = 0  # fingerprints in more than max_holders submissions, not compared

    def document(self, kind: Kind, name: str) -> Document:
        return next(d for d in self.documents if d.kind == kind and d.name == name)


# ---------------------------------------------------------------- reading the code


def _read_code(path: Path, *, answers: bool, extra: bool) -> tuple[dict[str, str], str]:
    """A notebook's answer cells and/or its code cells without nbgrader metadata, and a
    note on any problem. Never raises: notebooks are untrusted."""
    try:
        size = path.stat().st_size
    except OSError as err:
        return {}, f"cannot read {path.name}: {err.strerror}"
    if size > MAX_NOTEBOOK_BYTES:
        return {}, f"{path.name} is {size} bytes, more than the {MAX_NOTEBOOK_BYTES} read"
    try:
        cells = read_submission(path)
    except Ungradable as err:
        return {}, err.reason
    except RecursionError:  # JSON nested deeper than the parser goes
        return {}, f"{path.name} could not be parsed"
    code: dict[str, str] = {}
    note, room = "", MAX_CODE_CHARS
    for number, cell in enumerate(cells, 1):
        meta = cell["metadata"].get("nbgrader") if isinstance(cell["metadata"], dict) else None
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if cell["cell_type"] != "code":
            continue
        if answers and isinstance(grade_id, str) and grade_id and meta.get("solution") is True:
            name = grade_id
        elif extra and not meta:
            name = f"extra cell {number}"
        else:
            continue
        while name in code:  # a duplicated cell
            name += " (again)"
        source = cell["source"].encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        if len(source) >= room:
            code[name], note = source[:room], f"code cut at {MAX_CODE_CHARS} characters"
            break
        room -= len(source)
        code[name] = source
    return code, note


def answer_code(notebook_path) -> dict[str, str]:
    """The source of a notebook's answer cells, by ``grade_id``.

    Answer cells are code cells whose ``metadata.nbgrader`` has ``solution: true`` and a
    ``grade_id``. A notebook that cannot be read (missing, not JSON, no cells, larger than
    :data:`MAX_NOTEBOOK_BYTES`) gives ``{}``; code past :data:`MAX_CODE_CHARS` is cut.
    """
    return _read_code(Path(notebook_path), answers=True, extra=False)[0]


def _package_code(root: Path) -> dict[str, str]:
    """Every ``.py`` file under ``root``, by path relative to its parent, in path order."""
    code = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts or path.stat().st_size > MAX_FILE_BYTES:
            continue
        code[path.relative_to(root.parent).as_posix()] = path.read_text(errors="replace")
    return code


# ---------------------------------------------------------------- tokens and fingerprints


class Token(NamedTuple):
    text: str  # normalized: "ID", "STR", "NUM", a keyword or an operator
    line: int  # where the token starts in its source, 1-based
    end_line: int  # where it ends (a string may span lines)
    column: int = 0
    raw: str = ""  # as written


def _normal(kind: int, text: str) -> str | None:
    if kind == tokenize.NAME:
        return text if keyword.iskeyword(text) else "ID"
    if kind == tokenize.NUMBER:
        return "NUM"
    if kind == tokenize.STRING:
        return "STR"
    if kind == tokenize.OP or (kind == tokenize.ERRORTOKEN and text.strip()):
        return text
    return None  # comments, newlines, indentation, the end


_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12 splits f-strings up
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


def _python_tokens(source: str) -> list[Token]:
    out, depth, start = [], 0, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == _FSTRING_START:
            depth, start = depth + 1, start if depth else tok.start
        elif tok.type == _FSTRING_END:
            depth -= 1
            if not depth:
                out.append(Token("STR", start[0], tok.end[0], start[1], "f''"))
        elif not depth and (text := _normal(tok.type, tok.string)) is not None:
            out.append(Token(text, tok.start[0], tok.end[0], tok.start[1], tok.string))
    return out


_STRING = r"""(?i:[rbuf]{0,2})(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'(?:\\.|[^'\\\n])*'?|"(?:\\.|[^"\\\n])*"?)"""  # noqa: E501
_NUMBER = r"0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?"
_OPERATOR = r"\*\*=|//=|>>=|<<=|\.\.\.|->|:=|[-+*/%@&|^=<>!]=|\*\*|//|<<|>>|[^\s\w]"
_LEXEME = re.compile(
    rf"(?P<skip>#[^\n]*|\\\n|\s+)|(?P<STR>{_STRING})|(?P<NUM>{_NUMBER})"
    rf"|(?P<name>[^\W\d]\w*)|(?P<op>{_OPERATOR})|(?P<other>\w)"
)


def _regex_tokens(source: str) -> list[Token]:
    """The same tokens as :mod:`tokenize`, for code it refuses (a syntax error, a magic)."""
    out, line, line_start = [], 1, 0
    for match in _LEXEME.finditer(source):
        raw = text = match.group()
        kind = match.lastgroup
        end_line, column = line + raw.count("\n"), match.start() - line_start
        if kind == "name":
            text = text if keyword.iskeyword(text) else "ID"
        elif kind in ("STR", "NUM"):
            text = kind
        if kind != "skip":
            out.append(Token(text, line, end_line, column, raw))
        if end_line > line:
            line, line_start = end_line, match.start() + raw.rindex("\n") + 1
    return out


def tokens(source: str) -> list[Token]:
    """Normalized tokens of Python code, with their lines; never raises."""
    try:
        return _python_tokens(source)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _regex_tokens(source)


_MOD = (1 << 61) - 1  # a prime: the k-gram hash is a polynomial in the token values mod it
_BASE = 0x9E3779B97F4A7C15 % _MOD


@lru_cache(maxsize=4096)
def _token_value(text: str) -> int:
    """A token's value in the hash, the same in every process (unlike ``hash(str)``)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _MOD


def kgram_hashes(toks: list[Token], k: int) -> list[int]:
    """Hash of every run of ``k`` tokens, by a rolling (Karp-Rabin) polynomial hash."""
    values = [_token_value(t.text) for t in toks]
    if len(values) < k:
        return []
    h = 0
    for v in values[:k]:
        h = (h * _BASE + v) % _MOD
    out, top = [h], pow(_BASE, k - 1, _MOD)
    for i in range(k, len(values)):
        h = ((h - values[i - k] * top) * _BASE + values[i]) % _MOD
        out.append(h)
    return out


def winnow(hashes: list[int], window: int) -> list[int]:
    """Indices of the hashes winnowing keeps: the minimum of each window of ``window``
    consecutive hashes (the rightmost on ties), each index once. Fewer hashes than a
    window are one window."""
    kept: list[int] = []
    for start in range(max(len(hashes) - window, 0) + bool(hashes)):
        stop = min(start + window, len(hashes))
        best = min(range(start, stop), key=lambda i: (hashes[i], -i))
        if not kept or kept[-1] != best:
            kept.append(best)
    return kept


_UNIT_START = ("def", "class", "async", "@")


def units(toks: list[Token]) -> list[list[Token]]:
    """The tokens cut where a top-level ``def`` or ``class`` (or its decorator) starts.

    No k-gram spans two units: the order of the functions does not matter, a match ends
    where the copied function ends, and ``return x`` followed by ``def f(z):``, which
    everyone writes, is not a k-gram.
    """
    out: list[list[Token]] = [[]]
    decorated = False
    for t in toks:
        if t.column == 0:
            if t.text in _UNIT_START and not decorated and out[-1]:
                out.append([])
            decorated = t.text == "@"
        out[-1].append(t)
    return [u for u in out if u]


@dataclass(frozen=True)
class _Starter:
    """What the release gives: its lines (as tokens written) and its k-gram hashes."""

    lines: frozenset[tuple[str, ...]]
    hashes: frozenset[int]


def _without_given_lines(unit: list[Token], given: frozenset) -> list[Token]:
    """The unit less its lines that are the release's, such as ``def tanh(z):``: a k-gram
    of a given header and the first tokens of a body is in every submission."""
    lines: dict[int, list[Token]] = defaultdict(list)
    for t in unit:
        lines[t.line].append(t)
    return [t for line in lines.values() if tuple(t.raw for t in line) not in given for t in line]


@dataclass
class _Fingerprinted:
    hashes: list[int]  # every k-gram's hash, the units one after another
    part: list[int]  # the part (cell, file) each k-gram is in
    unit: list[int]  # the unit each k-gram is in, numbered through the document
    lines: list[tuple[int, int]]  # first and last line of each k-gram in its part
    first_token: list[int]  # where each k-gram starts among the document's compared tokens
    kept: dict[int, list[int]]  # fingerprint -> positions of the k-grams winnowing kept
    unit_line: dict[int, int]  # first line of each unit (its def line)


def _fingerprint(parts: dict[str, str], starter: _Starter, s: Settings) -> _Fingerprinted:
    """Winnow each unit; each stretch between starter k-grams is winnowed on its own, so a
    copied function has the same fingerprints whatever stubs are left around it."""
    doc = _Fingerprinted([], [], [], [], [], defaultdict(list), {})
    number = n_tokens = 0
    for p, text in enumerate(parts.values()):
        for whole in units(tokens(text)):
            unit = _without_given_lines(whole, starter.lines)
            hashes = kgram_hashes(unit, s.k)
            base, number = len(doc.hashes), number + 1
            doc.unit_line[number] = whole[0].line
            doc.hashes += hashes
            doc.part += [p] * len(hashes)
            doc.unit += [number] * len(hashes)
            doc.lines += [(unit[i].line, unit[i + s.k - 1].end_line) for i in range(len(hashes))]
            doc.first_token += range(n_tokens, n_tokens + len(hashes))
            n_tokens += len(unit)
            stretch: list[int] = []
            for i, h in enumerate([*hashes, None]):
                if h is not None and h not in starter.hashes:
                    stretch.append(i)
                    continue
                for j in winnow([hashes[i] for i in stretch], s.window):
                    doc.kept[hashes[stretch[j]]].append(base + stretch[j])
                stretch = []
    return doc


# ---------------------------------------------------------------- matching regions


def _regions(
    doc_a: Document, doc_b: Document, a: _Fingerprinted, b: _Fingerprinted, ignore, s: Settings
) -> tuple[Region, ...]:
    """The stretches of code a and b share, in a's order, as lines of their parts.

    Runs of consecutive k-grams equal in both are found and taken longest first where
    they overlap none taken (greedy string tiling). A run counts if it holds a shared
    fingerprint, so the regions show what the scores count; regions that touch on both
    sides are joined, and those shorter than ``k + window - 1`` tokens, which winnowing
    finds only by chance (``return h, RNNCache(x, h0, U, W, h)`` in every submission),
    are not shown.
    """
    shared = a.kept.keys() & b.kept.keys() - ignore
    where_b: dict[int, list[int]] = defaultdict(list)
    for j, h in enumerate(b.hashes):
        if h not in ignore and len(where_b[h]) < 64:  # bounded for repetitive code
            where_b[h].append(j)
    runs, open_runs = [], {}  # open_runs: last j of a run -> its first (i, j)
    for i, h in enumerate(a.hashes):
        now = {}
        step = a.unit[i] - a.unit[i - 1] if i > 0 and a.part[i] == a.part[i - 1] else -1
        for j in where_b.get(h, ()):
            start = None  # a run goes on where both sides go on alike (within or past a unit)
            if step >= 0 and j > 0 and b.part[j] == b.part[j - 1]:
                if b.unit[j] - b.unit[j - 1] == step:
                    start = open_runs.pop(j - 1, None)
            now[j] = start or (i, j)
        runs += [(i - i0, i0, j0) for i0, j0 in open_runs.values()]
        open_runs = now
    runs += [(len(a.hashes) - i0, i0, j0) for i0, j0 in open_runs.values()]
    matched = Counter()  # k-grams of a each part of b matches: ties go to the part matching most
    for n, _, j0 in runs:
        matched[b.part[j0]] += n
    taken: list[tuple[int, int, int]] = []
    for n, i0, j0 in sorted(runs, key=lambda r: (-r[0], -matched[b.part[r[2]]], r[1], r[2])):
        if any((i0 < i + m and i < i0 + n) or (j0 < j + m and j < j0 + n) for m, i, j in taken):
            continue
        if any(h in shared for h in a.hashes[i0 : i0 + n]):
            taken.append((n, i0, j0))
    names = list(doc_a.parts), list(doc_b.parts)
    regions = [_as_region(run, a, b, *names, s) for run in sorted(taken, key=lambda r: r[1])]
    return tuple(r for r in _merged(regions) if r.tokens >= s.k + s.window - 1)


def _as_region(run, a, b, names_a, names_b, s: Settings) -> tuple[Region, tuple[int, int]]:
    """A run as lines, and the tokens of a it covers; a run from a unit's first k-gram is
    shown from the unit's def line."""
    n, i0, j0 = run

    def first(doc, i):
        starts_unit = i == 0 or doc.unit[i - 1] != doc.unit[i]
        return doc.unit_line[doc.unit[i]] if starts_unit else doc.lines[i][0]

    t0, t1 = a.first_token[i0], a.first_token[i0 + n - 1] + s.k - 1
    region = Region(
        names_a[a.part[i0]],
        (first(a, i0), a.lines[i0 + n - 1][1]),
        names_b[b.part[j0]],
        (first(b, j0), b.lines[j0 + n - 1][1]),
        t1 - t0 + 1,
    )
    return region, (t0, t1)


def _merged(regions: list[tuple[Region, tuple[int, int]]]) -> list[Region]:
    """Regions that touch on both sides as one (a given line between them cuts a run)."""
    out: list[Region] = []
    end = -1  # last token of a covered so far
    for r, (t0, t1) in regions:
        last = out[-1] if out else None
        if (
            last is not None
            and (last.part_a, last.part_b) == (r.part_a, r.part_b)
            and last.lines_a[0] <= r.lines_a[0] <= last.lines_a[1] + 1
            and last.lines_b[0] <= r.lines_b[0] <= last.lines_b[1] + 1
        ):
            out[-1] = Region(
                r.part_a,
                (last.lines_a[0], max(last.lines_a[1], r.lines_a[1])),
                r.part_b,
                (last.lines_b[0], max(last.lines_b[1], r.lines_b[1])),
                last.tokens + max(t1 - max(t0, end + 1) + 1, 0),
            )
        else:
            out.append(r)
        end = max(end, t1)
    return out


# ---------------------------------------------------------------- comparing


def _submissions(submissions) -> tuple[dict[str, tuple[Path, str]], list[tuple[str, str]]]:
    """{student: (notebook, note)} and the skipped (student, why), from a mapping or the
    Entry list of :func:`~autograder.collect.collect`."""
    if isinstance(submissions, Mapping):
        items = [(student, path, "") for student, path in submissions.items()]
    elif isinstance(submissions, Iterable) and not isinstance(submissions, (str, bytes, Path)):
        items = []
        for entry in submissions:
            if not isinstance(entry, Entry):
                raise TypeError(f"expected autograder.collect.Entry items, got {entry!r}")
            items.append((entry.student, entry.notebook, entry.note))
    else:
        raise TypeError(
            "submissions must be a mapping {student: notebook path} or the Entry list of "
            f"collect(), got {type(submissions).__name__}"
        )
    notebooks, skipped = {}, []
    for student, path, note in items:
        if not isinstance(student, str) or not student:
            raise TypeError(f"a student must be a non-empty str, got {student!r}")
        if student in notebooks or any(student == s for s, _ in skipped):
            raise ValueError(f"student {student!r} is listed twice")
        if path is None:
            skipped.append((student, note or "no notebook"))
        elif isinstance(path, (str, Path)):
            notebooks[student] = (Path(path), note)
        else:
            raise TypeError(f"the notebook of {student!r} must be a path, got {path!r}")
    return notebooks, skipped


def _release(release_notebook: Path, s: Settings) -> _Starter:
    """The lines and k-grams of the code the release gives students (all its code cells)."""
    release_notebook = Path(release_notebook)
    if not release_notebook.is_file():
        raise FileNotFoundError(f"no release notebook at {release_notebook}")
    given, _ = _read_code(release_notebook, answers=True, extra=False)
    if not given:
        raise ValueError(
            f"{release_notebook} has no answer cells (code cells with nbgrader solution: true):"
            " expected the student release of the assignment"
        )
    lines: dict[tuple[int, int], list[str]] = defaultdict(list)
    hashes: set[int] = set()
    for n, cell in enumerate(read_submission(release_notebook)):
        if cell["cell_type"] == "code":
            toks = tokens(cell["source"])
            for t in toks:
                lines[n, t.line].append(t.raw)
            hashes.update(h for unit in units(toks) for h in kgram_hashes(unit, s.k))
    return _Starter(frozenset(map(tuple, lines.values())), frozenset(hashes))


def compare_submissions(
    submissions,
    release_notebook,
    reference_notebook=None,
    package_root=None,
    *,
    settings: Settings | None = None,
    **options,
) -> SimilarityReport:
    """Compare every pair of submissions, and each with the reference documents.

    Parameters
    ----------
    submissions : mapping {student: notebook path} or list of :class:`~autograder.collect.Entry`
        Entries without a notebook are skipped and listed in ``report.skipped``.
    release_notebook : path
        The student release (``assignments/<a>/<a>.ipynb``): its code is left out.
    reference_notebook : path, optional
        The instructor's source (``solutions/<a>/<a>.ipynb``): its answer cells are the
        "reference solution" document.
    package_root : path, optional
        ``course_pkg``: all its ``.py`` files are one more document.
    settings : Settings, optional
    **options
        Fields of :class:`Settings` to change, e.g. ``threshold=0.6``.

    Returns
    -------
    SimilarityReport

    Raises
    ------
    TypeError, ValueError
        Submissions or settings of the wrong kind or out of range.
    FileNotFoundError
        No release notebook, reference notebook or package folder where given.
    """
    s = replace(settings or Settings(), **options)
    notebooks, skipped = _submissions(submissions)
    starter = _release(release_notebook, s)
    documents, prints = [], []
    for name, kind, parts, note in _sources(notebooks, reference_notebook, package_root):
        fp = _fingerprint(parts, starter, s)
        compared = len(fp.kept) >= s.min_fingerprints
        if not compared:
            why = f"not compared: {len(fp.kept)} fingerprints beyond the starter code"
            note = f"{note}; {why}" if note else why
        documents.append(Document(name, kind, parts, len(fp.kept), note, compared))
        prints.append(fp)
    found, common = _scores(documents, prints, s)
    pairs, more = [], s.detailed
    for pair, i, j in found:
        if pair.flagged or more > 0:  # the regions of the pairs the report shows
            more -= not pair.flagged
            ignore = starter.hashes | (common if pair.kind_b == Kind.STUDENT else set())
            regions = _regions(documents[i], documents[j], prints[i], prints[j], ignore, s)
            pair = replace(pair, regions=regions)
        pairs.append(pair)
    flagged = [p for p in pairs if p.flagged]
    return SimilarityReport(pairs, flagged, documents, skipped, s, len(common))


def _sources(notebooks, reference_notebook, package_root):
    """(name, kind, code parts, note) of every document: the students by name, then the
    reference solution and course_pkg."""
    for student, (path, found) in sorted(notebooks.items()):
        code, note = _read_code(path, answers=True, extra=True)
        yield student, Kind.STUDENT, code, "; ".join(filter(None, [found, note]))
    if reference_notebook is not None:
        if not Path(reference_notebook).is_file():
            raise FileNotFoundError(f"no reference notebook at {reference_notebook}")
        code, _ = _read_code(Path(reference_notebook), answers=True, extra=False)
        yield Kind.REFERENCE.value, Kind.REFERENCE, code, ""
    if package_root is not None:
        if not Path(package_root).is_dir():
            raise FileNotFoundError(f"no package folder at {package_root}")
        yield Kind.PACKAGE.value, Kind.PACKAGE, _package_code(Path(package_root)), ""


def _scores(documents: list[Document], prints: list[_Fingerprinted], s: Settings):
    """Every pair sharing a fingerprint as (PairResult, index of a, index of b), most alike
    first, and the fingerprints too common to count between students.

    Students are paired through an inverted index (fingerprint -> the students holding
    it), so the work grows with the fingerprints shared, not with the square of the class;
    a fingerprint of more than ``max_holders`` students adds no pair at all.
    """
    students = [i for i, d in enumerate(documents) if d.kind == Kind.STUDENT and d.compared]
    references = [i for i, d in enumerate(documents) if d.kind != Kind.STUDENT and d.compared]
    holders: dict[int, list[int]] = defaultdict(list)
    for i in students:
        for h in prints[i].kept:
            holders[h].append(i)
    common = {h for h, docs in holders.items() if len(docs) > s.max_holders}
    own = {i: len(prints[i].kept.keys() - common) for i in students}
    together: Counter = Counter()
    for docs in holders.values():
        if 1 < len(docs) <= s.max_holders:
            together.update(combinations(docs, 2))
    found = [
        (_pair(documents[i], documents[j], shared, own[i], own[j], s), i, j)
        for (i, j), shared in together.items()
    ]
    for i in students:
        for r in references:
            if shared := len(prints[i].kept.keys() & prints[r].kept.keys()):
                counts = len(prints[i].kept), len(prints[r].kept)
                found.append((_pair(documents[i], documents[r], shared, *counts, s), i, r))
    found.sort(key=lambda f: (-f[0].score, -f[0].shared, f[0].a, f[0].kind_b, f[0].b))
    return found, common


def _pair(a: Document, b: Document, shared: int, count_a: int, count_b: int, s) -> PairResult:
    """Scores and flag of a pair, from the fingerprints each side counts and the shared ones."""
    score_a, score_b = shared / max(count_a, 1), shared / max(count_b, 1)
    # a reference document is large: only the student's side must have enough code
    smaller = min(count_a, count_b) if b.kind == Kind.STUDENT else count_a
    flagged = (
        max(score_a, score_b) >= s.threshold
        and shared >= s.min_shared
        and smaller >= s.min_fingerprints
    )
    return PairResult(a.name, b.name, b.kind, score_a, score_b, shared, count_a, count_b, flagged)


# ---------------------------------------------------------------- writing the report


def _where(region: Region, side: str) -> str:
    part, (first, last) = (
        (region.part_a, region.lines_a) if side == "a" else (region.part_b, region.lines_b)
    )
    return f"{part} {first}-{last}"


def write_csv(report: SimilarityReport, path) -> None:
    """The ranked pairs, one a row; fields a spreadsheet would run as formulas are quoted."""
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["rank", "student", "other", "other_kind", "score", "share_of_student",
             "share_of_other", "shared", "fingerprints_student", "fingerprints_other",
             "needs_a_look", "regions"]
        )  # fmt: skip
        for rank, p in enumerate(report.pairs, 1):
            regions = "; ".join(f"{_where(r, 'a')} ~ {_where(r, 'b')}" for r in p.regions)
            writer.writerow(
                [rank, spreadsheet_safe(p.a), spreadsheet_safe(p.b), p.kind_b.value,
                 f"{p.score:.3f}", f"{p.score_a:.3f}", f"{p.score_b:.3f}", p.shared,
                 p.fingerprints_a, p.fingerprints_b, "yes" if p.flagged else "no",
                 spreadsheet_safe(regions)]
            )  # fmt: skip


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table.pairs { border-collapse: collapse; } table.pairs td, table.pairs th {
  border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
tr.flag td { background: #fde8e8; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
table.code { border-collapse: collapse; font-family: monospace; font-size: 85%; width: 100%; }
table.code td { white-space: pre-wrap; word-break: break-all; padding: 0 4px;
  vertical-align: top; }
td.n, td.r { color: #888; text-align: right; user-select: none; width: 3em; }
.m0 { background: #ffe08a; } .m1 { background: #a8e6a1; } .m2 { background: #9ed0ff; }
.m3 { background: #f5b0e0; } .m4 { background: #ffc49b; } .m5 { background: #c7b8ff; }
td.gap { color: #888; font-style: italic; }
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"  # a browser runs and fetches nothing
LONG_PART = 80  # a part longer than this (a course_pkg file) shows only matches and context
CONTEXT = 3


def _listing(doc: Document, marks: dict[str, dict[int, int]]) -> list[str]:
    """The parts of ``doc`` that hold a region, line by line, region lines coloured."""
    out = [f"<h4>{_label(doc.name, doc.kind)}</h4>"]
    for part, text in doc.parts.items():
        if part not in marks:
            continue
        lines, marked = text.split("\n"), marks[part]  # lines as the tokenizer counts them
        if lines[-1] == "":
            lines.pop()
        shown = range(1, len(lines) + 1)
        if len(lines) > LONG_PART:
            near = {n + d for n in marked for d in range(-CONTEXT, CONTEXT + 1)}
            shown = [n for n in shown if n in near]
        out.append(f"<h5>{html.escape(part)}</h5><table class='code'>")
        previous = 0
        for n in shown:
            if n > previous + 1:
                out.append(
                    f"<tr><td></td><td></td><td class='gap'>… {n - previous - 1} lines</td></tr>"
                )
            region = marked.get(n)
            css = f" class='m{region % 6}'" if region is not None else ""
            number = "" if region is None else str(region + 1)
            code = html.escape(lines[n - 1])
            out.append(
                f"<tr{css}><td class='n'>{n}</td><td class='r'>{number}</td><td>{code}</td></tr>"
            )
            previous = n
        out.append("</table>")
    return out


def _label(name: str, kind: Kind) -> str:
    """A document's name as HTML: the reference documents in italics, unlike any student."""
    return html.escape(name) if kind == Kind.STUDENT else f"<em>{html.escape(name)}</em>"


def _detail(report: SimilarityReport, number: int, pair: PairResult) -> list[str]:
    """One pair: its regions listed, then the two sides' code with the regions coloured."""
    a, b = report.document(Kind.STUDENT, pair.a), report.document(pair.kind_b, pair.b)
    marks: tuple[dict, dict] = (defaultdict(dict), defaultdict(dict))
    for r, region in enumerate(pair.regions):
        for side, part, (first, last) in (
            (0, region.part_a, region.lines_a),
            (1, region.part_b, region.lines_b),
        ):
            for n in range(first, last + 1):
                marks[side][part].setdefault(n, r)
    student, other = html.escape(pair.a), _label(pair.b, pair.kind_b)
    regions = (
        f"<li>{html.escape(_where(r, 'a'))} ~ {html.escape(_where(r, 'b'))} ({r.tokens} tokens)"
        for r in pair.regions
    )
    return [
        f"<h3 id='pair-{number}'>{number}. {student} ~ {other}</h3>",
        f"<p>{pair.score_a:.0%} of {student}'s fingerprints are in {other}'s code, "
        f"{pair.score_b:.0%} of {other}'s in {student}'s; {pair.shared} shared.</p>",
        "<ol>",
        *regions,
        "</ol><div class='side-by-side'><div>",
        *_listing(a, marks[0]),
        "</div><div>",
        *_listing(b, marks[1]),
        "</div></div>",
    ]


def _key(pair: PairResult) -> tuple[str, Kind, str]:
    return pair.a, pair.kind_b, pair.b


def _rows(pairs: list[PairResult], numbers: dict[tuple, int]) -> list[str]:
    out = [
        "<table class='pairs'><tr><th>#</th><th>student</th><th>other</th><th>score</th>"
        "<th>share of student</th><th>share of other</th><th>shared fingerprints</th></tr>"
    ]
    for rank, p in enumerate(pairs, 1):
        number = numbers.get(_key(p))
        link = f"<a href='#pair-{number}'>{rank}</a>" if number else str(rank)
        css = " class='flag'" if p.flagged else ""
        cells = [link, html.escape(p.a), _label(p.b, p.kind_b), f"{p.score:.0%}"]
        cells += [f"{p.score_a:.0%}", f"{p.score_b:.0%}", str(p.shared)]
        out.append(f"<tr{css}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return out


def _notes(title: str, notes: list[tuple[str, str]]) -> list[str]:
    if not notes:
        return []
    items = (f"<li>{name}: {html.escape(why)}</li>" for name, why in notes)  # name: HTML
    return [f"<h2>{title}</h2><ul>", *items, "</ul>"]


def write_html(report: SimilarityReport, path) -> None:
    """One self-contained page: no script, no outside resource, every text escaped.

    The same report gives the same bytes.
    """
    shown = [p for p in report.pairs if p.regions]
    numbers = {_key(p): n for n, p in enumerate(shown, 1)}
    s = report.settings
    settings = ", ".join(f"{f.name} = {getattr(s, f.name)}" for f in fields(s))
    left_out = [(html.escape(n), why) for n, why in report.skipped]
    left_out += [(_label(d.name, d.kind), d.note) for d in report.documents if not d.compared]
    noticed = [(_label(d.name, d.kind), d.note) for d in report.documents if d.compared and d.note]
    page = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{_POLICY}\">",
        f"<title>Similarity report</title><style>{_STYLE}</style></head><body>",
        "<h1>Similarity report</h1>",
        f"<p>{sum(d.kind == Kind.STUDENT for d in report.documents)} submissions, compared "
        f"pairwise and with the reference documents. Settings: {html.escape(settings)}. "
        f"{report.common} fingerprints held by more than {s.max_holders} submissions were "
        "taken as common idiom and not compared between students (raise max_holders if a "
        "group shares a source other than the reference).</p>",
        f"<h2>Needs a look ({len(report.flagged)})</h2>",
        *(_rows(report.flagged, numbers) if report.flagged else ["<p>No pair was flagged.</p>"]),
        f"<h2>All pairs sharing code ({len(report.pairs)})</h2>",
        *_rows(report.pairs, numbers),
        *_notes("Not compared", left_out),
        *_notes("Noticed", noticed),
        "<h2>Matching regions</h2>",
    ]
    for pair in shown:
        page += _detail(report, numbers[_key(pair)], pair)
    page.append("</body></html>\n")
    # errors="replace": a folder name that is not UTF-8 comes as lone surrogates
    Path(path).write_text("\n".join(page), encoding="utf-8", errors="replace")


# ---------------------------------------------------------------- the command


def _printable(text: str) -> str:
    """A name as a terminal shows it harmlessly: control characters written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def summary(report: SimilarityReport) -> str:
    """The flagged pairs, one a line, for the terminal."""
    lines = [
        f"needs a look: {_printable(p.a)} ~ {_printable(p.b)}: {p.score_a:.0%} and "
        f"{p.score_b:.0%} of the fingerprints, {p.shared} shared"
        for p in report.flagged
    ]
    lines.append(f"{len(report.flagged)} of {len(report.pairs)} pairs sharing code need a look")
    return "\n".join(lines)


def write_report(
    assignment: str,
    *,
    course_root: Path,
    submissions: Path,
    out: Path,
    settings=None,
    roster: Path | None = None,
    pattern: str | None = None,
) -> SimilarityReport:
    """Compare the submissions :func:`~autograder.collect.collect` finds (through the
    ``roster`` and ``pattern`` as grading does) against each other, the reference solution
    and ``course_pkg``; write ``similarity.html`` and ``similarity.csv`` to ``out``."""
    source = course_root / "solutions" / assignment / f"{assignment}.ipynb"
    release = course_root / "assignments" / assignment / f"{assignment}.ipynb"
    for path in (source, release):
        if not path.is_file():
            raise FileNotFoundError(f"no notebook {path} for assignment {assignment!r}")
    with tempfile.TemporaryDirectory(prefix="similarity-") as work:  # a zip unpacks here
        entries = collect(submissions, assignment, source, Path(work), read_roster(roster), pattern)
        report = compare_class(entries, course_root, assignment, settings)
    out.mkdir(parents=True, exist_ok=True)
    write_html(report, out / "similarity.html")
    write_csv(report, out / "similarity.csv")
    return report


def compare_class(entries, course_root: Path, assignment: str, settings=None):
    """:func:`compare_submissions` of a class's entries (those without a notebook are
    listed as skipped), against the course's release, reference solution and ``course_pkg``."""
    source = course_root / "solutions" / assignment / f"{assignment}.ipynb"
    release = course_root / "assignments" / assignment / f"{assignment}.ipynb"
    package = course_root / "course_pkg"
    return compare_submissions(
        entries, release, source, package if package.is_dir() else None, settings=settings
    )
