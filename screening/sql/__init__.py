"""The rule files compiled to SQL over OMOP CDM tables: a whole population screened in the database
with exactly the Python path's per-criterion statuses (``plan``, ``classify``, ``population``;
see docs/sql.md).

Belongs here: planning a compiled trial's IR as SQL, the small tables of concepts and values decided
in Python, running the population query and sending the persons it cannot decide exactly to the Python
path. Not here: OMOP tables and vocabulary joins (``sources.omop``), the evaluation itself
(``engine``), the command line (``cli``).
"""
