import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from course_pkg.figures import _drawing
from course_pkg.figures.diagrams import (
    COLORS,
    draw_architecture_types,
    draw_bidirectional,
    draw_encoder_decoder,
    draw_feedforward_vs_recurrent,
    draw_unrolled_rnn,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def boxes(ax, kind):
    """Rounded boxes of one node kind."""
    return [
        p
        for p in ax.patches
        if isinstance(p, FancyBboxPatch) and to_hex(p.get_facecolor()) == COLORS[kind]
    ]


def circles(ax, kind):
    return [
        p for p in ax.patches if isinstance(p, Circle) and to_hex(p.get_facecolor()) == COLORS[kind]
    ]


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def assert_stays_inside(ax):
    """Nothing drawn outside the Axes: no new axes, no figure-level artists, frame off."""
    fig = ax.figure
    assert fig.axes == [ax]
    assert fig.texts == [] and fig.patches == [] and fig.lines == []
    assert not ax.axison
    # every box lies within the data limits the function set
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    for p in ax.patches:
        if isinstance(p, FancyBboxPatch):
            assert x0 <= p.get_x() and p.get_x() + p.get_width() <= x1
            assert y0 <= p.get_y() and p.get_y() + p.get_height() <= y1


def test_colours_are_the_books():
    assert COLORS == {
        "input": "#cfe2f3",
        "hidden": "#fce5cd",
        "output": "#d9ead3",
        "gate": "#e1d5e7",
        "loss": "#f4cccc",
    }


# ------------------------------------------- drawing base, shared with cell_diagrams


def test_node_sides_are_the_midpoints_of_its_edges():
    node = _drawing.Node(x=1.0, y=2.0, hw=0.5, hh=0.25)
    assert node.top() == (1.0, 2.25) and node.bottom() == (1.0, 1.75)
    assert node.left() == (0.5, 2.0) and node.right() == (1.5, 2.0)


def test_box_is_centred_filled_by_kind_and_labelled(ax):
    node = _drawing.box(ax, 1.0, 2.0, "$h_t$", "hidden", 0.8, 0.4)
    assert node == (1.0, 2.0, 0.4, 0.2)
    (patch,) = ax.patches
    assert (patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()) == pytest.approx(
        (0.6, 1.8, 0.8, 0.4)
    )
    assert to_hex(patch.get_facecolor()) == COLORS["hidden"]
    assert to_hex(patch.get_edgecolor()) == "#000000" and patch.get_linewidth() == 1.0
    (label,) = ax.texts
    assert label.get_text() == "$h_t$" and label.get_position() == (1.0, 2.0)
    assert label.get_fontsize() == 10 and (label.get_ha(), label.get_va()) == ("center", "center")
    # without a zorder, matplotlib's defaults: boxes and arrows in the order they are added
    assert (patch.get_zorder(), label.get_zorder()) == (1, 3)


def test_plain_box_is_white_and_a_zorder_lifts_its_label_above_it(ax):
    _drawing.box(ax, 0.0, 0.0, "W", _drawing.PLAIN, 1.0, 0.5, zorder=3)
    (patch,), (label,) = ax.patches, ax.texts
    assert to_hex(patch.get_facecolor()) == "#ffffff"
    assert (patch.get_zorder(), label.get_zorder()) == (3, 4)


def test_circle_returns_a_square_node(ax):
    assert _drawing.circle(ax, 1.0, -1.0, 0.3, "white") == (1.0, -1.0, 0.3, 0.3)
    (patch,) = ax.patches
    assert isinstance(patch, Circle) and patch.center == (1.0, -1.0) and patch.radius == 0.3


def test_arrow_ends_exactly_at_its_points(ax):
    _drawing.arrow(ax, (0.0, 0.0), (2.0, 1.0), lw=0.5, linestyle="--")
    (patch,) = arrows(ax)
    assert patch._posA_posB == [(0.0, 0.0), (2.0, 1.0)]
    assert (patch.shrinkA, patch.shrinkB) == (0, 0)
    assert to_hex(patch.get_edgecolor()) == "#000000"
    assert patch.get_linewidth() == 0.5 and patch.get_linestyle() == "--"


def test_finish_sets_the_view_and_hides_the_frame(ax):
    assert _drawing.finish(ax, -1.0, 3.0, 0.0, 2.0) is ax
    assert ax.get_xlim() == (-1.0, 3.0) and ax.get_ylim() == (0.0, 2.0)
    assert ax.get_aspect() == 1.0 and not ax.axison


def test_check_ax_names_what_it_got(ax):
    assert _drawing.check_ax(ax) is ax
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got str"):
        _drawing.check_ax("not an axes")


# --------------------------------------------------------------------- unrolled RNN


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_unrolled_rnn_has_one_column_per_step(ax, steps):
    assert draw_unrolled_rnn(ax, steps, folded=False) is ax
    assert len(boxes(ax, "input")) == steps
    assert len(boxes(ax, "hidden")) == steps + 1  # h_0 .. h_T
    assert len(boxes(ax, "output")) == steps
    assert boxes(ax, "loss") == []
    # U and V once per step, W between consecutive states (h_0 -> h_1 included)
    labels = texts(ax)
    assert labels.count("U") == steps and labels.count("V") == steps
    assert labels.count("W") == steps
    assert len(arrows(ax)) == 3 * steps
    for t in range(1, steps + 1):
        for name in ("x", "h", "y"):
            assert f"${name}_{{{t}}}$" in labels
    assert "$h_0$" in labels
    assert_stays_inside(ax)


def test_unrolled_rnn_folded_loss_and_last_output(ax):
    draw_unrolled_rnn(ax, 4, outputs="last", loss=True, folded=True)
    # folded: x_t, h_t, y_t, L_t; unrolled: 4 inputs, h_0..h_4, one output and one loss
    assert len(boxes(ax, "input")) == 1 + 4
    assert len(boxes(ax, "hidden")) == 1 + 5
    assert len(boxes(ax, "output")) == 1 + 1
    assert len(boxes(ax, "loss")) == 1 + 1
    labels = texts(ax)
    assert "$h_t$" in labels and "unroll" in labels
    assert "$y_{4}$" in labels and "$y_{3}$" not in labels
    assert "$L_{4}$" in labels
    assert_stays_inside(ax)


def test_unrolled_rnn_without_outputs(ax):
    draw_unrolled_rnn(ax, 2, outputs="none", folded=False)
    assert boxes(ax, "output") == [] and "V" not in texts(ax)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"steps": 0}, ValueError, r"steps must be in \[1, 10\], got 0"),
        ({"steps": 11}, ValueError, "got 11"),
        ({"steps": 2.0}, TypeError, "steps must be an integer"),
        ({"steps": True}, TypeError, "steps must be an integer"),
        ({"outputs": "first"}, ValueError, "outputs must be one of"),
        ({"outputs": "none", "loss": True}, ValueError, "loss=True needs outputs"),
    ],
)
def test_unrolled_rnn_rejects_bad_arguments(ax, kwargs, error, match):
    with pytest.raises(error, match=match):
        draw_unrolled_rnn(ax, **kwargs)


