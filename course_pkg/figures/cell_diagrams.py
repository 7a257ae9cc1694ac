r"""Diagrams of the inside of one recurrent cell (vanilla, LSTM, GRU), drawn with matplotlib.

Used by "LSTM" (``book/08_lstm``) and "GRU" (``book/09_gru``). Network-level
pictures (unrolled networks, bidirectional layers) are in
:mod:`course_pkg.figures.diagrams`; this module draws with the same primitives
(:mod:`course_pkg.figures._drawing`), so in the same visual language
(:data:`course_pkg.figures.diagrams.COLORS`): inputs light blue, states light orange,
gates light purple; element-wise operations are white circles; black arrows;
10 pt text.

Every function draws into the Axes it is given and returns it, adds nothing
outside it, turns the frame off and sets equal aspect::

    fig, ax = plt.subplots(figsize=(8, 4.5))
    draw_lstm_cell(ax)
    plt.show()

The arrows follow the package's equations exactly (:mod:`course_pkg.lstm`,
:mod:`course_pkg.gru`, :mod:`course_pkg.rnn`): the time step runs from left
(previous states) to right (new states), the input :math:`x_t` enters from
below.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch
from matplotlib.path import Path

from ._drawing import FONTSIZE, PLAIN, Node, arrow, box, check_ax, circle, finish, text

CELL_EDGE = "#666666"  # outline of the cell's boundary (a frame, not a node)
TIMES, PLUS, ONE_MINUS = r"$\times$", "$+$", "$1-$"  # labels of the element-wise operations

# Layers, bottom to top: the cell's frame (1), wires (2), nodes (3), their labels (4), so that a
# wire ends under the node it enters.
_FRAME_Z, _WIRE_Z, _NODE_Z = 1, 2, 3


def _box(ax, x, y, label, kind, w=0.9, h=0.55) -> Node:
    """A node box at the cell diagrams' default size, 0.9 by 0.55, above the wires."""
    return box(ax, x, y, label, kind, w, h, zorder=_NODE_Z)


def _op(ax, x, y, symbol, r=0.22) -> Node:
    """A white circle holding an element-wise operation (product, sum, tanh, ``1 - z``)."""
    node = circle(ax, x, y, r, "white", zorder=_NODE_Z)
    size = FONTSIZE - 2 if symbol == "tanh" else FONTSIZE
    text(ax, x, y, symbol, fontsize=size, zorder=_NODE_Z + 1)
    return node


def _wire(ax, *points, head=True):
    """A black polyline through ``points``; an arrow head at the last point if ``head``."""
    codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
    arrow(ax, path=Path(points, codes), style="-|>" if head else "-", zorder=_WIRE_Z)


def _dot(ax, x, y):
    """A junction: one wire splits into two."""
    circle(ax, x, y, 0.05, "black", zorder=_NODE_Z)


def _label(ax, x, y, s, ha="center", va="center"):
    """A label beside a node or wire, above the wires."""
    text(ax, x, y, s, ha=ha, va=va, zorder=_NODE_Z + 1)


def _frame(ax, x0, y0, x1, y1, title):
    """The cell's boundary: a light rounded rectangle with a title in its corner."""
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.25",
            facecolor="none",
            edgecolor=CELL_EDGE,
            linewidth=1.2,
            linestyle="--",
            zorder=_FRAME_Z,
        )
    )
    text(ax, x0 + 0.15, y1 - 0.15, title, ha="left", va="top", weight="bold")


def draw_rnn_cell(ax) -> Axes:
    r"""The vanilla RNN cell: one tanh layer reads the input and the previous state.

    .. math:: h_t = \tanh(x_t U + h_{t-1} W + b)

    The new state leaves to the right (to the next step) and upwards (to the
    output layer or the next layer).

    Parameters
    ----------
    ax : matplotlib Axes

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes.
    """
    check_ax(ax)
    _frame(ax, 1.0, 0.2, 6.6, 3.4, "RNN cell")
    h_prev = _box(ax, 0.0, 1.0, "$h_{t-1}$", "hidden")
    x = _box(ax, 2.4, -0.7, "$x_t$", "input", w=0.7)
    layer = _box(ax, 3.8, 2.2, r"$\tanh(x_t U + h_{t-1} W + b)$", "hidden", w=3.6, h=0.6)
    h_new = _box(ax, 7.6, 1.0, "$h_t$", "hidden", w=0.7)
    h_up = _box(ax, 6.0, 4.4, "$h_t$", "hidden", w=0.7)
    _wire(ax, h_prev.right(), (2.4, 1.0), head=False)
    _wire(ax, x.top(), (2.4, layer.y - layer.hh))
    _dot(ax, 2.4, 1.0)
    _label(ax, 1.3, 1.1, "$W$", ha="left", va="bottom")
    _label(ax, 2.55, 0.25, "$U$", ha="left")
    _wire(ax, layer.right(), (6.0, 2.2), (6.0, 1.0), h_new.left())
    _dot(ax, 6.0, 2.2)
    _wire(ax, (6.0, 2.2), h_up.bottom())
    return finish(ax, -0.6, 8.2, -1.2, 4.9)


