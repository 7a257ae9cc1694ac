r"""The long short-term memory (LSTM) layer, forward and backward through time.

Taught in "LSTM" (``book/08_lstm``); built in assignment ``a4_lstm_gru``
(Parts 1 and 2). The cell follows Hochreiter and
Schmidhuber (1997) with the forget gate of Gers et al. (2000), in the form
PyTorch's ``torch.nn.LSTM`` computes, so weights can be copied between them.

Shapes: N batch, T time, D input features, H hidden units. Row vectors are
multiplied on the left. The four gates are stacked along the last axis in
PyTorch's order input, forget, candidate ("g"), output:
``Wx`` (D, 4H), ``Wh`` (H, 4H), ``b`` (4H,), and one step is

.. math::

    a &= x_t W_x + h_{t-1} W_h + b = [a_i, a_f, a_g, a_o] \\
    i_t &= \sigma(a_i), \quad f_t = \sigma(a_f), \quad
    g_t = \tanh(a_g), \quad o_t = \sigma(a_o) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)

``Wx[:, :H]`` is the book's :math:`W_{xi}`, ``Wh[:, H:2H]`` its :math:`W_{hf}`,
and so on. PyTorch keeps two biases, ``bias_ih`` and ``bias_hh``; they are
only ever added, so one bias ``b = bias_ih + bias_hh`` is the same model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._cell_common import over_time, uniform_init
from ._validate import as_float_array, check_cache, check_grad, check_shape, common_dtype
from .activations import sigmoid


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from one forward step."""

    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) hidden state before the step
    c_prev: np.ndarray  # (N, H) cell state before the step
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    i: np.ndarray  # (N, H) input gate
    f: np.ndarray  # (N, H) forget gate
    g: np.ndarray  # (N, H) candidate cell value
    o: np.ndarray  # (N, H) output gate
    c: np.ndarray  # (N, H) cell state after the step
    tanh_c: np.ndarray  # (N, H) tanh(c), kept because h = o * tanh(c) needs it in backward


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from a forward pass over a sequence: every step's
    :class:`LSTMStepCache` fields, stacked along the time axis."""

    x: np.ndarray  # (N, T, D) inputs
    h0: np.ndarray  # (N, H) initial hidden state
    c0: np.ndarray  # (N, H) initial cell state (zeros when none was given)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    i: np.ndarray  # (N, T, H) input gate of every step
    f: np.ndarray  # (N, T, H) forget gate
    g: np.ndarray  # (N, T, H) candidate cell value
    o: np.ndarray  # (N, T, H) output gate
    h: np.ndarray  # (N, T, H) every hidden state h_1..h_T
    c: np.ndarray  # (N, T, H) every cell state c_1..c_T; c[:, -1] is the final one
    tanh_c: np.ndarray  # (N, T, H) tanh of every cell state

    def step(self, t: int) -> LSTMStepCache:
        """What :func:`lstm_step_forward` returned as the cache of step ``t`` (0-based)."""
        h_prev, c_prev = (self.h[:, t - 1], self.c[:, t - 1]) if t > 0 else (self.h0, self.c0)
        at_t = (a[:, t] for a in (self.i, self.f, self.g, self.o, self.c, self.tanh_c))
        return LSTMStepCache(self.x[:, t], h_prev, c_prev, self.Wx, self.Wh, *at_t)


def param_shapes(D: int, H: int) -> dict:
    """Shapes of the layer's parameters for input size ``D`` and hidden size ``H``."""
    return {"Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)}


def init_params(D: int, H: int, rng, dtype=np.float64) -> dict:
    r"""Random ``Wx``, ``Wh``, ``b``: uniform on :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, as PyTorch's
    ``nn.LSTM``, except the forget gate's bias, which starts at 1.

    With :math:`f = \sigma(1 + \dots) \approx 0.73` the cell keeps most of its
    state from the first step of training on, so gradients reach far back
    before the network has learnt when to forget (Gers et al. 2000;
    Jozefowicz et al. 2015).
    """
    params = uniform_init(param_shapes, D, H, rng, dtype)
    params["b"][H : 2 * H] = 1.0  # the gates are stacked i, f, g, o
    return params


def _check_params(x, h_prev, c_prev, Wx, Wh, b, *, x_ndim: int):
    """Validate the arguments of a forward function; return them as arrays.

    ``c_prev`` may be None (sequence forward without ``c0``); it is then
    returned as None and left out of the dtype check.
    """
    h_name, c_name = ("h0", "c0") if x_ndim == 3 else ("h_prev", "c_prev")
    x = as_float_array("x", x, ndim=x_ndim)
    h_prev = as_float_array(h_name, h_prev, ndim=2)
    if c_prev is not None:
        c_prev = as_float_array(c_name, c_prev, ndim=2)
    Wx = as_float_array("Wx", Wx, ndim=2)
    Wh = as_float_array("Wh", Wh, ndim=2)
    b = as_float_array("b", b, ndim=1)
    N, D = x.shape[0], x.shape[-1]
    H = h_prev.shape[1]  # the state fixes H; every weight must agree with it
    check_shape(h_name, h_prev, (N, H))
    if c_prev is not None:
        check_shape(c_name, c_prev, (N, H))
    check_shape("Wx", Wx, (D, 4 * H))
    check_shape("Wh", Wh, (H, 4 * H))
    check_shape("b", b, (4 * H,))
    arrays = {"x": x, h_name: h_prev, "Wx": Wx, "Wh": Wh, "b": b}
    if c_prev is not None:
        arrays[c_name] = c_prev
    common_dtype(**arrays)
    return x, h_prev, c_prev, Wx, Wh, b


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    r"""One time step of the LSTM.

    Parameters
    ----------
    x : ndarray (N, D)
        Inputs at this step.
    h_prev : ndarray (N, H)
        Hidden state of the previous step.
    c_prev : ndarray (N, H)
        Cell state of the previous step.
    Wx : ndarray (D, 4H)
        Input-to-gate weights, gates stacked i, f, g, o.
    Wh : ndarray (H, 4H)
        Hidden-to-gate (recurrent) weights, same order.
    b : ndarray (4H,)
        Gate biases, same order.

    Returns
    -------
    h : ndarray (N, H)
        New hidden state, same dtype as the inputs.
    c : ndarray (N, H)
        New cell state.
    cache : LSTMStepCache

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    .. math::

        [a_i, a_f, a_g, a_o] &= x W_x + h_{prev} W_h + b \\
        i = \sigma(a_i), \; f &= \sigma(a_f), \; g = \tanh(a_g), \; o = \sigma(a_o) \\
        c &= f \odot c_{prev} + i \odot g, \qquad h = o \odot \tanh(c)

    Examples
    --------
    With all weights zero every sigmoid gate is 1/2 and g = 0, so the cell
    state is halved:

    >>> h, c, _ = lstm_step_forward(np.ones((1, 2)), np.zeros((1, 1)), np.ones((1, 1)),
    ...                             np.zeros((2, 4)), np.zeros((1, 4)), np.zeros(4))
    >>> c
    array([[0.5]])
    """
    x, h_prev, c_prev, Wx, Wh, b = _check_params(x, h_prev, c_prev, Wx, Wh, b, x_ndim=2)
    a = x @ Wx + h_prev @ Wh + b  # (N, 4H): the four gates' pre-activations side by side
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)  # (N, H) each
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)
    g = np.tanh(a_g)  # a candidate value in (-1, 1), not a gate
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(x, h_prev, c_prev, Wx, Wh, i, f, g, o, c, tanh_c)


