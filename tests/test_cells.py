import numpy as np
import pytest

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
    with pytest.raises(ValueError, match="H must be a positive integer, got 0"):
        Cell("rnn").init_params(2, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        RecurrentStack("rnn", 2, 3, num_layers=0)
    stack = RecurrentStack("rnn", 2, 3, num_layers=2)
    params = stack.init_params(np.random.default_rng(0))
    x = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="states0 must hold 2 states, got 1"):
        stack.forward(x, params, [(np.zeros((1, 3)),)])
    with pytest.raises(ValueError, match=r"params is missing \['rnn1.U', 'rnn1.W', 'rnn1.b'\]"):
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
