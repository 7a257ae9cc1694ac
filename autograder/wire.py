"""The data-only channel between the judge and a student's kernel.

A message is one ``.npz`` archive (NumPy's own format, read with
``allow_pickle=False``) in base64: an entry ``meta`` holds a JSON tree, and
every array of the tree is an entry of its own. What a tree may hold:

- ``None``, ``bool``, ``int``, ``float``, ``str``;
- ``list``, ``tuple``, ``dict`` with string keys;
- a ``numpy.ndarray`` (its data only: a subclass arrives as a plain array)
  and a NumPy scalar; object arrays cannot be sent;
- a NamedTuple of ``course_pkg`` (sent as its fields, rebuilt from the
  receiver's own ``course_pkg``; any other NamedTuple arrives as a tuple);
- a NumPy dtype or scalar type, and a ``numpy.random.Generator`` (its state);
- a *handle*: a number standing for an object that stays in the kernel (a
  student's function, class or model);
- a *callback*: a number standing for a function of the judge's that the
  student's code may call (the function a numerical gradient checker is
  given, say); each call is again a message, answered with data.

Nothing else crosses, and nothing received is ever unpickled or run. This
file is also sent into the kernel (see :mod:`autograder.runner`), so it needs
only the standard library and NumPy.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import json
import zipfile

import numpy as np

MAX_BYTES = 64 * 2**20  # one message, decoded
MAX_NODES = 200_000
MAX_DEPTH = 40


class WireError(ValueError):
    """A message that is not what the channel carries."""


def pack(meta: dict, arrays: list) -> str:
    """``meta`` (a JSON tree) and its arrays as one base64 text."""
    buffer = io.BytesIO()
    entries = {f"a{i}": a for i, a in enumerate(arrays)}
    text = json.dumps(meta).encode()
    np.savez(buffer, meta=np.frombuffer(text, dtype=np.uint8), **entries)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack(text, max_bytes: int = MAX_BYTES) -> tuple[dict, list]:
    """The (meta, arrays) of a message; :class:`WireError` for anything else."""
    if not isinstance(text, str):
        raise WireError(f"a message must be text, got {type(text).__name__}")
    if len(text) > max_bytes * 4 // 3 + 8:
        raise WireError(f"a message of {len(text)} characters is larger than {max_bytes} bytes")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as err:
        raise WireError(f"a message is not base64: {err}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except zipfile.BadZipFile as err:
        raise WireError(f"a message is not an npz archive: {err}") from None
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        raise WireError("a message may not be compressed")
    if sum(i.file_size for i in infos) > max_bytes:
        raise WireError(f"a message holds more than {max_bytes} bytes")
    names = {i.filename for i in infos}
    if "meta.npy" not in names or any(not n.endswith(".npy") for n in names):
        raise WireError(f"a message holds unexpected entries: {sorted(names)[:5]}")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            count = len(names) - 1
            arrays = [data[f"a{i}"] for i in range(count)]
    except (KeyError, ValueError, OSError, EOFError, UnicodeDecodeError) as err:
        raise WireError(f"a message could not be read: {err}") from None
    if not isinstance(meta, dict):
        raise WireError("a message's meta must be a JSON object")
    return meta, arrays


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple)


def encode(value, arrays: list, handle_of, depth: int = 0):
    """The JSON tree of ``value``; arrays go to ``arrays``; ``handle_of(obj)`` is called for
    anything else and returns the tree that stands for it (a handle or a callback), or raises
    TypeError."""
    if depth > MAX_DEPTH:
        raise TypeError(f"data nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) in (int, float):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("an array of Python objects (dtype=object) cannot be sent")
        arrays.append(np.array(np.asarray(value).view(np.ndarray), copy=True, subok=False))
        return {"a": len(arrays) - 1}
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        arrays.append(np.asarray(value).view(np.ndarray).reshape(()))
        return {"s": len(arrays) - 1}
    if isinstance(value, np.dtype):
        return {"dt": value.str}
    if isinstance(value, type) and issubclass(value, np.generic) and value is not np.object_:
        return {"st": np.dtype(value).str}
    if isinstance(value, np.random.Generator) and type(value.bit_generator).__name__ == "PCG64":
        return {"g": json.loads(json.dumps(value.bit_generator.state))}
    if _is_namedtuple(value):
        cls = type(value)
        name = f"{cls.__module__}:{cls.__qualname__}"
        return {"nt": name, "f": [encode(v, arrays, handle_of, depth + 1) for v in value]}
    if type(value) in (list, tuple):
        key = "l" if type(value) is list else "t"
        return {key: [encode(v, arrays, handle_of, depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"d": [[k, encode(v, arrays, handle_of, depth + 1)] for k, v in value.items()]}
    return handle_of(value)


def named_tuple_class(name: str):
    """The NamedTuple class of ``course_pkg`` called ``module:qualname``, or None."""
    module, _, qualname = name.partition(":")
    if not (module == "course_pkg" or module.startswith("course_pkg.")) or "." in qualname:
        return None
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None
    if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return cls
    return None


def decode(tree, arrays: list, object_of, _count=None, depth: int = 0, callback_of=None):
    """The value of a JSON tree made by :func:`encode`; ``object_of(number)`` gives the object
    a handle stands for, ``callback_of(number)`` a callable for a callback (where accepted)."""
    count = _count if _count is not None else [0]
    count[0] += 1
    if count[0] > MAX_NODES or depth > MAX_DEPTH:
        raise WireError("a message holds too much nested data")
    if tree is None or isinstance(tree, (bool, str, float)):
        return tree
    if isinstance(tree, int):
        return tree
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise WireError(f"unexpected item in a message: {str(tree)[:80]}")
    key = "nt" if "nt" in tree else next(iter(tree))
    body = tree[key]

    def many(items):
        if not isinstance(items, list):
            raise WireError("a sequence in a message is not a list")
        return [decode(v, arrays, object_of, count, depth + 1, callback_of) for v in items]

    try:
        if key in ("a", "s"):
            array = arrays[body]
            return array if key == "a" else array[()]
        if key == "dt":
            return np.dtype(body)
        if key == "st":
            return np.dtype(body).type
        if key == "g":
            generator = np.random.Generator(np.random.PCG64())
            generator.bit_generator.state = body
            return generator
        if key == "nt":
            fields = many(tree["f"])
            cls = named_tuple_class(body) if isinstance(body, str) else None
            if cls is not None and len(cls._fields) == len(fields):
                return cls(*fields)
            return tuple(fields)
        if key == "l":
            return many(body)
        if key == "t":
            return tuple(many(body))
        if key == "d":
            pairs = [
                (k, decode(v, arrays, object_of, count, depth + 1, callback_of)) for k, v in body
            ]
            if not all(isinstance(k, str) for k, _ in pairs):
                raise WireError("a dict in a message has a key that is not a string")
            return dict(pairs)
        if key == "h":
            return object_of(int(body))
        if key == "c" and callback_of is not None:
            return callback_of(int(body))
    except WireError:
        raise
    except (IndexError, TypeError, ValueError, KeyError) as err:
        raise WireError(f"unreadable {key!r} item in a message: {err}") from None
    raise WireError(f"unknown item {key!r} in a message")


def same_data(a, b) -> bool:
    """Whether two decoded trees hold the same data (arrays compared by value, NaN = NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, np.random.Generator) or isinstance(b, np.random.Generator):
        return (
            isinstance(a, np.random.Generator)
            and isinstance(b, np.random.Generator)
            and a.bit_generator.state == b.bit_generator.state
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_data, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return a is b
