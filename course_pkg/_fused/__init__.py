r"""Fast kernels of the three recurrent cells: the same computations, laid out for speed.

The readable reference of each cell is its own module (:mod:`course_pkg.rnn`,
:mod:`course_pkg.lstm`, :mod:`course_pkg.gru`): a sequence function is a loop
over the step function, as the chapters write it and the assignments build
it. The functions here compute the same values and return the same caches,
so either side's cache can be handed to the other's backward function. They
are faster because they

- compute every step's input projection :math:`x_t W_x + b` in one matrix
  product before the time loop, and every weight gradient in one product
  after it;
- keep the loop's arrays time-major and gate by gate, (k, T, N, H), so that
  each step reads and writes whole contiguous (N, H) blocks, in place;
- activate all gates of a step with one ``tanh`` call, using
  :math:`\sigma(a) = (1 + \tanh(a/2))/2` with the sigmoid gates' weights
  halved beforehand (exact: a power of two).

:class:`course_pkg.cells.Cell`, and through it every model, uses these by
default. ``tests/test_fused.py`` checks them equal to the readable functions
(1e-12 in float64), and ``make bench`` measures both.
"""
