"""The judge's runner: the small server that runs inside a student's kernel.

Its source (with :mod:`autograder.wire`) is sent into the kernel once the
student's notebook has run there. For each test cell the judge runs
``__course_judge__.serve_loop()``, which reads every request as the answer to
an ``input()`` prompt and sends its reply in the next prompt (see
:class:`autograder.execute.JudgedExecute`). A request asks for a global of
the notebook, an attribute, an item, the items of an iterable, or a call. The
runner keeps the objects that must stay in the kernel and sends a handle for
each; a call's arguments that the student's code changed in place are sent
back, so that the judge sees the change.

The runner runs in the student's process, which the student controls: it can
be replaced, and its replies can be forged. That is why it only ever sends
data, and why nothing it sends decides a grade except by being compared,
outside, with what the reference computes.
"""

try:  # in the kernel, wire.py's source runs just before this one
    from .wire import decode, encode, pack, same_data, unpack
except ImportError:
    pass

CALLBACK = "course-judge-callback:"  # starts the prompt of an input request that is a callback
LOOP = "course-judge-loop:"  # starts the serve loop's prompts: its reply to the last request
STOP = "stop"  # the request that ends the serve loop
MAX_ITEMS = 100_000


def arrays_in(value, path=()):
    """(path, array) for every array inside ``value`` (through dicts, lists and tuples)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from arrays_in(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from arrays_in(item, (*path, index))


class Callback:
    """A function of the judge's, given to the student's code: each call asks the judge (over
    the kernel's stdin channel, as ``input()`` does) and returns its answer."""

    def __init__(self, runner, number):
        self.runner, self.number = runner, number

    def __call__(self, *args, **kwargs):
        arrays = []
        meta = {
            "op": "callback",
            "c": self.number,
            "args": encode(list(args), arrays, self.runner.handle_of),
            "kwargs": encode(dict(kwargs), arrays, self.runner.handle_of),
        }
        import builtins

        ask = self.runner.ask or builtins.input  # the kernel's input() of the current request
        answer, data = unpack(ask(CALLBACK + pack(meta, arrays)))
        if "raised" in answer:
            raise RuntimeError(f"the grader's function raised {answer['raised']}")
        return decode(answer["ok"], data, self.runner.object_of, callback_of=self.runner.callback)

    def __repr__(self):
        return f"<the grader's function {self.number}>"


class Runner:
    def __init__(self, namespace, ask=None):
        self.namespace = namespace
        self.ask = ask  # None: the kernel's input(), a request on the stdin channel
        self.objects = {}  # handle -> object
        self.numbers = {}  # id(object) -> handle
        self.names = {}
        self.callbacks = {}

    def callback(self, number):
        return self.callbacks.setdefault(number, Callback(self, number))

    def handle_of(self, obj):
        number = self.numbers.get(id(obj))
        if number is None or self.objects.get(number) is not obj:
            number = len(self.objects) + 1
            self.objects[number] = obj
            self.numbers[id(obj)] = number
        kind = type(obj).__name__
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        self.names[str(number)] = f"{kind} {name}" if isinstance(name, str) else kind
        return {"h": number}

    def object_of(self, number):
        if number not in self.objects:
            raise KeyError(f"no object {number} in this kernel")
        return self.objects[number]

    def reply(self, value, **extra):
        arrays = []
        self.names = {}
        meta = {"ok": encode(value, arrays, self.handle_of), **extra}
        meta["names"] = self.names
        return meta, arrays

    def answer(self, text):
        meta, arrays = unpack(text)
        op = meta.get("op")
        if op == "global":
            name = meta["name"]
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined in your notebook")
            return self.reply(self.namespace[name])
        target = self.object_of(meta["h"])
        if op == "getattr":
            return self.reply(getattr(target, meta["name"]))
        if op == "getitem":
            return self.reply(target[decode(meta["key"], arrays, self.object_of)])
        if op == "istype":
            return self.reply(type(target) is self.object_of(meta["cls"]))
        if op == "len":
            return self.reply(len(target))
        if op == "iterate":
            items = []
            for item in target:
                items.append(item)
                if len(items) > MAX_ITEMS:
                    raise ValueError(f"more than {MAX_ITEMS} items")
            return self.reply(items)
        if op == "call":
            args = decode(meta["args"], arrays, self.object_of, callback_of=self.callback)
            kwargs = decode(meta["kwargs"], arrays, self.object_of, callback_of=self.callback)
            copies = [a.copy() for a in arrays]
            before_args = decode(meta["args"], copies, self.object_of, callback_of=self.callback)
            before_kwargs = decode(
                meta["kwargs"], copies, self.object_of, callback_of=self.callback
            )
            import warnings

            import numpy as np

            held = {  # the arrays the call was given, by where they are in its arguments
                **{(i, *p): a for i, arg in enumerate(args) for p, a in arrays_in(arg)},
                **{(k, *p): a for k, arg in kwargs.items() for p, a in arrays_in(arg)},
            }
            with (
                warnings.catch_warnings(record=True) as caught,
                np.errstate(over="warn", divide="warn", invalid="warn"),
            ):
                warnings.simplefilter("always")
                result = target(*args, **kwargs)
            warned = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
            changed, changed_kw = [], []  # [where, new value, paths of arrays put in place]
            given = [*enumerate(zip(before_args, args, strict=True))]
            given += [(key, (before_kwargs[key], new)) for key, new in kwargs.items()]
            for where, (old, new) in given:
                held_here = {p[1:]: a for p, a in held.items() if p[0] == where}
                replaced = [list(p) for p, a in arrays_in(new) if held_here.get(p) is not a]
                if replaced or not same_data(old, new):
                    (changed if isinstance(where, int) else changed_kw).append(
                        [where, new, replaced]
                    )
            value = (result, changed, changed_kw, warned)
            return self.reply(value)
        raise ValueError(f"unknown request {op!r}")

    def serve_loop(self):
        """Serve the judge's requests until it says stop: each request is what ``input()``
        returns, each reply goes out in the next prompt (the first prompt carries none)."""
        import builtins
        import sys

        reply = ""
        while True:
            for stream in (sys.stdout, sys.stderr):  # what the code printed goes out first
                stream.flush()
            ask = self.ask or builtins.input
            request = ask(LOOP + reply)
            if request == STOP:
                return
            reply = self.respond(request)

    def respond(self, request: str) -> str:
        """The reply to one request, as a message: the answer, or what the code raised."""
        try:
            meta, arrays = self.answer(request)
            return pack(meta, arrays)
        except BaseException as err:  # also an interruption: the loop goes on
            return pack({"raised": [type(err).__name__, str(err)[:4000]]}, [])
