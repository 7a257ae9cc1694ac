"""The grader's shared records: what a submission may use, a grading job, its result, and the
statuses a result can have. Everything that grades, reports or parses options takes them from
here, so each default is written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """What happened to a submission (a string: it is written as its value)."""

    GRADED = "graded"
    TIMED_OUT = "timed out"
    CRASHED = "crashed"
    OUT_OF_MEMORY = "out of memory"
    NOTEBOOK_MISSING = "notebook missing"
    NOTEBOOK_UNREADABLE = "notebook unreadable"
    ID_REFUSED = "id refused"
    UNMATCHED = "no student"  # a notebook in the download that no roster entry owns
    CONFLICT = "conflict"  # two submitters, or two layouts, map to one student


def _limit(default: int, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Limits:
    """What one submission may use. The time per cell is the course's own setting:
    ``c.Execute.timeout`` in ``nbgrader_config.py`` (see :func:`autograder.grade.course_limits`)."""

    timeout: int = field(metadata={"help": "seconds per cell"})
    memory_mb: int = _limit(2048, "memory of the kernel and every process it starts, together")
    max_output_bytes: int = _limit(1_000_000, "output one cell may print")
    max_notebook_output_bytes: int = _limit(5_000_000, "output the whole notebook may print")
    processes: int = _limit(64, "processes and threads the kernel may run at once")
    disk_mb: int = _limit(256, "what the kernel may write (its /tmp)")

    @property
    def deadline(self) -> float:
        """Seconds after which a whole submission's grading is stopped."""
        return 20 * self.timeout + 120


@dataclass
class Job:
    assignment: str
    student: str
    source: str  # the instructor's notebook (solutions + hidden tests)
    submission: str  # the student's notebook file
    gradebook_template: str  # a gradebook.db that knows the assignment
    workdir: str  # private folder for this job
    seed: int  # of the hidden tests' inputs: fresh for every run
    package: str  # the student edition's course_pkg for this assignment (what the kernel imports)
    limits: Limits
    sandbox: bool = True
    check_runs_clean: bool = True
    course_id: str = "rnn-course"
    isolation: str = "bwrap"  # or "user": see autograder.sandbox (where bwrap cannot run)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        return cls(**{**data, "limits": Limits(**data["limits"])})


@dataclass
class Result:
    student: str
    status: Status
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    questions: dict = field(default_factory=dict)  # grade_id -> [score, max_score]
    runs_clean: bool | None = None  # the submitted notebook runs top to bottom (nbval-lax)
    runs_clean_detail: str = ""
    feedback: str = ""  # path of the feedback HTML
    autograded: str = ""  # path of the graded notebook as the student may see it (no hidden tests)
    seconds: float = 0.0
    note: str = ""  # how the notebook was chosen (renamed, extra notebooks)
    fingerprint: str = ""  # sha256 of the notebook graded (a resumed run skips it if unchanged)
    seed: int | None = None  # the hidden tests' inputs came from this seed (to reproduce a run)
    late: bool | None = None  # the learning platform marked the submission late
    submitted: str = ""  # when it was submitted (ISO 8601), and from where, if the download says
    origin: str = ""  # how the download named the submitter (Canvas user, Moodle folder...)
    graded_at: str = ""  # when this row was made (UTC, ISO 8601)
    tests: str = ""  # which hidden tests graded it (autograder.grade.hidden_tests_version)
    penalty: float = 0.0  # late penalty in points (autograder.late: recomputed at every write)
    late_hours: float | None = None  # after the due date, when there is one and a time
    late_detail: str = ""  # how the penalty was computed, as the student's feedback says
    integrity: str = ""  # what in the notebook reaches outside its answers (autograder.integrity)
    # where the time went, in seconds: "job" (all of it: the worker process from its start),
    # "staging", "autograde" (nbgrader's step, which holds "kernel_start", "cells", the
    # cells' run in the kernel, "judge", the hidden tests, and "kernel_stop"), "feedback"
    # and "runs_clean"
    # (a second run of the notebook as submitted, where the graded run cannot tell)
    phases: dict = field(default_factory=dict)

    @property
    def final_score(self) -> float:
        """The score after the late penalty: what grades.csv and the exports give."""
        return self.score - self.penalty

    def __post_init__(self):
        self.status = Status(self.status)  # also from the text of results.jsonl

    @classmethod
    def from_json(cls, text: str) -> Result:
        return cls(**json.loads(text))
