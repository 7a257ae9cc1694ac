r"""Stacked (deep) recurrent layers: the states of layer l are the inputs of layer l + 1.

Taught in "Practical matters" (``book/13_practical``). Every model in
:mod:`course_pkg.models` runs its recurrence through a :class:`RecurrentStack`,
which holds only the configuration; parameters live in the model's flat
dict under the keys ``"{prefix}{layer}.{name}"``, the prefix being the
cell's kind unless given (``"rnn0.W"``, ``"lstm1.Wx"``), or
``"{prefix}{layer}.fwd.{name}"`` / ``".bwd."`` for bidirectional layers.
:meth:`RecurrentStack.layer_params` reads one layer's back.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_cache, check_int, check_lengths
from .bidirectional import MERGES, bidirectional_backward, bidirectional_forward
from .cells import as_cell


class StackCache(NamedTuple):
    """Per-layer outputs and caches of :meth:`RecurrentStack.forward`."""

    outputs: tuple  # layer l's states, (N, T, H) or (N, T, 2H)
    caches: tuple  # layer l's cell (or bidirectional) cache
    lengths: np.ndarray | None  # (N,) real lengths, or None for all T


class RecurrentStack:
    """``num_layers`` recurrent layers of one cell kind, optionally bidirectional.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"} or Cell
    input_size : int
        D, the feature size of the inputs of the first layer.
    hidden_size : int
        H, the state size of every layer (each direction).
    num_layers : int
    bidirectional : bool
    merge : {"concat", "sum"}
        How a bidirectional layer combines its two directions.
    prefix : str, optional
        Start of the parameter names; default the cell's kind ("rnn",
        "lstm", "gru"). Two stacks that share one parameter dict (an encoder
        and a decoder) need two prefixes.
    bidirectional_functions : (forward, backward), optional
        Functions with the signatures of
        :func:`course_pkg.bidirectional.bidirectional_forward` and
        ``bidirectional_backward`` to use instead of the package's (the
        assignments train a tagger on the student's own).

    Attributes
    ----------
    bidirectional_functions : (forward, backward)
        The pair a bidirectional layer runs: the package's functions, or
        the ones given.
    """

    def __init__(
        self,
        cell,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        merge: str = "concat",
        prefix: str | None = None,
        bidirectional_functions: tuple | None = None,
    ):
        self.cell = as_cell(cell)
        input_size = check_int("input_size", input_size, 1)
        hidden_size = check_int("hidden_size", hidden_size, 1)
        num_layers = check_int("num_layers", num_layers, 1)
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bidirectional = bool(bidirectional)
        self.merge = merge
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        self.prefix = self.cell.kind if prefix is None else prefix
        if bidirectional_functions is None:
            bidirectional_functions = (bidirectional_forward, bidirectional_backward)
        elif not self.bidirectional:
            raise ValueError("bidirectional_functions needs bidirectional=True")
        if len(bidirectional_functions) != 2 or not all(map(callable, bidirectional_functions)):
            raise TypeError(
                "bidirectional_functions must be a pair (forward, backward) of callables"
            )
        self.bidirectional_functions = tuple(bidirectional_functions)

    @property
    def output_size(self) -> int:
        """Feature size of the top layer's output."""
        if self.bidirectional and self.merge == "concat":
            return 2 * self.hidden_size
        return self.hidden_size

    def _layer_keys(self, layer: int) -> list[str]:
        base = f"{self.prefix}{layer}."
        if self.bidirectional:
            return [base + "fwd.", base + "bwd."]
        return [base]

    def layer_params(self, params: dict, layer: int = 0, direction: str | None = None) -> dict:
        """One layer's parameters out of a model's flat dict, keyed by the cell's names.

        ``direction`` is "fwd" or "bwd" for a bidirectional stack, None
        otherwise. Returns ``{"Wx": params["lstm0.Wx"], ...}`` (the arrays
        themselves, not copies); ``ValueError`` names a missing key.
        """
        layer = check_int("layer", layer, 0, self.num_layers - 1)
        if (direction is None) == self.bidirectional or direction not in (None, "fwd", "bwd"):
            expected = '"fwd" or "bwd"' if self.bidirectional else "None"
            raise ValueError(f"direction must be {expected} for this stack, got {direction!r}")
        keys = self._layer_keys(layer)
        key = keys[0] if direction in (None, "fwd") else keys[1]
        return self.cell.select(params, key)

    def init_params(self, rng: np.random.Generator, dtype=np.float64) -> dict:
        """Fresh parameters for every layer, keyed as described in the module docstring."""
        params = {}
        for layer in range(self.num_layers):
            D = self.input_size if layer == 0 else self.output_size
            for key in self._layer_keys(layer):
                for name, value in self.cell.init_params(D, self.hidden_size, rng, dtype).items():
                    params[key + name] = value
        return params

    def forward(self, x, params: dict, states0: list | None = None, lengths=None):
        """Run all layers.

        Parameters
        ----------
        x : ndarray (N, T, D)
        params : dict
        states0 : list of state tuples, one per layer, optional
            Initial states (unidirectional stacks only); default zeros. Pass
            :meth:`final_states` of the previous chunk to carry state
            (truncated BPTT) or an encoder's final states to a decoder.
        lengths : ndarray (N,), optional

        Returns
        -------
        h : ndarray (N, T, output_size)
            States of the top layer.
        cache : StackCache
        """
        # the shape is checked here; the values by the cell's functions, once
        x = as_float_array("x", x, ndim=3, finite=False)
        N, T, _ = x.shape
        if lengths is not None:
            lengths = check_lengths(lengths, N, T)
        if states0 is not None:
            if self.bidirectional:
                raise ValueError("a bidirectional stack always starts from zero states")
            if len(states0) != self.num_layers:
                raise ValueError(f"states0 must hold {self.num_layers} states, got {len(states0)}")
        outputs, caches = [], []
        h = x
        for layer in range(self.num_layers):
            keys = self._layer_keys(layer)
            if self.bidirectional:
                h, cache = self.bidirectional_functions[0](
                    h,
                    self.cell.select(params, keys[0]),
                    self.cell.select(params, keys[1]),
                    self.cell,
                    lengths,
                    self.merge,
                )
            else:
                state0 = (
                    self.cell.zero_state(N, self.hidden_size, x.dtype)
                    if states0 is None
                    else states0[layer]
                )
                h, cache = self.cell.forward(h, self.cell.select(params, keys[0]), state0)
            outputs.append(h)
            caches.append(cache)
        return h, StackCache(tuple(outputs), tuple(caches), lengths)

    def final_states(self, cache: StackCache) -> list:
        """Each layer's state after each sequence's last real step (unidirectional only)."""
        check_cache("cache", cache, StackCache)
        if self.bidirectional:
            raise ValueError("final_states is defined for unidirectional stacks only")
        return [
            self.cell.final_state(h, c, cache.lengths)
            for h, c in zip(cache.outputs, cache.caches, strict=True)
        ]

    def backward(self, dh, cache: StackCache, dstates_final: list | None = None):
        """Backward through every layer.

        Parameters
        ----------
        dh : ndarray (N, T, output_size)
            Gradient on the top layer's states.
        cache : StackCache
        dstates_final : list of state-gradient tuples, one per layer, optional
            Gradient on :meth:`final_states`.

        Returns
        -------
        dx : ndarray (N, T, D)
        dstates0 : list of state-gradient tuples (None for bidirectional stacks)
        grads : dict keyed like the parameters
        """
        check_cache("cache", cache, StackCache)
        grads, dstates0 = {}, [None] * self.num_layers
        for layer in range(self.num_layers - 1, -1, -1):
            keys = self._layer_keys(layer)
            if self.bidirectional:
                dh, g_f, g_b = self.bidirectional_functions[1](dh, cache.caches[layer])
                grads.update({keys[0] + n: g for n, g in g_f.items()})
                grads.update({keys[1] + n: g for n, g in g_b.items()})
            else:
                dfinal = None if dstates_final is None else dstates_final[layer]
                dh, dstates0[layer], g = self.cell.backward(
                    dh, cache.caches[layer], dfinal, cache.lengths
                )
                grads.update({keys[0] + n: v for n, v in g.items()})
        return dh, (None if self.bidirectional else dstates0), grads
