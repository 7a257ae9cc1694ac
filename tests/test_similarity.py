"""The similarity report (autograder/similarity.py): winnowing finds copies, not honest work.

The class is built from a1_unfolding's real release notebook, its answer cells filled
with code written for these tests: three honest, independent implementations (ada: loops
and masks; ben: in-place and closed forms; cleo: clipping and einsum), a renamed copy of
ada and a further edited one, a partial copier, students who pasted the reference
solution or course_pkg, blank and nearly blank ones, a corrupt notebook and a hostile one.
The scores measured on it chose the defaults (see the docstring of autograder.similarity).
"""

from __future__ import annotations

import csv
import html
import inspect
import json
import random
import re
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

import course_pkg.scalar_rnn
from autograder.__main__ import main
from autograder.collect import Entry
from autograder.sample import solution_notebook
from autograder.similarity import (
    Kind,
    Settings,
    _python_tokens,
    _regex_tokens,
    answer_code,
    compare_submissions,
    kgram_hashes,
    tokens,
    units,
    winnow,
    write_csv,
    write_html,
)

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a1_unfolding"
RELEASE = ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
PACKAGE = ROOT / "course_pkg"


def code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


ADA = {
    "activations": code("""
        def sigmoid(z):
            out = np.empty_like(z)
            pos = z >= 0
            out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
            ez = np.exp(z[~pos])
            out[~pos] = ez / (1.0 + ez)
            return out


        def sigmoid_grad(z):
            sig = sigmoid(z)
            return sig - sig ** 2


        def tanh(z):
            return np.tanh(z)


        def tanh_grad(z):
            return 1 - np.tanh(z) ** 2


        def relu(z):
            return np.where(z > 0, z, np.zeros_like(z))


        def relu_grad(z):
            grad = np.zeros_like(z)
            grad[z > 0] = 1
            return grad


        def softmax(z, axis=-1):
            # shift so that the largest exponent is 0
            shifted = z - z.max(axis=axis, keepdims=True)
            exps = np.exp(shifted)
            return exps / exps.sum(axis=axis, keepdims=True)
        """),
    "rnn_forward": code('''
        def rnn_step_forward(x, h_prev, U, W, b):
            if x.shape[1] != U.shape[0]:
                raise ValueError(f"x has {x.shape[1]} features but U expects {U.shape[0]}")
            pre = x.dot(U) + h_prev.dot(W) + b
            h_next = np.tanh(pre)
            cache = RNNStepCache(x=x, h_prev=h_prev, U=U, W=W, h=h_next)
            return h_next, cache


        def rnn_forward(x, h0, U, W, b):
            """Run the RNN over all time steps, one step at a time."""
            N, T, D = x.shape
            states = []
            h = h0
            for step in range(T):
                h, _ = rnn_step_forward(x[:, step, :], h, U, W, b)
                states.append(h)
            hs = np.stack(states, axis=1)
            return hs, RNNCache(x=x, h0=h0, U=U, W=W, h=hs)
        '''),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            N, T = x.shape
            o = np.zeros((N, T), dtype=x.dtype)
            for n in range(N):
                state = 0.0
                for t in range(T):
                    state = np.tanh(w_i * x[n, t] + w_h * state + b)
                    o[n, t] = state
            y_hat = sigmoid(w_o * o[:, T - 1])
            return y_hat, o


        def log_loss(y_hat, y):
            losses = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
            return float(losses.mean())
        """),
    "param_count": code("""
        def rnn_num_params(D, H, K=0):
            input_weights = D * H
            recurrent = H * H
            bias = H
            output = H * K + K if K else 0
            return input_weights + recurrent + bias + output
        """),
}

# ada's answers with every name changed, other comments and strings, other blank lines
ADA_COPY = {
    "activations": code("""
        def sigmoid(z):
            # numerically stable logistic
            res = np.empty_like(z)
            nonneg = z >= 0

            res[nonneg] = 1.0 / (1.0 + np.exp(-z[nonneg]))
            expz = np.exp(z[~nonneg])
            res[~nonneg] = expz / (1.0 + expz)
            return res

        def sigmoid_grad(z):
            val = sigmoid(z)
            return val - val ** 2

        def tanh(z):
            return np.tanh(z)

        def tanh_grad(z):
            return 1 - np.tanh(z) ** 2

        def relu(z):
            return np.where(z > 0, z, np.zeros_like(z))

        def relu_grad(z):
            d = np.zeros_like(z)
            d[z > 0] = 1
            return d

        def softmax(z, axis=-1):
            m = z - z.max(axis=axis, keepdims=True)   # stability
            num = np.exp(m)
            return num / num.sum(axis=axis, keepdims=True)
        """),
    "rnn_forward": code('''
        def rnn_step_forward(x, h_prev, U, W, b):
            if x.shape[1] != U.shape[0]:
                raise ValueError(f"shape mismatch: {x.shape[1]} vs {U.shape[0]}")
            act = x.dot(U) + h_prev.dot(W) + b
            new_h = np.tanh(act)
            c = RNNStepCache(x=x, h_prev=h_prev, U=U, W=W, h=new_h)
            return new_h, c

        def rnn_forward(x, h0, U, W, b):
            """Forward pass over the sequence."""
            batch, steps, feats = x.shape
            collected = []
            cur = h0
            for i in range(steps):
                cur, _ = rnn_step_forward(x[:, i, :], cur, U, W, b)
                collected.append(cur)
            all_h = np.stack(collected, axis=1)
            return all_h, RNNCache(x=x, h0=h0, U=U, W=W, h=all_h)
        '''),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            rows, cols = x.shape
            out = np.zeros((rows, cols), dtype=x.dtype)
            for r in range(rows):
                s = 0.0
                for c in range(cols):
                    s = np.tanh(w_i * x[r, c] + w_h * s + b)
                    out[r, c] = s
            pred = sigmoid(w_o * out[:, cols - 1])
            return pred, out

        def log_loss(y_hat, y):
            per_example = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
            return float(per_example.mean())
        """),
    "param_count": code("""
        def rnn_num_params(D, H, K=0):
            a = D * H
            bb = H * H
            cc = H
            dd = H * K + K if K else 0
            return a + bb + cc + dd
        """),
}

