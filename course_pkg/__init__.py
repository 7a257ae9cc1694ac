"""Recurrent neural networks from scratch in NumPy: the course's reference implementation.

Modules, one per concept (see the book for each):

- ``activations``: sigmoid, tanh, ReLU, softmax and derivatives
- ``rnn``, ``lstm``, ``gru``: the three cells, forward and backward through time
- ``scalar_rnn``: the one-unit many-to-one example worked by hand
- ``bidirectional``: bidirectional layers with variable-length batches
- ``cells``, ``stack``: one interface over the cells; stacked layers
- ``layers``, ``losses``: embedding, output layer, dropout; the losses
- ``optim``: SGD, momentum, Adagrad, Adam, gradient clipping
- ``gradcheck``: numerical gradients and the relative error
- ``gradient_flow``: gradient norm against time lag, BPTT terms and cost
- ``models``, ``train``: the models and the training loop
- ``reservoir``: an echo state network (a fixed random RNN with a trained readout)
- ``baselines``: non-recurrent baselines (bag of words, persistence)
- ``datasets``: the shipped corpus and generated tasks
- ``sequences``: padding cost, n-gram counts, free-running recurrences
- ``inspect_cells``: gate activations and gradient paths read from caches
- ``diagrams``, ``cell_diagrams``: the book's figures of networks and cells
- ``checks``: what the assignments' test cells call on a student's code

Shapes are batch-first: N batch, T time, D input, H hidden, K classes.
"""

__version__ = "0.1.0"
