"""Tools that are not the library: the synthetic patient generator (``synth``, behind
``screening synth``) and the FHIR exporter (``fhir_export``), used by tests, benchmarks and demos.

Belongs here: code that knows the seed trials and their data items (which the library must
not) or that only produces test data. Not here: anything the library needs; nothing in the
library imports this package (tests/test_layout.py enforces it), only the command line does.
"""
