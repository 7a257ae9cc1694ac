import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_pkg.bidirectional import bidirectional_backward, bidirectional_forward, reversal_order
from course_pkg.cells import Cell
from course_pkg.gradcheck import check_gradients

from gradutil import randn

CELLS = ["rnn", "lstm", "gru", "gru_after"]


def make_cell(name):
    return Cell("gru", reset_after=True) if name == "gru_after" else Cell(name)


def make_params(cell, D, H, rng):
    # larger than the default init so that gradients are far from zero everywhere
    return {k: 0.6 * rng.standard_normal(v.shape) for k, v in cell.init_params(D, H, rng).items()}


def test_reversal_order_is_its_own_inverse():
    order = reversal_order(np.array([3, 1, 5]), 5)
    np.testing.assert_array_equal(order, [[2, 1, 0, 3, 4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]])
    rows = np.arange(3)[:, None]
    np.testing.assert_array_equal(order[rows, order], np.tile(np.arange(5), (3, 1)))


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize(
    "N,T,D,H,lengths", [(3, 4, 2, 3, [4, 2, 1]), (1, 1, 3, 2, None), (2, 3, 3, 3, [3, 3])]
)
def test_bidirectional_gradients(name, merge, N, T, D, H, lengths):
    rng = np.random.default_rng(0)
    cell = make_cell(name)
    lengths = None if lengths is None else np.array(lengths)
    x = randn(rng, N, T, D)
    params_fwd, params_bwd = make_params(cell, D, H, rng), make_params(cell, D, H, rng)
    h, cache = bidirectional_forward(x, params_fwd, params_bwd, cell, lengths, merge)
    dh = randn(rng, *h.shape)

    def forward(x, params_fwd, params_bwd):
        return bidirectional_forward(x, params_fwd, params_bwd, cell, lengths, merge)[0]

    args = dict(x=x, params_fwd=params_fwd, params_bwd=params_bwd)
    grads = bidirectional_backward(dh, cache)  # (dx, grads_fwd, grads_bwd): one per argument
    check_gradients(forward, args, grads, dh)


def test_padded_steps_output_zero_and_ignore_padding_values():
    rng = np.random.default_rng(1)
    cell = Cell("lstm")
    pf, pb = make_params(cell, 2, 3, rng), make_params(cell, 2, 3, rng)
    x = randn(rng, 2, 5, 2)
    lengths = np.array([5, 3])
    h, _ = bidirectional_forward(x, pf, pb, cell, lengths)
    np.testing.assert_array_equal(h[1, 3:], 0.0)
    x2 = x.copy()
    x2[1, 3:] = 100.0  # padding content must not matter
    h2, _ = bidirectional_forward(x2, pf, pb, cell, lengths)
    np.testing.assert_array_equal(h, h2)
    # a short sequence gives the same states as the same sequence run alone
    alone, _ = bidirectional_forward(x[1:, :3], pf, pb, cell)
    np.testing.assert_allclose(h[1, :3], alone[0], atol=1e-15)


def torch_net(name, D, H):
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[name]
    return kind(D, H, batch_first=True, bidirectional=True).double()


def copy_into_torch(net, name, pf, pb):
    with torch.no_grad():
        for suffix, p in (("_l0", pf), ("_l0_reverse", pb)):
            w_in = p["U"] if name == "rnn" else p["Wx"]
            w_h = p["W"] if name == "rnn" else p["Wh"]
            getattr(net, "weight_ih" + suffix).copy_(torch.from_numpy(w_in.T))
            getattr(net, "weight_hh" + suffix).copy_(torch.from_numpy(w_h.T))
            if name == "gru":
                getattr(net, "bias_ih" + suffix).copy_(torch.from_numpy(p["bx"]))
                getattr(net, "bias_hh" + suffix).copy_(torch.from_numpy(p["bh"]))
            else:
                getattr(net, "bias_ih" + suffix).copy_(torch.from_numpy(p["b"]))
                getattr(net, "bias_hh" + suffix).zero_()


