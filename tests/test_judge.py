"""The judge's channel: only data crosses, handles stand for the rest, and a test's verdict is
computed from what the student's code returned, whatever that code is.

The judge and its runner talk here over a loopback (tests/judge_util.py): the same
messages as over a kernel, without one. The kernel route is graded end to end in
tests/test_autograder.py and tests/test_grading.py.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from judge_util import loopback

import course_pkg.checks
from autograder import wire
from autograder.judge import Handle, needed_names
from autograder.runner import Runner
from course_pkg.checks import check_array, fresh_rng, has_type, no_warnings
from course_pkg.rnn import RNNCache


def _no_handles(obj):
    raise TypeError(f"no handle for {type(obj).__name__}")


def round_trip(value):
    arrays: list = []
    tree = wire.encode(value, arrays, _no_handles)
    meta, got = wire.unpack(wire.pack({"v": tree}, arrays))
    return wire.decode(meta["v"], got, _no_handles)


def test_data_crosses_with_its_types_and_values():
    rng = np.random.default_rng(3)
    cache = RNNCache(
        *(rng.standard_normal(s) for s in [(2, 3, 4), (2, 5), (4, 5), (5, 5), (2, 3, 5)])
    )
    value = {
        "ints": [1, -2, 10**30],
        "float": 0.1,
        "nan": float("nan"),
        "text": "héllo",
        "none": None,
        "flag": True,
        "tuple": (np.float32(1.5), np.int64(7)),
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "bools": np.array([True, False]),
        "cache": cache,
        "dtype": np.dtype("float32"),
        "type": np.float64,
    }
    got = round_trip(value)
    assert got["ints"] == [1, -2, 10**30] and got["float"] == 0.1 and np.isnan(got["nan"])
    assert (got["text"], got["none"], got["flag"]) == ("héllo", None, True)
    assert type(got["tuple"][0]) is np.float32 and got["tuple"][0] == 1.5
    assert type(got["tuple"][1]) is np.int64 and got["tuple"][1] == 7
    assert got["f32"].dtype == np.float32 and np.array_equal(got["f32"], value["f32"])
    assert got["bools"].tolist() == [True, False]
    assert type(got["cache"]) is RNNCache  # the receiver's own class, rebuilt from the fields
    assert all(np.array_equal(a, b) for a, b in zip(got["cache"], cache, strict=True))
    assert got["dtype"] == np.float32 and got["type"] is np.float64


def test_a_generator_crosses_as_its_state():
    rng = np.random.default_rng(5)
    copy = round_trip(rng)
    assert copy is not rng and copy.standard_normal(3).tolist() == rng.standard_normal(3).tolist()


def test_an_ndarray_subclass_arrives_as_the_plain_data_it_holds():
    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

    liar = np.zeros(3).view(Agreeable)
    got = round_trip(liar)
    assert type(got) is np.ndarray and got.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(AssertionError, match="differs from the expected values"):
        check_array("y", got, np.ones(3))


def test_objects_never_cross_as_data():
    with pytest.raises(TypeError, match="dtype=object"):
        round_trip(np.array([{}, 1], dtype=object))
    with pytest.raises(TypeError, match="no handle for function"):
        round_trip([lambda: 1])
    with pytest.raises(TypeError, match="no handle for dict"):
        round_trip({1: "a key that is not a string"})


def _zip_message(entries: dict, compression=zipfile.ZIP_STORED) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return base64.b64encode(buffer.getvalue()).decode()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_hostile_messages_are_refused():
    meta = _npy(np.frombuffer(json.dumps({"ok": 1}).encode(), dtype=np.uint8))
    assert wire.unpack(_zip_message({"meta.npy": meta}))[0] == {"ok": 1}
    pickled = _npy(np.array([object()], dtype=object))
    with pytest.raises(wire.WireError, match="could not be read"):
        wire.unpack(_zip_message({"meta.npy": meta, "a0.npy": pickled}))
    with pytest.raises(wire.WireError, match="compressed"):  # a zip bomb would be
        wire.unpack(_zip_message({"meta.npy": meta}, zipfile.ZIP_DEFLATED))
    with pytest.raises(wire.WireError, match="unexpected entries"):
        wire.unpack(_zip_message({"meta.npy": meta, "evil.pkl": b"x"}))
    with pytest.raises(wire.WireError, match="larger than"):
        wire.unpack("A" * 200, max_bytes=100)
    for junk in ("not base64!", base64.b64encode(b"not a zip").decode(), 42):
        with pytest.raises(wire.WireError):
            wire.unpack(junk)
    deep = {"l": []}
    for _ in range(100):
        deep = {"l": [deep]}
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(deep, [], _no_handles)


def test_a_student_function_is_a_handle_whose_results_are_data():
    student = {}
    exec(
        "import numpy as np\n"
        "def double(x):\n    return 2 * x\n"
        "def shout(x):\n    print('called with', x.shape)\n    return x\n"
        "class Model:\n    def __init__(self, w):\n        self.w = w\n"
        "    def predict(self, x):\n        return x @ self.w\n"
        "model = Model(np.eye(2))\n",
        student,
    )
    judge, _ = loopback(student)
    double, model = judge.fetch("double"), judge.fetch("model")
    assert isinstance(double, Handle) and "double" in repr(double)
    assert double(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert model.predict(np.array([[3.0, 4.0]])).tolist() == [[3.0, 4.0]]
    assert model.w.tolist() == [[1.0, 0.0], [0.0, 1.0]]  # an attribute that is data
    assert judge.fetch("double") is double  # one kernel object, one handle: `is` works
    assert has_type(model, judge.fetch("Model")) and not has_type(model, double)
    assert not has_type(model, object)
    with pytest.raises(NameError, match="'nothing' is not defined in your notebook"):
        judge.fetch("nothing")
    judge.printed = []
    judge.fetch("shout")(np.zeros((2, 3)))
    assert judge.printed == ["called with (2, 3)\n"]


def test_what_the_student_code_changes_in_place_is_changed_for_the_judge():
    student = {}
    exec(
        "def scale(x, params):\n"
        "    x *= 2\n"
        "    params['w'] -= 1.0\n"
        "    params['new'] = 5\n"
        "def draw(rng):\n    return rng.standard_normal(2)\n",
        student,
    )
    exec(
        "def replace(params):\n    params['w'] = params['w'] - 1.0\n"
        "def same_values(params):\n    params['w'] = params['w'].copy()\n",
        student,
    )
    judge, _ = loopback(student)
    x, w = np.ones(3), np.zeros(2)
    params = {"w": w}
    judge.fetch("scale")(x, params)
    assert x.tolist() == [2.0, 2.0, 2.0] and params["w"].tolist() == [-1.0, -1.0]
    assert params["w"] is w and params["new"] == 5  # changed in place: still the same array
    judge.fetch("replace")(params)
    assert params["w"].tolist() == [-2.0, -2.0] and params["w"] is not w and w[0] == -1.0
    kept = params["w"]
    judge.fetch("same_values")(params)  # a new array with the same values is still new
    assert params["w"] is not kept and params["w"].tolist() == [-2.0, -2.0]
    rng, twin = np.random.default_rng(9), np.random.default_rng(9)
    assert judge.fetch("draw")(rng).tolist() == twin.standard_normal(2).tolist()
    assert rng.standard_normal(2).tolist() == twin.standard_normal(2).tolist()  # advanced too


def test_a_judge_function_given_to_student_code_is_called_back():
    student = {}
    exec(
        "import numpy as np\n"
        "def gradient(f, x, h=1e-6):\n"
        "    g = np.zeros_like(x)\n"
        "    for i in range(x.size):\n"
        "        e = np.zeros_like(x)\n"
        "        e[i] = h\n"
        "        g[i] = (f(x + e) - f(x - e)) / (2 * h)\n"
        "    return g\n",
        student,
    )
    judge, _ = loopback(student)
    seen = []

    def cube(v):
        seen.append(v.copy())
        return float(np.sum(v**3))

    got = judge.fetch("gradient")(cube, np.array([1.0, 2.0]))
    assert np.allclose(got, [3.0, 12.0], atol=1e-5) and len(seen) == 4
    with pytest.raises(TypeError, match="a test cannot send object"):
        judge.fetch("gradient")(object(), np.zeros(1))


def test_errors_and_warnings_of_student_code_reach_the_test():
    student = {}
    exec(
        "import numpy as np\n"
        "def picky(x):\n    raise ValueError(f'x must be 2-D, got {x.ndim}-D')\n"
        "def odd(x):\n    raise KeyError('custom')\n"
        "def naive_sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n",
        student,
    )
    exec("def todo(x):\n    raise NotImplementedError()\n", student)
    judge, _ = loopback(student)
    with pytest.raises(NotImplementedError) as placeholder:
        judge.fetch("todo")(np.zeros(1))
    assert str(placeholder.value) == ""  # as raised: check_own_implementation explains it
    with pytest.raises(ValueError, match="your code raised ValueError: x must be 2-D, got 1-D"):
        judge.fetch("picky")(np.zeros(3))
    with pytest.raises(KeyError):
        judge.fetch("odd")(np.zeros(3))
    with pytest.raises(AssertionError, match="overflow"), no_warnings():
        judge.fetch("naive_sigmoid")(np.array([-1e4]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert judge.fetch("naive_sigmoid")(np.array([0.0])).tolist() == [0.5]


def test_a_test_cell_passes_only_when_its_checks_pass_in_the_judge():
    student = {}
    exec("import numpy as np\ndef relu(z):\n    return np.maximum(z, 0)\n", student)
    judge, _ = loopback(student)
    setup = {"np": np, "check_array": check_array}
    passed = judge.run(
        "check_array('relu', relu(np.array([-1.0, 2.0])), np.array([0.0, 2.0]))", setup
    )
    assert passed.passed and passed.calls == 2 and passed.message == ""  # fetch, then call
    failed = judge.run("check_array('relu', relu(np.array([-1.0])), np.array([1.0]))", setup)
    assert not failed.passed
    assert failed.message.startswith("AssertionError: relu differs from the expected values")
    assert judge.run("assert missing_name == 1", setup).message == (
        "NameError: name 'missing_name' is not defined"
    )
    assert "relu" not in setup  # each cell runs in a copy of the instructor's names


def test_a_kernel_that_answers_nonsense_fails_the_cell_with_a_reason():
    judge, _ = loopback({})
    judge.transport = lambda text: ("garbage", "")
    verdict = judge.run("x = f(1)", {})
    assert not verdict.passed and "answered with something unreadable" in verdict.message
    judge.transport = lambda text: (None, "")
    assert "did not answer" in judge.run("x = f(1)", {}).message


def test_the_runner_refuses_requests_it_does_not_know():
    runner = Runner({})
    assert runner.handle_of(len) == {"h": 1}
    with pytest.raises(ValueError, match="unknown request 'exec'"):
        runner.answer(wire.pack({"op": "exec", "h": 1}, []))
    with pytest.raises(KeyError, match="no object 2"):
        runner.answer(wire.pack({"op": "getattr", "h": 2, "name": "x"}, []))


def test_needed_names_are_the_globals_a_cell_reads():
    source = (
        "import numpy as np\n"
        "from course_pkg.rnn import rnn_forward as reference\n"
        "x = make(3)\n"
        "def helper(a):\n    return a + offset\n"
        "values = [helper(v) for v in data]\n"
        "f = lambda w: model(w, x)\n"
    )
    assert needed_names(source) == {"make", "offset", "data", "model"}


def test_fresh_inputs_depend_on_the_run_seed():
    try:
        course_pkg.checks.set_run_seed(0)
        first = fresh_rng(7).standard_normal(3)
        assert np.array_equal(first, fresh_rng(7).standard_normal(3))  # reproducible in a run
        assert not np.array_equal(first, fresh_rng(8).standard_normal(3))
        course_pkg.checks.set_run_seed(2**62 + 11)
        assert not np.array_equal(first, fresh_rng(7).standard_normal(3))  # new in a new run
        with pytest.raises(TypeError, match="non-negative int"):
            course_pkg.checks.set_run_seed(-1)
        with pytest.raises(TypeError, match="stream must be"):
            fresh_rng(1.5)
    finally:
        course_pkg.checks.set_run_seed(0)


def test_a_kernel_that_is_gone_ends_the_grading_instead_of_failing_one_cell():
    class Gone(RuntimeError):
        pass

    def transport(text):
        raise Gone("the kernel died")

    judge, _ = loopback({})
    judge.transport, judge.fatal = transport, (Gone,)
    with pytest.raises(Gone):
        judge.run("x = f(1)", {})