# ada's copy edited further: a statement split, moved or added every few lines
ADA_EDITED = {  # ada's copy, renamed, plus a structural edit every few lines
    "activations": code("""
        def sigmoid(z):
            res = np.empty_like(z)
            nonneg = z >= 0
            neg = ~nonneg
            res[nonneg] = 1.0 / (1.0 + np.exp(-z[nonneg]))
            expz = np.exp(z[neg])
            res[neg] = expz / (expz + 1.0)
            return res

        def sigmoid_grad(z):
            val = sigmoid(z)
            out = val - val ** 2
            return out

        def tanh(z):
            return np.tanh(z)

        def tanh_grad(z):
            t = np.tanh(z)
            return 1 - t ** 2

        def relu(z):
            return np.where(z > 0, z, np.zeros_like(z))

        def relu_grad(z):
            d = np.zeros_like(z)
            d[z > 0] = 1.0
            return d

        def softmax(z, axis=-1):
            m = z - z.max(axis=axis, keepdims=True)
            num = np.exp(m)
            den = num.sum(axis=axis, keepdims=True)
            return num / den
        """),
    "rnn_forward": code("""
        def rnn_step_forward(x, h_prev, U, W, b):
            if U.shape[0] != x.shape[1]:
                raise ValueError("shape mismatch")
            act = x.dot(U) + b + h_prev.dot(W)
            new_h = np.tanh(act)
            return new_h, RNNStepCache(x=x, h_prev=h_prev, U=U, W=W, h=new_h)

        def rnn_forward(x, h0, U, W, b):
            batch, steps, feats = x.shape
            collected = []
            cur = h0
            for i in range(steps):
                xi = x[:, i, :]
                cur, _ = rnn_step_forward(xi, cur, U, W, b)
                collected.append(cur)
            all_h = np.stack(collected, axis=1)
            cache = RNNCache(x=x, h0=h0, U=U, W=W, h=all_h)
            return all_h, cache
        """),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            rows, cols = x.shape
            out = np.zeros((rows, cols), dtype=x.dtype)
            for r in range(rows):
                s = 0.0
                for c in range(cols):
                    s = np.tanh(w_i * x[r, c] + b + w_h * s)
                    out[r, c] = s
            last = out[:, cols - 1]
            pred = sigmoid(w_o * last)
            return pred, out

        def log_loss(y_hat, y):
            per_example = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
            return float(np.mean(per_example))
        """),
    "param_count": code("""
        def rnn_num_params(D, H, K=0):
            total = D * H + H * H + H
            if K:
                total += H * K + K
            return total
        """),
}

BEN = {
    "activations": code("""
        def sigmoid(z):
            # 0.5 * (1 + tanh(z / 2)) never overflows
            return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(z.dtype)


        def sigmoid_grad(z):
            p = sigmoid(z)
            return p * (1 - p)


        def tanh(z):
            e2 = np.exp(-2 * np.abs(z))
            return np.sign(z) * (1 - e2) / (1 + e2)


        def tanh_grad(z):
            return 1.0 - tanh(z) ** 2


        def relu(z):
            return z * (z > 0)


        def relu_grad(z):
            return np.greater(z, 0).astype(z.dtype)


        def softmax(z, axis=-1):
            m = np.amax(z, axis=axis, keepdims=True)
            log_norm = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
            return np.exp(z - log_norm)
        """),
    "rnn_forward": code("""
        def rnn_step_forward(x, h_prev, U, W, b):
            a = np.matmul(x, U)
            a += np.matmul(h_prev, W)
            a += b
            h = np.tanh(a)
            return h, RNNStepCache(x, h_prev, U, W, h)


        def rnn_forward(x, h0, U, W, b):
            T = x.shape[1]
            out = np.zeros(x.shape[:2] + (W.shape[0],), dtype=x.dtype)
            t = 0
            state = h0
            while t < T:
                state = rnn_step_forward(x[:, t], state, U, W, b)[0]
                out[:, t, :] = state
                t += 1
            return out, RNNCache(x, h0, U, W, out)
        """),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            cols = []
            o_t = np.zeros(x.shape[0])
            for x_t in x.T:
                o_t = np.tanh(x_t * w_i + o_t * w_h + b)
                cols.append(o_t)
            o = np.column_stack(cols)
            return sigmoid(o[:, -1] * w_o), o


        def log_loss(y_hat, y):
            return -float(np.mean(np.where(y == 1, np.log(y_hat), np.log1p(-y_hat))))
        """),
    "param_count": code("""
        def rnn_num_params(D, H, K=0):
            shapes = [(D, H), (H, H), (H,), (H, K), (K,)]
            return int(sum(np.prod(s) for s in shapes))
        """),
}

