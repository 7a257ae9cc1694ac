import numpy as np
import pytest

from course_pkg import gru, lstm, rnn
from course_pkg._fused import lstm as fused_lstm
from course_pkg.cells import Cell, as_cell
from course_pkg.stack import RecurrentStack


def test_param_shapes_and_lstm_forget_bias():
    rng = np.random.default_rng(0)
    assert Cell("rnn").param_shapes(3, 4) == {"U": (3, 4), "W": (4, 4), "b": (4,)}
    assert Cell("gru").param_shapes(3, 4) == {
        "Wx": (3, 12),
        "Wh": (4, 12),
        "bx": (12,),
        "bh": (12,),
    }
    p = Cell("lstm").init_params(3, 4, rng)
    np.testing.assert_array_equal(p["b"][4:8], 1.0)  # forget gate, order i, f, g, o
    assert np.all(np.abs(p["Wx"]) <= 0.5)  # uniform on [-1/sqrt(H), 1/sqrt(H)]
    assert Cell("rnn").init_params(3, 4, rng, np.float32)["W"].dtype == np.float32


def test_final_state_reads_each_sequence_last_real_step():
    rng = np.random.default_rng(1)
    cell = Cell("lstm")
    params = cell.init_params(2, 3, rng)
    x = rng.standard_normal((2, 4, 2))
    h, cache = cell.forward(x, params, cell.zero_state(2, 3))
    h_last, c_last = cell.final_state(h, cache, np.array([4, 2]))
    np.testing.assert_array_equal(h_last, [h[0, 3], h[1, 1]])
    np.testing.assert_array_equal(c_last, [cache.c[0, 3], cache.c[1, 1]])


def test_stack_final_states_continue_the_sequence():
    rng = np.random.default_rng(2)
    stack = RecurrentStack("gru", 2, 3, num_layers=3)
    params = stack.init_params(rng)
    x = rng.standard_normal((2, 6, 2))
    full, _ = stack.forward(x, params)
    first, cache = stack.forward(x[:, :4], params)
    second, _ = stack.forward(x[:, 4:], params, stack.final_states(cache))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-14)


def test_cells_and_stacks_reject_bad_configuration():
    with pytest.raises(
        ValueError, match=r"cell kind must be one of \['gru', 'lstm', 'rnn'\], got 'elman'"
    ):
        Cell("elman")
    with pytest.raises(ValueError, match="reset_after applies to the GRU only"):
        Cell("lstm", reset_after=True)
    with pytest.raises(TypeError, match="reset_after must be a bool, got int"):
        Cell("gru", reset_after=1)
    with pytest.raises(TypeError, match="forward must be callable, got str"):
        Cell("rnn", forward="rnn_forward")
    with pytest.raises(TypeError, match="cell must be 'rnn', 'lstm', 'gru' or a Cell, got int"):
        as_cell(3)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*got int"):
        Cell("rnn").init_params(2, 3, 0)
    with pytest.raises(ValueError, match="H must be >= 1, got 0"):
        Cell("rnn").init_params(2, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_layers must be >= 1, got 0"):
        RecurrentStack("rnn", 2, 3, num_layers=0)
    stack = RecurrentStack("rnn", 2, 3, num_layers=2)
    params = stack.init_params(np.random.default_rng(0))
    x = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="states0 must hold 2 states, got 1"):
        stack.forward(x, params, [(np.zeros((1, 3)),)])
    with pytest.raises(ValueError, match=r"params has no \['rnn1.U', 'rnn1.W', 'rnn1.b'\]"):
        stack.forward(x, {k: v for k, v in params.items() if not k.startswith("rnn1")})
    bi = RecurrentStack("rnn", 2, 3, bidirectional=True)
    with pytest.raises(ValueError, match="a bidirectional stack always starts from zero states"):
        bi.forward(x, bi.init_params(np.random.default_rng(0)), [(np.zeros((1, 3)),)])


