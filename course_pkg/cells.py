r"""One interface over the three recurrent cells, for the models and layers built on them.

The cells' functions differ (the LSTM carries a cell state, the GRU has two
biases and a variant). :class:`Cell` hides that behind a few calls that the
models, the bidirectional layer and the stacked layers use:

- ``init_params(D, H, rng)`` makes a parameter dict (each cell's module
  says how: :func:`course_pkg.lstm.init_params` opens the forget gate);
- ``forward(x, params, state0)`` runs a sequence and returns ``(h, cache)``;
- ``final_state(h, cache, lengths)`` reads each sequence's last state;
- ``backward(dh, cache, dstate_final, lengths)`` returns ``(dx, dstate0, grads)``.

A *state* is a tuple of arrays (N, H), named by ``cell.state_names``:
``("h",)`` for the RNN and GRU, ``("h", "c")`` for the LSTM. By default a
cell runs the package's fast kernels (:mod:`course_pkg._fused`). It can be
built around your own sequence functions, with the signatures of the
package's, which is how the assignments train models with the student's
code::

    cell = Cell("rnn", forward=my_rnn_forward, backward=my_rnn_backward)

A cell declares what its functions can do. An LSTM whose functions carry the
cell state (``cell_state=True``, the default) is called as
``forward(x, h0, Wx, Wh, b, c0=c0)``, its cache has the cell states as
``cache.c``, and its backward is ``backward(dh, dc, cache)`` returning
``(dx, dh0, dc0, dWx, dWh, db)`` (:func:`course_pkg.lstm.lstm_backward_with_cell_state`).
With ``cell_state=False`` its state is ``(h,)`` alone: every call starts from
``c = 0``, and the functions are the plain pair ``forward(x, h0, Wx, Wh, b)``
and ``backward(dh, cache)`` that the LSTM assignment builds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import numpy as np

from . import gru, lstm, rnn
from ._fused import gru as fused_gru
from ._fused import lstm as fused_lstm
from ._fused import rnn as fused_rnn
from ._validate import as_float_array, check_lengths, check_shape, common_dtype

MODULES = {"rnn": rnn, "lstm": lstm, "gru": gru}
RECURRENT_WEIGHT = {"rnn": "W", "lstm": "Wh", "gru": "Wh"}  # the (H, gates * H) matrix


def _default_functions(kind: str, cell_state: bool) -> tuple[Callable, Callable]:
    if kind == "rnn":
        return fused_rnn.rnn_forward, fused_rnn.rnn_backward
    if kind == "gru":
        return fused_gru.gru_forward, fused_gru.gru_backward
    backward = fused_lstm.lstm_backward_with_cell_state if cell_state else fused_lstm.lstm_backward
    return fused_lstm.lstm_forward, backward


class Cell:
    """A recurrent cell kind ("rnn", "lstm" or "gru") and the functions that run it.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    forward, backward : callable, optional
        Sequence functions with the signatures of ``rnn_forward`` /
        ``rnn_backward`` (or the LSTM / GRU ones). Default: the package's
        fused kernels.
    reset_after : bool
        GRU only: which candidate-state variant to use (see :mod:`course_pkg.gru`).
    cell_state : bool
        LSTM only: whether the functions carry the cell state between calls
        (see the module's documentation). Default True.

    Attributes
    ----------
    param_names : tuple of str
        The parameters' keys, in the order the sequence functions take them.
    recurrent_weight : str
        The key of the recurrent matrix (H, gates * H): "W" or "Wh".
    state_names : tuple of str
        ("h",) or ("h", "c").

    Raises
    ------
    TypeError
        A function that is not callable; an LSTM forward function without a
        ``c0`` parameter while ``cell_state`` is True.
    ValueError
        An unknown kind, or an option given to a kind it does not apply to.
    """

    def __init__(
        self,
        kind: str,
        forward: Callable | None = None,
        backward: Callable | None = None,
        *,
        reset_after: bool = False,
        cell_state: bool = True,
    ):
        if kind not in MODULES:
            raise ValueError(f"cell kind must be one of {sorted(MODULES)}, got {kind!r}")
        for name, flag in (("reset_after", reset_after), ("cell_state", cell_state)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        if reset_after and kind != "gru":
            raise ValueError(f"reset_after applies to the GRU only, got kind={kind!r}")
        cell_state = cell_state and kind == "lstm"
        default_forward, default_backward = _default_functions(kind, cell_state)
        for name, fn in (("forward", forward), ("backward", backward)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self.kind = kind
        self.reset_after = reset_after
        self.forward_fn = forward or default_forward
        self.backward_fn = backward or default_backward
        self.custom = forward is not None or backward is not None
        self.param_names = tuple(MODULES[kind].param_shapes(1, 1))
        self.recurrent_weight = RECURRENT_WEIGHT[kind]
        self.state_names = ("h", "c") if cell_state else ("h",)
        if cell_state and "c0" not in inspect.signature(self.forward_fn).parameters:
            raise TypeError(
                "this LSTM forward function takes no c0, so it cannot carry the cell state: "
                "pass cell_state=False to run it with every call starting from c = 0"
            )

    def __repr__(self) -> str:
        extra = ", reset_after=True" if self.reset_after else ""
        if self.kind == "lstm" and len(self.state_names) == 1:
            extra += ", cell_state=False"
        return f"Cell({self.kind!r}{extra}{', custom functions' if self.custom else ''})"

    @property
    def n_state(self) -> int:
        """How many arrays a state holds: 1, or 2 for an LSTM with its cell state."""
        return len(self.state_names)

    def param_shapes(self, D: int, H: int) -> dict:
        """Shapes of the parameters for input size ``D`` and hidden size ``H``."""
        return MODULES[self.kind].param_shapes(D, H)

    def init_params(self, D: int, H: int, rng: np.random.Generator, dtype=np.float64) -> dict:
        """Random parameters, as the cell's module makes them (its ``init_params``)."""
        return MODULES[self.kind].init_params(D, H, rng, dtype)

    def hidden_size(self, params: dict) -> int:
        """H, read from the recurrent matrix ``params[cell.recurrent_weight]`` (H, gates * H)."""
        return int(np.shape(params[self.recurrent_weight])[0])

    def select(self, params, prefix: str = "") -> dict:
        """The cell's parameters stored under ``prefix`` in a model's dict.

        ``{name: params[prefix + name]}`` for each of ``param_names`` (the
        arrays themselves, not copies), e.g. prefix ``"rnn0."`` for the first
        layer of a model. Raises ``ValueError`` naming the missing keys.
        """
        missing = [prefix + key for key in self.param_names if prefix + key not in params]
        if missing:
            raise ValueError(f"params has no {missing}; its keys are {sorted(params)}")
        return {key: params[prefix + key] for key in self.param_names}

    def check_params(self, params, name: str = "params") -> dict:
        """Validate a parameter dict: the cell's keys, float arrays whose shapes fit together.

        Returns the arrays as a new dict in ``param_names`` order (other keys
        are left out). Raises ``TypeError`` for a non-dict, non-float arrays or
        mixed dtypes, ``ValueError`` for missing keys or shapes that disagree.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"{name} must be a dict of arrays, got {type(params).__name__}")
        missing = [key for key in self.param_names if key not in params]
        if missing:
            raise ValueError(
                f"{name} must hold the {self.kind} parameters {list(self.param_names)}, "
                f"missing {missing}"
            )
        arrays = {key: as_float_array(key, params[key]) for key in self.param_names}
        D, H = np.shape(arrays[self.param_names[0]])[0], self.hidden_size(arrays)
        for key, shape in self.param_shapes(D, H).items():
            check_shape(key, arrays[key], shape)
        common_dtype(**arrays)
        return arrays

    def zero_state(self, N: int, H: int, dtype=np.float64) -> tuple:
        """The all-zero state: one (N, H) array per name of ``state_names``."""
        return tuple(np.zeros((N, H), dtype=dtype) for _ in self.state_names)

    def forward(self, x, params: dict, state0: tuple):
        """Run the cell over ``x`` (N, T, D) from ``state0``; return ``(h (N, T, H), cache)``."""
        if not isinstance(state0, tuple) or len(state0) != self.n_state:
            got = len(state0) if isinstance(state0, tuple) else type(state0).__name__
            raise ValueError(
                f"state0 must be a tuple of {self.n_state} array(s) {self.state_names}, got {got}"
            )
        options = {"c0": state0[1]} if self.n_state == 2 else {}  # an LSTM's cell state
        if self.kind == "gru":
            options["reset_after"] = self.reset_after
        weights = [params[name] for name in self.param_names]
        return self.forward_fn(x, state0[0], *weights, **options)

    def final_state(self, h, cache, lengths=None) -> tuple:
        """Each sequence's state after its last real step (``lengths``; default: step T)."""
        rows, last = np.arange(h.shape[0]), _last_index(h.shape[0], h.shape[1], lengths)
        if self.n_state == 1:
            return (h[rows, last],)
        if not hasattr(cache, "c"):
            raise TypeError("this LSTM's cache has no field c, so its cell state cannot be read")
        return h[rows, last], cache.c[rows, last]

    def backward(self, dh, cache, dstate_final: tuple | None = None, lengths=None):
        """Backward through :meth:`forward`.

        Parameters
        ----------
        dh : ndarray (N, T, H)
            Gradient on every hidden state.
        cache
            From :meth:`forward`.
        dstate_final : tuple of ndarray (N, H), optional
            Gradient on :meth:`final_state` (e.g. from a decoder that
            started from it), added at each sequence's last real step.
        lengths : ndarray (N,), optional

        Returns
        -------
        dx : ndarray (N, T, D)
        dstate0 : tuple of ndarray (N, H)
        grads : dict of parameter gradients
        """
        N, T, _ = dh.shape
        # gradients on the states from outside the layer: dh from above, and at each
        # sequence's last real step whatever reached its final state
        douter = [dh] + [None] * (self.n_state - 1)
        if dstate_final is not None:
            rows, last = np.arange(N), _last_index(N, T, lengths)
            for k, dfinal in enumerate(dstate_final):
                if dfinal is not None:
                    douter[k] = np.zeros_like(dh) if douter[k] is None else douter[k].copy()
                    douter[k][rows, last] += dfinal  # a copy: never add into the caller's array
        if self.n_state == 2:
            dx, dh0, dc0, *dparams = self.backward_fn(douter[0], douter[1], cache)
            dstate0 = (dh0, dc0)
        else:
            dx, dh0, *dparams = self.backward_fn(douter[0], cache)
            dstate0 = (dh0,)
        return dx, dstate0, dict(zip(self.param_names, dparams, strict=True))

    def step(self, x, params: dict, state: tuple) -> tuple:
        """One step for generation: ``x`` (N, D) -> the new state tuple."""
        h, cache = self.forward(x[:, None, :], params, state)
        return self.final_state(h, cache)


def as_cell(cell) -> Cell:
    """Accept a :class:`Cell` or one of the names "rnn", "lstm", "gru"."""
    if isinstance(cell, Cell):
        return cell
    if isinstance(cell, str):
        return Cell(cell)
    raise TypeError(f"cell must be 'rnn', 'lstm', 'gru' or a Cell, got {type(cell).__name__}")


def _last_index(N: int, T: int, lengths) -> np.ndarray:
    if lengths is None:
        return np.full(N, T - 1)
    return check_lengths(lengths, N, T) - 1
