"""The book's diagrams, drawn with Matplotlib in one visual language.

- :mod:`~course_pkg.figures.diagrams`: networks (unrolled, bidirectional,
  encoder-decoder, the architecture types), chapters 1, 2, 4 and 10;
- :mod:`~course_pkg.figures.cell_diagrams`: the inside of one cell (vanilla,
  LSTM, GRU), chapters 8 and 9;
- ``_drawing``: the primitives both draw with.
"""
