r"""The drawing base of the book's diagrams: one visual language, written once.

:mod:`course_pkg.figures.diagrams` (networks: unrolled, bidirectional,
encoder-decoder) and :mod:`course_pkg.figures.cell_diagrams` (the inside of one
cell) draw with the primitives of this module, so that every figure of the
book looks alike (see ``book/AUTHORING.md``): nodes are rounded boxes or
circles with a 1 pt black outline, filled by kind (:data:`COLORS`); arrows
are black, with the same head; all text is 10 pt. A primitive draws into the
Axes it is given and returns the :class:`Node` it drew, so that the next
arrow can start at the node's edge.

Private: the public names are the ``draw_*`` functions of the two diagram
modules, and :data:`COLORS`, which :mod:`course_pkg.figures.diagrams` re-exports.

Examples
--------
>>> from matplotlib.figure import Figure
>>> ax = Figure().subplots()
>>> a = box(ax, 0.0, 0.0, "$x_t$", "input", w=0.7, h=0.5)
>>> b = box(ax, 0.0, 1.4, "$h_t$", "hidden", w=0.7, h=0.5)
>>> arrow(ax, a.top(), b.bottom())
>>> b
Node(x=0.0, y=1.4, hw=0.35, hh=0.25)
>>> finish(ax, -1, 1, -0.5, 2) is ax
True
"""

from __future__ import annotations

from typing import NamedTuple

from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

COLORS = {
    "input": "#cfe2f3",
    "hidden": "#fce5cd",
    "output": "#d9ead3",
    "gate": "#e1d5e7",
    "loss": "#f4cccc",
}
"""Face colour of each kind of node."""

PLAIN = "plain"  # the kind of a node that is none of COLORS' kinds: drawn white
FONTSIZE = 10


class Node(NamedTuple):
    """A drawn node: its centre ``(x, y)``, its half-width ``hw`` and half-height ``hh``.

    The four methods give the midpoints of its sides, where arrows attach.
    """

    x: float
    y: float
    hw: float
    hh: float

    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.hh)

    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.hh)

    def left(self) -> tuple[float, float]:
        return (self.x - self.hw, self.y)

    def right(self) -> tuple[float, float]:
        return (self.x + self.hw, self.y)


def check_ax(ax) -> Axes:
    """Return ``ax`` if it is a matplotlib Axes.

    Raises
    ------
    TypeError
        ``ax`` is anything else; the message names its type.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def finish(ax, xmin, xmax, ymin, ymax) -> Axes:
    """Show exactly the given data range, at equal aspect and without the axis frame.

    Returns
    -------
    ax : the same Axes
    """
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def text(ax, x, y, s, *, ha="center", va="center", fontsize=FONTSIZE, zorder=None, **style):
    """Write ``s`` at ``(x, y)`` in the diagrams' font size.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : float
        Anchor of the text, in data coordinates.
    s : str
        The text; may hold mathtext (``"$h_t$"``).
    ha, va : str
        Alignment to the anchor, as in :meth:`matplotlib.axes.Axes.text`.
    fontsize : float
        Only for a symbol that must fit in a small node.
    zorder : float, optional
        Drawing order; ``None`` keeps matplotlib's default for text (3).
    **style
        Further text properties, such as ``weight="bold"`` for titles.
    """
    ax.text(x, y, s, ha=ha, va=va, fontsize=fontsize, zorder=zorder, **style)


def box(ax, x, y, label, kind, w, h, *, zorder=None) -> Node:
    """A rounded box of size ``w`` by ``h`` centred at ``(x, y)``, with a label in it.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : float
        Centre of the box.
    label : str
        Written at the centre; ``""`` for none.
    kind : str
        A key of :data:`COLORS` (the box is filled with that colour), or
        ``"plain"`` for a white box.
    w, h : float
        Width and height.
    zorder : float, optional
        Drawing order of the box; its label is drawn one above. ``None``
        keeps matplotlib's defaults (boxes and arrows 1, text 3), so that
        boxes and arrows are drawn in the order they are added.

    Returns
    -------
    node : Node
    """
    face = "white" if kind == PLAIN else COLORS[kind]
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=face,
            edgecolor="black",
            linewidth=1.0,
            zorder=zorder,
        )
    )
    text(ax, x, y, label, zorder=None if zorder is None else zorder + 1)
    return Node(x, y, w / 2, h / 2)


def circle(ax, x, y, r, face, *, zorder=None) -> Node:
    """A circle of radius ``r`` centred at ``(x, y)``, filled with ``face``, outlined in black.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : float
        Centre of the circle.
    r : float
        Radius.
    face : color
        Fill colour, e.g. ``COLORS["hidden"]``.
    zorder : float, optional
        Drawing order; ``None`` keeps matplotlib's default for patches (1).

    Returns
    -------
    node : Node
        With ``hw = hh = r``.
    """
    ax.add_patch(Circle((x, y), r, facecolor=face, edgecolor="black", linewidth=1.0, zorder=zorder))
    return Node(x, y, r, r)


def arrow(
    ax,
    start=None,
    end=None,
    *,
    path=None,
    style="-|>",
    connection="arc3",
    lw=1.0,
    linestyle="-",
    zorder=None,
) -> None:
    """A black arrow from ``start`` to ``end``, or along ``path``, ending exactly at its points.

    Parameters
    ----------
    ax : matplotlib Axes
    start, end : (float, float)
        End points, in data coordinates; give both, or ``path``.
    path : matplotlib.path.Path, optional
        A polyline to draw instead (its head at the last vertex).
    style : str
        Matplotlib arrow style: ``"-|>"`` (a head at the end), ``"-"`` (a
        plain line), or ``"simple,..."`` for a block arrow.
    connection : str
        Matplotlib connection style between ``start`` and ``end``:
        ``"arc3"`` is straight, ``"arc3,rad=-0.5"`` bends it; unused with
        ``path``.
    lw : float
        Line width in points.
    linestyle : str
        ``"-"`` or ``"--"``.
    zorder : float, optional
        Drawing order; ``None`` keeps matplotlib's default for patches (1).
    """
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            path=path,
            arrowstyle=style,
            mutation_scale=10,
            color="black",
            linewidth=lw,
            linestyle=linestyle,
            connectionstyle=connection,
            shrinkA=0,
            shrinkB=0,
            zorder=zorder,
        )
    )
