r"""Network-level diagrams of recurrent networks, drawn with matplotlib.

Used by "Sequential data and why recurrence" (``book/01_sequential_data``),
"Unfolding an RNN" (``book/02_unfolding``), "Architecture types"
(``book/04_architectures``) and "Bidirectional RNNs"
(``book/10_bidirectional``). Every function draws into the Axes it is given
and returns it; it adds nothing outside that Axes (no new figure, axes or
figure text), turns the axis frame off and sets equal aspect, so a caller can
place several diagrams in one figure::

    fig, ax = plt.subplots(figsize=(9, 3.5))
    draw_unrolled_rnn(ax, steps=4)
    plt.show()

One visual language for the whole book (see ``book/AUTHORING.md``): inputs
light blue, hidden states light orange, outputs light green, gates light
purple, losses light red (:data:`COLORS`); black arrows; 10 pt text. The
boxes, circles, arrows and text are drawn by the primitives of
:mod:`course_pkg.figures._drawing`, which :mod:`course_pkg.figures.cell_diagrams` shares.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from matplotlib.axes import Axes

from .._validate import check_int

# COLORS and FONTSIZE are defined in the drawing base and stay public under this module's name
from ._drawing import COLORS as COLORS
from ._drawing import FONTSIZE as FONTSIZE
from ._drawing import Node, arrow, box, check_ax, circle, finish, text

MAX_STEPS = 10  # more columns than this would not be readable at book width


# ------------------------------------------------------------------------- checks


def _check_choice(name: str, value, choices: tuple) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_labels(name: str, labels, n: int) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str) or not all(isinstance(s, str) for s in labels):
        raise TypeError(f"{name} must be a sequence of str, got {labels!r}")
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{name} must hold {n} labels, got {len(labels)}")
    return labels


# --------------------------------------------------------------------- primitives
# (the shared ones, boxes, circles, arrows and text, are in course_pkg.figures._drawing)


def _box(ax, x, y, label, kind, w=0.7, h=0.5) -> Node:
    """A node box at the network diagrams' default size, 0.7 by 0.5."""
    return box(ax, x, y, label, kind, w, h)


def _neuron(ax, x, y, kind, r=0.16) -> Node:
    """A circle (one unit of a layer) of colour ``COLORS[kind]``."""
    return circle(ax, x, y, r, COLORS[kind])


