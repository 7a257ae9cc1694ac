"""A synthetic class of submissions, good and bad, made from an assignment's notebooks.

``python -m autograder sample ASSIGNMENT DEST`` writes
``DEST/<student>/<ASSIGNMENT>/...`` (nbgrader's ``submitted/`` layout) and
``DEST/roster.csv``. Each student is one case the grader must handle; the
expected outcome of each is in :data:`CASES` (for the first assignment, whose
last graded function is ``rnn_num_params``, worth 3 of 30 points).
"""

from __future__ import annotations

import copy
import csv
import json
import re
import sys
from pathlib import Path

import nbformat

from .collect import id_problem
from .stage import HIDDEN_BLOCK, SOLUTION_MARKERS, nbgrader_meta, release_notebook

# the function whose body the "limit" cases break: worth 3 points in a1_unfolding
VICTIM = "rnn_num_params"

# where an attacker would look for the gradebook and the solutions (the course
# root, the grader's temporary folders, relative to the notebook), a few levels deep
_ROOTS = ["/work", "/work/main", "/tmp", "/root", "/home", "..", "../..", "../../.."]
ATTACK_PATHS = [f"{r}/{'*/' * d}gradebook.db" for r in _ROOTS for d in range(4)]
STEAL_PATTERNS = [f"{r}/{'*/' * d}solutions/*/*.ipynb" for r in _ROOTS for d in range(4)]
STEAL_PATTERNS += [f"{r}/{'*/' * d}gradebook*.db" for r in _ROOTS for d in range(4)]
# and, in Gradescope's container, everything of the autograder's (hidden tests, reference)
STEAL_PATTERNS += [f"/autograder/source/{'*/' * d}*" for d in range(5)]

# student -> (expected status, expected score in a1_unfolding, what the case is)
CASES = {
    "full": ("graded", 30, "the solution"),
    "blank": ("graded", 0, "the release, untouched"),
    "partial": ("graded", 9, "only the activation functions done"),
    "tampered_tests": ("graded", 0, "blank answers, every test cell rewritten to pass"),
    "deleted_test": ("graded", 30, "the solution with a test cell deleted"),
    "markdown_test": ("graded", 30, "the solution with a test cell turned into markdown"),
    "duplicated_cells": ("graded", 30, "the solution with cells duplicated"),
    "metadata_changed": (
        "graded",
        30,
        "the solution, nbgrader metadata stripped, kernelspec changed",
    ),
    "renamed": ("graded", 30, "the solution saved under another name, plus an extra notebook"),
    "infinite_loop": ("timed out", 27, f"{VICTIM} never returns"),
    "memory_bomb": ("out of memory", 27, f"{VICTIM} allocates 64 GB"),
    "output_flood": ("graded", 27, f"{VICTIM} prints without end"),
    "kernel_crash": ("crashed", 0, "the kernel process exits while grading"),
    "corrupt_json": ("notebook unreadable", 0, "a truncated notebook file"),
    "no_notebook": ("notebook missing", 0, "a submission without a notebook"),
    "reexport": ("graded", 0, "answers that re-export course_pkg's implementation"),
    "monkeypatch": ("graded", 0, "blank answers that patch numpy, builtins and the test helpers"),
    "gradebook_attack": (
        "graded",
        30,
        "the solution, plus code that tries to rewrite the gradebook",
    ),
    "solution_thief": (
        "graded",
        0,
        "code that tries to read the solutions and hidden tests, also at the paths the "
        "grader's command lines name",
    ),
    "absent": ("notebook missing", 0, "on the roster, submitted nothing"),
    "script_injection": (
        "graded",
        30,
        "the solution, plus outputs that are script, event handlers and a fake score box",
    ),
    "stderr_flood": ("graded", 27, f"{VICTIM} writes a gigabyte to the kernel's stderr (fd 2)"),
    "fork_bomb": ("graded", 27, f"{VICTIM} starts processes without end (then stops them)"),
    "memory_children": (
        "out of memory",
        27,
        f"{VICTIM} starts four processes of 1 GB each (each under the per-process limit)",
    ),
    "disk_filler": ("graded", 27, f"{VICTIM} writes files until the disk is full"),
    "dead_sockets": ("crashed", 0, f"{VICTIM} closes the kernel's connection to the grader"),
    "nonce_forging": ("graded", 0, "blank answers; a fake guard prints 'clean', errors swallowed"),
    "ipython_hooks": ("graded", 0, "blank answers; IPython's transformers and compiler rewritten"),
    "session_tampering": ("graded", 0, "blank answers; the kernel's messages rewritten to 'ok'"),
    "gc_snapshot": ("graded", 0, "blank answers; every object found through gc rewritten"),
    "code_swap": ("graded", 0, "wrong answers; the checks' and the reference's __code__ swapped"),
    "lying_ndarray": ("graded", 0, "answers return an ndarray subclass that equals anything"),
    "threaded_reference": ("graded", 0, "answers call the package's own functions in a thread"),
    "exfiltration": ("graded", 30, "the solution, printing the callers' frames and code"),
    "first_output": ("graded", 0, "blank answers that display a score before each error"),
    "=1+2": ("graded", 9, "an id a spreadsheet would run as a formula (partial answers)"),
    "star*": ("id refused", 0, "an id with a glob character"),
    "trailing ": ("id refused", 0, "an id that ends with a space"),
}


