r"""One interface over the three recurrent cells, for the models and layers built on them.

The functional API differs from cell to cell (the LSTM carries a cell state,
the GRU has two biases). :class:`Cell` hides that behind four calls that the
models, the bidirectional layer and the stacked layers use:

- ``init_params(D, H, rng)`` makes a parameter dict;
- ``forward(x, params, state0)`` runs a sequence and returns ``(h, cache)``;
- ``final_state(h, cache, lengths)`` reads each sequence's last state;
- ``backward(dh, cache, dstate_final, lengths)`` returns ``(dx, dstate0, grads)``.

A *state* is a tuple of arrays: ``(h,)`` for the RNN and GRU, ``(h, c)`` for
the LSTM. A cell can be built around your own sequence functions (with the
package's signatures), which is how the assignments train models with the
student's code::

    cell = Cell("rnn", forward=my_rnn_forward, backward=my_rnn_backward)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from . import gru, lstm, rnn
from ._validate import check_lengths, check_rng

PARAM_NAMES = {"rnn": ("U", "W", "b"), "lstm": ("Wx", "Wh", "b"), "gru": ("Wx", "Wh", "bx", "bh")}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_DEFAULTS = {
    "rnn": (rnn.rnn_forward, rnn.rnn_backward),
    "lstm": (lstm.lstm_forward, lstm.lstm_backward),
    "gru": (gru.gru_forward, gru.gru_backward),
}


class Cell:
    """A recurrent cell kind ("rnn", "lstm" or "gru") and the functions that run it.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    forward, backward : callable, optional
        Sequence functions with the signatures of ``rnn_forward`` /
        ``rnn_backward`` (or the LSTM / GRU ones). Default: the package's.
    reset_after : bool
        GRU only: which candidate-state variant to use (see :mod:`course_pkg.gru`).
    """

    def __init__(
        self,
        kind: str,
        forward: Callable | None = None,
        backward: Callable | None = None,
        *,
        reset_after: bool = False,
    ):
        if kind not in PARAM_NAMES:
            raise ValueError(f"cell kind must be one of {sorted(PARAM_NAMES)}, got {kind!r}")
        if not isinstance(reset_after, bool):
            raise TypeError(f"reset_after must be a bool, got {type(reset_after).__name__}")
        if reset_after and kind != "gru":
            raise ValueError(f"reset_after applies to the GRU only, got kind={kind!r}")
        default_forward, default_backward = _DEFAULTS[kind]
        for name, fn in (("forward", forward), ("backward", backward)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self.kind = kind
        self.reset_after = reset_after
        self.forward_fn = forward or default_forward
        self.backward_fn = backward or default_backward
        self.param_names = PARAM_NAMES[kind]
        self.n_state = 2 if kind == "lstm" else 1
        # Only the package's LSTM takes c0 and returns dc0; a student's may not.
        self._own_lstm = kind == "lstm" and backward is None
        self._forward_takes_c0 = (
            kind == "lstm" and "c0" in inspect.signature(self.forward_fn).parameters
        )

    def __repr__(self) -> str:
        custom = self.forward_fn is not _DEFAULTS[self.kind][0]
        extra = ", reset_after=True" if self.reset_after else ""
        return f"Cell({self.kind!r}{extra}{', custom functions' if custom else ''})"

    def param_shapes(self, D: int, H: int) -> dict:
        """Shapes of the parameters for input size ``D`` and hidden size ``H``."""
        g = GATES[self.kind]
        if self.kind == "rnn":
            return {"U": (D, H), "W": (H, H), "b": (H,)}
        shapes = {"Wx": (D, g * H), "Wh": (H, g * H), "b": (g * H,)}
        if self.kind == "gru":
            del shapes["b"]
            shapes.update(bx=(g * H,), bh=(g * H,))
        return shapes

    def init_params(self, D: int, H: int, rng: np.random.Generator, dtype=np.float64) -> dict:
        r"""Random parameters: uniform on :math:`[-1/\sqrt{H}, 1/\sqrt{H}]` like PyTorch.

        The LSTM's forget-gate bias starts at 1, so the cell remembers by
        default at the start of training (Jozefowicz et al., 2015).
        """
        check_rng(rng)
        for name, v in (("D", D), ("H", H)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        k = 1.0 / np.sqrt(H)
        params = {
            name: rng.uniform(-k, k, size=shape).astype(dtype)
            for name, shape in self.param_shapes(D, H).items()
        }
        if self.kind == "lstm":
            params["b"][H : 2 * H] = 1.0  # gates are stacked i, f, g, o
        return params

    def zero_state(self, N: int, H: int, dtype=np.float64) -> tuple:
        return tuple(np.zeros((N, H), dtype=dtype) for _ in range(self.n_state))

    def forward(self, x, params: dict, state0: tuple):
        """Run the cell over ``x`` (N, T, D) from ``state0``; return ``(h (N, T, H), cache)``."""
        args = [params[name] for name in self.param_names]
        if self.kind == "gru":
            return self.forward_fn(x, state0[0], *args, reset_after=self.reset_after)
        if self.kind == "lstm":
            h0, c0 = state0
            if self._forward_takes_c0:
                return self.forward_fn(x, h0, *args, c0=c0)
            if np.any(c0):
                raise TypeError("this LSTM forward function takes no c0, so it cannot carry state")
        return self.forward_fn(x, state0[0], *args)

    def final_state(self, h, cache, lengths=None) -> tuple:
        """Each sequence's state after its last real step (``lengths``; default: step T)."""
        last = _last_index(h.shape[0], h.shape[1], lengths)
        rows = np.arange(h.shape[0])
        if self.kind != "lstm":
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
        dc = None
        if dstate_final is not None:
            last = _last_index(N, T, lengths)
            rows = np.arange(N)
            dh = dh.copy()  # never add into the caller's array
            dh[rows, last] += dstate_final[0]
            if self.kind == "lstm" and dstate_final[1] is not None:
                dc = np.zeros_like(dh)
                dc[rows, last] = dstate_final[1]
        if self._own_lstm:
            dx, dh0, dc0, *dparams = lstm.lstm_backward_full(dh, cache, dc=dc)
            dstate0 = (dh0, dc0)
        else:
            if dc is not None and np.any(dc):
                raise TypeError("this LSTM backward function cannot take a cell-state gradient")
            dx, dh0, *dparams = self.backward_fn(dh, cache)
            dstate0 = (dh0,) if self.n_state == 1 else (dh0, np.zeros_like(dh0))
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