def _edge_point(node: Node, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the ray from the node's centre towards a point leaves the node's box."""
    dx, dy = towards[0] - node.x, towards[1] - node.y
    if dx == 0 and dy == 0:
        return node.x, node.y
    t = min(node.hw / abs(dx) if dx else np.inf, node.hh / abs(dy) if dy else np.inf)
    return node.x + t * dx, node.y + t * dy


_LABEL_OFFSETS = {  # side of a link -> (dx, dy, ha, va) of its weight label
    "right": (0.1, 0, "left", "center"),
    "left": (-0.1, 0, "right", "center"),
    "above": (0, 0.08, "center", "bottom"),
    "below": (0, -0.08, "center", "top"),
}


def _link(ax, a: Node, b: Node, label=None, *, side="right"):
    """Arrow from node ``a`` to node ``b``, edge to edge, with an optional weight label."""
    start = _edge_point(a, (b.x, b.y))
    end = _edge_point(b, (a.x, a.y))
    arrow(ax, start, end)
    if label is not None:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ox, oy, ha, va = _LABEL_OFFSETS[side]
        text(ax, mx + ox, my + oy, label, ha=ha, va=va)


def _self_loop(ax, node: Node, label: str):
    """A loop arrow leaving the node's right side and coming back into it, labelled."""
    arrow(
        ax,
        (node.x + node.hw, node.y + node.hh * 0.6),
        (node.x + node.hw, node.y - node.hh * 0.6),
        connection="arc,angleA=0,angleB=0,armA=32,armB=32,rad=8",
    )
    text(ax, node.x + node.hw + 0.66, node.y, label, ha="left")


# ----------------------------------------------------------------------- diagrams


def draw_unrolled_rnn(
    ax, steps: int = 3, *, outputs: str = "all", loss: bool = False, folded: bool = True
) -> Axes:
    r"""A vanilla RNN unrolled over ``steps`` time steps, optionally next to its folded form.

    Bottom row: inputs :math:`x_t`; middle row: hidden states :math:`h_t`
    (with :math:`h_0` on the left); top rows: outputs :math:`y_t` and losses
    :math:`L_t`. Every input arrow is labelled U, every recurrent arrow W and
    every output arrow V: the same three matrices at every step.

    Parameters
    ----------
    ax : matplotlib Axes
    steps : int
        Number of unrolled steps, in [1, 10].
    outputs : {"all", "last", "none"}
        An output at every step (language model, tagging), only at the last
        step (many-to-one), or none (just the recurrence).
    loss : bool
        Draw a loss node above every output.
    folded : bool
        Also draw the folded network (one hidden node with a loop) on the
        left, with an "unroll" arrow to the unrolled one.

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, ``steps`` not an integer.
    ValueError
        ``steps`` outside [1, 10], ``outputs`` not one of the choices,
        ``loss=True`` with ``outputs="none"``.
    """
    check_ax(ax)
    steps = check_int("steps", steps, 1, MAX_STEPS)
    _check_choice("outputs", outputs, ("all", "last", "none"))
    if loss and outputs == "none":
        raise ValueError("loss=True needs outputs to attach the losses to, got outputs='none'")
    y_in, y_h, y_out, y_loss = 0.0, 1.4, 2.8, 4.0
    x0 = 0.0
    if folded:
        x = _box(ax, 0.0, y_in, "$x_t$", "input")
        h = _box(ax, 0.0, y_h, "$h_t$", "hidden")
        _link(ax, x, h, "U")
        _self_loop(ax, h, "W")
        if outputs != "none":
            y = _box(ax, 0.0, y_out, "$y_t$", "output")
            _link(ax, h, y, "V")
            if loss:
                _link(ax, y, _box(ax, 0.0, y_loss, "$L_t$", "loss"))
        arrow(ax, (1.45, y_h), (2.25, y_h), style="simple,head_width=0.6,head_length=0.5", lw=0.5)
        text(ax, 1.85, y_h + 0.3, "unroll", va="bottom")
        x0 = 3.0
    prev = _box(ax, x0, y_h, "$h_0$", "hidden")
    for t in range(1, steps + 1):
        cx = x0 + 1.5 * t
        x = _box(ax, cx, y_in, f"$x_{{{t}}}$", "input")
        h = _box(ax, cx, y_h, f"$h_{{{t}}}$", "hidden")
        _link(ax, x, h, "U")
        _link(ax, prev, h, "W", side="above")
        if outputs == "all" or (outputs == "last" and t == steps):
            y = _box(ax, cx, y_out, f"$y_{{{t}}}$", "output")
            _link(ax, h, y, "V")
            if loss:
                _link(ax, y, _box(ax, cx, y_loss, f"$L_{{{t}}}$", "loss"))
        prev = h
    top = y_loss if loss else (y_out if outputs != "none" else y_h)
    return finish(ax, -0.6, x0 + 1.5 * steps + 0.7, y_in - 0.5, top + 0.5)


def draw_feedforward_vs_recurrent(ax, n_in: int = 3, n_hidden: int = 4, n_out: int = 2) -> Axes:
    r"""A feed-forward network (left) and the same network made recurrent (right).

    Units are circles: inputs light blue, hidden light orange, outputs light
    green; every unit of a layer feeds every unit of the next. On the right
    the hidden layer also reads a copy of its own previous values
    :math:`h_{t-1}` (the box beside it) through W: the one connection that
    makes the network recurrent.

    Parameters
    ----------
    ax : matplotlib Axes
    n_in, n_hidden, n_out : int
        Units per layer, each in [1, 10].

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, a size not an integer.
    ValueError
        A size outside [1, 10].
    """
    check_ax(ax)
    sizes = [
        check_int(n, v, 1, MAX_STEPS)
        for n, v in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out))
    ]
    levels = (0.0, 1.6, 3.2)
    kinds = ("input", "hidden", "output")
    names = (("$x$", "$h$", "$y$"), ("$x_t$", "$h_t$", "$y_t$"))
    widest = max(sizes) * 0.5
    for panel, cx in enumerate((0.0, widest + 3.2)):
        layers = []
        for n, y, kind in zip(sizes, levels, kinds, strict=True):
            xs = cx + 0.5 * (np.arange(n) - (n - 1) / 2)
            layers.append([_neuron(ax, float(x), y, kind) for x in xs])
        for lower, upper in pairwise(layers):
            for a in lower:
                for b in upper:
                    arrow(
                        ax,
                        _edge_point(a, (b.x, b.y)),
                        _edge_point(b, (a.x, a.y)),
                        style="-",
                        lw=0.5,
                    )
        left = cx - widest / 2 - 0.45
        for y, name in zip(levels, names[panel], strict=True):
            text(ax, left, y, name, ha="right")
        for lower, upper, weight in ((layers[0], layers[1], "U"), (layers[1], layers[2], "V")):
            x_mid = (lower[0].x + upper[0].x) / 2 - 0.2  # just left of the bundle of links
            y_mid = (lower[0].y + upper[0].y) / 2
            text(ax, x_mid, y_mid, weight, ha="right")
        if panel == 0:
            text(ax, cx, -0.75, "feed-forward", va="baseline", weight="bold")
            text(ax, cx, -1.15, "$y = g(f(xU + b)V + c)$", va="baseline")
        else:
            hidden = layers[1]
            memory = _box(ax, cx + widest / 2 + 1.25, levels[1], "$h_{t-1}$", "hidden", w=0.8)
            right = hidden[-1]
            # copy the new state into the memory (used one step later) ...
            arrow(
                ax,
                (right.x + right.hw * 0.7, right.y + right.hh * 0.7),
                (memory.x, memory.y + memory.hh),
                connection="arc3,rad=-0.5",
            )
            text(ax, memory.x + 0.1, memory.y + 0.62, "copy", ha="left", va="baseline")
            # ... and feed it back into the hidden layer through W
            arrow(
                ax,
                (memory.x, memory.y - memory.hh),
                (right.x + right.hw * 0.7, right.y - right.hh * 0.7),
                connection="arc3,rad=-0.5",
            )
            text(ax, memory.x + 0.1, memory.y - 0.78, "W", ha="left", va="baseline")
            text(ax, cx, -0.75, "recurrent", va="baseline", weight="bold")
            text(ax, cx, -1.15, "$h_t = f(x_t U + h_{t-1} W + b)$", va="baseline")
    right_edge = widest * 1.5 + 3.2 + 2.0
    return finish(ax, -widest / 2 - 1.0, right_edge, -1.4, levels[-1] + 0.5)


