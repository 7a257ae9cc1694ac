"""Text corpora shipped as package data (``*.txt``); see ``README.md`` here.

Read them with :func:`course_pkg.datasets.load_text`.
"""
