"""Find each student's notebook, whatever the download looks like, and lose none.

Four layouts are read, from a folder or a zip of it:

- nbgrader's ``<student>/<assignment>/<files>`` (``nbgrader collect`` or the
  exchange), whose ``timestamp.txt`` gives the submission time;
- Canvas's "Download Submissions" zip: flat files named
  ``<name>_[LATE_]<user id>_<submission id>_<file>``, where a file uploaded
  again carries ``-1``, ``-2``... before its extension;
- Moodle's "Download all submissions": one folder per participant,
  ``<Full Name>_<id>_assignsubmission_file_/<files>``;
- a pattern the instructor gives (a regular expression with the named group
  ``student`` or ``platform_id``, and optionally ``late`` and ``submission``),
  matched against each file's path inside the download;

and, as before, ``<student>/<files>`` (one folder per student). A platform's
ids are mapped to the course's student ids through the roster (its
``platform_id`` column), never guessed from a name.

Nothing is dropped without a row: a notebook whose owner cannot be found
becomes an entry with ``problem = "unmatched"``; two submissions from
different sources that map to one student become one entry with
``problem = "conflict"`` naming both; of several submissions of one student
from one source, the newest is graded and the others are named in the note.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

MAX_ZIP_BYTES = 512 * 1024 * 1024


@dataclass
class Entry:
    student: str
    notebook: Path | None  # None: nothing to grade
    note: str = ""  # what was noticed while choosing the notebook
    folder: Path | None = None  # nbgrader's <student>/<assignment>/ folder, if that is the layout
    late: bool | None = None  # the platform marked the submission late (None: it does not say)
    submitted: datetime | None = None  # when it was submitted, if the download says
    time_source: str = ""  # where ``submitted`` comes from
    origin: str = ""  # how the files were named in the download (for the instructor)
    problem: str = ""  # "", "unmatched" (no student for it) or "conflict" (two sources)


# What a student id may be: it names a folder and a gradebook record, so no characters that
# file names, glob patterns or a shell treat specially, no spaces, and no leading dot.
STUDENT_ID = re.compile(r"[A-Za-z0-9@+=_-][A-Za-z0-9@+=_.-]{0,63}")


def id_problem(student: str) -> str:
    """Why the grader cannot use this student id ("" when it can)."""
    if STUDENT_ID.fullmatch(student):
        return ""
    odd = sorted({c for c in student if not re.fullmatch(r"[A-Za-z0-9@+=_.-]", c)})
    shown = ", ".join(repr(c) for c in odd) or "a leading dot"
    return (
        f"the student id {student!r} cannot be used as a folder and gradebook name ({shown}; "
        "letters, digits and @ + = _ . - only, at most 64): rename the submission"
    )


# ---------------------------------------------------------------------------- the roster


@dataclass(frozen=True)
class Student:
    student_id: str
    platform_id: str = ""  # the learning platform's id (Canvas user id, Moodle participant id)
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass
class Roster:
    students: list[Student] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [s.student_id for s in self.students]

    def by_id(self, student_id: str) -> Student | None:
        return next((s for s in self.students if s.student_id == student_id), None)

    def by_platform_id(self, platform_id: str) -> Student | None:
        return next((s for s in self.students if s.platform_id == platform_id), None)


PLATFORM_ID_COLUMNS = ("platform_id", "canvas_id", "moodle_id", "lms_id")


def read_roster(path: Path | None) -> Roster:
    """The class list: a CSV with ``student_id`` (or ids in its first column), and optionally
    ``platform_id`` (or ``canvas_id``, ``moodle_id``, ``lms_id``), ``first_name``,
    ``last_name`` (or one ``name`` column, split at its last space) and ``email``.

    A student id or platform id that appears twice, or a student id the
    grader cannot use, is a ``ValueError`` naming the rows.
    """
    if path is None:
        return Roster()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return Roster()
    header = [h.strip().lower() for h in rows[0]]

    def column(*names):
        return next((header.index(n) for n in names if n in header), None)

    sid = column("student_id")
    sid = 0 if sid is None else sid
    pid, first, last = column(*PLATFORM_ID_COLUMNS), column("first_name"), column("last_name")
    full, email = column("name", "full_name"), column("email")
    students, seen_ids, seen_platform = [], {}, {}
    for line, row in enumerate(rows[1:], start=2):

        def get(i, row=row):
            return row[i].strip() if i is not None and i < len(row) else ""

        student_id = get(sid)
        if not student_id:
            continue
        if problem := id_problem(student_id):
            raise ValueError(f"{path}, line {line}: {problem}")
        if student_id in seen_ids:
            raise ValueError(
                f"{path}: student id {student_id!r} is on lines {seen_ids[student_id]} and {line}"
            )
        seen_ids[student_id] = line
        platform_id = get(pid)
        if platform_id and platform_id in seen_platform:
            raise ValueError(
                f"{path}: platform id {platform_id!r} is on lines {seen_platform[platform_id]} "
                f"and {line}"
            )
        if platform_id:
            seen_platform[platform_id] = line
        first_name, last_name = get(first), get(last)
        if not (first_name or last_name) and get(full):
            first_name, _, last_name = get(full).rpartition(" ")
            if not first_name:
                first_name, last_name = last_name, ""
        students.append(Student(student_id, platform_id, first_name, last_name, get(email)))
    return Roster(students)


# ---------------------------------------------------------------------------- the download


def _safe_extract(archive: Path, dest: Path) -> dict[Path, datetime]:
    """Unzip, refusing absolute paths, ``..`` and archives that inflate past a limit.

    Returns each extracted file with the time its zip entry records.
    """
    times = {}
    with zipfile.ZipFile(archive) as zf:
        total = 0
        for info in zf.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith("/") or ".." in parts or info.is_dir():
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise ValueError(f"{archive.name} inflates to more than {MAX_ZIP_BYTES} bytes")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            try:
                times[target] = datetime(*info.date_time)
            except ValueError:
                pass  # a zip entry without a usable date
    return times


CANVAS_FILE = re.compile(
    r"(?P<name>.+?)_(?:(?P<late>late)_)?(?P<platform_id>\d+)_(?P<submission>\d+)_(?P<file>.+)",
    re.IGNORECASE,
)
MOODLE_FOLDER = re.compile(
    r"(?P<name>.+)_(?P<platform_id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_", re.IGNORECASE
)
RESUBMITTED = re.compile(r"(?P<stem>.+)-(?P<n>\d+)(?P<suffix>\.[^.]+)")


@dataclass
class _File:
    path: Path
    name: str  # the file's own name, as the student uploaded it
    key: tuple  # (source, identity, submission): files with one key are one submission
    student: str | None  # the roster's id, if known
    label: str  # how the download names the submitter, for messages
    late: bool | None = None
    submitted: datetime | None = None
    time_source: str = ""
    folder: Path | None = None


def _original_name(name: str) -> tuple[str, int]:
    """Canvas appends -1, -2... to a file uploaded again: the name without it, and the number."""
    m = RESUBMITTED.fullmatch(name)
    return (m["stem"] + m["suffix"], int(m["n"])) if m else (name, 0)


def _platform_student(roster: Roster, platform: str, platform_id: str) -> tuple[str | None, str]:
    student = roster.by_platform_id(platform_id)
    if student is not None:
        return student.student_id, ""
    if not roster.students:
        return None, f"a {platform} download needs a roster with a platform_id column (--roster)"
    return None, f"{platform} id {platform_id} is not in the roster's platform_id column"


def _classify(
    rel: tuple, path: Path, assignment: str, roster: Roster, pattern: re.Pattern | None
) -> _File | str | None:
    """What one file of the download is: a student's file, a reason it is nobody's (a str),
    or None when it is not a submission at all (another assignment, a stray non-notebook)."""
    posix = "/".join(rel)
    if pattern is not None and (m := pattern.fullmatch(posix)):
        groups = m.groupdict()
        if groups.get("student"):
            student, why = groups["student"], ""
        else:
            student, why = _platform_student(roster, "platform", groups.get("platform_id") or "")
        label = groups.get("student") or f"platform id {groups.get('platform_id')}"
        if student is None:
            return f"{posix}: {why}"
        late = bool(groups.get("late")) if "late" in groups else None
        key = ("pattern", label, groups.get("submission") or "")
        return _File(path, path.name, key, student, label, late)
    if len(rel) >= 3 and rel[1] == assignment:  # nbgrader: <student>/<assignment>/...
        return _File(path, path.name, ("folder", rel[0], ""), rel[0], f"folder {rel[0]}/")
    if len(rel) >= 3 and not MOODLE_FOLDER.fullmatch(rel[0]):
        return None  # another assignment of the same student (nbgrader layout)
    if len(rel) >= 2 and (m := MOODLE_FOLDER.fullmatch(rel[0])):
        student, why = _platform_student(roster, "Moodle", m["platform_id"])
        if student is None:
            return f"{rel[0]}/{rel[-1]}: {why}"
        label = f"Moodle folder {rel[0]}/"
        return _File(path, path.name, ("moodle", m["platform_id"], ""), student, label)
    if len(rel) == 2:  # one folder per student: <student>/<files>
        return _File(path, path.name, ("folder", rel[0], ""), rel[0], f"folder {rel[0]}/")
    if m := CANVAS_FILE.fullmatch(rel[0]):
        student, why = _platform_student(roster, "Canvas", m["platform_id"])
        if student is None:
            return f"{rel[0]}: {why}"
        name = m["file"]
        label = f"Canvas user {m['platform_id']} ({m['name']})"
        key = ("canvas", m["platform_id"], int(m["submission"]))
        return _File(path, name, key, student, label, late=bool(m["late"]))
    if path.suffix != ".ipynb":
        return None  # a stray file beside the submissions (a roster, a README)
    # a flat file that is no platform's: <student id>_<anything>.ipynb, by the roster only
    owners = [s for s in roster.ids if rel[0].startswith(s + "_")]
    if owners:
        student = max(owners, key=len)  # o_brien_x.ipynb is o_brien's, not o's
        return _File(path, rel[0][len(student) + 1 :], ("flat", student, ""), student, rel[0])
    if roster.students:
        return f"{rel[0]}: its name starts with no student id of the roster"
    return f"{rel[0]}: a loose notebook names no student without a roster (--roster)"


def _solution_ids(source: Path) -> set:
    nb = json.loads(source.read_text())
    return {
        c["metadata"]["nbgrader"]["grade_id"]
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def _matches(path: Path, ids: set) -> int:
    try:
        cells = json.loads(path.read_text()).get("cells", [])
        found = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells}
    except (ValueError, OSError, AttributeError, UnicodeDecodeError):
        return -1
    return len(found & ids)


def choose_notebook(files, assignment: str, source: Path) -> tuple[Path | None, str]:
    """The notebook to grade among a student's files, and a note on the choice.

    ``files`` are paths, or ``(path, name)`` pairs when the download renamed
    the files (``name`` is what the student uploaded). Of the notebooks named
    for the assignment, the last one uploaded (Canvas's highest ``-N``) wins.
    """
    pairs = [(f, f.name) if isinstance(f, Path) else f for f in files]
    notebooks = sorted(
        (p, name)
        for p, name in pairs
        if name.endswith(".ipynb") and ".ipynb_checkpoints" not in p.parts
    )
    if not notebooks:
        return None, "no .ipynb file was submitted"
    wanted = f"{assignment}.ipynb"
    expected = [(p, name) for p, name in notebooks if _original_name(name)[0] == wanted]
    expected.sort(key=lambda pn: _original_name(pn[1])[1], reverse=True)
    others = [name for p, name in notebooks if (p, name) not in expected]
    if expected:
        older = [name for _, name in expected[1:]]
        notes = [f"{expected[0][1]} is the last upload; not graded: {', '.join(older)}"] * bool(
            older
        ) + [f"extra notebooks ignored: {', '.join(others)}"] * bool(others)
        return expected[0][0], "; ".join(notes)
    if len(notebooks) == 1:
        return notebooks[0][0], f"notebook renamed to {notebooks[0][1]}"
    ids = _solution_ids(source)
    best = max(notebooks, key=lambda pn: (_matches(pn[0], ids), pn[1]))
    rest = [name for p, name in notebooks if p != best[0]]
    return best[0], f"graded {best[1]} (most answer cells); ignored: {', '.join(rest)}"


def _submission_time(group: list[_File]) -> tuple[datetime | None, str]:
    times = [f.submitted for f in group if f.submitted is not None]
    return (max(times), group[0].time_source) if times else (None, "")


def collect(
    submissions: Path,
    assignment: str,
    source: Path,
    workdir: Path,
    roster: Roster | None = None,
    pattern: str | re.Pattern | None = None,
) -> list[Entry]:
    """One entry per student who submitted something, and per notebook nobody can own."""
    roster = roster or Roster()
    if isinstance(pattern, str):
        try:
            pattern = re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"the submission pattern {pattern!r} is not a regular expression: {err}"
            ) from None
    if pattern is not None and not {"student", "platform_id"} & set(pattern.groupindex):
        raise ValueError(
            f"the submission pattern {pattern.pattern!r} needs a named group (?P<student>...) "
            "or (?P<platform_id>...)"
        )
    times: dict[Path, datetime] = {}
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        times = _safe_extract(submissions, workdir / "unzipped")
        root = workdir / "unzipped"
        if (root / "submitted").is_dir():
            root = root / "submitted"
    elif submissions.is_dir():
        root = submissions
    else:
        raise FileNotFoundError(f"no submissions folder or zip at {submissions}")
    groups: dict[tuple, list[_File]] = {}
    unmatched = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if not path.is_file() or "__MACOSX" in rel or rel[-1].startswith("."):
            continue
        found = _classify(rel, path, assignment, roster, pattern)
        if found is None:
            continue
        if isinstance(found, str):
            unmatched.append((found, path))
            continue
        if len(rel) >= 3 and found.key[0] == "folder":  # nbgrader's <student>/<assignment>/
            found.folder = root / rel[0] / assignment
            stamp = found.folder / "timestamp.txt"
            if stamp.is_file():
                found.submitted, found.time_source = _nbgrader_time(stamp), "timestamp.txt"
        elif path in times:
            found.submitted, found.time_source = times[path], "zip entry"
        groups.setdefault(found.key, []).append(found)

    by_student: dict[str, dict[tuple, list[_File]]] = {}
    for key, files in groups.items():
        by_student.setdefault(files[0].student, {}).setdefault(key[:2], []).append(files)
    entries = []
    for student, sources in sorted(by_student.items()):
        if len(sources) > 1:  # two submitters, or two layouts, for one student: ask a person
            named = [subs[0][0].label for subs in sources.values()]
            entries.append(
                Entry(
                    student,
                    None,
                    f"two submissions map to {student}: {' and '.join(sorted(named))}; "
                    "keep one in the download, or fix the roster, and grade again",
                    problem="conflict",
                    origin="; ".join(sorted(named)),
                )
            )
            continue
        (submitted_groups,) = sources.values()
        # several submissions from one submitter: the newest is graded, the rest are named
        submitted_groups.sort(key=lambda g: (_submission_time(g)[0] or datetime.min, g[0].key))
        group, older = submitted_groups[-1], submitted_groups[:-1]
        notebook, note = choose_notebook([(f.path, f.name) for f in group], assignment, source)
        if older:
            names = ", ".join(f.path.name for g in older for f in g)
            note = "; ".join(filter(None, [note, f"older submissions not graded: {names}"]))
        when, time_source = _submission_time(group)
        lates = [f.late for f in group if f.late is not None]
        entries.append(
            Entry(
                student,
                notebook,
                note,
                next((f.folder for f in group if f.folder and f.folder.is_dir()), None),
                late=any(lates) if lates else None,
                submitted=when,
                time_source=time_source,
                origin=group[0].label,
            )
        )
    for why, path in unmatched:  # named by the file's place in the download
        label = "?" + path.relative_to(root).as_posix()
        entries.append(Entry(label, None, why, problem="unmatched", origin=why))
    return entries


def _nbgrader_time(stamp: Path) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(stamp.read_text().strip())
    except (ValueError, OSError):
        return None