def test_every_function_rejects_a_non_axes():
    for draw in (
        draw_unrolled_rnn,
        draw_feedforward_vs_recurrent,
        draw_architecture_types,
        draw_bidirectional,
        draw_encoder_decoder,
    ):
        with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
            draw(plt.figure())
    plt.close("all")


# ------------------------------------------------------------ feed-forward vs recurrent


def test_feedforward_vs_recurrent(ax):
    assert draw_feedforward_vs_recurrent(ax, 3, 4, 2) is ax
    # two copies of the network: 3 + 4 + 2 units each
    assert len(circles(ax, "input")) == 2 * 3
    assert len(circles(ax, "hidden")) == 2 * 4
    assert len(circles(ax, "output")) == 2 * 2
    # the recurrent copy has one extra node, the previous state, and two arrows to it and back
    assert len(boxes(ax, "hidden")) == 1
    links = 2 * (3 * 4 + 4 * 2)
    assert len(arrows(ax)) == links + 2
    labels = texts(ax)
    assert "feed-forward" in labels and "recurrent" in labels
    assert "$h_{t-1}$" in labels and labels.count("W") == 1
    assert labels.count("U") == 2 and labels.count("V") == 2
    assert_stays_inside(ax)


def test_feedforward_vs_recurrent_rejects_bad_sizes(ax):
    with pytest.raises(ValueError, match="n_hidden must be in"):
        draw_feedforward_vs_recurrent(ax, 3, 0, 2)


# ------------------------------------------------------------------ architecture types


@pytest.mark.parametrize("per_row", [1, 3, 5])
def test_architecture_types(ax, per_row):
    assert draw_architecture_types(ax, per_row=per_row) is ax
    titles = [
        "one-to-one",
        "one-to-many",
        "many-to-one",
        "many-to-many\n(encoder-decoder)",
        "many-to-many\n(synced)",
    ]
    labels = texts(ax)
    for title in titles:
        assert title in labels
    # columns 1 + 3 + 3 + 5 + 3 hidden states; inputs 1 + 1 + 3 + 3 + 3; outputs 1 + 3 + 1 + 2 + 3
    assert len(boxes(ax, "hidden")) == 15
    assert len(boxes(ax, "input")) == 11
    assert len(boxes(ax, "output")) == 10
    recurrent = 0 + 2 + 2 + 4 + 2
    fed_back = 2  # one-to-many: outputs 1 and 2 feed steps 2 and 3, dashed
    assert len(arrows(ax)) == 11 + 10 + recurrent + fed_back
    assert sum(a.get_linestyle() == "--" for a in arrows(ax)) == fed_back
    assert_stays_inside(ax)


