"""Reading learning-platform downloads: every file is someone's or has a row saying why.

The downloads are built as Canvas and Moodle write them (file and folder
names, zip entry times), including the cases that lost or confused work
before: names that share a prefix up to the first ``_``, Canvas's LATE
marker, Moodle's folder names, resubmissions and two sources for one
student. The end-to-end test grades a Canvas zip with the real grader.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from autograder.collect import collect, read_roster

from nbgrader_util import grading_course

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "a1_unfolding" / "a1_unfolding.ipynb"
RELEASE = ROOT / "assignments" / "a1_unfolding" / "a1_unfolding.ipynb"
FULL = ROOT / "sample_class" / "a1_unfolding" / "full" / "a1_unfolding" / "a1_unfolding.ipynb"
A = "a1_unfolding"

ROSTER = [
    ("student_id", "platform_id", "first_name", "last_name", "email"),
    ("jsmith", "4242", "Jane", "Smith", "jane@example.edu"),
    ("pobrien", "4343", "Pat", "O'Brien", "pat@example.edu"),
    ("soneil", "4444", "Sean", "O'Neil", "sean@example.edu"),
    ("o_brien", "4545", "Olive", "Brien", "olive@example.edu"),
    ("o_neil", "4646", "Oscar", "Neil", "oscar@example.edu"),
    ("absent1", "4747", "Ann", "Absent", "ann@example.edu"),
]


def write_roster(path: Path, rows=ROSTER) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_zip(path: Path, files: dict) -> Path:
    """``files``: name in the zip -> (bytes, zip entry time as a 6-tuple)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


NB = RELEASE.read_bytes()
DAY = (2026, 11, 20, 12, 0, 0)
LATER = (2026, 11, 21, 9, 30, 0)


def canvas_download(tmp_path: Path) -> Path:
    return write_zip(
        tmp_path / "submissions.zip",
        {
            "smithjane_4242_901_a1_unfolding.ipynb": (NB, DAY),
            "smithjane_4242_901_helper.py": (b"x = 1\n", DAY),
            # uploaded again (Canvas appends -1) and late
            "obrienpat_LATE_4343_902_a1_unfolding-1.ipynb": (NB, LATER),
            # the names the old key (text before the first "_") merged into one student "o"
            "o_brien_4545_904_a1_unfolding.ipynb": (NB, DAY),
            "o_neil_4646_905_my work.ipynb": (NB, DAY),
            # two submissions of one user: the newer one counts
            "oneilsean_4444_906_a1_unfolding.ipynb": (NB, DAY),
            "oneilsean_4444_907_a1_unfolding.ipynb": (NB, LATER),
            # a user the roster does not know
            "strangerx_9999_908_a1_unfolding.ipynb": (NB, DAY),
        },
    )


def by_student(entries):
    return {e.student: e for e in entries}


def test_canvas_download_maps_every_file_through_the_roster(tmp_path):
    roster = read_roster(write_roster(tmp_path / "roster.csv"))
    entries = collect(canvas_download(tmp_path), A, SOURCE, tmp_path / "work", roster)
    got = by_student(entries)
    assert sorted(got) == sorted(
        [
            "jsmith",
            "pobrien",
            "soneil",
            "o_brien",
            "o_neil",
            "?strangerx_9999_908_a1_unfolding.ipynb",
        ]
    )
    jane = got["jsmith"]
    assert jane.notebook.name == "smithjane_4242_901_a1_unfolding.ipynb" and jane.note == ""
    assert (jane.late, jane.submitted.isoformat(), jane.time_source) == (
        False,
        "2026-11-20T12:00:00",
        "zip entry",
    )
    assert jane.origin == "Canvas user 4242 (smithjane)" and jane.problem == ""
    pat = got["pobrien"]  # the LATE marker is kept, and a-1 is the assignment's notebook
    assert pat.late is True and pat.notebook.name.endswith("a1_unfolding-1.ipynb")
    assert pat.note == ""
    assert got["o_brien"].notebook.name == "o_brien_4545_904_a1_unfolding.ipynb"
    assert got["o_neil"].note == "notebook renamed to my work.ipynb"
    sean = got["soneil"]
    assert sean.notebook.name == "oneilsean_4444_907_a1_unfolding.ipynb"
    assert sean.note == "older submissions not graded: oneilsean_4444_906_a1_unfolding.ipynb"
    assert sean.submitted.isoformat() == "2026-11-21T09:30:00"
    stranger = got["?strangerx_9999_908_a1_unfolding.ipynb"]
    assert stranger.problem == "unmatched" and stranger.notebook is None
    assert stranger.note == (
        "strangerx_9999_908_a1_unfolding.ipynb: Canvas id 9999 is not in the roster's "
        "platform_id column"
    )


