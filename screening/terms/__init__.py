"""Terminology: code keys and hierarchical prefixes, names and the guard words that keep them
apart, concept-set matching of records (the ``Matcher``), and the words of coded results
(positive / negative), with their data files in ``terms/data/``.

Belongs here: what a code or a name means and whether a record belongs to a concept set.
Not here: units and numbers (``values``), reading a patient (``sources``), evaluating a rule
(``engine``). Terminology is data: a new synonym goes into a data file, not an ``if``.
"""
