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
- keep the loop's arrays time-major and gate by gate, so that each step reads
  and writes whole contiguous (N, H) blocks, in place;
- activate all gates of a step with one ``tanh`` call, using
  :math:`\sigma(a) = (1 + \tanh(a/2))/2` with the sigmoid gates' weights
  halved beforehand (exact: a power of two);
- in the LSTM, compute the gates' local derivatives for many steps at once
  before the backward loop, which is then left with the recurrence alone.

With one sequence (N = 1) a step's arrays are a few hundred numbers and the
cost of a NumPy call is most of the cost of an operation, so the loops do as
few calls per step as they can: the LSTM multiplies :math:`h_{t-1}` by all
four gates' weights in one vector-matrix product there, where for a batch it
makes one matrix product per gate into the gate-by-gate layout.

Memory: a training step allocates arrays of megabytes and frees them at its
end. The first time a kernel runs it asks glibc's allocator to keep such
memory for reuse instead of returning it to the kernel (``_allocator``):
otherwise every step would take thousands of page faults to get it back, in
a process that has not also run PyTorch (whose large frees change glibc's
thresholds). This changes two malloc parameters of the whole process, once;
it is skipped on other C libraries and when ``MALLOC_*_`` variables or
``GLIBC_TUNABLES`` configure malloc.

:class:`course_pkg.cells.Cell`, and through it every model, uses these by
default. ``tests/test_fused.py`` checks them equal to the readable functions
(1e-12 in float64), and ``make bench`` measures both.
"""