def test_canvas_download_without_a_roster_is_refused_file_by_file(tmp_path):
    entries = collect(canvas_download(tmp_path), A, SOURCE, tmp_path / "work")
    assert len(entries) == 8  # one row per notebook: nothing merged, nothing skipped
    assert {e.problem for e in entries} == {"unmatched"}
    assert all("needs a roster with a platform_id column" in e.note for e in entries)


def moodle_download(tmp_path: Path) -> Path:
    folder = "{}_{}_assignsubmission_{}_/{}"
    return write_zip(
        tmp_path / "moodle.zip",
        {
            folder.format("Jane Smith", 4242, "file", "a1_unfolding.ipynb"): (NB, DAY),
            folder.format("Pat O'Brien", 4343, "file", "my work.ipynb"): (NB, DAY),
            folder.format("Pat O'Brien", 4343, "onlinetext", "onlinetext.html"): (b"hi", DAY),
            folder.format("Sean O'Neil", 4444, "onlinetext", "onlinetext.html"): (b"hi", DAY),
            folder.format("Some One", 5555, "file", "a1_unfolding.ipynb"): (NB, DAY),
            "__MACOSX/._junk": (b"", DAY),
        },
    )


def test_moodle_folders_map_to_roster_ids(tmp_path):
    roster = read_roster(write_roster(tmp_path / "roster.csv"))
    got = by_student(collect(moodle_download(tmp_path), A, SOURCE, tmp_path / "work", roster))
    unknown = "?Some One_5555_assignsubmission_file_/a1_unfolding.ipynb"
    assert sorted(got) == sorted(["jsmith", "pobrien", "soneil", unknown])
    assert got["jsmith"].notebook.name == "a1_unfolding.ipynb"
    assert got["jsmith"].origin == "Moodle folder Jane Smith_4242_assignsubmission_file_/"
    assert got["jsmith"].late is None  # Moodle's download does not say
    assert got["pobrien"].notebook.name == "my work.ipynb"  # the online text is not a notebook
    assert (got["soneil"].notebook, got["soneil"].note) == (None, "no .ipynb file was submitted")
    assert got[unknown].problem == "unmatched" and "Moodle id 5555" in got[unknown].note


def test_two_sources_for_one_student_is_a_conflict_naming_both(tmp_path):
    roster = read_roster(write_roster(tmp_path / "roster.csv"))
    download = tmp_path / "mixed"
    (download / "jsmith" / A).mkdir(parents=True)
    (download / "jsmith" / A / f"{A}.ipynb").write_bytes(NB)
    (download / "smithjane_4242_901_a1_unfolding.ipynb").write_bytes(NB)
    (download / "pobrien").mkdir()
    (download / "pobrien" / "notes.txt").write_text("not a notebook")
    (download / "pobrien" / f"{A}.ipynb").write_bytes(NB)
    got = by_student(collect(download, A, SOURCE, tmp_path / "work", roster))
    assert got["jsmith"].problem == "conflict" and got["jsmith"].notebook is None
    assert got["jsmith"].note == (
        "two submissions map to jsmith: Canvas user 4242 (smithjane) and folder jsmith/; "
        "keep one in the download, or fix the roster, and grade again"
    )
    assert got["pobrien"].problem == "" and got["pobrien"].notebook.name == f"{A}.ipynb"


def test_flat_names_are_owned_by_the_longest_roster_id(tmp_path):
    rows = [("student_id",), ("o",), ("o_brien",)]
    roster = read_roster(write_roster(tmp_path / "roster.csv", rows))
    download = tmp_path / "flat"
    download.mkdir()
    (download / "o_brien_a1.ipynb").write_bytes(NB)
    (download / "o_homework.ipynb").write_bytes(NB)
    (download / "zed_a1.ipynb").write_bytes(NB)
    (download / "roster.csv").write_text("student_id\n")  # not a submission: no row
    got = by_student(collect(download, A, SOURCE, tmp_path / "work", roster))
    assert got["o_brien"].notebook.name == "o_brien_a1.ipynb"
    assert got["o"].notebook.name == "o_homework.ipynb"
    assert got["?zed_a1.ipynb"].problem == "unmatched"
    assert (
        got["?zed_a1.ipynb"].note
        == "zed_a1.ipynb: its name starts with no student id of the roster"
    )
    assert len(got) == 3


