import math
import warnings

import numpy as np
import pytest
import torch

from course_pkg.attention import (
    AttentionCache,
    additive_attention_backward,
    additive_attention_forward,
    init_params,
    param_shapes,
    project_keys,
)
from course_pkg.gradcheck import check_gradients

from gradutil import randn

# (N, S, Q, K, A): general, N=1 with S=1, one long source, S=1 in a batch, Q = K = A
SHAPES = [(2, 4, 3, 5, 6), (1, 1, 2, 3, 4), (1, 5, 4, 2, 3), (3, 1, 5, 4, 2), (3, 3, 2, 2, 2)]


def make_args(rng, N, S, Q, K, A, dtype=np.float64):
    return dict(
        query=randn(rng, N, Q, dtype=dtype),
        keys=randn(rng, N, S, K, dtype=dtype),
        Wq=randn(rng, Q, A, scale=0.7, dtype=dtype),
        Wk=randn(rng, K, A, scale=0.7, dtype=dtype),
        v=randn(rng, A, scale=1.5, dtype=dtype),
    )


def padding_mask(lengths, S):
    """True at the first ``lengths[n]`` positions of row n: a batch of padded sources."""
    return np.arange(S)[None, :] < np.asarray(lengths)[:, None]


def random_mask(rng, N, S):
    """Any pattern of real positions with at least one per row (not only a prefix)."""
    mask = rng.random((N, S)) < 0.5
    mask[np.arange(N), rng.integers(0, S, size=N)] = True
    return mask


MASKS = {
    "none": lambda rng, N, S: None,
    "padding": lambda rng, N, S: padding_mask(rng.integers(1, S + 1, size=N), S),
    "pattern": random_mask,
}


# ------------------------------------------------------------------ gradient checks


@pytest.mark.parametrize("N,S,Q,K,A", SHAPES)
@pytest.mark.parametrize("mask_kind", list(MASKS))
@pytest.mark.parametrize("with_dweights", [False, True], ids=["dcontext", "dcontext+dweights"])
def test_gradients(N, S, Q, K, A, mask_kind, with_dweights):
    rng = np.random.default_rng(0)
    args = make_args(rng, N, S, Q, K, A)
    mask = MASKS[mask_kind](rng, N, S)
    _, _, cache = additive_attention_forward(**args, mask=mask)
    dcontext = randn(rng, N, K)
    dweights = randn(rng, N, S) if with_dweights else None
    grads = additive_attention_backward(dcontext, cache, dweights)

    def forward(**a):
        context, weights, _ = additive_attention_forward(**a, mask=mask)
        return (context, weights) if with_dweights else (context,)

    upstream = [dcontext, dweights] if with_dweights else [dcontext]
    check_gradients(
        forward,
        args,
        grads,
        upstream,
        label=f"additive_attention_backward (N={N}, S={S}, Q={Q}, K={K}, A={A}, {mask_kind})",
    )


@pytest.mark.parametrize("N,S,Q,K,A", SHAPES[:3])
def test_gradients_with_projected_keys(N, S, Q, K, A):
    # keys_proj only saves work: the backward still returns the projection's share of dkeys, dWk
    rng = np.random.default_rng(1)
    args = make_args(rng, N, S, Q, K, A)
    mask = random_mask(rng, N, S)
    dcontext, dweights = randn(rng, N, K), randn(rng, N, S)

    def forward(**a):
        keys_proj = project_keys(a["keys"], a["Wk"])
        context, weights, _ = additive_attention_forward(**a, mask=mask, keys_proj=keys_proj)
        return context, weights

    _, _, cache = additive_attention_forward(
        **args, mask=mask, keys_proj=project_keys(args["keys"], args["Wk"])
    )
    grads = additive_attention_backward(dcontext, cache, dweights)
    check_gradients(forward, args, grads, [dcontext, dweights], label="attention with keys_proj")


