"""Helpers shared by test folders (import as ``support.x``): random native profiles for property
tests and a scratch PostgreSQL schema filled from CSV files."""