def test_architecture_types_rows():
    heights = {}
    for per_row in (5, 3):
        fig, ax = plt.subplots()
        draw_architecture_types(ax, per_row=per_row)
        heights[per_row] = np.ptp(ax.get_ylim())
        # 5 per row: every panel title on one line of text; 3 per row: two lines
        title_rows = {t.get_position()[1] for t in ax.texts if t.get_fontweight() == "bold"}
        assert len(title_rows) == (1 if per_row == 5 else 2)
        plt.close(fig)
    assert heights[3] > heights[5]


@pytest.mark.parametrize("per_row, error", [(0, ValueError), (6, ValueError), (2.0, TypeError)])
def test_architecture_types_rejects_bad_per_row(ax, per_row, error):
    with pytest.raises(error, match="per_row must be"):
        draw_architecture_types(ax, per_row=per_row)


# ----------------------------------------------------------------------- bidirectional


@pytest.mark.parametrize("steps", [1, 4])
def test_bidirectional(ax, steps):
    assert draw_bidirectional(ax, steps) is ax
    assert len(boxes(ax, "input")) == steps
    assert len(boxes(ax, "hidden")) == 2 * steps
    assert len(boxes(ax, "output")) == steps
    # 4 arrows per step (x -> both states, both states -> y) and 2 (T - 1) recurrent ones
    assert len(arrows(ax)) == 4 * steps + 2 * (steps - 1)
    labels = texts(ax)
    assert r"$\overrightarrow{h}_{1}$" in labels and r"$\overleftarrow{h}_{1}$" in labels
    assert any("[" in s for s in labels)  # the concatenation rule
    assert_stays_inside(ax)


def test_bidirectional_backward_arrows_point_right_to_left(ax):
    draw_bidirectional(ax, 3)
    y_bwd = [b.get_y() + b.get_height() / 2 for b in boxes(ax, "hidden")]
    top_row = max(y_bwd)
    horizontal = []
    for a in arrows(ax):
        (x0, y0), (x1, y1) = a._posA_posB
        if np.isclose(y0, y1):
            horizontal.append((np.isclose(y0, top_row), x1 - x0))
    assert len(horizontal) == 4
    for is_backward, dx in horizontal:
        assert (dx < 0) == is_backward


def test_bidirectional_sum_and_bad_merge(ax):
    draw_bidirectional(ax, 2, merge="sum")
    assert any("+" in s for s in texts(ax))
    with pytest.raises(ValueError, match="merge must be one of"):
        draw_bidirectional(ax, 2, merge="mean")


# --------------------------------------------------------------------- encoder-decoder


def test_encoder_decoder_default_labels(ax):
    assert draw_encoder_decoder(ax, 3, 4) is ax
    assert len(boxes(ax, "input")) == 3 + 4  # source tokens, then <bos> y_1 y_2 y_3
    assert len(boxes(ax, "hidden")) == 3 + 4
    assert len(boxes(ax, "output")) == 4
    labels = texts(ax)
    for name in ("$x_{1}$", "$x_{3}$", "<bos>", "$y_{3}$", "<eos>", "encoder", "decoder"):
        assert name in labels
    assert labels.count("context") == 1
    # S inputs + S - 1 encoder links + L inputs + L links into the decoder + L outputs
    # + L - 1 dashed feedback arrows
    assert len(arrows(ax)) == 3 + 2 + 4 + 4 + 4 + 3
    dashed = [a for a in arrows(ax) if a.get_linestyle() not in ("-", "solid")]
    assert len(dashed) == 3
    assert_stays_inside(ax)


def test_encoder_decoder_custom_labels(ax):
    words = ["three", "hundred", "fourteen", "<eos>"]
    draw_encoder_decoder(ax, 3, 4, src_labels=["3", "1", "4"], tgt_labels=words)
    labels = texts(ax)
    for w in ["3", "1", "4", *words]:
        assert w in labels
    # the decoder reads <bos> and the targets shifted by one
    assert labels.count("hundred") == 2 and labels.count("<eos>") == 1


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"src_steps": 0}, ValueError, "src_steps must be in"),
        ({"tgt_steps": 12}, ValueError, "tgt_steps must be in"),
        ({"src_steps": 2, "src_labels": ["a"]}, ValueError, "src_labels must hold 2 labels"),
        ({"tgt_steps": 2, "tgt_labels": "ab"}, TypeError, "tgt_labels must be a sequence of str"),
        ({"src_steps": 1, "src_labels": [1]}, TypeError, "src_labels must be a sequence of str"),
    ],
)
def test_encoder_decoder_rejects_bad_arguments(ax, kwargs, error, match):
    with pytest.raises(error, match=match):
        draw_encoder_decoder(ax, **kwargs)