def test_decoder_loop_sums_gradients_over_steps():
    # a decoder attends T times to the same keys, projected once; the gradients of the shared
    # keys and weights are the sums of every step's
    rng = np.random.default_rng(2)
    N, T, S, Q, K, A = 2, 3, 4, 3, 5, 2
    args = make_args(rng, N, S, Q, K, A)
    args["query"] = randn(rng, N, T, Q)  # one decoder state per step
    mask = padding_mask([4, 2], S)

    def decode(query, keys, Wq, Wk, v):
        keys_proj = project_keys(keys, Wk)
        steps = [
            additive_attention_forward(query[:, t], keys, Wq, Wk, v, mask, keys_proj=keys_proj)
            for t in range(T)
        ]
        return np.stack([context for context, _, _ in steps], axis=1), [c for _, _, c in steps]

    contexts, caches = decode(**args)
    dcontexts = randn(rng, *contexts.shape)
    dquery = np.zeros_like(args["query"])
    dkeys, dWq, dWk, dv = (np.zeros_like(args[name]) for name in ("keys", "Wq", "Wk", "v"))
    for t, cache in enumerate(caches):
        dquery[:, t], dkeys_t, dWq_t, dWk_t, dv_t = additive_attention_backward(
            dcontexts[:, t], cache
        )
        dkeys, dWq, dWk, dv = dkeys + dkeys_t, dWq + dWq_t, dWk + dWk_t, dv + dv_t
    check_gradients(
        lambda **a: decode(**a)[0],
        args,
        dict(query=dquery, keys=dkeys, Wq=dWq, Wk=dWk, v=dv),
        dcontexts,
        label="decoder loop over additive attention",
    )


# ------------------------------------------------------------------ independent references


def torch_attention(args, mask, dcontext, dweights):
    """The same layer in PyTorch, with copied weights: context, weights and every gradient."""
    K = args["keys"].shape[2]
    Q, A = args["Wq"].shape
    W_a = torch.nn.Linear(Q, A, bias=False).double()  # Bahdanau's W_a s_{i-1}
    U_a = torch.nn.Linear(K, A, bias=False).double()  # ... + U_a h_j
    v_a = torch.nn.Linear(A, 1, bias=False).double()  # v_a^T tanh(...)
    with torch.no_grad():
        W_a.weight.copy_(torch.from_numpy(args["Wq"].T.copy()))
        U_a.weight.copy_(torch.from_numpy(args["Wk"].T.copy()))
        v_a.weight.copy_(torch.from_numpy(args["v"][None].copy()))
    query = torch.tensor(args["query"], requires_grad=True)
    keys = torch.tensor(args["keys"], requires_grad=True)
    scores = v_a(torch.tanh(W_a(query)[:, None, :] + U_a(keys)))[:, :, 0]  # (N, S)
    if mask is not None:
        scores = scores.masked_fill(~torch.from_numpy(mask), float("-inf"))
    weights = torch.softmax(scores, dim=1)
    context = torch.bmm(weights[:, None, :], keys)[:, 0]  # (N, K)
    upstream_context, upstream_weights = torch.from_numpy(dcontext), torch.from_numpy(dweights)
    loss = (context * upstream_context).sum() + (weights * upstream_weights).sum()
    loss.backward()
    outputs = (context.detach().numpy(), weights.detach().numpy())
    grads = (
        query.grad.numpy(),
        keys.grad.numpy(),
        W_a.weight.grad.numpy().T,
        U_a.weight.grad.numpy().T,
        v_a.weight.grad.numpy()[0],
    )
    return outputs, grads


@pytest.mark.parametrize("N,S,Q,K,A", [(3, 6, 4, 5, 7), (1, 1, 2, 3, 4), (4, 3, 2, 2, 2)])
@pytest.mark.parametrize("mask_kind", list(MASKS))
def test_matches_torch(N, S, Q, K, A, mask_kind):
    rng = np.random.default_rng(3)
    args = make_args(rng, N, S, Q, K, A)
    mask = MASKS[mask_kind](rng, N, S)
    dcontext, dweights = randn(rng, N, K), randn(rng, N, S)
    (context_t, weights_t), grads_t = torch_attention(args, mask, dcontext, dweights)

    context, weights, cache = additive_attention_forward(**args, mask=mask)
    grads = additive_attention_backward(dcontext, cache, dweights)
    np.testing.assert_allclose(context, context_t, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weights, weights_t, rtol=0, atol=1e-10)
    for name, ours, theirs in zip(
        ("dquery", "dkeys", "dWq", "dWk", "dv"), grads, grads_t, strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10, err_msg=name)


