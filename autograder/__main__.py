"""Command line: ``python -m autograder grade ASSIGNMENT [options]``.

Also ``worker`` (a grading worker of the celery executor), ``gradescope`` (an autograder.zip),
``export``, ``edition``, ``harden``,
``sample`` and ``similarity ASSIGNMENT`` (a plagiarism report).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from .grade import course_limits, grade_class
from .records import Limits
from .similarity import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="autograde every submission of one assignment")
    g.add_argument("assignment")
    g.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: .)")
    g.add_argument("--submissions", type=Path, help="folder <student>/<assignment>/ or a zip")
    g.add_argument(
        "--roster",
        type=Path,
        help="CSV: student_id, and platform_id (Canvas or Moodle id), first_name, last_name, email",
    )
    g.add_argument(
        "--pattern",
        help="regular expression for another platform's file names, with (?P<student>...) "
        "or (?P<platform_id>...), optionally (?P<late>...) and (?P<submission>...)",
    )
    g.add_argument(
        "--student",
        action="append",
        dest="students",
        help="grade only this student (again: repeat for several), merged into grades.csv",
    )
    g.add_argument("--out", type=Path, help="output folder (default: grading/<assignment>)")
    g.add_argument("--jobs", type=int, help="submissions graded at once (default: CPU count)")
    g.add_argument(
        "--timeout",
        type=int,
        help="seconds per cell (default: Execute.timeout in nbgrader_config.py)",
    )
    for limit in fields(Limits)[1:]:  # the time per cell is the course's (above)
        default = limit.default
        g.add_argument(
            "--" + limit.name.replace("_", "-"),
            type=int,
            default=default,
            help=f"{limit.metadata['help']} (default {default})",
        )
    g.add_argument("--no-sandbox", action="store_true", help="trusted submissions only")
    g.add_argument("--no-runs-clean", action="store_true", help="skip the nbval-lax run")
    g.add_argument("--no-gradebook", action="store_true", help="do not write gradebook.db")
    g.add_argument(
        "--resume",
        action="store_true",
        help="keep the results a stopped run recorded (results.jsonl) for unchanged notebooks",
    )
    g.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="local: worker processes here (default); celery: tasks to workers via --broker",
    )
    g.add_argument("--broker", help="Redis URL of the celery executor, redis://:PASSWORD@HOST/0")
    g.add_argument("--seed", type=int, help="derive every hidden-test seed from this (repeatable)")
    g.add_argument("--max-tries", type=int, help="celery: deliveries before a crash is recorded")
    g.add_argument("--lease", type=int, help="celery: seconds before a dead worker's task moves")
    w = sub.add_parser("worker", help="serve grading tasks from a Redis broker (celery executor)")
    w.add_argument("--broker", required=True, help="Redis URL, as given to grade --broker")
    w.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "rnn-grader",
        help="where this worker keeps unpacked assignment bundles (default ~/.cache/rnn-grader)",
    )
    w.add_argument("--concurrency", type=int, default=1, help="submissions at once (default 1)")
    w.add_argument("--hostname", help="this worker's name (default grader-PID@host)")
    w.add_argument("--lease", type=int, default=None, help="as the coordinator's --lease")
    q = sub.add_parser("gradescope", help="an autograder.zip that grades on Gradescope")
    q.add_argument("assignment")
    q.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: .)")
    q.add_argument("--out", type=Path, help="default: grading/<assignment>/gradescope")
    q.add_argument("--timeout", type=int, help="seconds per cell (default: the course's)")
    q.add_argument("--seed", type=int, help="derive each student's hidden-test seed from this")
    q.add_argument("--no-runs-clean", action="store_true", help="skip the nbval-lax run")
    x = sub.add_parser("export", help="grades for Canvas and Moodle, and per question")
    x.add_argument("assignment")
    x.add_argument("--course", type=Path, default=Path.cwd())
    x.add_argument("--roster", type=Path, required=True, help="the roster used for grading")
    x.add_argument("--out", type=Path, help="default: grading/<assignment>")
    x.add_argument("--canvas-assignment-id", type=int, help="the number in its Canvas address")
    e = sub.add_parser("edition", help="build the student edition and its zip archive")
    e.add_argument("--course", type=Path, default=Path.cwd())
    e.add_argument("--dest", type=Path, help="default: dist/student under the course")
    e.add_argument("--released", nargs="*", help="default: RELEASED in nbgrader_config.py")
    e.add_argument(
        "--published", nargs="*", help="default: SOLUTIONS_PUBLISHED in nbgrader_config.py"
    )
    h = sub.add_parser("harden", help="take scripts out of feedback HTML (after nbgrader's)")
    h.add_argument("folders", type=Path, nargs="+")
    s = sub.add_parser("sample", help="write a synthetic class of good and bad submissions")
    s.add_argument("assignment")
    s.add_argument("dest", type=Path)
    s.add_argument("--course", type=Path, default=Path.cwd())
    m = sub.add_parser("similarity", help="rank pairs of submissions by how alike their code is")
    m.add_argument("assignment")
    m.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: .)")
    m.add_argument("--submissions", type=Path, help="folder <student>/<assignment>/ or a zip")
    m.add_argument("--out", type=Path, help="output folder (default: grading/<assignment>)")
    m.add_argument("--roster", type=Path, help="as for grade (maps platform ids to students)")
    m.add_argument("--pattern", help="as for grade (another platform's file names)")
    for setting in fields(Settings):
        default = setting.default
        m.add_argument(
            "--" + setting.name.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"{setting.metadata['help']} (default {default})",
        )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "worker":
        from .distributed import LEASE, run_worker_process

        run_worker_process(
            args.broker, args.cache, args.concurrency, args.hostname, args.lease or LEASE
        )
        return 0
    course = args.course.resolve()
    if args.command == "harden":
        from .feedback import harden_file

        pages = [p for folder in args.folders for p in sorted(folder.rglob("*.html"))]
        for page in pages:
            harden_file(page)
        print(f"hardened {len(pages)} feedback pages")
        return 0
    if args.command == "export":
        from .export import export_grades

        out = (args.out or course / "grading" / args.assignment).resolve()
        rows, warnings = export_grades(
            course, args.assignment, args.roster, out, args.canvas_assignment_id
        )
        for warning in warnings:
            print("warning:", warning)
        print(f"{len(rows)} students: {out / 'canvas.csv'}, {out / 'moodle.csv'}, ", end="")
        print(out / "questions.csv")
        return 0
    if args.command == "gradescope":
        from .gradescope import build_autograder

        out = (args.out or course / "grading" / args.assignment / "gradescope").resolve()
        archive = build_autograder(
            course,
            args.assignment,
            out,
            limits=course_limits(course, timeout=args.timeout),
            seed=args.seed,
            check_runs_clean=not args.no_runs_clean,
        )
        print(f"wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB): upload it as the")
        print("assignment's autograder (Gradescope: Configure Autograder, Zip file upload)")
        return 0
    if args.command == "edition":
        from .edition import build_edition

        dest = (args.dest or course / "dist" / "student").resolve()
        archive = build_edition(course, dest, released=args.released, published=args.published)
        print(f"wrote {dest} and {archive} ({archive.stat().st_size / 1e6:.1f} MB)")
        return 0
    if args.command == "similarity":
        from .similarity import summary, write_report

        out = (args.out or course / "grading" / args.assignment).resolve()
        report = write_report(
            args.assignment,
            course_root=course,
            submissions=(args.submissions or course / "submitted").resolve(),
            out=out,
            settings=Settings(**{f.name: getattr(args, f.name) for f in fields(Settings)}),
            roster=args.roster,
            pattern=args.pattern,
        )
        print(summary(report))
        print(f"report: {out / 'similarity.html'}\ntable: {out / 'similarity.csv'}")
        return 0
    if args.command == "sample":
        from .sample import write_sample_class

        source = course / "solutions" / args.assignment / f"{args.assignment}.ipynb"
        write_sample_class(source, args.assignment, args.dest)
        print(
            f"wrote a sample class of {len(list(args.dest.iterdir())) - 1} students to {args.dest}"
        )
        return 0
    results = grade_class(
        args.assignment,
        course_root=course,
        submissions=(args.submissions or course / "submitted").resolve(),
        out=(args.out or course / "grading" / args.assignment).resolve(),
        roster=args.roster,
        jobs=args.jobs,
        limits=course_limits(
            course,
            timeout=args.timeout,
            memory_mb=args.memory_mb,
            max_output_bytes=args.max_output_bytes,
            max_notebook_output_bytes=args.max_notebook_output_bytes,
            processes=args.processes,
            disk_mb=args.disk_mb,
        ),
        sandbox=not args.no_sandbox,
        check_runs_clean=not args.no_runs_clean,
        update_gradebook=not args.no_gradebook,
        resume=args.resume,
        pattern=args.pattern,
        students=args.students,
        seed=args.seed,
        executor=args.executor,
        broker=args.broker,
        max_tries=args.max_tries,
        lease=args.lease,
    )
    out = (args.out or course / "grading" / args.assignment).resolve()
    print((out / "report.txt").read_text())
    print(
        f"grades: {out / 'grades.csv'}\nfeedback: {out / 'feedback'}\nfigure: {out / 'scores.png'}"
    )
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