def lstm_step_backward(dh, dc, cache):
    r"""Backward pass of :func:`lstm_step_forward`.

    Parameters
    ----------
    dh : ndarray (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    dc : ndarray (N, H)
        Gradient of the loss with respect to the step's cell state ``c``
        (what the next step sent back; zeros for a loss on ``h`` alone).
    cache : LSTMStepCache

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev : ndarray (N, H)
    dc_prev : ndarray (N, H)
    dWx : ndarray (D, 4H)
    dWh : ndarray (H, 4H)
    db : ndarray (4H,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or gradients in another dtype.
    ValueError
        Gradients whose shape is not the output's, or NaN/inf values.

    Notes
    -----
    ``c`` reaches the loss directly (``dc``) and through :math:`h = o \odot \tanh c`,
    so its total gradient is

    .. math:: \bar c = dc + dh \odot o \odot (1 - \tanh^2 c).

    The cell path back in time is additive: :math:`c = f \odot c_{prev} + \dots`
    gives :math:`dc_{prev} = \bar c \odot f` with no weight matrix and no
    squashing derivative in between. While the forget gate stays near 1 the
    error flows back unchanged over many steps (the "constant error carousel").

    The gate gradients are :math:`\bar c \odot g`, :math:`\bar c \odot c_{prev}`,
    :math:`\bar c \odot i` and :math:`dh \odot \tanh c` for i, f, g, o; times
    :math:`\sigma' = \sigma(1 - \sigma)` or :math:`\tanh' = 1 - \tanh^2` they
    give the gradient ``da`` at the pre-activation, from which the weight
    gradients follow as in the vanilla RNN.
    """
    check_cache("cache", cache, LSTMStepCache)
    dh = check_grad("dh", dh, cache.c.shape, cache.c.dtype)
    dc = check_grad("dc", dc, cache.c.shape, cache.c.dtype)
    i, f, g, o, tanh_c = cache.i, cache.f, cache.g, cache.o, cache.tanh_c
    dc_total = dc + dh * o * (1.0 - tanh_c * tanh_c)
    da = np.concatenate(
        [
            dc_total * g * i * (1.0 - i),
            dc_total * cache.c_prev * f * (1.0 - f),
            dc_total * i * (1.0 - g * g),
            dh * tanh_c * o * (1.0 - o),
        ],
        axis=1,
    )  # (N, 4H)
    dx = da @ cache.Wx.T
    dh_prev = da @ cache.Wh.T
    dc_prev = dc_total * f  # the additive cell path: only the forget gate scales it
    dWx = cache.x.T @ da
    dWh = cache.h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    r"""Run the LSTM over a whole sequence.

    Parameters
    ----------
    x : ndarray (N, T, D)
        Input sequence.
    h0 : ndarray (N, H)
        Initial hidden state.
    Wx : ndarray (D, 4H)
        Input-to-gate weights, gates stacked i, f, g, o.
    Wh : ndarray (H, 4H)
        Hidden-to-gate (recurrent) weights, same order.
    b : ndarray (4H,)
        Gate biases, same order.
    c0 : ndarray (N, H), optional
        Initial cell state; None means zeros. For truncated BPTT pass the
        previous chunk's last states, ``h0=h[:, -1]`` and
        ``c0=cache.c[:, -1]``: the cell state is half of the LSTM's memory
        and restarting it from zeros would forget it at every chunk.

    Returns
    -------
    h : ndarray (N, T, H)
        Hidden state at every step; ``h[:, -1]`` is the final one.
    cache : LSTMCache
        ``cache.c`` (N, T, H) holds every cell state, so ``cache.c[:, -1]``
        is the final cell state.

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    :func:`lstm_step_forward` applied T times, each step starting from the
    previous step's two states. For :math:`t = 1, \dots, T`:

    .. math::

        [a_i, a_f, a_g, a_o] &= x_t W_x + h_{t-1} W_h + b \\
        c_t &= \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g) \\
        h_t &= \sigma(a_o) \odot \tanh(c_t)

    (The models run a fused version, ``course_pkg._fused.lstm``, that
    computes the same values faster.)
    """
    x, h0, c0, Wx, Wh, b = _check_params(x, h0, c0, Wx, Wh, b, x_ndim=3)
    if c0 is None:
        c0 = np.zeros_like(h0)
    T = x.shape[1]
    hs, steps = [], []
    h_t, c_t = h0, c0
    for t in range(T):
        h_t, c_t, step = lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        hs.append(h_t)
        steps.append(step)
    # every step's states and gates, stacked along the time axis
    h = over_time(hs, h0)
    i, f, g, o, c, tanh_c = (
        over_time([getattr(step, name) for step in steps], h0)
        for name in ("i", "f", "g", "o", "c", "tanh_c")
    )
    return h, LSTMCache(x, h0, c0, Wx, Wh, i, f, g, o, h, c, tanh_c)