def test_an_instructors_pattern_reads_another_platforms_names(tmp_path):
    roster = read_roster(write_roster(tmp_path / "roster.csv"))
    download = tmp_path / "other"
    download.mkdir()
    (download / "4242-v2-LATE.ipynb").write_bytes(NB)
    (download / "4242-v1.ipynb").write_bytes(NB)
    (download / "4343-v1.ipynb").write_bytes(NB)
    pattern = r"(?P<platform_id>\d+)-v(?P<submission>\d+)(?P<late>-LATE)?\.ipynb"
    got = by_student(collect(download, A, SOURCE, tmp_path / "work", roster, pattern))
    assert got["jsmith"].notebook.name == "4242-v2-LATE.ipynb" and got["jsmith"].late is True
    assert got["jsmith"].note.endswith("older submissions not graded: 4242-v1.ipynb")
    assert got["pobrien"].late is False
    with pytest.raises(ValueError, match=r"needs a named group \(\?P<student>"):
        collect(download, A, SOURCE, tmp_path / "work", roster, r"(\d+)-.*")
    with pytest.raises(ValueError, match="is not a regular expression"):
        collect(download, A, SOURCE, tmp_path / "work", roster, r"(?P<student>")


def test_roster_columns_and_mistakes(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("\ufeffStudent_ID,Canvas_ID,Name,Email\ns1,11,Ada Lovelace,ada@x\ns2,,Plato,\n")
    roster = read_roster(path)
    s1, s2 = roster.students
    assert (s1.student_id, s1.platform_id, s1.first_name, s1.last_name, s1.email) == (
        "s1",
        "11",
        "Ada",
        "Lovelace",
        "ada@x",
    )
    assert (s2.first_name, s2.last_name, s2.platform_id) == ("Plato", "", "")
    path.write_text("student_id,platform_id\ns1,11\ns2,12\ns1,13\n")
    with pytest.raises(ValueError, match="student id 's1' is on lines 2 and 4"):
        read_roster(path)
    path.write_text("student_id,platform_id\ns1,11\ns2,11\n")
    with pytest.raises(ValueError, match="platform id '11' is on lines 2 and 3"):
        read_roster(path)
    path.write_text("student_id\nbad id\n")
    with pytest.raises(ValueError, match="line 2: the student id 'bad id' cannot be used"):
        read_roster(path)


def test_grading_a_canvas_zip_gives_every_student_and_file_a_row(tmp_path):
    """The real grader, sandboxed, on a Canvas download: rows, late flags and names."""
    from autograder.grade import grade_class

    roster = write_roster(tmp_path / "roster.csv")
    download = write_zip(
        tmp_path / "canvas.zip",
        {
            "smithjane_LATE_4242_901_a1_unfolding.ipynb": (FULL.read_bytes(), LATER),
            "strangerx_9999_908_a1_unfolding.ipynb": (NB, DAY),
            "obrienpat_4343_902_a1_unfolding.ipynb": (NB, DAY),
            "bobrien_4343_903_a1_unfolding.ipynb": (NB, DAY),  # the same user, renamed
        },
    )
    course = grading_course(tmp_path)
    out = tmp_path / "out"
    results = grade_class(
        A,
        course_root=course,
        submissions=download,
        out=out,
        roster=roster,
        jobs=2,
        check_runs_clean=False,
        progress=False,
    )
    lines = (out / "grades.csv").read_text().splitlines()
    rows = {r["student_id"]: r for r in csv.DictReader(lines)}
    assert set(rows) == {
        "jsmith",
        "pobrien",
        "soneil",
        "o_brien",
        "o_neil",
        "absent1",
        "?strangerx_9999_908_a1_unfolding.ipynb",
    }
    jane = rows["jsmith"]
    assert (jane["status"], jane["score"], jane["late"]) == ("graded", "30", "yes")
    assert jane["submitted"] == "2026-11-21T09:30:00 (zip entry)"
    assert jane["origin"] == "Canvas user 4242 (smithjane)"
    # one Canvas user with two submission ids: the newer (higher id, same time) is graded
    assert rows["pobrien"]["status"] == "graded" and rows["pobrien"]["late"] == "no"
    assert "older submissions not graded: obrienpat_4343_902" in rows["pobrien"]["note"]
    assert rows["?strangerx_9999_908_a1_unfolding.ipynb"]["status"] == "no student"
    for student in ("soneil", "o_brien", "o_neil", "absent1"):
        assert (rows[student]["status"], rows[student]["reason"]) == (
            "notebook missing",
            "no submission found",
        )
    report = (out / "report.txt").read_text()
    assert "Marked late by the learning platform:\n  jsmith: 2026-11-21T09:30:00" in report
    assert "?strangerx_9999_908_a1_unfolding.ipynb: no student" in report
    assert len(results) == 7
    # the gradebook knows the roster's names (the formgrader shows them), and nobody else
    from nbgrader.api import Gradebook

    from autograder.grade import _course_config, gradebook_url

    config = _course_config(course)
    with Gradebook(gradebook_url(config, course), config.CourseDirectory.course_id) as gb:
        people = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
        assert gb.find_submission(A, "jsmith").score == 30
    assert people["jsmith"] == ("Jane", "Smith", "jane@example.edu")
    assert people["absent1"] == ("Ann", "Absent", "ann@example.edu")
    assert not any(s.startswith("?") for s in people)