def draw_lstm_cell(ax) -> Axes:
    r"""The LSTM cell, gate by gate, as :func:`course_pkg.lstm.lstm_step_forward` computes it.

    The cell state runs along the top, from :math:`c_{t-1}` to :math:`c_t`,
    touched only by an element-wise product with the forget gate and a sum
    with the gated candidate: the additive path along which gradients flow
    back unchanged while :math:`f_t \approx 1`. Along the bottom,
    :math:`h_{t-1}` and :math:`x_t` feed the three sigmoid gates (purple) and
    the tanh candidate (orange):

    .. math::

        [a_i, a_f, a_g, a_o] &= x_t W_x + h_{t-1} W_h + b \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad
        h_t = o_t \odot \tanh(c_t)

    Parameters
    ----------
    ax : matplotlib Axes

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes.
    """
    check_ax(ax)
    y_c, y_gate, y_bus = 4.2, 2.0, 0.8
    _frame(ax, 1.0, 0.2, 9.6, 5.0, "LSTM cell")
    c_prev = _box(ax, 0.0, y_c, "$c_{t-1}$", "hidden")
    h_prev = _box(ax, 0.0, y_bus, "$h_{t-1}$", "hidden")
    x = _box(ax, 1.8, -0.7, "$x_t$", "input", w=0.7)
    c_new = _box(ax, 10.6, y_c, "$c_t$", "hidden", w=0.7)
    h_new = _box(ax, 10.6, y_bus, "$h_t$", "hidden", w=0.7)
    h_up = _box(ax, 8.6, 6.0, "$h_t$", "hidden", w=0.7)

    # the input bus: [h_{t-1}, x_t] reaches every gate
    _wire(ax, h_prev.right(), (1.8, y_bus), head=False)
    _wire(ax, x.top(), (1.8, y_bus), head=False)
    _wire(ax, (1.8, y_bus), (6.5, y_bus), head=False)
    _dot(ax, 1.8, y_bus)
    gates = {}
    for name, gx, kind, fn in (
        ("f", 2.8, "gate", r"$\sigma$"),
        ("i", 4.2, "gate", r"$\sigma$"),
        ("g", 5.4, "hidden", r"$\tanh$"),
        ("o", 6.5, "gate", r"$\sigma$"),
    ):
        gates[name] = _box(ax, gx, y_gate, fn, kind, w=0.8)
        _wire(ax, (gx, y_bus), gates[name].bottom())
        _label(ax, gx + 0.45, y_gate + 0.45, f"${name}_t$", ha="left")
        if name != "o":
            _dot(ax, gx, y_bus)

    # the cell-state path: multiply by f, add i * g
    forget = _op(ax, 2.8, y_c, TIMES)
    add = _op(ax, 4.8, y_c, PLUS)
    ig = _op(ax, 4.8, 3.1, TIMES)
    _wire(ax, c_prev.right(), forget.left())
    _wire(ax, gates["f"].top(), forget.bottom())
    _wire(ax, forget.right(), add.left())
    _wire(ax, gates["i"].top(), (4.2, 3.1), ig.left())
    _wire(ax, gates["g"].top(), (5.4, 3.1), ig.right())
    _wire(ax, ig.top(), add.bottom())
    _wire(ax, add.right(), c_new.left())

    # the output: h_t = o * tanh(c_t)
    _dot(ax, 7.6, y_c)
    squash = _op(ax, 7.6, 3.1, "tanh", r=0.3)
    out = _op(ax, 7.6, y_gate, TIMES)
    _wire(ax, (7.6, y_c), squash.top())
    _wire(ax, squash.bottom(), out.top())
    _wire(ax, gates["o"].right(), out.left())
    _wire(ax, out.bottom(), (7.6, y_bus), h_new.left())
    _dot(ax, 8.6, y_bus)
    _wire(ax, (8.6, y_bus), h_up.bottom())
    _label(ax, 6.2, y_c + 0.12, "cell state", ha="center", va="bottom")
    return finish(ax, -0.6, 11.2, -1.2, 6.5)