def lstm_backward_with_cell_state(dh, dc, cache):
    r"""Backpropagation through time for :func:`lstm_forward`, with gradients on both states.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``
        coming from above (the output layer) only. The gradient that flows
        back through time is added to it here.
    dc : ndarray (N, T, H) or None
        Gradient of the loss with respect to every cell state ``c_t`` from
        outside the layer, for a loss that reads cell states: a decoder that
        starts from the final one (``dc[:, -1]``), or the next chunk of
        truncated BPTT. None means zeros.
    cache : LSTMCache

    Returns
    -------
    dx : ndarray (N, T, D)
    dh0 : ndarray (N, H)
    dc0 : ndarray (N, H)
        Gradient with respect to the initial cell state (to pass further
        back in truncated BPTT, or to an encoder that produced ``c0``).
    dWx : ndarray (D, 4H)
    dWh : ndarray (H, 4H)
    db : ndarray (4H,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or gradients in another dtype.
    ValueError
        Gradients of the wrong shape, or NaN/inf values.

    Notes
    -----
    Going back from :math:`t = T`, each step receives two gradients from
    step :math:`t+1`, one on :math:`h_t` and one on :math:`c_t`, adds them
    to the ones from outside, and :func:`lstm_step_backward` does the rest.
    On the cell state the path back is

    .. math:: \bar c_{t-1} = \bar c_t \odot f_t,

    with no weight matrix and no squashing derivative: the constant error
    carousel that lets an LSTM learn dependencies over hundreds of steps,
    where the vanilla RNN's gradient is multiplied by :math:`W^\top` and
    :math:`\tanh'` at every step and fades. The weights are shared by all
    steps, so their gradients are sums over time.
    """
    check_cache("cache", cache, LSTMCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    dc = np.zeros_like(dh) if dc is None else check_grad("dc", dc, dh.shape, dh.dtype)
    N, T, H = dh.shape
    dx = np.empty_like(cache.x)
    dWx, dWh, db = np.zeros_like(cache.Wx), np.zeros_like(cache.Wh), np.zeros(4 * H, dh.dtype)
    dh_next = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sends back to h_t
    dc_next = np.zeros((N, H), dtype=dh.dtype)  # ... and to c_t
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dh_next, dc[:, t] + dc_next, cache.step(t)
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dh_next, dc_next, dWx, dWh, db


def lstm_backward(dh, cache):
    r"""Backpropagation through time for :func:`lstm_forward`.

    The common case of :func:`lstm_backward_with_cell_state`: the loss
    depends on the hidden states only, and the gradient of the initial cell
    state is not needed.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``.
    cache : LSTMCache

    Returns
    -------
    dx : ndarray (N, T, D)
    dh0 : ndarray (N, H)
    dWx : ndarray (D, 4H)
    dWh : ndarray (H, 4H)
    db : ndarray (4H,)

    Raises
    ------
    TypeError, ValueError
        As :func:`lstm_backward_with_cell_state`.
    """
    dx, dh0, _, dWx, dWh, db = lstm_backward_with_cell_state(dh, None, cache)
    return dx, dh0, dWx, dWh, db
