"""Recurrent neural networks from scratch in NumPy: the course's reference implementation.

Modules, one per concept (see the book for each):

- ``activations``: sigmoid, tanh, ReLU, softmax and derivatives
- ``rnn``, ``lstm``, ``gru``: the three cells, forward and backward through time
- ``bidirectional``: bidirectional layers with variable-length batches
- ``cells``, ``stack``: one interface over the cells; stacked layers
- ``layers``, ``losses``: embedding, output layer, dropout; the losses
- ``optim``: SGD, momentum, Adagrad, Adam, gradient clipping
- ``gradcheck``: numerical gradients and the relative error
- ``models``, ``train``: the models and the training loop
- ``datasets``: the shipped corpus and generated tasks

Shapes are batch-first: N batch, T time, D input, H hidden, K classes.
"""

__version__ = "0.1.0"
