"""Values as physics and logic: Kleene three-valued logic, units (pint registry, UCUM codes, chart
spellings), titers, bounds such as '<0.5', calendar windows and age.

Belongs here: pure functions over numbers, units, dates and pass/fail/unknown, and the unit data
files (``data/units.txt``, ``data/common_units.txt``). Not here: anything that knows a patient, a
rule file or a code system (those are ``model``, ``rules`` and ``terms``); words that name results
('negative', 'detected') are terminology and live in ``terms``.
"""