def torch_grads(net, name, suffix):
    g = {
        k: getattr(net, k + suffix).grad.numpy()
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }
    w_in, w_h = ("U", "W") if name == "rnn" else ("Wx", "Wh")
    out = {w_in: g["weight_ih"].T, w_h: g["weight_hh"].T}
    if name == "gru":
        out.update(bx=g["bias_ih"], bh=g["bias_hh"])
    else:
        out["b"] = g["bias_ih"]
        np.testing.assert_allclose(g["bias_hh"], g["bias_ih"], atol=1e-12)
    return out


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("lengths", [[6, 4, 1, 5], None])
def test_bidirectional_matches_torch_packed(name, lengths):
    rng = np.random.default_rng(2)
    N, T, D, H = 4, 6, 3, 5
    cell = Cell("gru", reset_after=True) if name == "gru" else Cell(name)
    pf, pb = make_params(cell, D, H, rng), make_params(cell, D, H, rng)
    x = randn(rng, N, T, D)
    net = torch_net(name, D, H)
    copy_into_torch(net, name, pf, pb)
    x_t = torch.from_numpy(x).requires_grad_()
    if lengths is None:
        out, _ = net(x_t)
    else:
        packed = pack_padded_sequence(
            x_t, torch.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        out, _ = pad_packed_sequence(net(packed)[0], batch_first=True, total_length=T)
    dh = randn(rng, N, T, 2 * H)
    out.backward(torch.from_numpy(dh))

    lens = None if lengths is None else np.array(lengths)
    h, cache = bidirectional_forward(x, pf, pb, cell, lens)
    dx, gf, gb = bidirectional_backward(dh, cache)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=1e-10)
    for ours, suffix in ((gf, "_l0"), (gb, "_l0_reverse")):
        for k, v in torch_grads(net, name, suffix).items():
            np.testing.assert_allclose(ours[k], v, rtol=0, atol=1e-10, err_msg=k + suffix)


def test_sum_merge_is_sum_of_concat_halves():
    rng = np.random.default_rng(3)
    cell = Cell("gru")
    pf, pb = make_params(cell, 2, 3, rng), make_params(cell, 2, 3, rng)
    x = randn(rng, 2, 4, 2)
    cat, _ = bidirectional_forward(x, pf, pb, cell, merge="concat")
    summed, _ = bidirectional_forward(x, pf, pb, cell, merge="sum")
    np.testing.assert_allclose(summed, cat[..., :3] + cat[..., 3:], atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bidirectional_keeps_dtype(dtype):
    rng = np.random.default_rng(4)
    cell = Cell("rnn")
    pf = cell.init_params(2, 3, rng, dtype)
    pb = cell.init_params(2, 3, rng, dtype)
    h, cache = bidirectional_forward(
        randn(rng, 2, 4, 2, dtype=dtype), pf, pb, cell, np.array([4, 2])
    )
    dx, gf, gb = bidirectional_backward(np.ones_like(h), cache)
    assert h.dtype == dtype and dx.dtype == dtype
    assert all(g.dtype == dtype for g in [*gf.values(), *gb.values()])


def test_bidirectional_rejects_bad_input():
    rng = np.random.default_rng(5)
    cell = Cell("rnn")
    pf, pb = cell.init_params(2, 3, rng), cell.init_params(2, 3, rng)
    x = randn(rng, 2, 4, 2)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=4\], got values in \[0, 4\]"):
        bidirectional_forward(x, pf, pb, cell, np.array([4, 0]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\), got \(3,\)"):
        bidirectional_forward(x, pf, pb, cell, np.array([4, 1, 2]))
    with pytest.raises(TypeError, match="lengths must have an integer dtype, got float64"):
        bidirectional_forward(x, pf, pb, cell, np.array([4.0, 1.0]))
    with pytest.raises(ValueError, match=r"merge must be one of \('concat', 'sum'\), got 'mean'"):
        bidirectional_forward(x, pf, pb, cell, merge="mean")
    with pytest.raises(ValueError, match=r"params_bwd must be a dict with keys \['U', 'W', 'b'\]"):
        bidirectional_forward(x, pf, {"U": pb["U"]}, cell)
    with pytest.raises(ValueError, match="cell kind must be one of"):
        bidirectional_forward(x, pf, pb, "transformer")
    h, cache = bidirectional_forward(x, pf, pb, cell)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 4, 6\), got \(2, 4, 3\)"):
        bidirectional_backward(h[..., :3], cache)