def test_hand_computed_case():
    # Q = K = A = 1, S = 2: e_s = v tanh(q wq + k_s wk), alpha = softmax(e), c = sum alpha_s k_s
    q, k1, k2, wq, wk, v = 0.3, 0.5, -1.0, 2.0, 1.5, 0.7
    h1, h2 = math.tanh(q * wq + k1 * wk), math.tanh(q * wq + k2 * wk)
    a1 = 1.0 / (1.0 + math.exp(v * h2 - v * h1))
    a2 = 1.0 - a1
    context, weights, cache = additive_attention_forward(
        np.array([[q]]), np.array([[[k1], [k2]]]), np.array([[wq]]), np.array([[wk]]), np.array([v])
    )
    assert weights[0] == pytest.approx([a1, a2], abs=1e-15)
    assert context[0, 0] == pytest.approx(a1 * k1 + a2 * k2, abs=1e-15)
    # with dL/dc = 1: dL/dalpha_s = k_s, the softmax gives dL/de_1 = -dL/de_2 = a1 a2 (k1 - k2),
    # and dL/dv = sum_s h_s dL/de_s
    dv = additive_attention_backward(np.ones((1, 1)), cache)[4]
    assert dv[0] == pytest.approx(a1 * a2 * (k1 - k2) * (h1 - h2), abs=1e-15)


def test_equal_scores_give_equal_weights():
    # Wk = 0: every key gets the same score, so two keys get 1/2 each and the context is their mean
    rng = np.random.default_rng(4)
    keys = np.array([[[1.0, 2.0, 3.0], [3.0, 0.0, -1.0]]])
    context, weights, cache = additive_attention_forward(
        randn(rng, 1, 2), keys, randn(rng, 2, 4), np.zeros((3, 4)), randn(rng, 4)
    )
    np.testing.assert_array_equal(weights, [[0.5, 0.5]])
    np.testing.assert_allclose(context, [[2.0, 1.0, 1.0]], rtol=0, atol=1e-15)
    # the values' share of dkeys is alpha_s dc; the scores' share is alpha_s (g_s - mean g) W_k^T
    # with W_k = 0, so it vanishes
    dkeys = additive_attention_backward(np.array([[1.0, -2.0, 4.0]]), cache)[1]
    np.testing.assert_allclose(dkeys, [[[0.5, -1.0, 2.0], [0.5, -1.0, 2.0]]], rtol=0, atol=1e-15)


# ------------------------------------------------------------------ masking