def solution_notebook(source):
    """The instructor's notebook as a perfect student submits it: no markers, no hidden tests."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        cell.source = HIDDEN_BLOCK.sub("", SOLUTION_MARKERS.sub("", cell.source))
    return nb


def partial_notebook(source):
    """The release with only the first answer cell done (as in the solution)."""
    partial = release_notebook(source)
    _answer_cells(partial)[0].source = _answer_cells(solution_notebook(source))[0].source
    return partial


def _answer_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"]


def _test_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]


def _break_victim(nb, body: str):
    """Replace the body of the VICTIM function by ``body``."""
    for cell in _answer_cells(nb):
        if f"def {VICTIM}(" in cell.source:
            head = cell.source[: cell.source.index(f"def {VICTIM}(")]
            cell.source = head + f"def {VICTIM}(D, H, K=0):\n" + body
            return nb
    raise ValueError(f"no answer cell defines {VICTIM}")


def make_cases(source_path: Path) -> dict:
    """Notebook JSON text (or None / raw bytes) for each case, keyed by student."""
    source = nbformat.read(source_path, as_version=4)
    release, solution = release_notebook(source), solution_notebook(source)
    cases = {}

    cases["full"] = solution
    cases["blank"] = release
    cases["partial"] = partial_notebook(source)

    tampered = copy.deepcopy(release)
    for cell in _test_cells(tampered):
        cell.source = 'print("all tests passed")'
        nbgrader_meta(cell)["points"] = 100
    cases["tampered_tests"] = tampered

    deleted = copy.deepcopy(solution)
    deleted.cells.remove(_test_cells(deleted)[1])
    cases["deleted_test"] = deleted

    markdown = copy.deepcopy(solution)
    target = _test_cells(markdown)[0]
    index = markdown.cells.index(target)
    markdown.cells[index] = nbformat.v4.new_markdown_cell(target.source, metadata=target.metadata)
    markdown.cells[index]["id"] = target.get("id", "markdown-test")  # deterministic output
    cases["markdown_test"] = markdown

    duplicated = copy.deepcopy(solution)
    duplicated.cells = [c for cell in duplicated.cells for c in (cell, copy.deepcopy(cell))]
    for i, cell in enumerate(duplicated.cells):
        cell["id"] = f"dup-{i:03d}"
    cases["duplicated_cells"] = duplicated

    stripped = copy.deepcopy(solution)
    for cell in stripped.cells:
        cell.metadata = {}
    stripped.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    cases["metadata_changed"] = stripped
    cases["renamed"] = solution

    cases["infinite_loop"] = _break_victim(
        copy.deepcopy(solution), "    while True:\n        pass\n"
    )
    cases["memory_bomb"] = _break_victim(
        copy.deepcopy(solution), "    hog = np.ones((1 << 33,))\n    return int(hog.sum())\n"
    )
    cases["output_flood"] = _break_victim(
        copy.deepcopy(solution), '    while True:\n        print("spam " * 2000)\n'
    )
    crash = copy.deepcopy(solution)
    _answer_cells(crash)[-1].source += "\nimport os\nos._exit(3)\n"
    cases["kernel_crash"] = crash

    reexport = copy.deepcopy(release)
    for cell in _answer_cells(reexport):
        names = re.findall(r"^def (\w+)", cell.source, flags=re.M)
        lines = []
        for name in names:
            for module in ("activations", "rnn", "scalar_rnn"):
                statement = f"from course_pkg.{module} import {name}"
                lines.append(f"try:\n    {statement}\nexcept ImportError:\n    pass")
        cell.source = "\n".join(lines)
    cases["reexport"] = reexport

    patch = _with_first_answer(
        release,
        "import builtins, numpy as np, course_pkg.checks\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "course_pkg.checks.check_array = lambda *a, **k: None\n"
        "course_pkg.checks.check_own_implementation = lambda fn, name, mods, *a, **k: fn(*a, **k)\n"
        "builtins.abs = lambda x: 0\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"
        "def sigmoid(z):\n    return z\n",
        replace=True,
    )
    cases["monkeypatch"] = patch

    attack = _with_first_answer(
        solution,
        "import glob, os, sqlite3\n"
        f"for path in [p for pattern in {ATTACK_PATHS!r} for p in glob.glob(pattern)]:\n"
        "    try:\n"
        "        db = sqlite3.connect(path)\n"
        "        db.execute('UPDATE grade SET auto_score = 1000')\n"
        "        db.commit()\n"
        "    except Exception:\n"
        "        pass\n"
        "    try:\n"
        "        open(path, 'w').write('owned')\n"
        "    except Exception:\n"
        "        pass\n",
    )
    cases["gradebook_attack"] = attack

    thief = _with_first_answer(
        release,
        "import glob\n"
        "stolen = []\n"
        f"for pattern in {STEAL_PATTERNS!r}:\n"
        "    for path in glob.glob(pattern):\n"
        "        try:\n"
        "            stolen.append(open(path, errors='replace').read())\n"
        "        except Exception:\n"
        "            pass\n"
        "# the grader's own paths, from its processes' command lines (where /proc shows them)\n"
        "for cmdline in glob.glob('/proc/[0-9]*/cmdline'):\n"
        "    try:\n"
        "        args = open(cmdline).read().split(chr(0))\n"
        "    except Exception:\n"
        "        continue\n"
        "    for arg in args:\n"
        "        folder = arg\n"
        "        while arg.startswith('/') and folder not in ('/', ''):\n"
        "            for name in ('job.json', 'result.json', 'gradebook.db',\n"
        "                         'course/gradebook.db', 'submission.ipynb',\n"
        "                         'course/solutions/a1_unfolding/a1_unfolding.ipynb',\n"
        "                         'job/course/solutions/a1_unfolding/a1_unfolding.ipynb'):\n"
        "                try:\n"
        "                    stolen.append(open(folder + '/' + name).read())\n"
        "                except Exception:\n"
        "                    pass\n"
        "            folder = folder.rsplit('/', 1)[0]\n"
        "print('stolen:', len(stolen), 'files')\n"
        "print('\\n'.join(stolen)[:5000])\n",
        replace=True,
    )
    cases["solution_thief"] = thief

    injection = copy.deepcopy(solution)
    injection.cells.append(
        nbformat.v4.new_code_cell(
            "from IPython.display import HTML, Javascript, Markdown, display\n"
            "display(HTML('<script>document.title = \"owned\"</script>'\n"
            '             \'<img src="x" onerror="alert(1)">\'\n'
            "             '<div style=\"font-size:40px\">Score: 30 / 30</div>'))\n"
            "display(Javascript('alert(2)'))\n"
            "display(Markdown('<script>alert(3)</script> **bold**'))\n"
            "display({'image/svg+xml': '<svg onload=\"alert(4)\"></svg>'}, raw=True)\n"
        )
    )
    injection.cells[-1]["id"] = "injected-output"  # deterministic output
    cases["script_injection"] = injection
    cases["stderr_flood"] = _break_victim(
        copy.deepcopy(solution),
        "    import os\n"
        "    chunk = b'x' * (1 << 20)\n"
        "    for _ in range(1024):\n"
        "        os.write(2, chunk)\n"
        "    return D * H + H * H + H + H * K + K\n",
    )
    cases["fork_bomb"] = _break_victim(
        copy.deepcopy(solution),
        "    import os, signal, time\n"
        "    children = []\n"
        "    try:\n"
        "        for _ in range(100_000):\n"
        "            pid = os.fork()\n"
        "            if pid == 0:\n"
        "                time.sleep(60)\n"
        "                os._exit(0)\n"
        "            children.append(pid)\n"
        "    except OSError:\n"
        "        pass\n"
        "    for pid in children:  # (left running, they would starve only this kernel)\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        os.waitpid(pid, 0)\n"
        "    print('started', len(children), 'processes')  # now that the kernel may send it\n"
        "    return len(children)\n",
    )
    cases["memory_children"] = _break_victim(
        copy.deepcopy(solution),
        "    import os\n"
        "    children = []\n"
        "    for _ in range(4):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            block = np.ones(125_000_000)  # 1 GB, every page touched\n"
        "            os._exit(0 if block.sum() > 0 else 1)\n"
        "        children.append(pid)\n"
        "    failed = sum(os.waitpid(pid, 0)[1] != 0 for pid in children)\n"
        "    return D * H + H * H + H + H * K + K + failed\n",
    )
    cases["disk_filler"] = _break_victim(
        copy.deepcopy(solution),
        "    import os, sys\n"
        "    chunk = b'x' * (1 << 24)\n"
        "    folders = ['/tmp'] + [os.path.dirname(a) for a in sys.argv if a.endswith('.json')]\n"
        "    for folder in folders:\n"
        "        written = 0\n"
        "        for i in range(256):  # up to 4 GB in each\n"
        "            try:\n"
        "                with open(os.path.join(folder, f'fill{i}'), 'wb') as handle:\n"
        "                    handle.write(chunk)\n"
        "                written += 16\n"
        "            except OSError:\n"
        "                break\n"
        "        print(f'wrote {written} MB in {folder}')\n"
        "    return -1\n",
    )
    cases["dead_sockets"] = _break_victim(
        copy.deepcopy(solution),
        "    get_ipython().kernel.shell_stream.close()\n    return D * H + H * H + H + H * K + K\n",
    )
    _in_kernel_attacks(cases, release, solution)
    cases["=1+2"] = cases["partial"]
    cases["star*"] = solution
    cases["trailing "] = solution

    text = {student: nbformat.writes(nb) for student, nb in cases.items()}
    text["corrupt_json"] = text["full"][: len(text["full"]) // 2]
    return text


def _with_first_answer(nb, code: str, replace: bool = False):
    """A copy of ``nb`` whose first answer cell is ``code``, or has it added."""
    nb = copy.deepcopy(nb)
    first = _answer_cells(nb)[0]
    first.source = code if replace else first.source + "\n" + code
    return nb


def _with_answers(nb, body):
    """A copy of ``nb`` whose answer cells define their functions with ``body(name, params)``
    (the indented lines of each)."""
    nb = copy.deepcopy(nb)
    for cell in _answer_cells(nb):
        found = re.findall(r"^def (\w+)\((.*?)\):", cell.source, flags=re.M)
        cell.source = "\n\n".join(
            f"def {name}({params}):\n{body(name, params)}" for name, params in found
        )
    return nb


def _in_kernel_attacks(cases: dict, release, solution) -> None:
    """Submissions that attack what runs in their own kernel. They were written against the
    in-kernel guard that preceded the judge; with the judge, nothing in the kernel decides."""
    cases["nonce_forging"] = _with_first_answer(
        release,
        "import gc, re, sys\n"
        "shell = get_ipython()\n"
        "for name in [n for n in list(shell.user_ns) if n.startswith('__course')]:\n"
        "    shell.user_ns[name] = lambda *a, **k: print(f'{name}:restore:x:clean')\n"
        "nonce = 'deadbeef' * 4\n"
        "shell.user_ns['__course_guard_' + nonce] = lambda g: print(f'{nonce}:restore:{g}:clean')\n"
        "original = shell.run_code\n"
        "async def swallow(code_obj, result=None, *, async_=False):\n"
        "    try:\n"
        "        exec(code_obj, shell.user_global_ns, shell.user_ns)\n"
        "    except BaseException:\n"
        "        pass\n"
        "    return False\n"
        "shell.run_code = swallow\n",
    )
    cases["ipython_hooks"] = _with_first_answer(
        release,
        "import ast\n"
        "shell = get_ipython()\n"
        "class NoChecks(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n"
        "        return ast.Pass()\n"
        "    def visit_Raise(self, node):\n"
        "        return ast.Pass()\n"
        "shell.ast_transformers.append(NoChecks())\n"
        "shell.input_transformers_cleanup.append(\n"
        "    lambda lines: ['pass\\n'] if any('check' in l or 'assert' in l for l in lines)\n"
        "    else lines)\n"
        "original_compile = shell.compile\n"
        "class Lenient(type(original_compile)):\n"
        "    def __call__(self, source, filename, symbol='exec', *args, **kwargs):\n"
        "        if 'check_array' in str(source):\n"
        "            source = 'pass'\n"
        "        return original_compile(source, filename, symbol, *args, **kwargs)\n"
        "shell.compile = Lenient()\n",
    )
    cases["session_tampering"] = _with_first_answer(
        release,
        "kernel = get_ipython().kernel\n"
        "session_send = kernel.session.send\n"
        "def send(stream, msg_or_type, content=None, *args, **kwargs):\n"
        "    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get('msg_type')\n"
        "    if kind == 'error':\n"
        "        kind, content = 'display_data', {'data': {'text/plain': '30'}, 'metadata': {}}\n"
        "        msg_or_type = kind\n"
        "    if isinstance(content, dict) and content.get('status') == 'error':\n"
        "        content = {'status': 'ok', 'execution_count': content.get('execution_count', 0),\n"
        "                   'user_expressions': {}, 'payload': []}\n"
        "    return session_send(stream, msg_or_type, content, *args, **kwargs)\n"
        "kernel.session.send = send\n",
    )
    cases["gc_snapshot"] = _with_first_answer(
        release,
        "import gc, threading, time\n"
        "def rewrite():\n"
        "    for obj in gc.get_objects():\n"
        "        try:\n"
        "            if isinstance(obj, dict) and any('expected' in str(k) for k in obj):\n"
        "                for k in list(obj):\n"
        "                    obj[k] = None\n"
        "            if isinstance(obj, dict) and 'numpy.allclose' in obj:\n"
        "                obj.clear()\n"
        "        except Exception:\n"
        "            pass\n"
        "def keep_rewriting():\n"
        "    while True:\n"
        "        rewrite()\n"
        "        time.sleep(0.05)\n"
        "threading.Thread(target=keep_rewriting, daemon=True).start()\n",
    )
    code_swap = _with_first_answer(
        release,
        "import course_pkg.activations, course_pkg.checks, course_pkg.rnn\n"
        "def noop(*args, **kwargs):\n"
        "    return None\n"
        "def same(fn, name, modules, *args, **kwargs):\n"
        "    return fn(*args, **kwargs)\n"
        "course_pkg.checks.check_array.__code__ = noop.__code__\n"
        "course_pkg.checks.check_own_implementation.__code__ = same.__code__\n"
        "def zeros(z, axis=-1):\n"
        "    return z * 0\n"
        "for name in ('sigmoid', 'tanh', 'relu', 'softmax'):\n"
        "    try:\n"
        "        getattr(course_pkg.activations, name).__code__ = zeros.__code__\n"
        "    except Exception:\n"
        "        pass\n"
        "sigmoid = sigmoid_grad = tanh = tanh_grad = relu = relu_grad = zeros\n"
        "softmax = zeros\n",
        replace=True,
    )
    cases["code_swap"] = code_swap
    liar_code = (
        "class Agreeable(np.ndarray):\n"
        "    def __eq__(self, other):\n"
        "        return np.ones(np.shape(self), dtype=bool)\n"
        "    __ne__ = lambda self, other: np.zeros(np.shape(self), dtype=bool)\n"
        "    def __array_function__(self, func, types, args, kwargs):\n"
        "        if func.__name__ in ('allclose', 'array_equal', 'isclose'):\n"
        "            return True\n"
        "        return super().__array_function__(func, types, args, kwargs)\n"
        "def liar(shape_like, dtype=np.float64):\n"
        "    dtype = getattr(shape_like, 'dtype', dtype)\n"
        "    return np.zeros(np.shape(shape_like), dtype=dtype).view(Agreeable)\n"
    )
    liar = _with_answers(release, lambda name, params: f"    return liar({params.split(',')[0]})\n")
    _answer_cells(liar)[0].source = liar_code + "\n\n" + _answer_cells(liar)[0].source
    cases["lying_ndarray"] = liar

    def through_a_thread(name, params):
        call = ", ".join(p.split("=")[0].strip() for p in params.split(",") if p.strip())
        return (
            "    import threading\n"
            "    import course_pkg.activations, course_pkg.rnn, course_pkg.scalar_rnn\n"
            "    found = {}\n"
            "    def work():\n"
            "        modules = course_pkg.activations, course_pkg.rnn, course_pkg.scalar_rnn\n"
            "        for module in modules:\n"
            f"            if hasattr(module, {name!r}):\n"
            f"                found['value'] = getattr(module, {name!r})({call})\n"
            "    thread = threading.Thread(target=work)\n"
            "    thread.start()\n"
            "    thread.join()\n"
            "    return found.get('value')\n"
        )

    threaded = _with_answers(release, through_a_thread)
    cases["threaded_reference"] = threaded
    spy = _with_first_answer(
        solution,
        "import inspect, sys\n"
        "def spy():\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        try:\n"
        "            code = inspect.getsource(frame.f_code)[:3000]\n"
        "            print('frame', frame.f_code.co_filename, code)\n"
        "        except Exception:\n"
        "            print('frame', frame.f_code.co_filename, sorted(frame.f_locals)[:50])\n"
        "        frame = frame.f_back\n"
        "    shell = get_ipython()\n"
        "    print('history', shell.user_ns.get('In', [])[-5:])\n"
        "_original_sigmoid = sigmoid\n"
        "def sigmoid(z):\n"
        "    spy()\n"
        "    return _original_sigmoid(z)\n",
    )
    cases["exfiltration"] = spy
    first = _with_first_answer(
        release,
        "from IPython.display import display\n"
        "class Score:\n"
        "    def _repr_pretty_(self, p, cycle):\n"
        "        p.text('30')\n"
        "def scored(z, axis=-1):\n"
        "    get_ipython().display_pub.publish({'text/plain': '30'})\n"
        "    get_ipython().displayhook(Score())\n"
        "    raise AssertionError('wrong')\n"
        "sigmoid = sigmoid_grad = tanh = tanh_grad = relu = relu_grad = softmax = scored\n",
        replace=True,
    )
    cases["first_output"] = first


def write_sample_class(source_path: Path, assignment: str, dest: Path) -> None:
    cases = make_cases(source_path)
    for student, text in cases.items():
        folder = dest / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        name = "my_work.ipynb" if student == "renamed" else f"{assignment}.ipynb"
        (folder / name).write_text(text)
    renamed = dest / "renamed" / assignment
    (renamed / "scratch.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    folder = dest / "no_notebook" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.txt").write_text("I wrote my answers in a text file.\n")
    with open(dest / "roster.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id"])
        for student in CASES:
            if not id_problem(student):  # a roster of usable ids; the others only submitted
                writer.writerow([student])


if __name__ == "__main__":
    source_arg, assignment_arg, dest_arg = sys.argv[1:4]
    write_sample_class(Path(source_arg), assignment_arg, Path(dest_arg))
