r"""Echo state networks: a recurrent layer that is never trained, read out by least squares.

Taught in "Unfolding a recurrent network" (``book/02_unfolding``, Section 2.6);
assignment ``a1_unfolding`` (Part 5) runs it on the student's ``rnn_forward``.

An echo state network (Jaeger, 2001) draws its embedding, input
weights ``U`` and recurrent weights ``W`` at random and never changes them.
``W`` is scaled to a spectral radius just below 1, so the state depends on
recent inputs more than on old ones and the starting state is forgotten
(the *echo state property*). Only a linear readout of the final state is
trained, by ridge regression, a least-squares problem with a closed-form
solution: no gradient flows through time, so the forward pass is all the
recurrent layer needs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import (
    NON_NEGATIVE,
    POSITIVE,
    as_index_array,
    check_int,
    check_lengths,
    check_real,
    check_rng,
)
from .experiments.sequences import scale_to_spectral_radius


class ReservoirClassifier:
    r"""A binary sequence classifier: a fixed random RNN and a trained linear readout.

    Parameters
    ----------
    vocab_size : int >= 1
        Number of token ids; id 0 may be padding (its embedding is used
        like any other, but only positions before each length are read).
    hidden_size : int >= 1
        H, the size of the recurrent state.
    rng : numpy.random.Generator
        Draws the embedding (V, E), ``U`` (E, H) and ``W`` (H, H).
    embed_dim : int >= 1
        E, the size of each token's random embedding.
    spectral_radius : float > 0
        The spectral radius ``W`` is scaled to; below 1 for the echo state
        property.
    ridge : float >= 0
        The ridge penalty :math:`\lambda` of the readout.
    forward : callable, optional
        ``forward(x, h0, U, W, b) -> (h, cache)`` with x (N, T, E) and
        h (N, T, H), like :func:`course_pkg.rnn.rnn_forward` (the default).

    Notes
    -----
    For the final states :math:`h^{(n)}` of the training sequences, with a
    1 appended for the bias, stacked into :math:`\Phi` (N, H + 1), and
    targets :math:`y^{(n)} \in \{-1, +1\}`, the readout is

    .. math:: w = (\Phi^\top \Phi + \lambda I)^{-1} \Phi^\top y ,

    and a sequence is classified positive when :math:`[h_T, 1]\, w > 0`.

    Examples
    --------
    >>> from course_pkg.datasets import toy_sentiment
    >>> train = toy_sentiment(2000, np.random.default_rng(0))
    >>> test = toy_sentiment(500, np.random.default_rng(1))
    >>> esn = ReservoirClassifier(len(train.vocab), 256, rng=np.random.default_rng(0))
    >>> esn = esn.fit(train.ids, train.lengths, train.labels)
    >>> bool((esn.predict(test.ids, test.lengths) == test.labels).mean() > 0.9)
    True
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        rng,
        embed_dim: int = 32,
        spectral_radius: float = 0.95,
        ridge: float = 1e-2,
        forward: Callable | None = None,
    ):
        V = check_int("vocab_size", vocab_size, 1)
        H = check_int("hidden_size", hidden_size, 1)
        E = check_int("embed_dim", embed_dim, 1)
        rho = check_real("spectral_radius", spectral_radius, POSITIVE)
        self.ridge = check_real("ridge", ridge, NON_NEGATIVE)
        rng = check_rng(rng)
        if forward is not None and not callable(forward):
            raise TypeError(
                f"forward must be callable like rnn_forward, got {type(forward).__name__}"
            )
        if forward is None:
            from ._fused.rnn import rnn_forward as forward
        self.forward = forward
        self.embedding = rng.standard_normal((V, E))  # (V, E)
        self.U = rng.standard_normal((E, H)) / np.sqrt(E)  # (E, H): inputs of unit scale
        self.W = scale_to_spectral_radius(rng.standard_normal((H, H)) / np.sqrt(H), rho)  # (H, H)
        self.b = np.zeros(H)
        self.readout = None  # (H + 1,) once fitted

    def features(self, ids, lengths) -> np.ndarray:
        """The final state of each sequence, with a 1 appended.

        ``ids`` (N, T) int token ids, ``lengths`` (N,) int in [1, T]; returns
        (N, H + 1): the state after each sequence's last token, then 1.
        """
        ids = as_index_array("ids", ids, ndim=2, upper=self.embedding.shape[0])
        N, T = ids.shape
        lengths = check_lengths(lengths, N, T)
        x = self.embedding[ids]  # (N, T, E)
        h, _ = self.forward(x, np.zeros((N, self.W.shape[0])), self.U, self.W, self.b)
        if not (isinstance(h, np.ndarray) and h.shape == (N, T, self.W.shape[0])):
            shape = getattr(h, "shape", type(h).__name__)
            raise ValueError(
                f"forward returned states of shape {shape}, expected {(N, T, self.W.shape[0])}"
            )
        last = h[np.arange(N), lengths - 1]  # (N, H): the state after each sequence's last token
        return np.concatenate([last, np.ones((N, 1))], axis=1)

    def fit(self, ids, lengths, labels) -> ReservoirClassifier:
        """Solve for the readout (H + 1,) by ridge regression; returns self.

        ``ids`` (N, T), ``lengths`` (N,) as for :meth:`features`; ``labels`` (N,) in {0, 1}.
        """
        features = self.features(ids, lengths)
        labels = np.asarray(labels)
        if labels.shape != (features.shape[0],) or not np.all((labels == 0) | (labels == 1)):
            raise ValueError(
                f"labels must be 0 or 1, one per sequence ({features.shape[0]},), "
                f"got shape {labels.shape}"
            )
        targets = 2.0 * labels - 1.0  # {-1, +1}
        gram = features.T @ features + self.ridge * np.eye(features.shape[1])
        self.readout = np.linalg.solve(gram, features.T @ targets)
        return self

    def predict(self, ids, lengths) -> np.ndarray:
        """Predicted labels (N,) float, 1.0 for positive and 0.0 for negative, for ``ids``
        (N, T) and ``lengths`` (N,)."""
        if self.readout is None:
            raise ValueError("the readout is not trained yet: call fit(ids, lengths, labels) first")
        return (self.features(ids, lengths) @ self.readout > 0).astype(np.float64)