def test_stack_runs_given_bidirectional_functions():
    from course_pkg.bidirectional import bidirectional_backward, bidirectional_forward

    calls = []

    def fwd(*args):
        calls.append("forward")
        return bidirectional_forward(*args)

    def bwd(*args):
        calls.append("backward")
        return bidirectional_backward(*args)

    rng = np.random.default_rng(3)
    ours = RecurrentStack("gru", 2, 3, bidirectional=True, bidirectional_functions=(fwd, bwd))
    ref = RecurrentStack("gru", 2, 3, bidirectional=True)
    assert ours.bidirectional_functions == (fwd, bwd)
    assert ref.bidirectional_functions == (bidirectional_forward, bidirectional_backward)
    params = ref.init_params(rng)
    x = rng.standard_normal((2, 4, 2))
    lengths = np.array([4, 2])
    h, cache = ours.forward(x, params, lengths=lengths)
    h_ref, cache_ref = ref.forward(x, params, lengths=lengths)
    np.testing.assert_array_equal(h, h_ref)
    dx, _, grads = ours.backward(np.ones_like(h), cache)
    dx_ref, _, grads_ref = ref.backward(np.ones_like(h), cache_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    assert calls == ["forward", "backward"] and grads.keys() == grads_ref.keys()
    with pytest.raises(ValueError, match="bidirectional_functions needs bidirectional=True"):
        RecurrentStack("gru", 2, 3, bidirectional_functions=(fwd, bwd))
    with pytest.raises(TypeError, match="must be a pair"):
        RecurrentStack("gru", 2, 3, bidirectional=True, bidirectional_functions=(fwd,))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_with_the_readable_functions_equals_the_default_fused_one(kind):
    # one route for every cell: the package's readable functions, handed to a Cell like a
    # student's, give what the default (fused) cell gives, final states and gradients included
    readable = {
        "rnn": (rnn.rnn_forward, rnn.rnn_backward),
        "lstm": (lstm.lstm_forward, lstm.lstm_backward_with_cell_state),
        "gru": (gru.gru_forward, gru.gru_backward),
    }[kind]
    rng = np.random.default_rng(4)
    fast, ours = Cell(kind), Cell(kind, *readable)
    assert fast.state_names == ours.state_names == (("h", "c") if kind == "lstm" else ("h",))
    params = fast.init_params(3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    state0 = tuple(rng.standard_normal((2, 4)) for _ in fast.state_names)
    lengths = np.array([5, 3])
    results = []
    for cell in (fast, ours):
        h, cache = cell.forward(x, params, state0)
        final = cell.final_state(h, cache, lengths)
        dfinal = tuple(np.ones_like(s) for s in final)
        dx, dstate0, grads = cell.backward(np.full_like(h, 0.5), cache, dfinal, lengths)
        results.append((h, *final, dx, *dstate0, *(grads[k] for k in cell.param_names)))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_lstm_cell_declares_its_cell_state():
    rng = np.random.default_rng(5)
    with pytest.raises(TypeError, match="takes no c0.*pass cell_state=False"):
        Cell("lstm", forward=lambda x, h0, Wx, Wh, b: None, backward=lstm.lstm_backward)
    plain = Cell("lstm", forward=lstm.lstm_forward, backward=lstm.lstm_backward, cell_state=False)
    assert plain.state_names == ("h",) and plain.n_state == 1
    assert repr(plain) == "Cell('lstm', cell_state=False, custom functions)"
    params = plain.init_params(2, 3, rng)
    x = rng.standard_normal((2, 4, 2))
    h, cache = plain.forward(x, params, plain.zero_state(2, 3))
    (h_last,) = plain.final_state(h, cache)
    dx, (dh0,), grads = plain.backward(np.ones_like(h), cache, (np.ones_like(h_last),))
    # the same as the default cell started from c = 0, with no gradient on the cell state
    full = Cell("lstm")
    h_full, cache_full = full.forward(x, params, full.zero_state(2, 3))
    dx_full, (dh0_full, _), grads_full = full.backward(
        np.ones_like(h), cache_full, (np.ones_like(h_last), None)
    )
    np.testing.assert_allclose(h, h_full, rtol=0, atol=1e-14)
    np.testing.assert_allclose(dx, dx_full, rtol=0, atol=1e-13)
    np.testing.assert_allclose(dh0, dh0_full, rtol=0, atol=1e-13)
    for k in plain.param_names:
        np.testing.assert_allclose(grads[k], grads_full[k], rtol=0, atol=1e-13)
    # the default LSTM cell runs the fused kernels
    assert full.forward_fn is fused_lstm.lstm_forward
    assert full.backward_fn is fused_lstm.lstm_backward_with_cell_state
    with pytest.raises(TypeError, match="cell_state must be a bool, got str"):
        Cell("lstm", cell_state="no")


def test_cell_names_its_recurrent_weight_and_checks_params():
    rng = np.random.default_rng(6)
    for kind, name in (("rnn", "W"), ("lstm", "Wh"), ("gru", "Wh")):
        cell = Cell(kind)
        params = cell.init_params(2, 3, rng)
        assert cell.recurrent_weight == name and cell.hidden_size(params) == 3
        checked = cell.check_params({**params, "V": np.zeros(1)})
        assert list(checked) == list(cell.param_names)  # other keys left out
        assert all(checked[k] is params[k] for k in cell.param_names)
        assert cell.select({"m." + k: v for k, v in params.items()}, "m.") == params
    gru_cell = Cell("gru")
    params = gru_cell.init_params(2, 3, rng)
    with pytest.raises(TypeError, match="params must be a dict of arrays, got list"):
        gru_cell.check_params([1])
    with pytest.raises(ValueError, match=r"must hold the gru parameters.*missing \['bh'\]"):
        gru_cell.check_params({k: v for k, v in params.items() if k != "bh"})
    with pytest.raises(ValueError, match=r"bx must have shape \(9,\), got \(6,\)"):
        gru_cell.check_params({**params, "bx": params["bx"][:6]})
    with pytest.raises(TypeError, match="share one float dtype"):
        gru_cell.check_params({**params, "bh": params["bh"].astype(np.float32)})


def test_stack_keys_parameters_by_cell_kind_and_reads_a_layer_back():
    from course_pkg.models import SequenceClassifier

    model = SequenceClassifier(4, rng=np.random.default_rng(6), input_size=2, cell="lstm")
    assert [k for k in model.params if k not in ("V", "c")] == ["lstm0.Wx", "lstm0.Wh", "lstm0.b"]
    p = model.stack.layer_params(model.params)
    assert list(p) == ["Wx", "Wh", "b"] and p["Wh"] is model.params["lstm0.Wh"]
    with pytest.raises(ValueError, match=r"layer must be in \[0, 0\], got 1"):
        model.stack.layer_params(model.params, 1)
    with pytest.raises(ValueError, match=r"params has no \['lstm0.Wx'"):
        model.stack.layer_params({}, 0)
    with pytest.raises(
        ValueError, match='direction must be None for this stack, got "fwd"'.replace('"', "'")
    ):
        model.stack.layer_params(model.params, 0, "fwd")
    bi = RecurrentStack("gru", 2, 3, num_layers=2, bidirectional=True, prefix="enc")
    params = bi.init_params(np.random.default_rng(7))
    assert bi.layer_params(params, 1, "bwd")["Wx"] is params["enc1.bwd.Wx"]
    with pytest.raises(
        ValueError, match='direction must be "fwd" or "bwd" for this stack, got None'
    ):
        bi.layer_params(params, 1)
    with pytest.raises(TypeError, match="prefix must be a str, got int"):
        RecurrentStack("gru", 2, 3, prefix=1)
