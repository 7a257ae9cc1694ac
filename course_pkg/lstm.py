r"""The long short-term memory (LSTM) layer, forward and backward through time.

Taught in "LSTM" (``book/07_lstm``). The cell follows Hochreiter and
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

from ._time_major import gate_blocks, gate_inputs, input_gradients, previous_state_gradient
from ._validate import as_float_array, check_cache, check_grad, check_shape, common_dtype
from .activations import sigmoid_unchecked


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from one forward step."""

    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) hidden state before the step
    c_prev: np.ndarray  # (N, H) cell state before the step
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    gates: np.ndarray  # (N, 4H) activated gates i, f, g, o side by side
    c: np.ndarray  # (N, H) cell state after the step
    tanh_c: np.ndarray  # (N, H) tanh(c), kept because h = o * tanh(c) needs it in backward


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward_full` needs from a forward pass over a sequence."""

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
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b  # (N, 4H)
    gates = sigmoid_unchecked(a)
    gates[:, 2 * H : 3 * H] = np.tanh(a[:, 2 * H : 3 * H])  # g is a candidate value, not a gate
    i, f, g, o = np.split(gates, 4, axis=1)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(x, h_prev, c_prev, Wx, Wh, gates, c, tanh_c)


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
    i, f, g, o = np.split(cache.gates, 4, axis=1)
    tanh_c = cache.tanh_c
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
    For :math:`t = 1, \dots, T`:

    .. math::

        [a_i, a_f, a_g, a_o] &= x_t W_x + h_{t-1} W_h + b \\
        c_t &= \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g) \\
        h_t &= \sigma(a_o) \odot \tanh(c_t)

    The input projection :math:`x_t W_x + b` does not depend on the state,
    so it is computed for all steps in one matrix product; only
    :math:`h_{t-1} W_h` and the element-wise gate arithmetic stay inside the
    time loop. The loop works on gate-major, time-major buffers
    (4, T, N, H), so each step reads and writes whole contiguous (N, H)
    blocks; the returned ``h`` and the cache's arrays are (N, T, H) views.
    The sigmoid is computed as :math:`\sigma(a) = (1 + \tanh(a/2))/2` with
    the sigmoid gates' weights halved beforehand (exact: a power of two), so
    one ``tanh`` call activates all four gates.
    """
    x, h0, c0, Wx, Wh, b = _check_params(x, h0, c0, Wx, Wh, b, x_ndim=3)
    N, T, _ = x.shape
    H = h0.shape[1]
    if c0 is None:
        c0 = np.zeros_like(h0)
    scale = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o: the sigmoid gates' pre-activations are halved
    Wh4 = gate_blocks(Wh, H) * np.array(scale, dtype=x.dtype).reshape(4, 1, 1)  # (4, H, H)
    gates = gate_inputs(x, Wx, b, scale)  # (4, T, N, H), activated in place below
    i, f, g, o = gates  # (T, N, H) each
    h = np.empty((T, N, H), dtype=x.dtype)
    c = np.empty_like(h)
    tanh_c = np.empty_like(h)
    ah = np.empty((4, N, H), dtype=x.dtype)  # h_{t-1} W_h, gate by gate
    ig = np.empty((N, H), dtype=x.dtype)
    h_prev, c_prev = h0, c0
    for t in range(T):
        np.matmul(h_prev, Wh4, out=ah)
        gates[:, t] += ah
        np.tanh(gates[:, t], out=gates[:, t])  # tanh(a/2) for i, f, o; g = tanh(a_g)
        for sigmoid_gates in (gates[:2, t], o[t]):
            sigmoid_gates += 1.0
            sigmoid_gates *= 0.5
        np.multiply(f[t], c_prev, out=c[t])
        np.multiply(i[t], g[t], out=ig)
        c[t] += ig
        np.tanh(c[t], out=tanh_c[t])
        np.multiply(o[t], tanh_c[t], out=h[t])
        h_prev, c_prev = h[t], c[t]
    i, f, g, o, h, c, tanh_c = (arr.transpose(1, 0, 2) for arr in (i, f, g, o, h, c, tanh_c))
    return h, LSTMCache(x, h0, c0, Wx, Wh, i, f, g, o, h, c, tanh_c)


def lstm_backward_full(dh, cache, dc_last=None, dc=None):
    r"""Backpropagation through time for :func:`lstm_forward`, cell-state gradients included.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``
        coming from above (the output layer). The gradient that flows back
        through time is added to it here.
    cache : LSTMCache
    dc_last : ndarray (N, H), optional
        Extra gradient on the final cell state ``cache.c[:, -1]``, for
        example from a decoder that started from it. None means zeros.
    dc : ndarray (N, T, H), optional
        Extra gradient on every cell state ``cache.c``, for a loss that reads
        cell states at other steps (an encoder whose sequences end at
        different lengths hands over ``c`` at each one's last real step).

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
    Going back from :math:`t = T`, two gradients flow through time: into
    :math:`h_t`, :math:`\bar h_t = dh_t + \delta_{t+1} W_h^\top` (the upstream
    gradient plus what step :math:`t+1` sends back, :math:`\delta` being the
    gradient at the gate pre-activations), and into :math:`c_t`,

    .. math::

        \bar c_t = \bar c_{t+1} \odot f_{t+1}
                   + \bar h_t \odot o_t \odot (1 - \tanh^2 c_t),

    an additive path with no weight matrix and no squashing derivative: this
    is the constant error carousel that lets an LSTM learn dependencies over
    hundreds or thousands of steps, where the vanilla RNN's gradient is
    multiplied by :math:`W^\top` and :math:`\tanh'` at every step and fades.

    Each step computes the pre-activation gradients :math:`\delta_t` of the
    four gates block by block, then lays them side by side in a (T, N, 4H)
    array, so that :math:`\delta_t W_h^\top` is one matrix product; after
    the loop ``dx``, ``dWx``, ``dWh`` and ``db`` are one matrix product (or
    sum) each over all steps at once.
    """
    check_cache("cache", cache, LSTMCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    N, T, H = dh.shape
    if dc_last is not None:
        dc_last = check_grad("dc_last", dc_last, (N, H), dh.dtype)
    if dc is not None:
        dc = check_grad("dc", dc, (N, T, H), dh.dtype)
    # (T, N, H) views; each step is a contiguous block when the cache comes from lstm_forward
    i, f, g, o, h, c, tanh_c = (
        arr.transpose(1, 0, 2)
        for arr in (cache.i, cache.f, cache.g, cache.o, cache.h, cache.c, cache.tanh_c)
    )
    da = np.empty((T, N, 4 * H), dtype=dh.dtype)  # gradients at the pre-activations
    local = np.empty((4, N, H), dtype=dh.dtype)  # one step's da, gate by gate
    da_i, da_f, da_g, da_o = local
    Wh_T = np.ascontiguousarray(cache.Wh.T)  # (4H, H)
    dh_t = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sent back, then all of dh_t
    # copy dc_last so that even for T = 0 the returned dc0 is not the caller's array
    dc_t = np.zeros((N, H), dtype=dh.dtype) if dc_last is None else dc_last.copy()
    h_to_c = np.empty((N, H), dtype=dh.dtype)
    for t in range(T - 1, -1, -1):
        dh_t += dh[:, t]  # dh_t is our own buffer: the caller's dh is never written to
        # c_t reaches the loss through step t+1 (dc_t so far) and through h_t
        np.multiply(tanh_c[t], tanh_c[t], out=h_to_c)
        np.subtract(1.0, h_to_c, out=h_to_c)  # tanh' = 1 - tanh^2
        h_to_c *= o[t]
        h_to_c *= dh_t
        dc_t += h_to_c
        if dc is not None:
            dc_t += dc[:, t]
        # local derivative (sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2) times
        # what the gate multiplies, times the gradient that reaches it
        np.subtract(1.0, i[t], out=da_i)
        da_i *= i[t]
        da_i *= g[t]
        np.subtract(1.0, f[t], out=da_f)
        da_f *= f[t]
        da_f *= c[t - 1] if t else cache.c0
        np.multiply(g[t], g[t], out=da_g)
        np.subtract(1.0, da_g, out=da_g)
        da_g *= i[t]
        local[:3] *= dc_t  # i, f and g reach the loss through c_t
        np.subtract(1.0, o[t], out=da_o)
        da_o *= o[t]
        da_o *= tanh_c[t]
        da_o *= dh_t  # o reaches it through h_t
        dc_t *= f[t]  # the constant error carousel: dc_{t-1}
        # side by side, as the gates' columns of W_h are: one matrix product
        np.copyto(da[t].reshape(N, 4, H), local.transpose(1, 0, 2))
        np.matmul(da[t], Wh_T, out=dh_t)
    dx, dWx, db = input_gradients(cache.x, cache.Wx, da)
    dWh = previous_state_gradient(cache.h0, h, da)
    return dx, dh_t, dc_t, dWx, dWh, db


def lstm_backward(dh, cache):
    r"""Backpropagation through time for :func:`lstm_forward`.

    The common case of :func:`lstm_backward_full`: the loss depends on the
    hidden states only, and the gradient of the initial cell state is not
    needed.

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
        As :func:`lstm_backward_full`.
    """
    dx, dh0, _, dWx, dWh, db = lstm_backward_full(dh, cache)
    return dx, dh0, dWx, dWh, db
