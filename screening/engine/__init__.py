"""Evaluation: a compiled trial, a patient and a screening date in; a result with reasons out.

Belongs here: the patient's records as of the screening date (``records``), data-item
resolution (``items``), the rule's leaves (``atoms``), the evaluation program built from the
IR and kept per trial (``program``), criteria status and the verdict (``evaluate``). Pure: no
clock, no I/O, no printing. Not here: parsing rule files (``rules``), reading patient files
(``sources``), reports and batch runs.
"""
