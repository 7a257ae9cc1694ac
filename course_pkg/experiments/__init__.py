"""The book's experiments: measurements made on the core, not part of any model.

Nothing here is rebuilt in an assignment; the chapters call it to look at
what the core computes.

- :mod:`~course_pkg.experiments.sequences`: padding cost, next-character
  counts and free-running recurrences (chapters 1 to 3, 7);
- :mod:`~course_pkg.experiments.inspect_cells`: cell-path gains, memory
  units and input sensitivities of trained cells (chapters 8 to 10);
- :mod:`~course_pkg.experiments.baselines`: non-recurrent baselines to beat
  (chapter 11).
"""