def test_padded_positions_get_zero_weight_and_zero_gradient():
    rng = np.random.default_rng(5)
    N, S, Q, K, A = 3, 5, 3, 4, 2
    args = make_args(rng, N, S, Q, K, A)
    mask = padding_mask([5, 2, 3], S)
    args["keys"][~mask] = 50.0  # padding that would dominate the scores if it were counted
    _, weights, cache = additive_attention_forward(**args, mask=mask)
    np.testing.assert_array_equal(weights[~mask], 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert np.all(weights[mask] > 0)
    dkeys = additive_attention_backward(randn(rng, N, K), cache, randn(rng, N, S))[1]
    np.testing.assert_array_equal(dkeys[~mask], 0.0)
    assert np.all(dkeys[mask] != 0)


def test_padding_values_do_not_matter():
    rng = np.random.default_rng(6)
    args = make_args(rng, 2, 4, 3, 3, 5)
    mask = padding_mask([2, 4], 4)
    dcontext, dweights = randn(rng, 2, 3), randn(rng, 2, 4)
    other = {**args, "keys": np.where(mask[:, :, None], args["keys"], -7.0)}
    first = additive_attention_forward(**args, mask=mask)
    second = additive_attention_forward(**other, mask=mask)
    for a, b in zip(first[:2], second[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    grads_first = additive_attention_backward(dcontext, first[2], dweights)
    grads_second = additive_attention_backward(dcontext, second[2], dweights)
    for a, b in zip(grads_first, grads_second, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_sequence_alone_equals_sequence_padded_in_a_batch():
    rng = np.random.default_rng(7)
    lengths, S, Q, K, A = [4, 2, 1], 4, 3, 5, 2
    args = make_args(rng, len(lengths), S, Q, K, A)
    mask = padding_mask(lengths, S)
    dcontext = randn(rng, len(lengths), K)
    context, weights, cache = additive_attention_forward(**args, mask=mask)
    dquery, dkeys, dWq, dWk, dv = additive_attention_backward(dcontext, cache)
    param_grads = [np.zeros_like(dWq), np.zeros_like(dWk), np.zeros_like(dv)]
    for n, L in enumerate(lengths):
        alone = dict(args, query=args["query"][n : n + 1], keys=args["keys"][n : n + 1, :L])
        context_n, weights_n, cache_n = additive_attention_forward(**alone)
        np.testing.assert_allclose(context[n], context_n[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(weights[n, :L], weights_n[0], rtol=0, atol=1e-15)
        np.testing.assert_array_equal(weights[n, L:], 0.0)
        dquery_n, dkeys_n, *grads_n = additive_attention_backward(dcontext[n : n + 1], cache_n)
        np.testing.assert_allclose(dquery[n], dquery_n[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(dkeys[n, :L], dkeys_n[0], rtol=0, atol=1e-15)
        param_grads = [total + g for total, g in zip(param_grads, grads_n, strict=True)]
    # the batch's parameter gradients are the sums of each sequence's
    for name, ours, summed in zip(("dWq", "dWk", "dv"), (dWq, dWk, dv), param_grads, strict=True):
        np.testing.assert_allclose(ours, summed, rtol=0, atol=1e-14, err_msg=name)


def test_bool_and_float_masks_agree():
    rng = np.random.default_rng(8)
    args = make_args(rng, 3, 4, 2, 3, 4)
    mask = random_mask(rng, 3, 4)
    for a, b in zip(
        additive_attention_forward(**args, mask=mask)[:2],
        additive_attention_forward(**args, mask=mask.astype(np.float64))[:2],
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    everything = additive_attention_forward(**args, mask=np.ones((3, 4), dtype=bool))
    for a, b in zip(everything[:2], additive_attention_forward(**args)[:2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_row_without_real_position_raises():
    rng = np.random.default_rng(9)
    args = make_args(rng, 3, 4, 2, 3, 4)
    mask = padding_mask([2, 0, 3], 4)
    with pytest.raises(ValueError, match=r"at least one real position .* rows \[1\] have none"):
        additive_attention_forward(**args, mask=mask)


def test_bad_masks_raise():
    rng = np.random.default_rng(10)
    args = make_args(rng, 2, 3, 2, 3, 4)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(3, 2\)"):
        additive_attention_forward(**args, mask=np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError, match="mask must hold only 0"):
        additive_attention_forward(**args, mask=np.full((2, 3), 0.5))
    with pytest.raises(TypeError, match="mask must have dtype bool, float32 or float64, got int64"):
        additive_attention_forward(**args, mask=np.ones((2, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="mask must be a numpy array, got list"):
        additive_attention_forward(**args, mask=[[1, 1, 1], [1, 1, 1]])


# ------------------------------------------------------------------ numerics and dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_scores_stay_finite(dtype):
    rng = np.random.default_rng(11)
    N, S, Q, K, A = 2, 4, 3, 3, 2
    args = make_args(rng, N, S, Q, K, A, dtype=dtype)
    args["Wq"] = 100 * args["Wq"]  # saturate the tanh: hidden is +-1
    args["v"] = np.array([1e4, -1e4], dtype=dtype)  # scores of order 1e4
    mask = padding_mask([4, 3], S)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in exp would warn
        context, weights, cache = additive_attention_forward(**args, mask=mask)
        grads = additive_attention_backward(
            randn(rng, N, K, dtype=dtype), cache, randn(rng, N, S, dtype=dtype)
        )
    assert np.all(np.isfinite(context)) and np.all(np.isfinite(weights))
    assert all(np.all(np.isfinite(g)) for g in grads)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(weights[~mask], 0.0)


def test_padding_with_the_largest_score_still_gets_zero_weight():
    # Wk = 0 and one key per example: the scores are set by hand through v and the query
    keys = np.array([[[1.0], [2.0], [3.0]]])
    Wq, Wk = np.array([[1.0]]), np.array([[1.0]])
    v = np.array([1e4])
    # scores 1e4 tanh(0 + k_s): the padded third key would win by far if it were counted
    context, weights, _ = additive_attention_forward(
        np.zeros((1, 1)), keys, Wq, Wk, v, mask=np.array([[True, True, False]])
    )
    np.testing.assert_array_equal(weights[0, 2], 0.0)
    np.testing.assert_allclose(weights, [[0.0, 1.0, 0.0]], rtol=0, atol=1e-300)
    np.testing.assert_allclose(context, [[2.0]], rtol=0, atol=1e-12)


def test_float32_keeps_dtype():
    rng = np.random.default_rng(12)
    args = make_args(rng, 2, 3, 4, 5, 6, dtype=np.float32)
    mask = padding_mask([3, 2], 3)
    keys_proj = project_keys(args["keys"], args["Wk"])
    assert keys_proj.dtype == np.float32
    context, weights, cache = additive_attention_forward(**args, mask=mask, keys_proj=keys_proj)
    dcontext, dweights = randn(rng, 2, 5, dtype=np.float32), randn(rng, 2, 3, dtype=np.float32)
    grads = additive_attention_backward(dcontext, cache, dweights)
    assert context.dtype == weights.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    as64 = {k: a.astype(np.float64) for k, a in args.items()}
    context64, weights64, cache64 = additive_attention_forward(**as64, mask=mask)
    grads64 = additive_attention_backward(
        dcontext.astype(np.float64), cache64, dweights.astype(np.float64)
    )
    np.testing.assert_allclose(context, context64, rtol=0, atol=1e-5)
    np.testing.assert_allclose(weights, weights64, rtol=0, atol=1e-5)
    for g, g64 in zip(grads, grads64, strict=True):
        np.testing.assert_allclose(g, g64, rtol=0, atol=1e-4)


def test_projected_keys_give_identical_results():
    rng = np.random.default_rng(13)
    args = make_args(rng, 3, 4, 2, 5, 3)
    mask = random_mask(rng, 3, 4)
    dcontext, dweights = randn(rng, 3, 5), randn(rng, 3, 4)
    keys_proj = project_keys(args["keys"], args["Wk"])
    np.testing.assert_array_equal(keys_proj, args["keys"] @ args["Wk"])
    plain = additive_attention_forward(**args, mask=mask)
    projected = additive_attention_forward(**args, mask=mask, keys_proj=keys_proj)
    for a, b in zip(plain[:2], projected[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        additive_attention_backward(dcontext, plain[2], dweights),
        additive_attention_backward(dcontext, projected[2], dweights),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_does_not_modify_inputs():
    rng = np.random.default_rng(14)
    args = make_args(rng, 2, 4, 3, 5, 2)
    mask = padding_mask([4, 2], 4).astype(np.float64)
    keys_proj = project_keys(args["keys"], args["Wk"])
    dcontext, dweights = randn(rng, 2, 5), randn(rng, 2, 4)
    saved = {
        **{k: a.copy() for k, a in args.items()},
        "mask": mask.copy(),
        "keys_proj": keys_proj.copy(),
        "dcontext": dcontext.copy(),
        "dweights": dweights.copy(),
    }
    _, _, cache = additive_attention_forward(**args, mask=mask, keys_proj=keys_proj)
    additive_attention_backward(dcontext, cache, dweights)
    current = {**args, "mask": mask, "keys_proj": keys_proj, "dcontext": dcontext}
    for name, array in {**current, "dweights": dweights}.items():
        np.testing.assert_array_equal(array, saved[name], err_msg=name)


# ------------------------------------------------------------------ validation


def test_rejects_bad_input():
    rng = np.random.default_rng(15)
    args = make_args(rng, 2, 4, 3, 5, 6)  # N=2, S=4, Q=3, K=5, A=6
    forward = additive_attention_forward
    with pytest.raises(ValueError, match=r"Wq must have shape \(3, 6\), got \(6, 3\)"):
        forward(**{**args, "Wq": args["Wq"].T})
    with pytest.raises(ValueError, match=r"Wk must have shape \(5, 6\), got \(5, 4\)"):
        forward(**{**args, "Wk": args["Wk"][:, :4]})
    with pytest.raises(ValueError, match=r"keys must have shape \(2, 4, 5\), got \(1, 4, 5\)"):
        forward(**{**args, "keys": args["keys"][:1]})
    with pytest.raises(ValueError, match=r"keys must be 3-dimensional, got shape \(2, 5\)"):
        forward(**{**args, "keys": args["keys"][:, 0]})
    with pytest.raises(ValueError, match=r"query must be 2-dimensional, got shape \(3,\)"):
        forward(**{**args, "query": args["query"][0]})
    with pytest.raises(ValueError, match=r"v must be 1-dimensional, got shape \(6, 1\)"):
        forward(**{**args, "v": args["v"][:, None]})
    with pytest.raises(TypeError, match="query must have dtype float32 or float64, got int64"):
        forward(**{**args, "query": np.ones((2, 3), dtype=np.int64)})
    with pytest.raises(TypeError, match="share one float dtype.*v=float32"):
        forward(**{**args, "v": args["v"].astype(np.float32)})
    with pytest.raises(ValueError, match="keys contains NaN or infinite values"):
        forward(**{**args, "keys": np.full((2, 4, 5), np.inf)})
    with pytest.raises(ValueError, match=r"at least one source position, got shape \(2, 0, 5\)"):
        forward(**{**args, "keys": np.zeros((2, 0, 5))})
    with pytest.raises(ValueError, match=r"keys_proj must have shape \(2, 4, 6\), got \(2, 4, 5\)"):
        forward(**args, keys_proj=np.zeros((2, 4, 5)))
    with pytest.raises(TypeError, match="share one float dtype.*keys_proj=float32"):
        forward(**args, keys_proj=np.zeros((2, 4, 6), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Wk must have shape \(5, 6\), got \(4, 6\)"):
        project_keys(args["keys"], args["Wk"][:4])

    context, weights, cache = forward(**args)
    with pytest.raises(ValueError, match=r"dcontext must have shape \(2, 5\), got \(2, 4\)"):
        additive_attention_backward(weights, cache)
    with pytest.raises(ValueError, match=r"dweights must have shape \(2, 4\), got \(2, 5\)"):
        additive_attention_backward(context, cache, context)
    with pytest.raises(TypeError, match="dcontext must have dtype float64 like the forward pass"):
        additive_attention_backward(context.astype(np.float32), cache)
    with pytest.raises(ValueError, match="dweights contains NaN"):
        additive_attention_backward(context, cache, np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="cache must be the AttentionCache"):
        additive_attention_backward(context, tuple(cache))


def test_cache_is_named():
    rng = np.random.default_rng(16)
    _, weights, cache = additive_attention_forward(**make_args(rng, 2, 3, 2, 3, 4))
    assert isinstance(cache, AttentionCache)
    assert cache.hidden.shape == (2, 3, 4)
    assert cache.weights is weights


def test_init_params():
    params = init_params(3, 4, 5, np.random.default_rng(17), dtype=np.float32)
    assert {k: p.shape for k, p in params.items()} == param_shapes(3, 4, 5)
    assert all(p.dtype == np.float32 for p in params.values())
    for name, fan_in in (("Wq", 3), ("Wk", 4), ("v", 5)):
        assert np.all(np.abs(params[name]) <= 1 / math.sqrt(fan_in))
    again = init_params(3, 4, 5, np.random.default_rng(17), dtype=np.float32)
    for name in params:
        np.testing.assert_array_equal(params[name], again[name])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init_params(3, 4, 5, 0)
    with pytest.raises(ValueError, match="A must be"):
        init_params(3, 4, 0, np.random.default_rng(0))
