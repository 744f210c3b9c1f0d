"""Screening a whole OMOP population in the database: the SQL path.

Order of work: the event rows of the CDM tables in one typed relation (``ev``); the distinct
concept identities and value rows sent to Python once each (``classify``) and shipped back as
small tables; then one query that gives every atom per person (windows, the latest value, same-day
agreement, record functions, completeness) and every criterion's status by Kleene logic; then the
persons an atom referred are re-screened on the Python path (the profile read through the OMOP
source) for those criteria only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import pyarrow as pa
import sqlglot.expressions as E

from ..model.rulefile import DataType, Pick
from ..rules import ir as X
from ..rules.compiled import CompiledTrial, Formula
from ..sources.omop.reader import OmopSource
from . import classify as C
from .plan import Plan, own_bullets, plan_trials


def lit(value: Any) -> str:
    """A SQL literal (quoted by sqlglot, never by hand)."""
    if isinstance(value, dt.date):
        return f"DATE {E.Literal.string(value.isoformat()).sql()}"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return E.Literal.number(value).sql()
    return E.Literal.string(str(value)).sql()


_EVENTS = {  # table -> (id, concept, source concept, start, end, value columns or None)
    "condition_occurrence": ("condition_occurrence_id", "condition_concept_id", "condition_source_concept_id",
                             "condition_start_date", "condition_end_date", None),
    "device_exposure": ("device_exposure_id", "device_concept_id", "device_source_concept_id",
                        "device_exposure_start_date", "device_exposure_end_date", None),
    "drug_exposure": ("drug_exposure_id", "drug_concept_id", "drug_source_concept_id", "drug_exposure_start_date",
                      "drug_exposure_end_date", None),
    "procedure_occurrence": ("procedure_occurrence_id", "procedure_concept_id", "procedure_source_concept_id",
                             "procedure_date", "procedure_end_date", None),
    "measurement": ("measurement_id", "measurement_concept_id", "measurement_source_concept_id", "measurement_date",
                    None, ("operator_concept_id", "value_as_number", "value_as_concept_id", "CAST(NULL AS VARCHAR)",
                           "unit_concept_id", "unit_source_value", "value_source_value", "range_low", "range_high")),
    "observation": ("observation_id", "observation_concept_id", "observation_source_concept_id", "observation_date",
                    None, ("CAST(NULL AS BIGINT)", "value_as_number", "value_as_concept_id", "value_as_string",
                           "unit_concept_id", "unit_source_value", "value_source_value", "CAST(NULL AS DOUBLE)",
                           "CAST(NULL AS DOUBLE)")),
}
_EXTRA = {"d": ("d", "CAST(NULL AS BOOLEAN)"), "ds": ("d", "s")}  # evidence date, stale (``SqlScreen._extra``)
_VALUE_COLS = ("op", "num", "vc", "vs", "uc", "us", "vsv", "rl", "rh")
_SIG = ("tbl", "concept", "scon") + _VALUE_COLS + ("status_raw",)
# the types of the event and signature columns, and the stand-in for NULL in a PostgreSQL join (``_same``)
_TYPES = {"tbl": "text", "concept": "int", "scon": "int", "op": "int", "num": "float", "vc": "int", "vs": "text",
          "uc": "int", "us": "text", "vsv": "text", "rl": "float", "rh": "float", "status_raw": "text"}
_NULL_AS = {"int": "CAST(-4611686018427387904 AS BIGINT)", "float": "CAST('-Infinity' AS DOUBLE)",
            "text": "'\x01(null)'"}
_SYMBOLS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}  # rule file -> SQL


@dataclass
class PopulationResult:
    """What a run gave: how many persons, which criteria went to the Python path, the funnels, timings and
    the bytes written; with ``collect``, also every status in rule-file order and the verdicts."""

    as_of: dt.date
    trials: list[CompiledTrial]
    plan: Plan
    via_python: dict[str, dict[int, set[str]]] = field(default_factory=dict)  # trial -> person -> criteria
    timings: dict[str, float] = field(default_factory=dict)
    count: int = 0  # persons screened
    funnels: list = field(default_factory=list)  # report.funnel.Funnel per trial, counted in the database
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per file written
    # collected (``SqlScreen.run(collect=True)``):
    persons: list[tuple[int, str]] = field(default_factory=list)  # (person_id, id)
    statuses: dict[str, dict[int, list[str]]] = field(default_factory=dict)  # trial -> person_id -> statuses
    # trial -> person -> bullet -> status, for bullets with their own and/or
    bullets: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)
    # trial -> person -> criterion -> (value in the item's unit or None, date or None): what SQL decided on
    values: dict[str, dict[int, dict[str, tuple]]] = field(default_factory=dict)
    verdicts: dict[tuple[str, int], str] = field(default_factory=dict)  # (trial, person) -> verdict or pending

    def verdict(self, trial: str, pid: int) -> str:
        """eligible, ineligible or undetermined (a collected result)."""
        key = self.verdicts[(trial, pid)]
        return "undetermined" if key == "pending_confirmation" else key


# statuses.parquet: per person and criterion, its status, who decided it (sql or python) and, for a criterion SQL
# decided from one comparison or record function, the picked record's value in the item's unit and its date (or
# the newest date of the records the function found); verdicts.parquet: per person and trial
STATUS_SCHEMA = pa.schema([("person_id", pa.int64()), ("person", pa.string()), ("trial", pa.string()),
                           ("criterion", pa.string()), ("status", pa.string()), ("by", pa.string()),
                           ("value", pa.float64()), ("unit", pa.string()), ("date", pa.date32())])
VERDICT_SCHEMA = pa.schema([("person_id", pa.int64()), ("person", pa.string()), ("trial", pa.string()),
                            ("verdict", pa.string()), ("failed", pa.list_(pa.string())),
                            ("unknown", pa.list_(pa.string()))])
# the columns of statuses.parquet after person and trial, with their SQL types (``SqlScreen._status_cells``)
_STATUS_COLUMNS = (("criterion", "VARCHAR"), ("status", "VARCHAR"), ("by", "VARCHAR"), ("value", "DOUBLE"),
                   ("unit", "VARCHAR"), ("date", "DATE"))
BATCH_ROWS = 262_144  # rows per Arrow batch fetched for the Parquet files


class SqlScreen:
    """The SQL path over one open OMOP database (DuckDB here)."""

    def __init__(self, source: OmopSource, trials: list[CompiledTrial], as_of: dt.date,
                 complete: Iterable[str] = (), workers: int | None = None):
        self.source, self.db, self.trials, self.as_of = source, source.db, list(trials), as_of
        self.workers = workers  # processes for the Python path (None: every core)
        self.complete = frozenset(complete)
        self.plan = plan_trials(self.trials)
        self.matchers = C.Matchers(self.trials)
        self.con = self.db.con
        self.dialect = getattr(self.db, "engine", "duckdb")
        self._declared: dict[str, str] = {}  # Spark: the columns of the small tables, as declared
        # the criteria (indexes into the plan) whose refer flag is not FALSE for everyone
        self.referable = [i for i, c in enumerate(self.plan.criteria) if c.refer.sql(dialect="duckdb") != "FALSE"]

    def sql(self, text: str) -> Any:
        """Run one statement written in DuckDB's SQL; on PostgreSQL and Spark, as sqlglot transpiles it."""
        return self.con.execute(self._dialect_sql(text))

    def _dialect_sql(self, text: str) -> str:
        """A statement written in DuckDB's SQL as PostgreSQL runs it (Spark's database transpiles its own)."""
        if self.dialect == "postgres":
            import sqlglot

            return sqlglot.transpile(text, read="duckdb", write="postgres")[0]
        return text

    def create(self, name: str, select: str) -> None:
        """A temporary table of the session from a query (replacing one of that name)."""
        if self.dialect == "spark":
            self.db.materialise(name, select)
            return
        self.sql(f"DROP TABLE IF EXISTS {name}")
        self.sql(f"CREATE TEMPORARY TABLE {name} AS {select}")

    def _same(self, a: str, b: str, columns: Iterable[str]) -> str:
        """Null-safe equality of the columns of two relations. PostgreSQL cannot hash-join on IS NOT DISTINCT
        FROM (it nests loops: minutes for 100,000 persons), so there each side's NULL is replaced by a value
        no OMOP row holds and the join is on '='."""
        if self.dialect != "postgres":
            return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in columns)
        return " AND ".join(f"COALESCE({a}.{c}, {_NULL_AS[_TYPES[c]]}) = COALESCE({b}.{c}, {_NULL_AS[_TYPES[c]]})"
                            for c in columns)

    def view(self, name: str, select: str) -> None:
        """A temporary view (read by a few queries, each reading the columns it needs): a table on Spark."""
        if self.dialect == "spark":
            self.create(name, select)
            return
        self.sql(f"DROP VIEW IF EXISTS {name}")
        self.sql(f"CREATE TEMPORARY VIEW {name} AS {select}")

    def _clustered(self, column: str) -> str:
        """' ORDER BY column' on DuckDB: a table each atom reads by one value of ``column`` is stored sorted by
        it, so that every atom's scan skips the row groups of the others (min/max zone maps)."""
        return f" ORDER BY {column}" if self.dialect == "duckdb" else ""

    def declare(self, name: str, columns: str) -> None:
        if self.dialect == "spark":
            self._declared[name] = columns
            self.db.frame(name, columns, [])
            return
        self.sql(f"DROP TABLE IF EXISTS {name}")
        self.sql(f"CREATE TEMPORARY TABLE {name} ({columns})")

    # ------------------------------------------------------------------ staging

    def _insert(self, table: str, rows: list[tuple]) -> None:
        """Rows computed in Python into a (small) table, through Arrow: one statement, not one per row."""
        if not rows:
            return
        if self.dialect == "spark":
            self.db.frame(table, self._declared[table], rows)
            return
        if self.dialect == "postgres":
            with self.con.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
            return
        import pyarrow as pa

        names = [r[0] for r in self.sql(f"DESCRIBE {table}").fetchall()]
        data = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
        self.con.register("_rows", data)
        try:
            self.sql(f"INSERT INTO {table} SELECT * FROM _rows")
        finally:
            self.con.unregister("_rows")

    def _events(self) -> None:
        parts = []
        statuses = self.db.has("screening_status")
        if statuses:  # one status per record (a join, not a correlated subquery: every engine plans it)
            self.create("rstatus", "SELECT table_name, record_id, person_id, MAX(status) AS status FROM "
                        f"{self.db.ref('screening_status')} AS s GROUP BY table_name, record_id, person_id")
        for table, (rid, concept, scon, start, end, values) in _EVENTS.items():
            if not self.db.has(table):
                continue
            vals = values or ("CAST(NULL AS BIGINT)", "CAST(NULL AS DOUBLE)", "CAST(NULL AS BIGINT)",
                              "CAST(NULL AS VARCHAR)", "CAST(NULL AS BIGINT)", "CAST(NULL AS VARCHAR)",
                              "CAST(NULL AS VARCHAR)", "CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)")
            join = (f" LEFT JOIN rstatus AS s ON s.table_name = {lit(table)} AND s.record_id = t.{rid} "
                    "AND s.person_id = t.person_id") if statuses else ""
            status = "s.status" if statuses else "CAST(NULL AS VARCHAR)"
            parts.append(
                f"SELECT {lit(table)} AS tbl, t.{rid} AS id, t.person_id, t.{concept} AS concept, t.{scon} AS scon, "
                f"t.{start} AS d1, {('t.' + end) if end else 'CAST(NULL AS DATE)'} AS d2, "
                + ", ".join(f"{v} AS {n}" for v, n in zip(vals, _VALUE_COLS))
                + f", {status} AS status_raw FROM {self.db.ref(table)} AS t{join}")
        self.create("ev", " UNION ALL ".join(parts))

    def _identities(self) -> None:
        keys = self.sql("SELECT DISTINCT tbl, concept, scon, status_raw, d2 IS NOT NULL FROM ev").fetchall()
        rows = C.identity_rows(self.source, self.matchers, keys)
        self.declare("ident", "tbl VARCHAR, concept BIGINT, scon BIGINT, status_raw VARCHAR, "
                 "has_end BOOLEAN, category VARCHAR, status VARCHAR, key VARCHAR")
        self._insert("ident", rows)
        same = self._same("e", "i", ("tbl", "concept", "scon", "status_raw"))
        atoms = [a for a in self.plan.atoms.values() if isinstance(a.node, X.Records)]
        roles = C.role_rows(self.source, atoms, keys)
        self.declare("rrole", "tbl VARCHAR, concept BIGINT, scon BIGINT, status_raw VARCHAR, "
                     "has_end BOOLEAN, atom VARCHAR, role VARCHAR, status VARCHAR, past BOOLEAN")
        self._insert("rrole", roles)
        # every visible record a record function reads: found by its set ('in', 'ask') or a record of the
        # part the vocabularies cannot rule out ('cand', the fail-safe); and every row of the part that could not
        # be mapped ('unm', whatever its date: the fail-safe reads unmapped rows undated)
        self.create("recs", "SELECT e.person_id, i.atom, i.role, i.status, i.past, e.d1, e.d2 "
                    f"FROM ev AS e JOIN rrole AS i ON {same} AND (e.d2 IS NOT NULL) = i.has_end "
                    f"WHERE e.d1 IS NULL OR e.d1 <= {lit(self.as_of)} OR i.status = 'planned' OR i.role = 'unm'"
                    f"{self._clustered('i.atom')}")

    def _values(self) -> None:
        same = self._same("e", "i", ("tbl", "concept", "scon", "status_raw"))
        cols = ", ".join(f"e.{c}" for c in _SIG)
        self.create("vsig", "SELECT row_number() OVER (ORDER BY tbl, concept, key) AS sig_id, * FROM ("
                 f"SELECT DISTINCT {cols}, e.d1 IS NOT NULL AS has_date, i.key FROM ev AS e JOIN ident AS i "
                 f"ON {same} WHERE i.category IN ('observations', 'facts')) AS d")
        sigs = self.sql("SELECT sig_id, " + ", ".join(_SIG) + ", has_date, key FROM vsig").fetchall()
        compares: dict[str, list] = {}
        ratios: dict[str, list] = {}
        for a in self.plan.atoms.values():
            n = a.node
            if isinstance(n, X.Compare) and isinstance(n.source, X.Item) and n.source.name not in ("age", "sex"):
                compares.setdefault(f"{a.trial.id}/{n.source.name}", []).append((a.name, n))
            elif isinstance(n, X.Compare) and isinstance(n.source, X.RefRatio):
                ratios.setdefault(f"{a.trial.id}/{n.source.item}", []).append((a.name, n))
        obs, truths, facts, rratios = C.value_rows(self.source, self.matchers, compares, sigs, ratios)
        self.declare("vobs", "sig_id BIGINT, key VARCHAR, kind VARCHAR, num DOUBLE")
        self.declare("vtruth", "sig_id BIGINT, key VARCHAR, atom VARCHAR, t VARCHAR")
        self.declare("vfact", "sig_id BIGINT, key VARCHAR, val BOOLEAN")
        self.declare("vratio", "sig_id BIGINT, key VARCHAR, atom VARCHAR, kind VARCHAR, num DOUBLE, t VARCHAR")
        for name, rows in (("vobs", obs), ("vtruth", truths), ("vfact", facts), ("vratio", rratios)):
            self._insert(name, rows)
        on = self._same("e", "s", _SIG) + \
            " AND (e.d1 IS NOT NULL) = s.has_date"
        self.create("rowsig", "SELECT e.person_id, e.d1 AS day, s.sig_id, s.key "
                 f"FROM ev AS e JOIN vsig AS s ON {on}")
        self.create("obs", "SELECT r.person_id, r.key, r.day, r.sig_id, v.kind, v.num "
                 f"FROM rowsig AS r JOIN vobs AS v USING (sig_id, key) WHERE r.day <= {lit(self.as_of)}"
                 + self._clustered("r.key"))
        death = ""
        keys = C.death_keys(self.source, self.matchers)
        if self.db.has("death") and keys:
            death = (" UNION ALL SELECT d.person_id, k.key, d.death_date AS day, TRUE AS val FROM "
                     f"{self.db.ref('death')} AS d, (VALUES {', '.join('(' + lit(k) + ')' for k in keys)}) AS k(key)")
        self.create("facts", "SELECT * FROM (SELECT r.person_id, r.key, r.day, f.val "
                 f"FROM rowsig AS r JOIN vfact AS f USING (sig_id, key){death}) AS x "
                 f"WHERE day IS NULL OR day <= {lit(self.as_of)}{self._clustered('key')}")

    def _persons(self) -> None:
        p, a = self.db.ref("person"), self.as_of
        genders = self.sql(f"SELECT DISTINCT gender_concept_id, gender_source_value IS NOT NULL "
                           f"FROM {p} AS p").fetchall()
        gmap = C.gender_rows(self.source, genders)
        self.declare("gender", "gid BIGINT, has_sv BOOLEAN, sex VARCHAR")
        self._insert("gender", gmap)
        parts = self.source.mapping.complete_within_observation_period
        period, joins = "FALSE", ""
        # the person's first row (as the reader takes it), with the birth date the reader reads, in parts
        person = (f"SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY person_id) AS k FROM {p} AS p0")
        birth = ", ".join(f"{_birth_part(part, column)} AS b_{part}" for part, column in
                          (("year", "year_of_birth"), ("month", "month_of_birth"), ("day", "day_of_birth")))
        # joins to per-person aggregates, not correlated EXISTS: every engine (Spark too) plans them
        if self.db.has("observation_period") and self.source.completeness in ("observation-period", "lifetime"):
            lifetime = ""
            if self.source.completeness == "lifetime":  # only a period that began by the birth date
                start = "o.observation_period_start_date"
                lifetime = (f" AND b.b_year IS NOT NULL AND (EXTRACT(year FROM {start}) < b.b_year OR "
                            f"(EXTRACT(year FROM {start}) = b.b_year AND (EXTRACT(month FROM {start}) < b.b_month OR "
                            f"(EXTRACT(month FROM {start}) = b.b_month AND EXTRACT(day FROM {start}) <= b.b_day))))")
                joins_b = (f" JOIN (SELECT p.person_id, {birth} FROM ({person}) AS p WHERE p.k = 1) AS b "
                           "ON b.person_id = o.person_id")
            else:
                joins_b = ""
            self.create("covered", f"SELECT DISTINCT o.person_id FROM {self.db.ref('observation_period')} AS o"
                        f"{joins_b} WHERE o.observation_period_start_date <= {lit(a)} AND "
                        f"(o.observation_period_end_date IS NULL OR {lit(a)} <= o.observation_period_end_date)"
                        f"{lifetime}")
            period = "op.person_id IS NOT NULL"
            joins += " LEFT JOIN covered AS op ON op.person_id = p.person_id"
        # deceased on the screening date, as the reader reads death rows (the earliest date; a row without a
        # date: deceased on a date not known) and the engine a deceased patient: the verdict is ineligible
        dead = "FALSE"
        if self.db.has("death"):
            self.create("died", "SELECT person_id, bool_or(death_date IS NULL) OR MIN(death_date) <= "
                        f"{lit(a)} AS dead FROM {self.db.ref('death')} AS d GROUP BY person_id")
            joins += " LEFT JOIN died AS dd ON dd.person_id = p.person_id"
            dead = "COALESCE(dd.dead, FALSE)"
        declared = self.db.has("screening_complete")
        cats = ("conditions", "medications", "procedures", "immunizations", "facts", "observations")
        if declared:
            self.create("declared", "SELECT c.person_id, " + ", ".join(
                f"bool_or(c.category = {lit(cat)}) AS k_{cat}" for cat in cats)
                + f" FROM {self.db.ref('screening_complete')} AS c GROUP BY c.person_id")
            joins += " LEFT JOIN declared AS dc ON dc.person_id = p.person_id"
        comp = []
        for cat in cats:
            terms = ["TRUE"] if cat in self.complete else []
            if cat in parts:
                terms.append(period)
            if declared:
                terms.append(f"COALESCE(dc.k_{cat}, FALSE)")
            comp.append(f"({' OR '.join(terms) or 'FALSE'}) AS c_{cat}")
        self.create("pers", "SELECT p.person_id, "
                 "COALESCE(p.person_source_value, CAST(p.person_id AS VARCHAR)) AS pid_text, "
                 f"{birth}, g.sex, {dead} AS dead, " + ", ".join(comp) +
                 f" FROM ({person}) "
                 "AS p LEFT JOIN gender AS g ON g.gid IS NOT DISTINCT FROM p.gender_concept_id "
                 f"AND g.has_sv = (p.gender_source_value IS NOT NULL){joins} WHERE p.k = 1")

    # ------------------------------------------------------------------ atoms

    def _atom_sql(self, atom) -> tuple[str | None, str, str]:
        """(CTE giving person_id, v, r for persons with records, or None; default v; default r)."""
        t, n, a = atom.trial, atom.node, self.as_of
        if isinstance(n, X.Records):
            return self._records_sql(t, n, atom.name), f"CASE WHEN pers.c_{X.RECORD_FUNCTIONS[n.function][0]} THEN FALSE END", \
                "FALSE"
        if isinstance(n, X.FactIs):
            spec = t.items[n.item]
            key = lit(f"{t.id}/{n.item}")
            if n.item.startswith(X.CONFIRMATION) or spec.matcher.preferred:
                return (f"SELECT person_id, CAST(NULL AS BOOLEAN) AS v, TRUE AS r FROM facts WHERE key = {key} "
                        "GROUP BY person_id"), "CAST(NULL AS BOOLEAN)", "FALSE"
            if atom.inferences is not None:
                return self._fact_sql(t, n.item, statements=True), "CAST(NULL AS BOOLEAN)", "FALSE"
            return self._fact_sql(t, n.item), ("CASE WHEN pers.c_facts THEN FALSE END"), "FALSE"
        src = n.source
        if isinstance(src, X.RefRatio):
            return self._ratio_sql(atom), "CAST(NULL AS BOOLEAN)", "FALSE"
        if isinstance(src, X.Change) and n.op in _SYMBOLS:
            return self._change_sql(atom), "CAST(NULL AS BOOLEAN)", "FALSE"
        if isinstance(src, X.Change):
            ws = src.window.start(a)
            return (f"SELECT person_id, CAST(NULL AS BOOLEAN) AS v, COUNT(*) >= 2 AS r FROM obs WHERE key = "
                    f"{lit(t.id + '/' + src.item)} AND day >= {lit(ws)} GROUP BY person_id"), \
                "CAST(NULL AS BOOLEAN)", "FALSE"
        if src.name == "age":  # completed years; a birth date after the screening date is unknown
            later = (f"(pers.b_month > {a.month} OR (pers.b_month = {a.month} AND pers.b_day > {a.day}))")
            age = f"({a.year} - pers.b_year - CASE WHEN {later} THEN 1 ELSE 0 END)"
            test = _compare(age, n.op, n.constant)
            unborn = f"(pers.b_year > {a.year} OR (pers.b_year = {a.year} AND {later}))"
            return None, f"CASE WHEN pers.b_year IS NULL OR {unborn} THEN NULL ELSE ({test}) END", "FALSE"
        if src.name == "sex":
            whens = " ".join(f"WHEN pers.sex = {lit(s)} THEN {'TRUE' if C.truth_of(s, n) == 'T' else 'FALSE'}"
                             for s in ("female", "male", "other"))
            return None, f"CASE {whens} END", "FALSE"
        return self._compare_sql(atom), "CAST(NULL AS BOOLEAN)", "FALSE"

    def _records_sql(self, t: CompiledTrial, n: X.Records, name: str) -> str:
        category = X.RECORD_FUNCTIONS[n.function][0]
        a, w, fn = lit(self.as_of), n.window, n.function
        ws = lit(w.start(self.as_of)) if w else None

        def overlaps(first: str, last: str, ongoing: str) -> str:
            return (f"CASE WHEN {first} IS NOT NULL AND {first} > {a} THEN 'skip' "
                    f"WHEN {last} IS NOT NULL THEN CASE WHEN {last} < {ws} THEN 'no' "
                    f"WHEN {first} IS NOT NULL OR ({ongoing}) THEN 'yes' ELSE 'maybe' END "
                    f"WHEN ({ongoing}) THEN 'yes' WHEN {first} IS NOT NULL AND {first} >= {ws} THEN 'yes' "
                    "ELSE 'maybe' END")

        if category == "conditions":
            active = f"((d2 IS NOT NULL AND d2 > {a}) OR (status IN ('active', 'recurrence', 'relapse') AND d2 IS NULL))"
            if fn == "has_condition":  # a diagnosis whose activity the chart does not state: maybe
                body = (f"CASE WHEN status = 'unknown' AND NOT (d2 IS NOT NULL AND d2 > {a}) THEN 'maybe' "
                        f"WHEN {active} THEN 'yes' ELSE 'neg' END")
            elif fn == "onset_within":  # the onset decides, not whether it is still charted active
                body = f"CASE WHEN d1 IS NULL THEN 'maybe' WHEN d1 > {a} THEN 'skip' WHEN d1 >= {ws} THEN 'yes' ELSE 'no' END"
            elif w is None:
                body = "'yes'"
            else:
                body = overlaps("d1", "d2", active)
            # a personal history ('Personal history of ...', Z86.711) is past, never active, on or before its date
            last = "COALESCE(d2, d1)"
            past = ("'neg'" if fn == "has_condition" else "'yes'" if w is None else
                    f"CASE WHEN LEAST(d1, d2) < {ws} THEN 'no' ELSE 'maybe' END" if fn == "onset_within" else
                    f"CASE WHEN {last} IS NOT NULL AND {last} < {ws} THEN 'no' ELSE 'maybe' END")
            verdict = (f"CASE WHEN status = 'refuted' THEN 'neg' WHEN past AND d1 IS NOT NULL AND d1 > {a} THEN 'skip' "
                       f"WHEN past THEN {past} ELSE {body} END")
        elif category == "medications":
            current = f"(d2 IS NULL OR d2 >= {a})"
            nottaken = "'neg'" if (fn == "taking" and w is None) else "'no'"
            ongoing = (f"(COALESCE(status, '') <> 'on-hold' AND ((d2 IS NOT NULL AND d2 >= {a} AND d1 IS NOT NULL AND "
                       f"d1 <= {a}) OR (status = 'active' AND (d2 IS NULL OR d2 >= {a}))))")
            if fn == "ever_taken":
                body = "'yes'"
            elif fn == "started_within":
                body = f"CASE WHEN d1 IS NULL THEN 'maybe' WHEN d1 >= {ws} AND d1 <= {a} THEN 'yes' ELSE 'no' END"
            elif w is None:
                body = f"CASE WHEN d2 IS NOT NULL AND d2 < {a} THEN 'no' WHEN {ongoing} THEN 'yes' ELSE 'maybe' END"
            else:
                body = overlaps("d1", "d2", ongoing)
            nt = f"CASE WHEN {current} THEN {nottaken} ELSE 'no' END" if nottaken == "'neg'" else "'no'"
            unknown = (f"CASE WHEN d1 IS NOT NULL AND d2 IS NOT NULL AND d2 < {ws} THEN 'no' ELSE 'maybe' END"
                       if w is not None else "'maybe'")  # not said whether it was given
            verdict = (f"CASE WHEN status = 'not-taken' THEN {nt} WHEN status = 'intended' THEN 'skip' "
                       f"WHEN status = 'unknown' THEN {unknown} ELSE {body} END")
        else:
            end = "d2" if category == "procedures" else "CAST(NULL AS DATE)"
            if fn == "procedure_planned":
                body = "CASE WHEN status = 'planned' THEN 'yes' ELSE 'skip' END"
            elif w is None:
                body = "CASE WHEN status = 'planned' THEN 'skip' ELSE 'yes' END"
            else:
                ongoing = f"(status = 'in-progress' AND ({end} IS NULL OR {end} >= {a}))"
                body = (f"CASE WHEN status = 'planned' THEN 'skip' WHEN d1 IS NULL THEN 'maybe' "
                        f"WHEN {end} IS NOT NULL OR status = 'in-progress' THEN {overlaps('d1', end, ongoing)} "
                        f"WHEN d1 >= {ws} AND d1 <= {a} THEN 'yes' ELSE 'no' END")
            verdict = f"CASE WHEN status = 'not-done' THEN 'neg' ELSE {body} END"
        # a found record whose exclusion, route, dose or qualifier is open reads 'maybe' where it would read
        # 'yes', one whose qualifier says otherwise is not counted where it would read 'yes' or 'maybe'; with no
        # found record deciding, a candidate reading yes or maybe keeps "no record" unknown (the fail-safe), as
        # does any row of the part that could not be mapped ('unm')
        x = (f"CASE WHEN role = 'unm' THEN 'maybe' WHEN role = 'qno' AND ({verdict}) IN ('yes', 'maybe') THEN 'skip' "
             f"WHEN role = 'ask' AND ({verdict}) = 'yes' THEN 'maybe' ELSE {verdict} END")
        return (f"SELECT person_id, CASE WHEN bool_or(f AND x = 'yes') THEN TRUE WHEN bool_or(f AND x = 'maybe') "
                f"THEN NULL WHEN bool_or(f AND x = 'neg') THEN FALSE END AS v, FALSE AS r, "
                f"bool_or((f AND x IN ('yes', 'maybe', 'neg')) OR (NOT f AND x IN ('yes', 'maybe'))) AS decided, "
                f"MAX(CASE WHEN f AND x = 'yes' AND d1 <= {a} THEN d1 END) AS d "
                f"FROM (SELECT person_id, d1, role NOT IN ('cand', 'unm') AS f, {x} AS x FROM recs WHERE atom = {lit(name)}) AS q "
                "GROUP BY person_id")

    def _fact_sql(self, t: CompiledTrial, item: str, statements: bool = False) -> str:
        """A fact's recorded value: the newest record in its window (records disagreeing on that date: NULL).
        ``statements``: also whether any record is a statement (decided), its date (d), and whether every
        record is outside the window (s), for an inferred fact."""
        spec = t.items[item]
        key = lit(f"{t.id}/{item}")
        if spec.window is not None:
            ws = lit(spec.window.start(self.as_of))
            pick = f"MAX(CASE WHEN day >= {ws} THEN day END) OVER (PARTITION BY person_id)"
            chosen = "day = last"
            stale = "bool_or(day = last) IS NOT TRUE"
        else:
            pick = "MAX(day) OVER (PARTITION BY person_id)"
            chosen = "(day = last OR (last IS NULL AND day IS NULL))"
            stale = "FALSE"
        extra = f", NOT ({stale}) AS decided, MAX(last) AS d, {stale} AS s" if statements else ""
        return (f"SELECT person_id, CASE WHEN {stale} THEN NULL WHEN bool_and(CASE WHEN {chosen} THEN val END) THEN "
                f"TRUE WHEN NOT bool_or(CASE WHEN {chosen} THEN val END) THEN FALSE END AS v, FALSE AS r{extra} "
                f"FROM (SELECT *, {pick} AS last FROM facts WHERE key = {key}) AS q GROUP BY person_id")

    def _ratio_sql(self, atom) -> str:
        """x_uln / x_lln: the records the item's pick rule selects, each divided by its own laboratory
        limit (``vratio``, computed once per distinct value and range); any that cannot be: unknown."""
        t, n = atom.trial, atom.node
        spec = t.items[n.source.item]
        key = lit(f"{t.id}/{spec.name}")
        inside = f"day >= {lit(spec.window.start(self.as_of))}" if spec.window is not None else "TRUE"
        base = (f"SELECT o.person_id, o.day, x.kind, x.num, x.t, {inside} AS inside FROM obs AS o JOIN vratio AS x "
                f"ON x.sig_id = o.sig_id AND x.key = o.key AND x.atom = {lit(atom.name)} WHERE o.key = {key}")
        if spec.pick in (Pick.MAX, Pick.MIN):
            ext = "MAX" if spec.pick is Pick.MAX else "MIN"
            return (f"SELECT person_id, CASE WHEN NOT bool_or(inside) THEN NULL WHEN bool_or(inside AND kind = 'bad') "
                    "THEN NULL WHEN bool_and(CASE WHEN inside AND num = m THEN t = 'T' END) THEN TRUE "
                    "WHEN bool_and(CASE WHEN inside AND num = m THEN t = 'F' END) THEN FALSE END AS v, FALSE AS r "
                    f"FROM (SELECT *, {ext}(CASE WHEN inside THEN num END) OVER (PARTITION BY person_id) AS m "
                    f"FROM ({base}) AS b) AS q GROUP BY person_id")
        ext = "MAX" if spec.pick is Pick.LATEST else "MIN"
        return (f"SELECT person_id, CASE WHEN NOT bool_or(inside) THEN NULL "
                "WHEN bool_or(day = last AND kind = 'bad') THEN NULL "
                "WHEN bool_and(CASE WHEN day = last THEN t = 'T' END) THEN TRUE "
                "WHEN bool_and(CASE WHEN day = last THEN t = 'F' END) THEN FALSE END AS v, FALSE AS r "
                f"FROM (SELECT *, {ext}(CASE WHEN inside THEN day END) OVER (PARTITION BY person_id) AS last "
                f"FROM ({base}) AS b) AS q GROUP BY person_id")

    def _compare_sql(self, atom) -> str:
        t, n = atom.trial, atom.node
        spec = t.items[n.source.name]
        key = lit(f"{t.id}/{spec.name}")
        inside = f"day >= {lit(spec.window.start(self.as_of))}" if spec.window is not None else "TRUE"
        base = (f"SELECT o.person_id, o.day, o.kind, o.num, tr.t, {inside} AS inside FROM obs AS o LEFT JOIN vtruth AS tr "
                f"ON tr.sig_id = o.sig_id AND tr.key = o.key AND tr.atom = {lit(atom.name)} WHERE o.key = {key}")
        if spec.pick in (Pick.MAX, Pick.MIN):
            ext = "MAX" if spec.pick is Pick.MAX else "MIN"
            agg = (f"SELECT person_id, CASE WHEN NOT bool_or(inside) THEN NULL WHEN bool_or(inside AND kind = 'bad') "
                   "THEN NULL WHEN bool_or(inside AND kind = 'bound') THEN NULL "
                   "WHEN bool_and(CASE WHEN inside AND num = m THEN t = 'T' END) THEN TRUE "
                   "WHEN bool_and(CASE WHEN inside AND num = m THEN t = 'F' END) THEN FALSE END AS v, "
                   "COALESCE(bool_or(inside) AND NOT bool_or(inside AND kind = 'bad') "
                   "AND bool_or(inside AND kind = 'bound'), FALSE) AS r "
                   f"FROM (SELECT *, {ext}(CASE WHEN inside THEN num END) OVER (PARTITION BY person_id) AS m "
                   f"FROM ({base}) AS b) AS q GROUP BY person_id")
        else:
            ext = "MAX" if spec.pick is Pick.LATEST else "MIN"
            agg = (f"SELECT person_id, CASE WHEN NOT bool_or(inside) THEN NULL "
                   "WHEN bool_or(day = last AND kind = 'bad') THEN NULL "
                   "WHEN bool_and(CASE WHEN day = last THEN t = 'T' END) THEN TRUE "
                   "WHEN bool_and(CASE WHEN day = last THEN t = 'F' END) THEN FALSE END AS v, "
                   "FALSE AS r, bool_or(inside) AS has_inside, MAX(last) AS d, "
                   "CASE WHEN bool_and(CASE WHEN day = last THEN kind = 'exact' END) AND "
                   "MIN(CASE WHEN day = last THEN num END) = MAX(CASE WHEN day = last THEN num END) "
                   "THEN MAX(CASE WHEN day = last THEN num END) END AS x "
                   f"FROM (SELECT *, {ext}(CASE WHEN inside THEN day END) OVER (PARTITION BY person_id) AS last "
                   f"FROM ({base}) AS b) AS q GROUP BY person_id")
        if spec.formula is None:
            return agg
        derived = self._derived_sql(atom)
        if derived is not None:
            return (f"SELECT COALESCE(a.person_id, c.person_id) AS person_id, CASE WHEN a.has_inside THEN a.v "
                    "ELSE c.v END AS v, (a.has_inside IS NOT TRUE AND COALESCE(c.r, FALSE)) AS r "
                    f"FROM ({agg}) AS a FULL OUTER JOIN ({derived}) AS c ON a.person_id = c.person_id")
        # a derived item: with no value of its own in the window, the Python path computes it for persons
        # whose operands are all recorded within their windows; for the others an operand is unknown
        ops = []
        for o in spec.formula.operands:
            ospec = t.items[o]
            if ospec.formula is not None or ospec.dtype is DataType.FACT:
                raise NotImplementedError(f"{spec.name}: an operand that is itself derived")
            cond = f"day >= {lit(ospec.window.start(self.as_of))}" if ospec.window is not None else "TRUE"
            ops.append(f"SELECT DISTINCT person_id FROM obs WHERE key = {lit(t.id + '/' + o)} AND {cond}")
        every = " INTERSECT ".join(f"({q})" for q in ops)
        return (f"SELECT COALESCE(a.person_id, d.person_id) AS person_id, CASE WHEN a.has_inside THEN a.v END AS v, "
                f"(a.has_inside IS NOT TRUE AND d.person_id IS NOT NULL) AS r FROM ({agg}) AS a "
                f"FULL OUTER JOIN ({every}) AS d ON a.person_id = d.person_id")

    def _change_sql(self, atom) -> str:
        """change() / pct_change() as ``engine.items.change`` computes it: the latest minus the earliest value in
        the window; unknown when a value there is not one number, when the first or the last date has
        values that differ, with fewer than two values, or (percent) from 0. A percent change Python rounds
        to 12 digits: within a billionth of the threshold, the Python path decides."""
        t, n = atom.trial, atom.node
        src = n.source
        first, last = "CASE WHEN day = d0 THEN num END", "CASE WHEN day = d1 THEN num END"
        delta = f"(MAX({last}) - MAX({first}))"
        k = (f"CASE WHEN bool_or(NOT (kind = 'exact' AND num IS NOT NULL)) THEN 'U' WHEN COUNT(*) < 2 THEN 'U' "
             f"WHEN MIN({first}) <> MAX({first}) OR MIN({last}) <> MAX({last}) THEN 'U' ")
        if src.percent:
            value = f"(100.0 * {delta} / MAX({first}))"
            k += f"WHEN MAX({first}) = 0 THEN 'U' WHEN {_near(value, n.constant)} THEN 'R' "
        else:
            value = delta
        k += f"WHEN {_compare(value, n.op, n.constant)} THEN 'T' ELSE 'F' END"
        rows = (f"SELECT person_id, day, kind, num, MIN(day) OVER (PARTITION BY person_id) AS d0, "
                f"MAX(day) OVER (PARTITION BY person_id) AS d1 FROM obs WHERE key = {lit(t.id + '/' + src.item)} "
                f"AND day >= {lit(src.window.start(self.as_of))}")
        return _coded(f"SELECT person_id, {k} AS k FROM ({rows}) AS q GROUP BY person_id")

    def _derived_sql(self, atom) -> str | None:
        """A value computed by a formula (``engine.items._derive``) in SQL, per person with every operand in
        its window: (person_id, v, r). SQL computes in doubles where Python rounds to 12 digits, so a person
        whose value lies within a billionth of the threshold or a plausible bound is referred to the Python
        path, as one whose operand dates lie near the formula's max_spread (calendar months in whole days),
        whose arithmetic has no real result, or whose operand SQL cannot read as one number. None: a formula
        not translated (cases of sex, age, operands that are derived or picked as extremes)."""
        t, n = atom.trial, atom.node
        spec = t.items[n.source.name]
        f = spec.formula
        if not isinstance(f, Formula) or f.patient or f.sex or n.op not in _SYMBOLS:
            return None
        specs = [t.items[o] for o in f.operands]
        if any(o.formula is not None or o.dtype is not DataType.QUANTITY or o.pick is not Pick.LATEST
               or o.running for o in specs):
            return None
        ops = []
        for k, (o, ospec) in enumerate(zip(f.operands, specs)):
            inside = f"day >= {lit(ospec.window.start(self.as_of))}" if ospec.window is not None else "TRUE"
            latest = "CASE WHEN day = last THEN"
            ops.append(
                f"(SELECT person_id, MAX(last) AS day, bool_or({latest} kind = 'exact' AND (num IS NULL OR "
                f"ABS(num) >= 1e100) END) AS odd, "
                f"CASE WHEN bool_and({latest} kind = 'exact' AND num IS NOT NULL END) AND MIN({latest} num END) = "
                f"MAX({latest} num END) THEN MAX({latest} num END) END AS x "
                f"FROM (SELECT person_id, day, kind, num, MAX(CASE WHEN {inside} THEN day END) "
                f"OVER (PARTITION BY person_id) AS last FROM obs WHERE key = {lit(t.id + '/' + o)}) AS q "
                f"WHERE last IS NOT NULL GROUP BY person_id) AS o{k}")
        scales = dict(zip(f.operands, f.scales))

        def arith(tree) -> str:
            kind = tree[0]
            if kind == "item":
                return f"(o{f.operands.index(tree[1])}.x * {lit(float(scales[tree[1]]))})"
            if kind in ("const", "qconst"):
                return lit(float(tree[1]))
            a, b = arith(tree[1]), arith(tree[2])
            if kind == "tdiv":
                return f"({a} / NULLIF({b}, 0))"
            if kind == "pow":  # a non-positive base may have no real power: the Python path says
                return f"(CASE WHEN {a} > 0 THEN POWER({a}, {b}) END)"
            return f"({a} {dict(add='+', sub='-', mul='*')[kind]} {b})"

        try:
            value = f"({arith(f.tree)} * {lit(float(f.factor))})"
        except KeyError:  # an operation this translation does not know
            return None
        xs = [f"o{k}.x" for k in range(len(ops))]
        days = [f"o{k}.day" for k in range(len(ops))]
        w = f.max_spread
        lo, hi = 365 * w.years + 28 * w.months + 7 * w.weeks + w.days, 366 * w.years + 31 * w.months + 7 * w.weeks + w.days
        spread = f"DATE_DIFF('day', LEAST({', '.join(days)}), GREATEST({', '.join(days)}))" if len(days) > 1 else "0"

        def near(c: float | None) -> str:
            return "FALSE" if c is None else _near("val", c)

        low, high = spec.plausible or (None, None)
        outside = " OR ".join(([f"val < {lit(float(low))}"] if low is not None else [])
                              + ([f"val > {lit(float(high))}"] if high is not None else [])) or "FALSE"
        stale = f"newest < {lit(spec.window.start(self.as_of))}" if spec.window is not None else "FALSE"
        joins = ops[0] + "".join(f" JOIN {q} ON o{k + 1}.person_id = o0.person_id" for k, q in enumerate(ops[1:]))
        computed = (f"SELECT o0.person_id, {' OR '.join(f'o{k}.odd' for k in range(len(ops)))} AS odd, "
                    f"{' OR '.join(f'{x} IS NULL' for x in xs)} AS missing, {spread} AS spread, "
                    f"{('GREATEST(' + ', '.join(days) + ')') if len(days) > 1 else days[0]} AS newest, "
                    f"CASE WHEN {' AND '.join(f'{x} IS NOT NULL' for x in xs)} THEN {value} END AS val FROM {joins}")
        # R: the Python path decides; U: unknown on both paths (an operand not one number, too far apart,
        # implausible, stale); else the comparison
        k = (f"CASE WHEN odd THEN 'R' WHEN missing THEN 'U' WHEN spread > {hi} THEN 'U' WHEN spread > {lo} THEN 'R' "
             f"WHEN val IS NULL THEN 'R' WHEN {near(low)} OR {near(high)} THEN 'R' WHEN {outside} THEN 'U' "
             f"WHEN {stale} THEN 'U' WHEN {near(n.constant)} THEN 'R' "
             f"WHEN {_compare('val', n.op, n.constant)} THEN 'T' ELSE 'F' END")
        return _coded(f"SELECT person_id, {k} AS k FROM ({computed}) AS c0")

    # ------------------------------------------------------------------ run

    def query(self) -> str:
        """One query: every atom's per-person row (code, refer, evidence date, stale, value) joined to the
        person (a long table pivoted by conditional aggregates evaluated five hundred CASEs per row), inferred
        facts over those columns, then each criterion's status."""
        joins, selects = [], ["pers.person_id", "pers.pid_text", "pers.dead AS dead_", "pers.c_facts AS c_facts_"]
        with_parts: set[str] = set()
        inferred = []
        for atom in self.plan.atoms.values():
            body, dv, dr = self._atom_sql(atom)
            name = atom.name
            if body is None:
                selects.append(f"({dv}) AS {name}_v")
                selects.append(f"COALESCE({dr}, FALSE) AS {name}_r")
                continue
            decided = "decided IS TRUE" if isinstance(atom.node, X.Records) or atom.inferences else "TRUE"
            day, stale = _EXTRA.get(self._extra(atom), ("CAST(NULL AS DATE)", "CAST(NULL AS BOOLEAN)"))
            value = "x" if self._valued(atom) else "CAST(NULL AS DOUBLE)"
            alias = f"{name}j"
            joins.append(f" LEFT JOIN (SELECT person_id, CASE WHEN NOT ({decided}) THEN NULL WHEN v THEN 1 "
                         f"WHEN NOT v THEN 0 ELSE -1 END AS code, r, {day} AS d, {stale} AS s, {value} AS x "
                         f"FROM ({body}) AS {name}) AS {alias} ON {alias}.person_id = pers.person_id")
            code = f"{alias}.code"
            selects.append(f"{alias}.d AS {name}_d")
            selects.append(f"{alias}.x AS {name}_x")
            with_parts.add(name)
            if atom.inferences is not None:
                selects += [f"{code} AS {name}_c", f"COALESCE({alias}.s, FALSE) AS {name}_s",
                            f"COALESCE({alias}.r, FALSE) AS {name}_r"]
                inferred.append(f"{self._inferred_sql(atom)} AS {name}_v")
                continue
            selects.append(f"CASE WHEN {code} = 1 THEN TRUE WHEN {code} = 0 THEN FALSE WHEN {code} = -1 THEN NULL "
                           f"ELSE {dv} END AS {name}_v")
            selects.append(f"COALESCE({alias}.r, {dr}, FALSE) AS {name}_r")
        atoms = f"SELECT {', '.join(selects)} FROM pers{''.join(joins)}"
        if inferred:
            atoms = f"SELECT *, {', '.join(inferred)} FROM ({atoms}) AS base"
        crit = []
        for i, c in enumerate(self.plan.criteria):
            crit.append(f"{c.status.sql(dialect='duckdb')} AS s{i}")
            crit.append(f"{c.refer.sql(dialect='duckdb')} AS r{i}")
        for j, b in enumerate(self.plan.bullets):
            crit.append(f"{b.status.sql(dialect='duckdb')} AS b{j}")
        # the deciding value of a criterion read from one atom: the value (in the item's unit) and date of the
        # record a comparison picked, or the newest date of the records a record function found
        self.deciders = [(i, c) for i, c in enumerate(self.plan.criteria) if c.decider in with_parts]
        for i, c in self.deciders:
            crit.append(f"{c.decider}_x AS x{i}, {c.decider}_d AS d{i}")
        return f"SELECT person_id, pid_text, dead_ AS dead, {', '.join(crit)} FROM ({atoms}) AS atoms"

    def _valued(self, atom) -> bool:
        """Does the atom's query give the value it decided on (``x``): a comparison of one picked record."""
        n = atom.node
        return self._extra(atom) == "d" and isinstance(n, X.Compare)

    def _extra(self, atom) -> str | None:
        """Which of the evidence date and stale columns an atom's query gives."""
        n = atom.node
        if isinstance(n, X.Records):
            return "d"
        if atom.inferences is not None:
            return "ds"
        if isinstance(n, X.Compare) and type(n.source) is X.Item and n.source.name not in ("age", "sex"):
            spec = atom.trial.items[n.source.name]
            if spec.formula is None and spec.pick not in (Pick.MAX, Pick.MIN):
                return "d"
        return None

    def _inferred_sql(self, atom) -> str:
        """An inferred fact as ``engine.items`` resolves it: among the recorded statements (in its window)
        and the inferences that hold, the newest wins (undated below dated), a yes and a no on that date is
        unknown; else an undecided inference, or stale records, leave it unknown; else the rule file's
        ``otherwise`` when every inference fails; else no, when facts are declared complete."""
        name, spec = atom.name, atom.trial.items[atom.node.item]
        floor = lit(dt.date(1, 1, 1))
        c, d = f"{name}_c", f"{name}_d"
        dated = [(f"({c} IS NOT NULL)", f"COALESCE({d}, {floor})")]
        yes, no = [f"({c} = 1)"], [f"({c} = 0)"]
        undecided = []
        for value, day, then in atom.inferences:
            v, dd = value.sql(dialect="duckdb"), day.sql(dialect="duckdb")
            dated.append((f"(({v}) IS TRUE)", f"COALESCE({dd}, {floor})"))
            undecided.append(f"({v}) IS NULL")
        newest = "GREATEST(" + ", ".join(f"CASE WHEN {holds} THEN {when} END" for holds, when in dated) + ")"
        top = [f"({holds} AND {when} = {newest})" for holds, when in dated]
        for (value, day, then), t in zip(atom.inferences, top[1:]):
            (yes if then else no).append(t)
        yes = [f"({top[0]} AND {c} = 1)"] + [y for y in yes[1:]]
        no = [f"({top[0]} AND {c} = 0)"] + [n for n in no[1:]]
        otherwise = "" if spec.otherwise is None else f"WHEN TRUE THEN {lit(bool(spec.otherwise))} "
        return (f"CASE WHEN {newest} IS NOT NULL THEN CASE WHEN {top[0]} AND {c} = -1 THEN NULL "
                f"WHEN ({' OR '.join(yes)}) AND ({' OR '.join(no)}) THEN NULL WHEN {' OR '.join(yes)} THEN TRUE "
                f"ELSE FALSE END WHEN {' OR '.join(undecided)} THEN NULL WHEN {name}_s THEN NULL "
                f"{otherwise}WHEN c_facts_ THEN FALSE END")

    def run(self, out=None, python_fallback: bool = True, collect: bool | None = None) -> PopulationResult:
        """Screen the population. Statuses stay in the database (table ``final``, one row per person):
        only the rows a criterion refers to the Python path are fetched, and the Python path's statuses go
        back as a small table merged in SQL. ``out``: write statuses.parquet and verdicts.parquet there
        from the database, in batches (memory does not grow with the population). ``collect`` (default:
        when there is no ``out``): also fetch every status into the result, for populations that fit in
        memory. The funnels are always counted, in the database."""
        import time

        collect = out is None if collect is None else collect
        timings = {}
        t0 = time.perf_counter()
        self._events()
        self._identities()
        self._values()
        self._persons()
        timings["stage"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.create("res", self.query())
        refer = self._referred()
        timings["query"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fixes, own = self._fallback(refer) if python_fallback else ([], [])
        timings["python"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._merge(fixes, own)
        result = PopulationResult(self.as_of, self.trials, self.plan, refer, timings)
        result.count, result.funnels = self._funnels()
        timings["merge"] = time.perf_counter() - t0
        if out is not None:
            t0 = time.perf_counter()
            result.sizes = self._write(out)
            timings["write"] = time.perf_counter() - t0
        if collect:
            self._collect(result)
        return result

    def _referred(self) -> dict[str, dict[int, set[str]]]:
        """trial -> person -> the criteria SQL referred to the Python path: only those rows are fetched."""
        refer: dict[str, dict[int, set[str]]] = {t.id: {} for t in self.trials}
        some = self.referable
        if not some:
            return refer
        rows = self.sql(f"SELECT person_id, {', '.join(f'r{i}' for i in some)} FROM res WHERE "
                        + " OR ".join(f"r{i}" for i in some)).fetchall()
        for row in rows:
            for k, i in enumerate(some):
                if row[1 + k]:
                    c = self.plan.criteria[i]
                    refer[c.trial].setdefault(row[0], set()).add(c.id)
        return refer

    def _fallback(self, refer) -> tuple[list[tuple], list[tuple]]:
        """The referred criteria on the Python path (``fallback``): the persons read in chunks, screened for
        those criteria only, on ``self.workers`` processes. Returns (person, criterion index, status) and
        (person, bullet index, status) rows for the bullets with their own and/or of a referred trial."""
        from .fallback import run_fallback

        ids = sorted({pid for per in refer.values() for pid in per})
        if not ids:
            return [], []
        source = OmopSource(self.db, self.as_of, ids, self.source.completeness, table=self.source.mapping)
        source.concepts, source._identities = self.source.concepts, self.source._identities
        tids = [t.id for t in self.trials]
        wants: dict[int, list[tuple[int, list[str]]]] = {}
        for k, tid in enumerate(tids):
            for pid, want in refer[tid].items():
                if want:
                    wants.setdefault(pid, []).append((k, sorted(want)))
        index = {(c.trial, c.id): i for i, c in enumerate(self.plan.criteria)}
        bindex = {(b.trial, b.id): j for j, b in enumerate(self.plan.bullets)}
        own_of = [own_bullets(t) for t in self.trials]
        fixes, own_rows = [], []
        for pid, k, got, own in run_fallback(source, wants, self.trials, own_of, self.as_of, sorted(self.complete),
                                             self.workers):
            tid = tids[k]
            fixes += [(pid, index[(tid, cid)], status) for cid, status in got.items()]
            own_rows += [(pid, bindex[(tid, bid)], status) for bid, status in (own or {}).items()
                         if (tid, bid) in bindex]
        return fixes, own_rows

    def _merge(self, fixes: list[tuple], own: list[tuple]) -> None:
        """``final``: SQL's statuses with the Python path's in place of the referred ones (and its bullets for
        a referred trial), one row per person; ``verdicts``: per person and trial, the verdict, the status
        letters and the failed and unknown criteria."""
        plan = self.plan
        self.declare("pyfix", "person_id BIGINT, i INTEGER, status VARCHAR")
        self._insert("pyfix", fixes)
        self.declare("pybul", "person_id BIGINT, j INTEGER, status VARCHAR")
        self._insert("pybul", own)
        some = self.referable
        deciders = {i for i, _ in self.deciders}
        cols = ["res.person_id", "res.pid_text", "res.dead"]
        for i in range(len(plan.criteria)):
            cols.append(f"COALESCE(fx.p{i}, res.s{i}) AS s{i}" if i in some else f"res.s{i}")
            cols.append(f"res.r{i}")
            if i in deciders:
                cols += [f"CASE WHEN res.r{i} THEN NULL ELSE res.x{i} END AS x{i}",
                         f"CASE WHEN res.r{i} THEN NULL ELSE res.d{i} END AS d{i}"]
        joins = ""
        if some:
            joins += (" LEFT JOIN (SELECT person_id, " + ", ".join(
                f"MAX(CASE WHEN i = {i} THEN status END) AS p{i}" for i in some)
                + " FROM pyfix GROUP BY person_id) AS fx ON fx.person_id = res.person_id")
        if plan.bullets:
            cols += [f"COALESCE(fb.q{j}, res.b{j}) AS b{j}" for j in range(len(plan.bullets))]
            joins += (" LEFT JOIN (SELECT person_id, " + ", ".join(
                f"MAX(CASE WHEN j = {j} THEN status END) AS q{j}" for j in range(len(plan.bullets)))
                + " FROM pybul GROUP BY person_id) AS fb ON fb.person_id = res.person_id")
        self.view("final", f"SELECT {', '.join(cols)} FROM res{joins}")
        per_trial = []
        for t in self.trials:
            mine = [(i, c) for i, c in enumerate(plan.criteria) if c.trial == t.id]
            bullets = [(j, b) for j, b in enumerate(plan.bullets) if b.trial == t.id]
            own_ids = {b.id for _, b in bullets}
            whole = [(i, c) for i, c in mine if c.parent not in own_ids]  # bullets stand for their parts
            said = [f"s{i}" for i, _ in whole] + [f"b{j}" for j, _ in bullets]

            def any_of(columns: list[str], status: str) -> str:
                return "(" + " OR ".join(f"{x} = {lit(status)}" for x in columns) + ")" if columns else "FALSE"

            not_pending = [f"s{i}" for i, c in whole if not c.pending_if_unknown]
            # a deceased person is ineligible whatever the criteria say (engine.evaluate), never pending
            verdict = (f"CASE WHEN dead THEN 'ineligible' WHEN {any_of(said, 'fail')} THEN 'ineligible' "
                       f"WHEN NOT {any_of(said, 'unknown')} THEN 'eligible' "
                       f"WHEN NOT {any_of([f'b{j}' for j, _ in bullets], 'unknown')} "
                       f"AND NOT {any_of(not_pending, 'unknown')} THEN 'pending_confirmation' "
                       "ELSE 'undetermined' END")
            letters = "CONCAT(" + ", ".join(
                f"CASE s{i} WHEN 'pass' THEN 'p' WHEN 'fail' THEN 'f' ELSE 'u' END" for i, _ in mine) + ")"

            def listed(status: str) -> str:
                return "CONCAT_WS(',', " + ", ".join(
                    f"CASE WHEN s{i} = {lit(status)} THEN {lit(c.id)} END" for i, c in mine) + ")"

            per_trial.append(f"SELECT person_id, pid_text AS person, {lit(t.id)} AS trial, {verdict} AS vkey, "
                             f"{letters} AS letters, {listed('fail')} AS failed, {listed('unknown')} AS unknown "
                             "FROM final")
        self.view("verdicts", " UNION ALL ".join(per_trial))

    def _funnels(self) -> tuple[int, list]:
        """(persons screened, one ``Funnel`` per trial) counted in the database by status letters."""
        from ..report.funnel import Funnel

        count = self.sql("SELECT COUNT(*) FROM final").fetchall()[0][0]
        funnels = {t.id: Funnel.for_trial(t) for t in self.trials}
        for trial, letters, vkey, n in self.sql(
                "SELECT trial, letters, vkey, COUNT(*) FROM verdicts GROUP BY trial, letters, vkey").fetchall():
            funnels[trial].add(letters, vkey, n)
        return count, [funnels[t.id] for t in self.trials]

    def _status_cells(self, i: int, c, deciders: set[int]) -> tuple[str, ...]:
        """One criterion's cells of statuses.parquet over ``final``: criterion, status, by, value, unit, date
        (what SQL decided on, for a criterion read from one atom, one of ``deciders``; NULL otherwise)."""
        if i in deciders:
            unit = f"CASE WHEN x{i} IS NOT NULL THEN {lit(c.unit)} END" if c.unit is not None else "NULL"
            value, day = f"x{i}", f"d{i}"
        else:
            value = unit = day = "NULL"
        return lit(c.id), f"s{i}", f"CASE WHEN r{i} THEN 'python' ELSE 'sql' END", value, unit, day

    def _statuses_sql(self) -> str:
        """statuses.parquet as one query over ``final``: one row per person and criterion, criterion by
        criterion."""
        deciders, parts = {i for i, _ in self.deciders}, []
        for i, c in enumerate(self.plan.criteria):
            cells = self._status_cells(i, c, deciders)
            typed = ", ".join(f"CAST({cell} AS {kind}) AS {name}"
                              for cell, (name, kind) in zip(cells, _STATUS_COLUMNS))
            parts.append(f"SELECT person_id, pid_text AS person, {lit(c.trial)} AS trial, {typed} FROM final")
        return " UNION ALL ".join(parts)

    def _statuses_unnested(self) -> str:
        """statuses.parquet on DuckDB: per trial, one row per person unnested to one row per criterion (lists
        unnested side by side), so that a person's rows lie together and compress."""
        deciders, parts = {i for i, _ in self.deciders}, []
        for t in self.trials:
            cells = [self._status_cells(i, c, deciders) for i, c in enumerate(self.plan.criteria) if c.trial == t.id]
            lists = ", ".join(f"UNNEST(CAST([{', '.join(column)}] AS {kind}[])) AS {name}"
                              for column, (name, kind) in zip(zip(*cells), _STATUS_COLUMNS))
            parts.append(f"SELECT person_id, pid_text AS person, {lit(t.id)} AS trial, {lists} FROM final")
        return " UNION ALL ".join(parts)

    def _write(self, out_dir) -> dict[str, int]:
        """statuses.parquet and verdicts.parquet (``STATUS_SCHEMA``, ``VERDICT_SCHEMA``) from the database, each under a
        temporary name renamed when complete; the bytes written per file."""
        import os
        from pathlib import Path

        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        verdict = ("SELECT person_id, person, trial, CASE WHEN vkey = 'pending_confirmation' THEN 'undetermined' "
                   "ELSE vkey END AS verdict, failed, unknown FROM verdicts")
        sizes = {}
        if self.dialect == "duckdb":  # DuckDB writes Parquet itself, on every core, a person's rows together
            for name, sql in (("statuses.parquet", self._statuses_unnested()), ("verdicts.parquet", (
                    "SELECT person_id, person, trial, verdict, CASE WHEN failed = '' THEN CAST([] AS VARCHAR[]) ELSE "
                    "string_split(failed, ',') END AS failed, CASE WHEN unknown = '' THEN CAST([] AS VARCHAR[]) "
                    f"ELSE string_split(unknown, ',') END AS unknown FROM ({verdict}) AS v"))):
                tmp = out / f".{name}.partial"
                self.sql(f"COPY ({sql}) TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
                os.replace(tmp, out / name)
                sizes[name] = (out / name).stat().st_size
            return sizes
        for name, sql, schema in (("statuses.parquet", self._statuses_sql(), STATUS_SCHEMA),
                                  ("verdicts.parquet", verdict, VERDICT_SCHEMA)):
            tmp = out / f".{name}.partial"
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for batch in self._batches(sql, schema):
                    if name == "verdicts.parquet":
                        cols = [batch.column(k) for k in range(4)]
                        for k in (4, 5):  # 'inc-1,exc-2' -> ['inc-1', 'exc-2']; '' -> []
                            text = batch.column(k)
                            split = pc.split_pattern(pc.fill_null(text, ""), ",")
                            empty = pa.array([[]] * len(text), pa.list_(pa.string()))
                            cols.append(pc.if_else(pc.equal(pc.fill_null(text, ""), ""), empty, split))
                        batch = pa.RecordBatch.from_arrays(cols, schema=schema)
                    writer.write_batch(batch)
            os.replace(tmp, out / name)
            sizes[name] = (out / name).stat().st_size
        return sizes

    def _batches(self, sql: str, schema) -> Iterator[Any]:
        """The rows of ``sql`` as Arrow record batches of ``schema`` (list columns read as text), a bounded
        number of rows at a time on every engine."""
        text = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_list(f.type) else f for f in schema])
        if self.dialect == "duckdb":
            relation = self.con.sql(sql)  # DuckDB 2 names the streaming reader to_arrow_reader, 1.x fetch_arrow_reader
            reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
            reader = reader(BATCH_ROWS)
            for batch in reader:
                yield pa.RecordBatch.from_arrays([batch.column(k).cast(text.field(k).type)
                                                  for k in range(len(text))], schema=text)
            return
        if self.dialect == "spark":
            frame = self.sql(sql).frame
            for rows in _chunks(frame.toLocalIterator(), BATCH_ROWS):
                yield _from_rows(rows, text)
            return
        # a server-side cursor (which lives in a transaction): rows arrive in batches
        with self.con.transaction(), self.con.cursor(name="screening_out") as cur:
            cur.execute(self._dialect_sql(sql))
            while rows := cur.fetchmany(BATCH_ROWS):
                yield _from_rows(rows, text)

    def _collect(self, result: PopulationResult) -> None:
        """Every status, bullet, deciding value and verdict into ``result`` (a population that fits in memory)."""
        plan = self.plan
        n = len(plan.criteria)
        cols = ", ".join([f"s{i}" for i in range(n)] + [f"b{j}" for j in range(len(plan.bullets))]
                         + [f"x{i}, d{i}" for i, _ in self.deciders])
        for row in self.sql(f"SELECT person_id, pid_text, {cols} FROM final ORDER BY person_id").fetchall():
            pid = row[0]
            result.persons.append((pid, row[1]))
            for i, c in enumerate(plan.criteria):
                result.statuses.setdefault(c.trial, {}).setdefault(pid, []).append(row[2 + i])
            for j, b in enumerate(plan.bullets):
                result.bullets.setdefault(b.trial, {}).setdefault(pid, {})[b.id] = row[2 + n + j]
            first = 2 + n + len(plan.bullets)
            for k, (i, c) in enumerate(self.deciders):
                x, d = row[first + 2 * k], row[first + 2 * k + 1]
                if x is not None or d is not None:
                    result.values.setdefault(c.trial, {}).setdefault(pid, {})[c.id] = (x, d)
        for pid, trial, vkey in self.sql("SELECT person_id, trial, vkey FROM verdicts").fetchall():
            result.verdicts[(trial, pid)] = vkey


# a year, month and day of birth that make a date (as the reader's datetime.date does): years 1-9999, the
# month's own number of days, February 29 in leap years only
_BIRTH_IS_A_DATE = (
    "p.year_of_birth BETWEEN 1 AND 9999 AND p.month_of_birth BETWEEN 1 AND 12 AND p.day_of_birth BETWEEN 1 AND "
    "CASE WHEN p.month_of_birth IN (4, 6, 9, 11) THEN 30 WHEN p.month_of_birth = 2 THEN CASE WHEN "
    "p.year_of_birth % 400 = 0 OR (p.year_of_birth % 4 = 0 AND p.year_of_birth % 100 <> 0) THEN 29 ELSE 28 END "
    "ELSE 31 END")


def _birth_part(part: str, column: str) -> str:
    """The year, month or day of the birth date the reader reads: birth_datetime's, else the person's year, month
    and day of birth when they make a date; NULL (age unknown) otherwise."""
    return (f"CASE WHEN p.birth_datetime IS NOT NULL THEN CAST(EXTRACT({part} FROM p.birth_datetime) AS INTEGER) "
            f"WHEN {_BIRTH_IS_A_DATE} THEN CAST(p.{column} AS INTEGER) END")


def _compare(value: str, op: str, constant: Any) -> str:
    """``value op constant`` in SQL for a number (age)."""
    if op == "in":
        return f"{value} IN ({', '.join(lit(float(c)) for c in constant)})"
    return f"{value} {_SYMBOLS[op]} {lit(float(constant))}"


def _near(value: str, constant: float) -> str:
    """``value`` within a billionth of ``constant``: where a double computed in SQL and the Python path's value
    rounded to 12 digits may fall on different sides of it."""
    return f"ABS({value} - {lit(float(constant))}) <= 1e-9 * ABS({value}) + 1e-12"


def _coded(query: str) -> str:
    """(person_id, v, r) from a query giving per person a code ``k``: 'T' true, 'F' false, 'U' unknown on both
    paths, 'R' referred to the Python path."""
    return (f"SELECT person_id, CASE WHEN k = 'T' THEN TRUE WHEN k = 'F' THEN FALSE END AS v, k = 'R' AS r "
            f"FROM ({query}) AS coded")


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(tuple(row))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _from_rows(rows: list[tuple], schema) -> Any:
    """Rows fetched from a database cursor as one Arrow record batch."""
    return pa.RecordBatch.from_arrays([pa.array([r[k] for r in rows], f.type) for k, f in enumerate(schema)],
                                      schema=schema)
