"""Rule files: reading YAML with positions, the rule-engine front end that type-checks each
expression, the intermediate representation (``ir``: a plain tree, no evaluation in it), the
checks that produce located errors and warnings, compilation into a ``CompiledTrial``, and the
on-disk cache of compiled trials.

Belongs here: everything that happens to a rule file before a patient is seen. Not here:
evaluating the IR against a patient (``engine``), reading patients (``sources``), printing.
"""
