"""The grades CSV, the plain-text summary and the score-distribution figure."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from .records import Status

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV field a spreadsheet shows as text: a leading =, +, -, @ (a formula) gets a '."""
    return "'" + text if text.startswith(FORMULA_START) else text


def question_ids(results) -> list[str]:
    ids: list[str] = []
    for r in results:
        for q in r.questions:
            if q not in ids:
                ids.append(q)
    return ids


def write_csv(results, path: Path) -> None:
    questions = question_ids(results)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student_id",
                "status",
                "score",
                "max_score",
                *questions,
                "runs_clean",
                "reason",
                "note",
                "seed",
                "late",
                "submitted",
                "origin",
                "graded_at",
                "tests",
                "score_before_penalty",
                "penalty",
                "late_hours",
                "late_detail",
                "integrity",
            ]
        )
        for r in results:
            cells = []
            for q in questions:
                score = r.questions.get(q, [None, None])[0]
                cells.append("" if score is None else f"{score:g}")
            runs = "" if r.runs_clean is None else ("yes" if r.runs_clean else "no")
            text = [r.student, r.status, r.reason, r.note, r.origin]
            student, status, reason, note, origin = map(spreadsheet_safe, text)
            late = "" if r.late is None else ("yes" if r.late else "no")
            writer.writerow(
                [
                    student,
                    status,
                    f"{r.final_score:g}",
                    f"{r.max_score:g}",
                    *cells,
                    runs,
                    reason,
                    note,
                    "" if r.seed is None else str(r.seed),
                    late,
                    r.submitted,
                    origin,
                    r.graded_at,
                    r.tests,
                    f"{r.score:g}",
                    f"{r.penalty:g}",
                    "" if r.late_hours is None else f"{r.late_hours:.2f}",
                    spreadsheet_safe(r.late_detail),
                    spreadsheet_safe(r.integrity),
                ]
            )


def summary(
    results, assignment: str, by_hand: frozenset = frozenset(), similar: list[str] = ()
) -> str:
    """The plain-text report; ``by_hand`` holds the grade_ids of the answers graded by hand,
    ``similar`` the flagged pairs of the similarity report, one line each."""
    lines = [f"Assignment {assignment}: {len(results)} students"]
    for status in Status:
        n = sum(r.status == status for r in results)
        if n:
            lines.append(f"  {status}: {n}")
    graded = [r for r in results if r.max_score]
    if graded:
        pct = [100 * r.final_score / r.max_score for r in graded]
        note = ", answers graded by hand not yet counted" if by_hand else ""
        note += ", after late penalties" if any(r.penalty for r in graded) else ""
        lines.append(
            f"Score (% of all points{note}): mean {statistics.mean(pct):.1f}, "
            f"median {statistics.median(pct):.1f}, min {min(pct):.1f}, max {max(pct):.1f}"
        )
    lines.append("Per question (mean score / max, share with full marks):")
    for q in question_ids(results):
        scores = [r.questions[q][0] for r in results if q in r.questions]
        if q in by_hand:
            waiting = sum(s is None for s in scores)
            lines.append(
                f"  {q}: graded by hand in the formgrader: {waiting} to grade, "
                f"{len(scores) - waiting} left unanswered (0 points)"
            )
            continue
        pairs = [
            r.questions[q] for r in results if q in r.questions and r.questions[q][0] is not None
        ]
        best = pairs[0][1]
        mean = statistics.mean(s for s, _ in pairs)
        full = sum(s == m for s, m in pairs) / len(pairs)
        lines.append(f"  {q}: {mean:.2f} / {best:g}, {100 * full:.0f}% full")
    problems = [r for r in results if r.status != Status.GRADED or r.reason or r.integrity]
    if problems or similar:
        lines.append("Needs a look:")
        for r in problems:
            lines.append(f"  {r.student}: {r.status}" + (f" ({r.reason})" if r.reason else ""))
            if r.integrity:
                lines.append(f"    reaches outside its answers: {r.integrity}")
        if similar:
            lines.append("  similar code (similarity.html shows the matching lines):")
            lines += [f"    {pair}" for pair in similar]
    versions = [r.tests for r in results if r.tests]
    if len(set(versions)) > 1:  # a regrade after the hidden tests changed
        newest = max(results, key=lambda r: r.graded_at).tests
        older = [r.student for r in results if r.tests and r.tests != newest]
        lines.append(
            f"Graded with other hidden tests than the latest ({newest}): {', '.join(older)}"
        )
    penalised = [r for r in results if r.late_detail]
    if penalised:
        lines.append("Late (the course's policy):")
        lines += [f"  {r.student}: -{r.penalty:g} points; {r.late_detail}" for r in penalised]
    late = [r for r in results if r.late]
    if late:
        lines.append("Marked late by the learning platform:")
        lines += [f"  {r.student}: {r.submitted or 'time not in the download'}" for r in late]
    unclean = [r for r in results if r.runs_clean is False]
    if unclean:
        lines.append("Do not run top to bottom as submitted:")
        lines += [f"  {r.student}: {r.runs_clean_detail}" for r in unclean]
    return "\n".join(lines) + "\n"


def figure(results, assignment: str, path: Path, by_hand: frozenset = frozenset()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = [q for q in question_ids(results) if q not in by_hand]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    pct = [100 * r.final_score / r.max_score for r in results if r.max_score]
    ax1.hist(
        pct, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.01], color="#6fa8dc", edgecolor="k"
    )
    ax1.set(
        xlabel="score (% of all points)",
        ylabel="students",
        title=f"{assignment}: total scores",
    )
    means = []
    for q in questions:
        pairs = [
            r.questions[q] for r in results if q in r.questions and r.questions[q][0] is not None
        ]
        means.append(100 * sum(s for s, _ in pairs) / sum(m for _, m in pairs) if pairs else 0)
    ax2.barh(questions[::-1], means[::-1], color="#93c47d", edgecolor="k")
    ax2.set(xlim=(0, 100), xlabel="mean score (% of the question's points)", title="per question")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
