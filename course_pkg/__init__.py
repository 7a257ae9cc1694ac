"""Recurrent neural networks from scratch in NumPy: the course's reference implementation.

**The core: what you rebuild in the assignments.** One module per concept;
each module's documentation names the chapter that teaches it and the
assignment that builds it.

- ``activations``: sigmoid, tanh, ReLU, softmax and derivatives (a1)
- ``rnn``: the vanilla RNN, step and sequence, forward (a1) and backward (a2)
- ``scalar_rnn``: the one-unit many-to-one example worked by hand (a1)
- ``gradcheck``: numerical gradients, the relative error (a2) and the
  gradient checker every test uses
- ``losses``: the losses (a2 builds the binary cross-entropy)
- ``optim``: SGD (a2), momentum, Adagrad, Adam, gradient clipping (a3)
- ``gradient_flow``: gradient norm against time lag (a3), BPTT terms and cost
- ``lstm``, ``gru``: the gated cells, step and sequence, forward and backward (a4)
- ``bidirectional``: bidirectional layers with variable-length batches (a5)
- ``layers``: embedding, output layer, dropout (not rebuilt)

**Built on the core** (not rebuilt; the assignments train them on your code):

- ``cells``, ``stack``: one interface over the cells (your functions or the
  package's); stacked layers
- ``models``, ``train``: the models (a5 writes ``sample_from_logits``) and
  the training loop
- ``reservoir``: an echo state network (a fixed random RNN with a trained readout)
- ``attention``: additive (Bahdanau) attention over an encoder's states
- ``seq2seq``: an encoder-decoder with attention, and beam search for any
  encoder-decoder
- ``datasets``: the shipped corpus and generated tasks (a3 writes
  ``char_lm_batches``)

**For the book and the grader:**

- ``experiments``: measurements the chapters make (padding cost, n-gram
  counts, recurrences; inspection of trained cells; non-recurrent baselines)
- ``figures``: the book's diagrams of networks and cells
- ``checks``: what the assignments' test cells call on your code

Private: ``_fused`` holds fast kernels of the rnn, lstm and gru sequence
functions (the models run them; they are tested equal to the readable
ones), ``_validate`` and ``_cell_common`` shared helpers.

Shapes are batch-first: N batch, T time, D input, H hidden, K classes.
"""

__version__ = "0.1.0"
