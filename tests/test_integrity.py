"""The integrity scan: every attack of the sample class is flagged, no honest notebook is.

The scan reads the shipped sample class's notebooks (the same files
``make grade-sample`` grades); test_autograder.py checks that the flags
reach the report, grades.csv and the students' feedback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.integrity import code_flags, integrity_flags
from autograder.sample import CASES

ROOT = Path(__file__).resolve().parents[1]
A = "a1_unfolding"
SOURCE = json.loads((ROOT / "solutions" / A / f"{A}.ipynb").read_text())
RELEASE = json.loads((ROOT / "assignments" / A / f"{A}.ipynb").read_text())
SAMPLE = ROOT / "sample_class" / A

# Honest work, right or wrong, slow or fast, renamed or reshuffled: nothing to look at.
HONEST = {
    "full",
    "blank",
    "partial",
    "duplicated_cells",
    "metadata_changed",
    "renamed",
    "infinite_loop",
    "memory_bomb",
    "output_flood",
    "=1+2",
    "star*",
    "trailing ",
    "corrupt_json",  # unreadable: its status says so
}


def flags_of(student: str) -> list[str]:
    name = "my_work.ipynb" if student == "renamed" else f"{A}.ipynb"
    return integrity_flags(SAMPLE / student / A / name, SOURCE, RELEASE)


def test_every_attack_is_flagged_and_no_honest_notebook_is():
    students = sorted(s for s in CASES if (SAMPLE / s).is_dir() and s != "no_notebook")
    flagged = {s for s in students if flags_of(s)}
    assert flagged == set(students) - HONEST
    assert len(flagged) == 23


@pytest.mark.parametrize(
    ("student", "expected"),
    [
        ("solution_thief", ["calls open()", "imports glob"]),
        ("gradebook_attack", ["calls open()", "imports glob", "imports os", "imports sqlite3"]),
        ("deleted_test", ["test cell test_activation_stability deleted"]),
        ("markdown_test", ["test cell test_activation_values turned into Markdown"]),
        ("lying_ndarray", ["subclasses np.ndarray"]),
        (
            "threaded_reference",
            [
                "imports course_pkg.activations",
                "imports course_pkg.rnn",
                "imports course_pkg.scalar_rnn",
                "imports threading",
            ],
        ),
        (
            "session_tampering",
            [
                "assigns kernel.session.send",
                "calls get_ipython()",
            ],
        ),
    ],
)
def test_what_each_attack_is_flagged_for(student, expected):
    assert flags_of(student) == expected


def test_reexport_names_every_function_it_takes_from_the_package():
    graded = {f"uses course_pkg's own {name}" for name in ("sigmoid", "rnn_forward", "log_loss")}
    assert graded <= set(flags_of("reexport")) and len(flags_of("reexport")) == 12


def test_patching_is_named_by_its_target():
    assert {"assigns np.allclose", "assigns builtins.abs"} <= set(flags_of("monkeypatch"))
    assert "assigns course_pkg.checks.check_array.__code__" in flags_of("code_swap")
    assert "assigns course_pkg.checks" not in flags_of("code_swap")  # only what is changed


def test_hostile_or_broken_input_is_read_without_harm(tmp_path):
    deep = "x = " + "(" * 200_000 + ")" * 200_000
    assert code_flags(deep, set()) == set()  # does not parse: it will fail when run
    assert code_flags("def f(:\n", set()) == set()
    odd = tmp_path / "odd.ipynb"
    odd.write_text(json.dumps({"cells": [5, {"cell_type": "code", "source": 7, "outputs": 3}]}))
    assert all(f.startswith("test cell") for f in integrity_flags(odd, SOURCE, RELEASE))
    odd.write_text("[1, 2]")
    assert integrity_flags(odd, SOURCE, RELEASE)[0].startswith("test cell")
    odd.write_text("{not json")
    assert integrity_flags(odd, SOURCE, RELEASE) == []
    script = {
        "cells": [
            {
                "cell_type": "code",
                "source": "x = 1",
                "outputs": [{"data": {"text/html": "<img src=x onerror=alert(1)>"}}],
            }
        ]
    }
    odd.write_text(json.dumps(script))
    assert "outputs a browser would run (shown as text in feedback)" in integrity_flags(
        odd, SOURCE, RELEASE
    )
