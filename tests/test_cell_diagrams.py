"""Tests of course_pkg.figures.cell_diagrams: the right nodes, in the book's colours."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyBboxPatch

from course_pkg.figures.cell_diagrams import (
    ONE_MINUS,
    PLUS,
    TIMES,
    draw_gru_cell,
    draw_lstm_cell,
    draw_rnn_cell,
)
from course_pkg.figures.diagrams import COLORS

DRAWERS = {
    "rnn": draw_rnn_cell,
    "lstm": draw_lstm_cell,
    "gru": draw_gru_cell,
    "gru_after": lambda ax: draw_gru_cell(ax, reset_after=True),
}


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def texts(ax):
    return [t.get_text() for t in ax.texts]


def box_colors(ax):
    """Face colours of the node boxes (the dashed cell frame has none)."""
    return [p.get_facecolor() for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_fill()]


def count(colors, kind):
    return sum(np.allclose(c, to_rgba(COLORS[kind])) for c in colors)


@pytest.mark.parametrize("name", list(DRAWERS))
def test_draws_into_the_given_axes_only(ax, name):
    fig = ax.figure
    assert DRAWERS[name](ax) is ax
    assert fig.axes == [ax]
    assert not ax.axison
    assert ax.get_aspect() == 1.0
    fig.canvas.draw()
    inside = ax.get_window_extent()
    for patch in ax.patches:  # every node and arrow lies within the Axes
        box = patch.get_window_extent()
        assert inside.x0 - 1 <= box.x0 and box.x1 <= inside.x1 + 1, patch
        assert inside.y0 - 1 <= box.y0 and box.y1 <= inside.y1 + 1, patch
    assert all(t.get_fontsize() <= 10 for t in ax.texts)


def test_lstm_cell_has_three_gates_a_candidate_and_both_states(ax):
    draw_lstm_cell(ax)
    labels = texts(ax)
    for label in ("$i_t$", "$f_t$", "$g_t$", "$o_t$", "$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$x_t$"):
        assert label in labels, label
    assert labels.count(r"$\sigma$") == 3
    colors = box_colors(ax)
    assert count(colors, "gate") == 3  # i, f, o
    assert count(colors, "input") == 1  # x_t
    assert count(colors, "hidden") == 6  # c_{t-1}, h_{t-1}, c_t, h_t twice, the candidate g
    assert labels.count(TIMES) == 3 and labels.count(PLUS) == 1  # f*c, i*g, o*tanh(c); one sum


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_cell_has_two_gates_and_puts_the_reset_where_asked(ax, reset_after):
    draw_gru_cell(ax, reset_after=reset_after)
    labels = texts(ax)
    for label in ("$r_t$", "$z_t$", "$n_t$", "$h_{t-1}$", "$x_t$", ONE_MINUS, TIMES, PLUS):
        assert label in labels, label
    colors = box_colors(ax)
    assert count(colors, "gate") == 2
    assert count(colors, "hidden") == 4  # h_{t-1}, h_t twice, the candidate n
    assert "$c_t$" not in labels  # one state only
    after = r"$r_t \odot (h_{t-1}W_{hn} + b_{hn})$" in labels
    before = r"$r_t \odot h_{t-1}$" in labels
    assert (after, before) == (reset_after, not reset_after)
    assert ("GRU cell, reset after" in labels) == reset_after


def test_rnn_cell_is_one_tanh_layer(ax):
    draw_rnn_cell(ax)
    labels = texts(ax)
    assert r"$\tanh(x_t U + h_{t-1} W + b)$" in labels
    assert count(box_colors(ax), "gate") == 0


@pytest.mark.parametrize("name", list(DRAWERS))
def test_rejects_non_axes(name):
    with pytest.raises(TypeError, match="Axes"):
        DRAWERS[name]("not an axes")


def test_gru_rejects_non_bool_reset_after(ax):
    with pytest.raises(TypeError, match="reset_after"):
        draw_gru_cell(ax, reset_after=1)
