"""Reports for people: the result table (``table``), rule-file coverage (``coverage``) and the
attrition funnel (``funnel``).

Belongs here: turning results and compiled trials into tables and counts. Not here: screening
itself (``engine``) or running many patients (``batch``). Printing happens only through the
console passed in (the CLI's); the library never prints.
"""