CLEO = {
    "activations": code("""
        def sigmoid(z):
            bound = np.log(np.finfo(z.dtype).max) - 1
            return 1.0 / (1.0 + np.exp(-np.clip(z, -bound, bound)))


        def sigmoid_grad(z):
            s = sigmoid(z)
            return s * (1 - s)


        def tanh(z):
            return 2.0 * sigmoid(2.0 * z) - 1.0


        def tanh_grad(z):
            th = tanh(z)
            return (1 + th) * (1 - th)


        def relu(z):
            r = z.copy()
            r[r < 0] = 0
            return r


        def relu_grad(z):
            return np.heaviside(z, 0.0).astype(z.dtype)


        def softmax(z, axis=-1):
            z = np.moveaxis(z, axis, -1)
            z = z - z.max(-1)[..., None]
            p = np.exp(z)
            p /= p.sum(-1)[..., None]
            return np.moveaxis(p, -1, axis)
        """),
    "rnn_forward": code("""
        def rnn_step_forward(x, h_prev, U, W, b):
            h = np.tanh(np.einsum("nd,dh->nh", x, U) + np.einsum("nk,kh->nh", h_prev, W) + b)
            return h, RNNStepCache(x=x, h_prev=h_prev, U=U, W=W, h=h)


        def rnn_forward(x, h0, U, W, b):
            N, T, D = x.shape
            xu = (x.reshape(N * T, D) @ U).reshape(N, T, -1)  # every input projection at once
            hs = np.empty_like(xu)
            h = h0
            for t in range(T):
                h = np.tanh(xu[:, t] + h @ W + b)
                hs[:, t] = h
            return hs, RNNCache(x, h0, U, W, hs)
        """),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            states = np.zeros_like(x)
            last = np.zeros(len(x))
            for t, column in enumerate(x.T):
                last = np.tanh(w_i * column + w_h * last + b)
                states[:, t] = last
            prob = 1.0 / (1.0 + np.exp(-w_o * last))
            return prob, states


        def log_loss(y_hat, y):
            total = 0.0
            for p, label in zip(y_hat, y):
                total -= np.log(p) if label == 1 else np.log(1 - p)
            return float(total / len(y))
        """),
    "param_count": code("""
        def rnn_num_params(D, H, K=0):
            return (D + H + 1) * H + (H + 1) * K
        """),
}

# dana wrote three of the four functions of Part 2 herself and copied cleo's
# scalar_many_to_one (renamed); she left the activations and the count blank.
DANA = {
    "rnn_forward": code("""
        def rnn_step_forward(x, h_prev, U, W, b):
            stacked = np.concatenate([x, h_prev], axis=1) @ np.vstack([U, W])
            h = np.tanh(stacked + b)
            return h, RNNStepCache(x, h_prev, U, W, h)


        def rnn_forward(x, h0, U, W, b):
            hidden = [h0]
            for x_t in np.moveaxis(x, 1, 0):
                hidden.append(rnn_step_forward(x_t, hidden[-1], U, W, b)[0])
            h = np.stack(hidden[1:], axis=1)
            return h, RNNCache(x, h0, U, W, h)
        """),
    "scalar_example": code("""
        def scalar_many_to_one(x, w_i, w_h, b, w_o):
            hist = np.zeros_like(x)
            cur = np.zeros(len(x))
            for step, col in enumerate(x.T):
                cur = np.tanh(w_i * col + w_h * cur + b)
                hist[:, step] = cur
            p = 1.0 / (1.0 + np.exp(-w_o * cur))
            return p, hist


        def log_loss(y_hat, y):
            per_item = np.where(y > 0.5, -np.log(y_hat), -np.log(1.0 - y_hat))
            return float(np.average(per_item))
        """),
}


def _body(function) -> str:
    """A course_pkg function's source without its docstring, as a student would paste it."""
    source = inspect.getsource(function)
    return re.sub(r'\n    r?"""[\s\S]*?"""\n', "\n", source, count=1)


# eve pasted course_pkg's scalar example (with its checks) and did nothing else
EVE = {
    "scalar_example": "\n\n".join(
        _body(f) for f in (course_pkg.scalar_rnn.scalar_many_to_one, course_pkg.scalar_rnn.log_loss)
    )
}
HOSTILE = "</pre><script>alert(1)</script>"
HOSTILE_NAME = '"><img src=x onerror=alert(1)>'


def write_submission(path: Path, answers: dict[str, str]) -> Path:
    """The release notebook with the given answer cells (by grade_id) filled in."""
    nb = json.loads(RELEASE.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


def nearly_blank(head: str, body: str) -> dict[str, str]:
    """The release with the stub of one activation function (``head``) replaced by ``body``."""
    stub = f"def {head}:\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    activations = answer_code(RELEASE)["activations"]
    assert stub in activations
    return {"activations": activations.replace(stub, f"def {head}:\n{body}")}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """{student: notebook} of the whole class."""
    folder = tmp_path_factory.mktemp("similarity")
    softmax = "    e = np.exp(z - np.max(z, axis=-1, keepdims=True))\n    return e / e.sum(-1)"
    answers = {
        "ada": ADA,
        "ada_copy": ADA_COPY,
        "ada_edited": ADA_EDITED,
        "ben": BEN,
        "cleo": CLEO,
        "dana": DANA,
        "eve": EVE,
        "blank1": {},
        "blank2": {},
        "nearly1": nearly_blank("tanh(z)", "    return np.tanh(z)"),
        "nearly2": nearly_blank("softmax(z, axis=-1)", softmax),
        HOSTILE_NAME: {  # ada's answers with hostile comments and strings
            grade_id: f"# {HOSTILE}\n{text}".replace('"Run', f'"{HOSTILE}')
            for grade_id, text in ADA.items()
        },
    }
    notebooks = {
        s: write_submission(folder / f"{i}.ipynb", a) for i, (s, a) in enumerate(answers.items())
    }
    hostile = json.loads(notebooks[HOSTILE_NAME].read_text())
    for cell in hostile["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "param_count":
            cell["metadata"]["nbgrader"]["grade_id"] = HOSTILE_NAME  # shown as the cell's name
    notebooks[HOSTILE_NAME].write_text(json.dumps(hostile))
    notebooks["pasted_ref"] = folder / "pasted_ref.ipynb"
    nbformat.write(solution_notebook(nbformat.read(SOURCE, as_version=4)), notebooks["pasted_ref"])
    notebooks["corrupt"] = folder / "corrupt.ipynb"
    notebooks["corrupt"].write_text('{"cells": [{"cell_type": "code", "sou')
    return notebooks


@pytest.fixture(scope="module")
def report(klass):
    return compare_submissions(klass, RELEASE, SOURCE, PACKAGE)


def pair(report, a, b):
    """The pair of students a and b, or of student a and reference document b (a Kind)."""
    for p in report.pairs:
        if ((p.a, p.b) in ((a, b), (b, a)) and p.kind_b == Kind.STUDENT) or (
            p.a == a and p.kind_b is b
        ):
            return p
    return None


def score(report, a, b) -> float:
    p = pair(report, a, b)
    return 0.0 if p is None else p.score


def covered(regions, side: str) -> dict[str, set[int]]:
    """{part: lines} the regions cover on side "a" or "b"."""
    out: dict[str, set[int]] = {}
    for r in regions:
        part, (first, last) = (r.part_a, r.lines_a) if side == "a" else (r.part_b, r.lines_b)
        out.setdefault(part, set()).update(range(first, last + 1))
    return out


def code_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}


# ------------------------------------------------------------------ the class


def test_a_renamed_copy_is_flagged_and_its_regions_cover_every_function(report):
    """ada_copy renamed every variable, changed comments, strings and blank lines: 1.00."""
    p = pair(report, "ada", "ada_copy")
    assert p.flagged and p.score_a == p.score_b == 1.0 and p.shared == p.fingerprints_a > 50
    for side, answers in (("a", ADA), ("b", ADA_COPY)):
        lines = covered(p.regions, side)
        assert set(lines) == set(answers)  # one region or more in every answer cell
        for grade_id, text in answers.items():
            assert code_lines(text) <= lines[grade_id], grade_id
    assert p in report.flagged and report.pairs[0].score == 1.0


def test_a_copy_edited_every_few_lines_is_still_flagged(report):
    """ada_edited renamed too, and split, moved or added a statement every few lines.

    It shares about half of its fingerprints with ada (0.50 measured): the threshold, 0.4,
    sits between it and the honest pairs (at most 0.18, below).
    """
    p = pair(report, "ada", "ada_edited")
    assert p.flagged and 0.4 <= p.score < 0.8 and p.shared >= 40
    # rnn_num_params was rewritten from scratch: the three other cells hold the copied code
    assert set(covered(p.regions, "a")) == {"activations", "rnn_forward", "scalar_example"}


def test_honest_implementations_are_not_flagged(report):
    """Three implementations written independently share only short idioms.

    Measured (k=14, window=5): ada~ben 0 (no fingerprint shared), ada~cleo 0.03,
    ben~cleo 0.07; against the reference solution at most 0.13 (ada) and against
    course_pkg at most 0.18 (ada), where the edited copy scores 0.50, the renamed copy
    1.00, and the threshold is 0.4.
    """
    honest = ["ada", "ben", "cleo"]
    for i, a in enumerate(honest):
        for b in honest[i + 1 :]:
            assert score(report, a, b) < 0.1, (a, b)
        assert score(report, a, Kind.REFERENCE) < 0.2, a
        assert score(report, a, Kind.PACKAGE) < 0.25, a
    flagged = {(p.a, p.b) for p in report.flagged}
    assert not any({p.a, p.b} & {"ben", "cleo"} for p in report.flagged), flagged


def test_blank_and_nearly_blank_submissions_are_not_compared(report):
    students = ["blank1", "blank2", "nearly1", "nearly2"]
    for name in students:
        doc = report.document(Kind.STUDENT, name)
        assert not doc.compared and doc.fingerprints < report.settings.min_fingerprints
        assert "not compared" in doc.note
    assert report.document(Kind.STUDENT, "blank1").fingerprints == 0  # the stubs are left out
    assert report.document(Kind.STUDENT, "nearly2").fingerprints > 0  # some code of her own
    assert not [p for p in report.pairs if {p.a, p.b} & set(students)]


def test_a_pasted_reference_solution_is_flagged_against_it(report):
    p = pair(report, "pasted_ref", Kind.REFERENCE)
    assert p.flagged and p.score_a == 1.0 and p.score_b == 1.0
    lines = covered(p.regions, "b")
    for grade_id, text in answer_code(SOURCE).items():
        markers = {n for n, line in enumerate(text.split("\n"), 1) if "### " in line}
        assert code_lines(text) - markers <= lines[grade_id], grade_id


def test_pasted_course_pkg_code_is_flagged_against_course_pkg(report):
    """eve pasted course_pkg's scalar_many_to_one and log_loss (with their checks)."""
    p = pair(report, "eve", Kind.PACKAGE)
    assert p.flagged and p.score_a > 0.9 and p.score_b < 0.05  # course_pkg is large
    assert "course_pkg/scalar_rnn.py" in covered(p.regions, "b")
    assert not pair(report, "eve", Kind.REFERENCE).flagged  # the solution has no checks


def test_one_copied_function_of_four_scores_lower_and_shows_only_that_function(report):
    """dana copied cleo's scalar_many_to_one (renamed) and wrote her other three functions."""
    p = pair(report, "cleo", "dana")
    assert (p.a, p.b) == ("cleo", "dana")
    assert 0.2 < p.score_b < 0.4 and p.score_a < p.score_b  # dana's share, cleo's is smaller
    assert not p.flagged
    assert [(r.part_a, r.lines_a, r.part_b, r.lines_b) for r in p.regions] == [
        ("scalar_example", (1, 8), "scalar_example", (1, 8))
    ]
    function = DANA["scalar_example"].split("\n\n\n")[0]
    assert function.startswith("def scalar_many_to_one") and function.count("\n") == 7


def test_hostile_content_is_shown_as_text(report, tmp_path):
    write_html(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    p = pair(report, "ada", HOSTILE_NAME)
    assert p.flagged and HOSTILE_NAME in covered(p.regions, "a")  # shown, and a cell's name
    shown = page[page.index("<h2>Matching regions</h2>") :]
    assert html.escape(HOSTILE) in shown and f"<h5>{html.escape(HOSTILE_NAME)}</h5>" in shown
    assert "</pre><script>" not in page and "onerror=alert(1)>" not in page
    parsed = Tags()
    parsed.feed(page)
    assert {tag for tag, _ in parsed.tags} <= SAFE_TAGS
    attributes = {name for _, attrs in parsed.tags for name in attrs}
    assert attributes <= {"charset", "http-equiv", "content", "class", "id", "href"}
    links = [attrs["href"] for tag, attrs in parsed.tags if "href" in attrs]
    assert links and all(re.fullmatch(r"#pair-\d+", link) for link in links)
    assert HOSTILE in parsed.text and HOSTILE_NAME in parsed.text  # as text, unescaped


SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "h5", "p"}
SAFE_TAGS |= {"table", "tr", "td", "th", "a", "ul", "ol", "li", "div", "em"}


class Tags(HTMLParser):
    """Every start tag with its attributes, and all the text, of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def test_a_corrupt_notebook_is_listed_not_fatal(report, tmp_path):
    doc = report.document(Kind.STUDENT, "corrupt")
    assert not doc.compared and doc.parts == {} and "not valid JSON" in doc.note
    write_html(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Not compared</h2>" in page and "corrupt: corrupt.ipynb is not valid JSON" in page


def test_the_same_class_gives_the_same_bytes(klass, report, tmp_path):
    again = compare_submissions(dict(reversed(klass.items())), RELEASE, SOURCE, PACKAGE)
    write_html(report, tmp_path / "one.html")
    write_html(again, tmp_path / "two.html")
    write_csv(report, tmp_path / "one.csv")
    write_csv(again, tmp_path / "two.csv")
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_entries_without_a_notebook_are_skipped_and_listed(klass, tmp_path):
    odd = "b\udcffd"  # a folder name that is not UTF-8, as Path gives it
    entries = [
        Entry("ada", klass["ada"]),
        Entry("ghost", None, "no .ipynb file was submitted"),
        Entry(odd, klass["ada_copy"], "notebook renamed to copy.ipynb"),
    ]
    got = compare_submissions(entries, RELEASE)
    assert got.skipped == [("ghost", "no .ipynb file was submitted")]
    assert [(p.a, p.b, p.flagged) for p in got.pairs] == [("ada", odd, True)]
    assert got.document(Kind.STUDENT, odd).note == "notebook renamed to copy.ipynb"
    write_html(got, tmp_path / "report.html")
    write_csv(got, tmp_path / "report.csv")
    assert "ghost: no .ipynb file was submitted" in (tmp_path / "report.html").read_text()
    assert "ada,b?d,student" in (tmp_path / "report.csv").read_text()


def test_bad_arguments_say_what_was_received(klass, tmp_path):
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got 1.5"):
        compare_submissions(klass, RELEASE, threshold=1.5)
    with pytest.raises(TypeError, match="k must be an int, got str '12'"):
        compare_submissions(klass, RELEASE, k="12")
    with pytest.raises(ValueError, match="window must be at least 1, got 0"):
        Settings(window=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'treshold'"):
        compare_submissions(klass, RELEASE, treshold=0.5)
    with pytest.raises(TypeError, match="mapping .* or the Entry list of collect\\(\\), got int"):
        compare_submissions(42, RELEASE)
    with pytest.raises(TypeError, match="expected autograder.collect.Entry items, got 'ada'"):
        compare_submissions(["ada"], RELEASE)
    with pytest.raises(TypeError, match="the notebook of 'ada' must be a path, got 3"):
        compare_submissions({"ada": 3}, RELEASE)
    with pytest.raises(ValueError, match="student 'ada' is listed twice"):
        compare_submissions([Entry("ada", None), Entry("ada", klass["ada"])], RELEASE)
    with pytest.raises(FileNotFoundError, match="no release notebook at"):
        compare_submissions(klass, tmp_path / "missing.ipynb")
    with pytest.raises(ValueError, match="has no answer cells .* expected the student release"):
        compare_submissions(klass, klass["corrupt"])
    with pytest.raises(FileNotFoundError, match="no package folder at"):
        compare_submissions(klass, RELEASE, None, tmp_path / "nowhere")


# ------------------------------------------------------------------ reading notebooks


def test_answer_code_takes_answer_cells_and_never_raises(tmp_path, monkeypatch):
    import autograder.similarity as similarity

    assert list(answer_code(RELEASE)) == [
        "activations",
        "rnn_forward",
        "scalar_example",
        "param_count",
    ]

    def cell(nbgrader, source, cell_type="code"):
        return {"cell_type": cell_type, "metadata": {"nbgrader": nbgrader}, "source": source}

    answer = {"solution": True, "grade_id": "g"}
    cells = [
        cell("odd", "a"),
        {"cell_type": "code", "metadata": [1], "source": "b"},
        cell({"solution": True, "grade_id": 5}, "c"),
        cell({"solution": "yes", "grade_id": "s"}, "d"),
        cell({"solution": True, "grade_id": "m"}, "e", "markdown"),
        cell(answer, ["x = 1\n", "y = 2"]),
        cell(answer, "again"),  # a duplicated cell
        cell({"solution": True, "grade_id": "u"}, "\ud800 = 1"),  # a lone surrogate
        "not a cell",
    ]
    odd = tmp_path / "odd.ipynb"
    odd.write_text(json.dumps({"cells": cells}))
    assert answer_code(odd) == {"g": "x = 1\ny = 2", "g (again)": "again", "u": "? = 1"}
    for name, text in [
        ("truncated", '{"cells": ['),
        ("list", "[1, 2]"),
        ("no_cells", '{"cells": 3}'),
        ("deep", "[" * 100_000),
        ("binary", "\udcff"),
    ]:
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        assert answer_code(path) == {}, name
    assert answer_code(tmp_path / "missing.ipynb") == {}
    monkeypatch.setattr(similarity, "MAX_NOTEBOOK_BYTES", 1000)
    assert answer_code(RELEASE) == {}
    monkeypatch.setattr(similarity, "MAX_NOTEBOOK_BYTES", 10**8)
    monkeypatch.setattr(similarity, "MAX_CODE_CHARS", 30)
    assert answer_code(RELEASE) == {
        "activations": "def sigmoid(z):\n    # YOUR COD"
    }  # 30 characters


def test_added_code_cells_are_compared_release_code_is_not(tmp_path):
    """Answers moved into cells of the student's own count; test code copied there does not."""
    release = json.loads(RELEASE.read_text())
    tests = "\n".join(
        "".join(c["source"])
        for c in release["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
    )
    helpers = {
        "a": ADA["rnn_forward"].replace("def rnn_forward(", "def my_forward("),
        "b": ADA_COPY["rnn_forward"].replace("def rnn_forward(", "def f("),
    }
    for student, helper in helpers.items():
        nb = json.loads(RELEASE.read_text())
        nb["cells"].append({"cell_type": "code", "metadata": {}, "source": helper + tests})
        (tmp_path / f"{student}.ipynb").write_text(json.dumps(nb))
    got = compare_submissions({s: tmp_path / f"{s}.ipynb" for s in helpers}, RELEASE)
    extra = f"extra cell {len(release['cells']) + 1}"
    assert list(got.document(Kind.STUDENT, "a").parts)[-1] == extra
    assert [(p.a, p.b, p.flagged) for p in got.pairs] == [("a", "b", True)]
    lines = covered(got.pairs[0].regions, "a")
    assert set(lines) == {extra} and max(lines[extra]) == helpers["a"].count("\n")


# ------------------------------------------------------------------ tokens and winnowing


def fingerprints(text: str, k: int = 14) -> list[int]:
    return [h for unit in units(tokens(text)) for h in kgram_hashes(unit, k)]


def test_renaming_does_not_change_the_fingerprints():
    for grade_id in ADA:
        assert fingerprints(ADA[grade_id]) == fingerprints(ADA_COPY[grade_id]), grade_id
    renamed = "def g(q):\n    w = np.exp(q - q.max())\n    return w / w.sum()\n"
    assert fingerprints(renamed, 5) == fingerprints(
        "def f(z):\n    e = np.e(z - z.m())\n    return e / e.s()\n", 5
    )
    assert fingerprints(renamed, 5) != fingerprints(renamed.replace("-", "+"), 5)


def test_comments_blank_lines_and_strings_do_not_change_the_fingerprints():
    text = 'def f(x):\n    y = x + 1  # one more\n    return g(y, "a")\n'
    other = (
        'def f(x):\n\n    # why\n    y = x + 1\n\n\n    return g(y,\n      """b\n c""")  # done\n'
    )
    assert [t.text for t in tokens(text)] == [t.text for t in tokens(other)]
    assert fingerprints(text, 4) == fingerprints(other, 4) and fingerprints(text, 4)
    assert [(t.text, t.line, t.end_line) for t in tokens(other)][-5:] == [
        ("(", 7, 7), ("ID", 7, 7), (",", 7, 7), ("STR", 8, 9), (")", 9, 9)
    ]  # fmt: skip


def test_code_that_does_not_tokenize_falls_back_to_the_same_tokens():
    for text in [*answer_code(SOURCE).values(), (PACKAGE / "rnn.py").read_text(), *ADA.values()]:
        assert [(t.text, t.line) for t in _regex_tokens(text)] == [
            (t.text, t.line) for t in _python_tokens(text)
        ]
    broken = ADA["rnn_forward"] + "\nprint((\n"  # an unclosed bracket: tokenize refuses it
    with pytest.raises(Exception, match="EOF in multi-line statement"):
        _python_tokens(broken)
    assert [t.text for t in tokens(broken)] == [t.text for t in tokens(ADA["rnn_forward"])] + [
        "ID",
        "(",
        "(",
    ]
    dedent = "def f(x):\n        y = 1\n    return y\n"  # unindent that matches no block
    assert [t.text for t in tokens(dedent)] == [
        "def",
        "ID",
        "(",
        "ID",
        ")",
        ":",
        "ID",
        "=",
        "NUM",
        "return",
        "ID",
    ]


def test_kgram_hashes_are_stable_across_processes():
    """A polynomial of blake2b token values, not Python's salted hash(str)."""
    assert kgram_hashes(tokens("x = y + 1\n"), 3) == [
        117138047210559477, 1629767402231700335, 2278132306100335124
    ]  # fmt: skip
    assert kgram_hashes(tokens("x = y"), 4) == []


def test_winnowing_keeps_the_rightmost_minimum_of_each_window():
    """The example of Schleimer, Wilkerson and Aiken (2003), figure 2, with w = 4."""
    hashes = [77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98]
    kept = winnow(hashes, 4)
    assert kept == [3, 6, 8, 11, 15] and [hashes[i] for i in kept] == [17, 17, 8, 39, 17]
    assert winnow([5, 3, 9], 4) == [1] and winnow([], 4) == []
    assert winnow([2, 2, 2], 2) == [1, 2]


def test_units_start_at_top_level_definitions():
    text = "import numpy\n\n@cache\ndef f(x):\n    def g():\n        pass\n\nclass A:\n    y = 1\n"
    assert [[t.raw for t in u][:2] for u in units(tokens(text))] == [
        ["import", "numpy"],
        ["@", "cache"],
        ["class", "A"],
    ]


# ------------------------------------------------------------------ a large class, the command


def random_answers(rng: random.Random) -> dict[str, str]:
    """Made-up code in place of every stub: random statements over a few names."""
    names = list("abcdefgh")
    ops = ["+", "-", "*", "/", "@", "%", "//", "**", "&", "|", "^", "<<", ">>"]

    def term():
        name = rng.choice(names)
        return rng.choice(
            [name, str(rng.randint(0, 9)), f"np.exp({name})", f"{name}[{rng.randint(0, 3)}]"]
        )

    def expr():
        return term() + "".join(f" {rng.choice(ops)} {term()}" for _ in range(rng.randint(2, 5)))

    out = {}
    for grade_id, stub in answer_code(RELEASE).items():
        functions = []
        for head in re.findall(r"^def .*:$", stub, re.M):
            statements = [
                lambda: f"{rng.choice(names)} = {expr()}",
                lambda: f"if {expr()}:\n        c = {expr()}",
                lambda: f"for i in range({rng.randint(1, 9)}):\n        d = {expr()}",
            ]
            body = [rng.choice(statements)() for _ in range(rng.randint(2, 5))]
            functions.append(
                "\n".join([head, *(f"    {line}" for line in body), f"    return {expr()}"])
            )
        out[grade_id] = "\n\n\n".join(functions) + "\n"
    return out


def test_two_hundred_submissions_are_compared_through_the_inverted_index(tmp_path):
    rng = random.Random(0)
    answers = {f"s{i:03d}": random_answers(rng) for i in range(200)}
    answers["s007"] = {g: re.sub(r"\bc\b", "cc", t) for g, t in answers["s123"].items()}  # copied
    answers["s042"] = {
        g: re.sub(r"### (BEGIN|END) SOLUTION\n", "", t) for g, t in answer_code(SOURCE).items()
    }
    notebooks = {s: write_submission(tmp_path / f"{s}.ipynb", a) for s, a in answers.items()}
    got = compare_submissions(notebooks, RELEASE, SOURCE, PACKAGE)
    assert [(p.a, p.b) for p in got.flagged] == [
        ("s007", "s123"), ("s042", "reference solution"), ("s042", "course_pkg")
    ]  # fmt: skip
    assert all(d.compared for d in got.documents)
    assert len(got.pairs) > 100 and max(p.score for p in got.pairs if not p.flagged) < 0.2


def test_the_command_writes_the_report_and_the_table(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    for student, answers in [("ada", ADA), ("=copy", ADA_COPY), ("ben", BEN), ("blank", {})]:
        write_submission(submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", answers)
    (submitted / "ghost" / ASSIGNMENT).mkdir(parents=True)
    (submitted / "ghost" / ASSIGNMENT / "notes.txt").write_text("nothing")
    out = tmp_path / "out"
    argv = ["similarity", ASSIGNMENT, "--course", str(ROOT), "--submissions", str(submitted)]
    assert main([*argv, "--out", str(out), "--threshold", "0.9"]) == 0
    printed = capsys.readouterr().out
    assert "needs a look: =copy ~ ada: 100% and 100% of the fingerprints" in printed
    assert "1 of " in printed and str(out / "similarity.html") in printed
    with open(out / "similarity.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert (rows[0]["student"], rows[0]["other"], rows[0]["needs_a_look"]) == (
        "'=copy",
        "ada",
        "yes",
    )
    assert all(row["needs_a_look"] == "no" for row in rows[1:]) and len(rows) > 2
    page = (out / "similarity.html").read_text()
    assert "Needs a look (1)" in page and "ghost: no .ipynb file was submitted" in page
    assert "threshold = 0.9" in page
