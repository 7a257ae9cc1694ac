"""Find each student's notebook: nbgrader's ``submitted/`` layout, or a zip from an LMS."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_ZIP_BYTES = 512 * 1024 * 1024


@dataclass
class Entry:
    student: str
    notebook: Path | None  # None: nothing to grade
    note: str = ""  # what was noticed while choosing the notebook
    folder: Path | None = None  # nbgrader's <student>/<assignment>/ folder, if that is the layout


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


def read_roster(path: Path | None) -> list[str]:
    """Student ids from a CSV whose header has ``student_id`` (or the first column)."""
    if path is None:
        return []
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    column = header.index("student_id") if "student_id" in header else 0
    return [r[column].strip() for r in rows[1:] if len(r) > column and r[column].strip()]


def _safe_extract(archive: Path, dest: Path) -> Path:
    """Unzip, refusing absolute paths, ``..`` and archives that inflate past a limit."""
    with zipfile.ZipFile(archive) as zf:
        total = 0
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith("/") or ".." in parts or info.is_dir():
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise ValueError(f"{archive.name} inflates to more than {MAX_ZIP_BYTES} bytes")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return dest


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


def choose_notebook(files: list[Path], assignment: str, source: Path) -> tuple[Path | None, str]:
    """The notebook to grade among a student's files, and a note on the choice."""
    notebooks = sorted(
        p for p in files if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts
    )
    if not notebooks:
        return None, "no .ipynb file was submitted"
    expected = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    others = [p.name for p in notebooks if p not in expected]
    if expected:
        return expected[0], (f"extra notebooks ignored: {', '.join(others)}" if others else "")
    if len(notebooks) == 1:
        return notebooks[0], f"notebook renamed to {notebooks[0].name}"
    ids = _solution_ids(source)
    best = max(notebooks, key=lambda p: (_matches(p, ids), p.name))
    rest = [p.name for p in notebooks if p != best]
    return best, f"graded {best.name} (most answer cells); ignored: {', '.join(rest)}"


def collect(submissions: Path, assignment: str, source: Path, workdir: Path) -> list[Entry]:
    """One entry per student who submitted something for ``assignment``."""
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        root = _safe_extract(submissions, workdir / "unzipped")
        if (root / "submitted").is_dir():
            root = root / "submitted"
    elif submissions.is_dir():
        root = submissions
    else:
        raise FileNotFoundError(f"no submissions folder or zip at {submissions}")
    files_by_student: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).parts
        if len(rel) >= 2:  # <student>/<assignment>/... (nbgrader) or <student>/... (LMS folders)
            if len(rel) >= 3 and rel[1] != assignment:
                continue  # another assignment of the same student
            files_by_student.setdefault(rel[0], []).append(path)
        elif "_" in path.stem:  # LMS flat download: <student>_<anything>.ipynb
            files_by_student.setdefault(path.stem.split("_")[0], []).append(path)
    entries = []
    for student, files in sorted(files_by_student.items()):
        notebook, note = choose_notebook(files, assignment, source)
        folder = root / student / assignment
        entries.append(Entry(student, notebook, note, folder if folder.is_dir() else None))
    return entries
