"""A scratch schema on the local PostgreSQL server (SCREENING_TEST_POSTGRES), its tables text columns
filled from CSV files as a raw CSV import gives; the test is skipped when no server answers."""

from __future__ import annotations

import csv
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import pytest

URL = os.environ.get("SCREENING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def csv_schema(prefix: str, tables: Mapping[str, Path]) -> Iterator[str]:
    """A fresh schema named ``prefix_<random>`` holding one table per CSV file (columns from its header);
    dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        con = psycopg.connect(URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.skip(f"no PostgreSQL server at {URL}: {err}")
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        for table, path in tables.items():
            with open(path, newline="") as fh:
                header = next(csv.reader(fh))
            cols = ", ".join(f'"{c}" TEXT' for c in header)
            con.execute(f'CREATE TABLE "{schema}"."{table}" ({cols})')
            with con.cursor() as cur, cur.copy(f'COPY "{schema}"."{table}" FROM STDIN WITH (FORMAT csv, HEADER true)'
                                               ) as copy, open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
        yield schema
    finally:
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')
        con.close()