_ARCHITECTURES = (
    # title, example, number of columns, columns with an input, columns with an output
    ("one-to-one", "image\nclassification", 1, (0,), (0,)),
    ("one-to-many", "captioning,\nmusic generation", 3, (0,), (0, 1, 2)),
    ("many-to-one", "sentiment,\nspam filtering", 3, (0, 1, 2), (2,)),
    ("many-to-many\n(encoder-decoder)", "translation", 5, (0, 1, 2), (3, 4)),
    ("many-to-many\n(synced)", "tagging (POS, NER),\nvideo frame labels", 3, (0, 1, 2), (0, 1, 2)),
)
_FEEDS_BACK = "one-to-many"  # the panel whose outputs are fed back as the next step's input


def draw_architecture_types(ax, per_row: int = 5) -> Axes:
    """The five input/output shapes of a recurrent network, side by side.

    Each panel is a small unrolled network: blue input boxes at the bottom,
    orange hidden states in the middle (linked left to right by the
    recurrence), green outputs on top, with the panel's name above and an
    example task below. In the one-to-many panel dashed arrows feed each
    output back as the next step's input, as a generator such as
    :class:`course_pkg.models.ConditionalGenerator` does. In reading order:
    one-to-one, one-to-many, many-to-one, many-to-many with different
    lengths (encoder-decoder) and many-to-many synced.

    Parameters
    ----------
    ax : matplotlib Axes
    per_row : int
        Panels per row, in [1, 5]: 5 puts all of them in one wide row, 3
        gives a 3 + 2 layout that reads better in a narrow page.

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, ``per_row`` not an integer.
    ValueError
        ``per_row`` outside [1, 5].
    """
    check_ax(ax)
    per_row = check_int("per_row", per_row, 1, len(_ARCHITECTURES))
    step, gap, row_height = 0.75, 1.7, 5.3
    left, right_edge = 0.0, 0.0
    for i, (title, example, n, with_input, with_output) in enumerate(_ARCHITECTURES):
        if i % per_row == 0:
            left = 0.0
        base = -row_height * (i // per_row)  # y of the input row of this panel
        prev = prev_out = None
        for col in range(n):
            cx = left + step * col
            h = _box(ax, cx, base + 1.0, "", "hidden", w=0.5, h=0.4)
            if prev is not None:
                _link(ax, prev, h)
            if col in with_input:
                _link(ax, _box(ax, cx, base, "", "input", w=0.5, h=0.4), h)
            if title == _FEEDS_BACK and prev_out is not None:  # dashed: fed back
                arrow(
                    ax,
                    (prev_out.x + prev_out.hw, prev_out.y - prev_out.hh),
                    (h.x - h.hw, h.y + h.hh),
                    linestyle="--",
                    lw=0.8,
                )
            if col in with_output:
                prev_out = _box(ax, cx, base + 2.0, "", "output", w=0.5, h=0.4)
                _link(ax, h, prev_out)
            prev = h
        centre = left + step * (n - 1) / 2
        text(ax, centre, base + 2.45, title, va="bottom", weight="bold")
        text(ax, centre, base - 0.45, example, va="top")
        right_edge = max(right_edge, left + step * (n - 1))
        left += step * (n - 1) + gap + 0.5
    rows = -(-len(_ARCHITECTURES) // per_row)
    return finish(ax, -0.9, right_edge + 0.9, -row_height * (rows - 1) - 1.3, 3.2)


def draw_bidirectional(ax, steps: int = 3, *, merge: str = "concat") -> Axes:
    r"""A bidirectional RNN unrolled over ``steps`` steps.

    Each input :math:`x_t` feeds a forward state :math:`\overrightarrow{h}_t`
    (the lower orange row, recurrence left to right) and a backward state
    :math:`\overleftarrow{h}_t` (the upper row, right to left); the output
    :math:`y_t` reads both, so it depends on the whole sequence.

    Parameters
    ----------
    ax : matplotlib Axes
    steps : int
        Number of time steps, in [1, 10].
    merge : {"concat", "sum"}
        How the two states are combined before the output layer; written
        under the diagram as the output equation.

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, ``steps`` not an integer.
    ValueError
        ``steps`` outside [1, 10], ``merge`` not one of the choices.
    """
    check_ax(ax)
    steps = check_int("steps", steps, 1, MAX_STEPS)
    _check_choice("merge", merge, ("concat", "sum"))
    y_in, y_fwd, y_bwd, y_out = 0.0, 1.3, 2.6, 3.9
    shift, spacing = 0.4, 1.9
    fwd_prev = None
    bwd_nodes = []
    for t in range(1, steps + 1):
        cx = spacing * (t - 1)
        x = _box(ax, cx, y_in, f"$x_{{{t}}}$", "input", w=0.6)
        fwd = _box(ax, cx - shift, y_fwd, rf"$\overrightarrow{{h}}_{{{t}}}$", "hidden", w=0.6)
        bwd = _box(ax, cx + shift, y_bwd, rf"$\overleftarrow{{h}}_{{{t}}}$", "hidden", w=0.6)
        y = _box(ax, cx, y_out, f"$y_{{{t}}}$", "output", w=0.6)
        for source, target in ((x, fwd), (x, bwd), (fwd, y), (bwd, y)):
            _link(ax, source, target)
        if fwd_prev is not None:
            _link(ax, fwd_prev, fwd)
        fwd_prev = fwd
        bwd_nodes.append(bwd)
    for later, earlier in zip(bwd_nodes[:0:-1], bwd_nodes[-2::-1], strict=True):
        _link(ax, later, earlier)  # the backward layer runs from the end to the start
    right = spacing * (steps - 1)
    text(ax, right + shift + 0.45, y_fwd, "forward", ha="left")
    text(ax, right + shift + 0.45, y_bwd, "backward", ha="left")
    if merge == "concat":
        rule = r"$y_t = [\overrightarrow{h}_t,\ \overleftarrow{h}_t]\, V + c$"
    else:
        rule = r"$y_t = (\overrightarrow{h}_t + \overleftarrow{h}_t)\, V + c$"
    text(ax, right / 2, -0.7, rule, va="top")
    return finish(ax, -shift - 0.6, right + shift + 1.9, -1.3, y_out + 0.5)


def draw_encoder_decoder(
    ax, src_steps: int = 3, tgt_steps: int = 4, *, src_labels=None, tgt_labels=None
) -> Axes:
    r"""An encoder-decoder (Sutskever et al., 2014) for sequences of different lengths.

    The encoder (left) reads the source :math:`x_1 \dots x_S` and produces
    no output; its final state becomes the decoder's initial state (the
    arrow marked "context"). The decoder (right) reads ``<bos>`` and then
    each previous target token (teacher forcing while training; its own
    previous output, dashed, at test time) and emits one output per step,
    the last one ``<eos>``.

    Parameters
    ----------
    ax : matplotlib Axes
    src_steps : int
        Source length S, in [1, 10].
    tgt_steps : int
        Target length L including ``<eos>``, in [1, 10].
    src_labels : sequence of str, optional
        S labels for the source tokens (default :math:`x_1 \dots x_S`).
    tgt_labels : sequence of str, optional
        L labels for the outputs, the last normally ``"<eos>"`` (default
        :math:`y_1 \dots y_{L-1}`, ``<eos>``). The decoder inputs are
        ``<bos>`` followed by the first L - 1 of them.

    Returns
    -------
    ax : the same Axes

    Raises
    ------
    TypeError
        ``ax`` not an Axes, a length not an integer, labels not strings.
    ValueError
        A length outside [1, 10], a label list of the wrong length.
    """
    check_ax(ax)
    S = check_int("src_steps", src_steps, 1, MAX_STEPS)
    L = check_int("tgt_steps", tgt_steps, 1, MAX_STEPS)
    src = _check_labels("src_labels", src_labels, S) or [f"$x_{{{i}}}$" for i in range(1, S + 1)]
    tgt = _check_labels("tgt_labels", tgt_labels, L) or [
        *(f"$y_{{{i}}}$" for i in range(1, L)),
        "<eos>",
    ]
    width = max(0.8, 0.14 * max(len(s) for s in [*src, *tgt, "<bos>"]) + 0.2)
    spacing = width + 0.7
    y_in, y_h, y_out = 0.0, 1.4, 2.8
    prev = None
    for i, label in enumerate(src):
        cx = spacing * i
        h = _box(ax, cx, y_h, "", "hidden", w=width)
        _link(ax, _box(ax, cx, y_in, label, "input", w=width), h)
        if prev is not None:
            _link(ax, prev, h)
        prev = h
    text(ax, spacing * (S - 1) / 2, y_out + 0.45, "encoder", va="baseline", weight="bold")
    start = spacing * S + 0.9
    dec_inputs = ["<bos>", *tgt[:-1]]
    outputs = []
    for j in range(L):
        cx = start + spacing * j
        h = _box(ax, cx, y_h, "", "hidden", w=width)
        _link(ax, _box(ax, cx, y_in, dec_inputs[j], "input", w=width), h)
        _link(ax, prev, h, "context" if j == 0 else None, side="above")
        outputs.append(_box(ax, cx, y_out, tgt[j], "output", w=width))
        _link(ax, h, outputs[-1])
        prev = h
    for j in range(L - 1):  # at test time each output is the next step's input
        a = outputs[j]
        arrow(
            ax,
            (a.x + a.hw, a.y - a.hh),
            (a.x + spacing - a.hw, y_in + a.hh),
            linestyle="--",
            lw=0.8,
        )
    text(ax, start + spacing * (L - 1) / 2, y_out + 0.45, "decoder", va="baseline", weight="bold")
    return finish(ax, -width, start + spacing * (L - 1) + width, y_in - 0.5, y_out + 1.0)