def draw_gru_cell(ax, reset_after: bool = False) -> Axes:
    r"""The GRU cell, as :func:`course_pkg.gru.gru_step_forward` computes it.

    The state runs along the top: it is multiplied by the update gate
    :math:`z_t` and added to :math:`(1 - z_t) \odot n_t`, so
    :math:`h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t`. The reset gate
    :math:`r_t` acts on the recurrent input of the candidate :math:`n_t`,
    and where it acts is the difference between the two variants:

    * ``reset_after=False`` (Cho et al., 2014): :math:`r_t` multiplies
      :math:`h_{t-1}` *before* the matrix :math:`W_{hn}`,
      :math:`n_t = \tanh(x_t W_{xn} + b_{xn} + (r_t \odot h_{t-1}) W_{hn} + b_{hn})`;
    * ``reset_after=True`` (PyTorch, cuDNN): :math:`r_t` multiplies the
      product *after* it,
      :math:`n_t = \tanh(x_t W_{xn} + b_{xn} + r_t \odot (h_{t-1} W_{hn} + b_{hn}))`.

    Parameters
    ----------
    ax : matplotlib Axes
    reset_after : bool
        Which variant to draw.

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, ``reset_after`` not a bool.
    """
    check_ax(ax)
    if not isinstance(reset_after, bool):
        raise TypeError(f"reset_after must be a bool, got {type(reset_after).__name__}")
    y_h, y_rec, y_gate, y_bus, y_x = 4.6, 2.9, 2.0, 1.0, 0.3
    x_drop, x_in, x_r, x_z, x_n, x_mix = 1.1, 1.7, 3.3, 4.5, 7.9, 8.9
    title = "GRU cell, reset after" if reset_after else "GRU cell, reset before"
    _frame(ax, 0.8, -0.1, 9.8, 5.4, title)
    h_prev = _box(ax, -0.3, y_h, "$h_{t-1}$", "hidden")
    x = _box(ax, x_in, -0.9, "$x_t$", "input", w=0.7)
    h_new = _box(ax, 10.8, y_h, "$h_t$", "hidden", w=0.7)
    h_up = _box(ax, 9.4, 6.3, "$h_t$", "hidden", w=0.7)

    # h_{t-1} drops down at the left and joins x_t on the bus of the two gates
    _dot(ax, x_drop, y_h)
    _wire(ax, (x_drop, y_h), (x_drop, y_bus), (x_z, y_bus), head=False)
    _wire(ax, x.top(), (x_in, y_bus), head=False)
    _dot(ax, x_in, y_bus)
    r = _box(ax, x_r, y_gate, r"$\sigma$", "gate", w=0.8)
    z = _box(ax, x_z, y_gate, r"$\sigma$", "gate", w=0.8)
    _label(ax, x_r - 0.45, y_gate - 0.45, "$r_t$", ha="right")
    _label(ax, x_z + 0.45, y_gate - 0.45, "$z_t$", ha="left")
    _dot(ax, x_r, y_bus)
    _wire(ax, (x_r, y_bus), r.bottom())
    _wire(ax, (x_z, y_bus), z.bottom())

    # the candidate n_t reads x_t directly and h_{t-1} through the reset gate
    cand = _box(ax, x_n, y_gate, r"$\tanh$", "hidden", w=0.8)
    _label(ax, x_n - 0.45, y_gate - 0.45, "$n_t$", ha="right")
    _dot(ax, x_in, y_x)
    _wire(ax, (x_in, y_x), (x_n, y_x), cand.bottom())
    _label(ax, 5.6, y_x + 0.08, r"$x_t W_{xn} + b_{xn}$", va="bottom")
    _dot(ax, x_drop, y_rec)
    reset = _op(ax, x_r, y_rec, TIMES)
    _wire(ax, r.top(), reset.bottom())
    if reset_after:
        # h_{t-1} W_hn + b_hn first, then times r
        lin = _box(ax, 2.25, y_rec, r"$W_{hn}, b_{hn}$", PLAIN, w=1.3, h=0.45)
        _wire(ax, (x_drop, y_rec), lin.left())
        _wire(ax, lin.right(), reset.left())
        _wire(ax, reset.right(), (x_n, y_rec), cand.top())
        _label(ax, 6.3, y_rec - 0.12, r"$r_t \odot (h_{t-1}W_{hn} + b_{hn})$", va="top")
    else:
        # r times h_{t-1} first, then W_hn + b_hn
        _wire(ax, (x_drop, y_rec), reset.left())
        lin = _box(ax, 6.6, y_rec, r"$W_{hn}, b_{hn}$", PLAIN, w=1.3, h=0.45)
        _wire(ax, reset.right(), lin.left())
        _wire(ax, lin.right(), (x_n, y_rec), cand.top())
        _label(ax, 5.25, y_rec + 0.1, r"$r_t \odot h_{t-1}$", va="bottom")

    # the update: h_t = z * h_{t-1} + (1 - z) * n
    keep = _op(ax, x_z, y_h, TIMES)
    add = _op(ax, x_mix, y_h, PLUS)
    one_minus = _op(ax, 6.3, 3.7, ONE_MINUS, r=0.28)
    mix = _op(ax, x_mix, 3.7, TIMES)
    _wire(ax, h_prev.right(), keep.left())
    _wire(ax, z.top(), keep.bottom())
    _dot(ax, x_z, 3.7)
    _wire(ax, (x_z, 3.7), one_minus.left())
    _wire(ax, one_minus.right(), mix.left())
    _wire(ax, cand.right(), (x_mix, y_gate), mix.bottom())
    _wire(ax, mix.top(), add.bottom())
    _wire(ax, keep.right(), add.left())
    _wire(ax, add.right(), h_new.left())
    _dot(ax, 9.4, y_h)
    _wire(ax, (9.4, y_h), h_up.bottom())
    return finish(ax, -0.9, 11.4, -1.4, 6.7)
