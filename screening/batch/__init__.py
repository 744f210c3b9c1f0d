"""Batch screening of many patients on every core: input records (``inputs``), the checkpoint
journal (``journal``), the worker side (``worker``), the run loop (``run``), the live progress
line (``progress``) and the partial-then-published outputs (``outputs``).

Belongs here: streaming, parallelism, resumption and atomic output files. Not here: how one
patient is read (``sources``) or screened (``engine``), or how a funnel is counted (``report``).
"""
