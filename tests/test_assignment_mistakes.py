"""The hidden tests catch typical mistakes, and charge them to the right part.

Each case takes a solution notebook, plants one mistake students make in one
function, autogrades it, and checks that exactly the test cells about that
function lose points while every other part keeps full marks.
"""

from __future__ import annotations

import pytest

from nbgrader_util import ROOT, api_for, autograde, generate, make_course, submit

# (assignment, mistake, text in the solution, replacement, grade_ids expected to lose points)
MISTAKES = [
    (
        "a1_unfolding",
        "every step starts from h0: the recurrence is lost",
        "h_prev, _ = rnn_step_forward(x[:, t], h_prev, U, W, b)",
        "h_prev, _ = rnn_step_forward(x[:, t], h0, U, W, b)",
        ["test_rnn_forward", "test_training"],
    ),
    (
        "a1_unfolding",
        "the textbook sigmoid, which overflows for large negative inputs",
        "return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)",
        "return 1.0 / (1.0 + np.exp(-z))",
        ["test_activation_stability"],
    ),
    (
        "a2_bptt",
        "the gradient from step t+1 is dropped: backpropagation through one step only",
        "rnn_step_backward(dh[:, t] + dh_next, step)",
        "rnn_step_backward(dh[:, t], step)",
        [
            "test_rnn_backward",
            "test_rnn_backward_general",
            "test_rnn_backward_in_model",
            "test_training",
        ],
    ),
    (
        "a3_gradients",
        "the global norm computed naively, so 1e200-sized gradients overflow",
        "total_norm = scale * math.sqrt(total)",
        "total_norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))",
        ["test_clip_grad_norm_extremes"],
    ),
    (
        "a4_lstm_gru",
        "the gradient arriving at the cell state from the next step is dropped",
        "dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        "dc_total = dh * o * (1.0 - tanh_c**2)",
        # the training test cannot tell (a loss on h alone still trains): the gradient checks do
        [
            "test_lstm_backward_dtypes",
            "test_lstm_backward_gradcheck",
            "test_lstm_step_backward_dtypes",
            "test_lstm_step_backward_gradcheck",
        ],
    ),
    (
        "a4_lstm_gru",
        "the GRU's z and 1 - z swapped (the other convention, not PyTorch's)",
        "h = z * h_prev + (1.0 - z) * n",
        "h = (1.0 - z) * h_prev + z * n",
        # the backward no longer matches the forward, so the gradient checks fail too
        [
            "test_gru_backward_dtypes",
            "test_gru_backward_gradcheck",
            "test_gru_forward",
            "test_gru_step_backward_gradcheck",
            "test_gru_step_forward",
        ],
    ),
    (
        "a5_bidirectional",
        "the language model's steps ignore the previous state",
        "h_prev = np.tanh(x[:, t] @ U + h_prev @ W + b)",
        "h_prev = np.tanh(x[:, t] @ U + b)",
        ["test_generation"],  # a bigram model: held-out loss about 2.3 instead of 1.97
    ),
]


@pytest.mark.parametrize(
    "assignment,mistake,old,new,expected", MISTAKES, ids=[m[1] for m in MISTAKES]
)
def test_hidden_tests_charge_a_mistake_to_its_part(
    assignment, mistake, old, new, expected, tmp_path
):
    name = f"{assignment}.ipynb"
    source = (ROOT / "solutions" / assignment / name).read_text()
    old_json, new_json = (s.replace("\\", "\\\\").replace('"', '\\"') for s in (old, new))
    assert source.count(old_json) == 1, f"the solution should contain {old!r} exactly once"
    wrong = tmp_path / "mistaken" / name
    wrong.parent.mkdir()
    wrong.write_text(source.replace(old_json, new_json))
    course = make_course(tmp_path)
    api = api_for(course)
    generate(api, assignment)
    submit(course, assignment, "mistaken", wrong)
    scores = autograde(api, assignment, "mistaken")
    lost = sorted(k for k, (score, max_score) in scores.items() if score < max_score)
    assert lost == expected, f"{mistake}: {lost} lost points, expected {expected}"
