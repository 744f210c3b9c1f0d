"""An OMOP (Athena) vocabulary export indexed into one SQLite file, and the look-ups concept sets need.

Sites that run OHDSI tools have the Athena download: CONCEPT.csv, CONCEPT_RELATIONSHIP.csv and,
in a full export, CONCEPT_ANCESTOR.csv (tab- or comma-separated). ``load(folder, db)`` reads
them once into ``db`` (``screening vocab load DIR``); ``Athena(db)`` then answers, by
'system:code': the concept, its descendants (CONCEPT_ANCESTOR, else 'Is a' relationships),
the standard concepts a source code maps to ('Maps to'), and a drug product's ingredients
('RxNorm has ing', 'Has brand name' ... followed to concepts of class Ingredient). The file
is plain data (SQLite, opened read-only); nothing in it is executed.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# OMOP vocabulary_id -> the code-system prefix of profiles and rule files
SYSTEM_OF = {
    "RxNorm": "rxnorm", "RxNorm Extension": "rxnormext", "SNOMED": "snomed", "ICD10CM": "icd10cm",
    "ICD10": "icd10who", "ATC": "atc", "CVX": "cvx", "LOINC": "loinc", "NDC": "ndc", "CPT4": "cpt",
    "HCPCS": "hcpcs", "ICD9CM": "icd9cm", "ICD10PCS": "icd10pcs", "UCUM": "ucum", "Gender": "gender",
}
VOCABULARY_OF = {v: k for k, v in SYSTEM_OF.items()}
VOCABULARY_OF["icd10"] = "ICD10CM"  # the family prefix: ICD-10-CM first, WHO ICD-10 as well (see lookup)

_INGREDIENT_RELATIONS = ("RxNorm has ing", "Has ingredient", "Consists of", "Has tradename", "Tradename of",
                         "Marketed form of", "Box of", "Quantified form of", "Has brand name", "RxNorm is a",
                         "Has precise ing", "Form of", "Contained in", "Maps to")

SCHEMA = """
CREATE TABLE concept (concept_id INTEGER PRIMARY KEY, concept_name TEXT, domain_id TEXT, vocabulary_id TEXT,
                      concept_class_id TEXT, standard_concept TEXT, concept_code TEXT, invalid_reason TEXT);
CREATE TABLE relationship (concept_id_1 INTEGER, concept_id_2 INTEGER, relationship_id TEXT);
CREATE TABLE ancestor (ancestor_concept_id INTEGER, descendant_concept_id INTEGER, min_levels INTEGER);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""


class VocabularyError(Exception):
    """The vocabulary folder or database cannot be used (missing file, wrong columns)."""


def _reader(path: Path):
    """Rows of an Athena CSV as dicts: tab-separated (Athena's download) or comma-separated."""
    fh = open(path, newline="", encoding="utf-8")
    head = fh.readline()
    fh.seek(0)
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    return fh, csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / name.lower()):
        if candidate.exists():
            return candidate
    return None


def load(folder: str | Path, db: str | Path) -> dict[str, int]:
    """Index an Athena export folder into the SQLite file ``db`` (replaced atomically); returns row counts."""
    folder = Path(folder)
    concept = _find(folder, "CONCEPT.csv")
    if concept is None:
        raise VocabularyError(f"{folder}: no CONCEPT.csv (an OMOP vocabulary export holds CONCEPT.csv, "
                              "CONCEPT_RELATIONSHIP.csv and CONCEPT_ANCESTOR.csv)")
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=db.parent, suffix=".tmp")
    os.close(fd)
    counts = {"concept": 0, "relationship": 0, "ancestor": 0}
    try:
        con = sqlite3.connect(tmp)
        con.executescript(SCHEMA)
        fh, rows = _reader(concept)
        with fh:
            need = {"concept_id", "concept_name", "vocabulary_id", "concept_code"}
            if not need <= set(rows.fieldnames or ()):
                raise VocabularyError(f"{concept}: expected the columns {sorted(need)}, found {rows.fieldnames}")
            batch = ((int(r["concept_id"]), r["concept_name"], r.get("domain_id"), r["vocabulary_id"],
                      r.get("concept_class_id"), r.get("standard_concept") or None, r["concept_code"],
                      r.get("invalid_reason") or None) for r in rows)
            con.executemany("INSERT OR REPLACE INTO concept VALUES (?,?,?,?,?,?,?,?)", batch)
        counts["concept"] = con.execute("SELECT count(*) FROM concept").fetchone()[0]
        rel = _find(folder, "CONCEPT_RELATIONSHIP.csv")
        if rel is not None:
            fh, rows = _reader(rel)
            with fh:
                con.executemany("INSERT INTO relationship VALUES (?,?,?)",
                                ((int(r["concept_id_1"]), int(r["concept_id_2"]), r["relationship_id"])
                                 for r in rows if not r.get("invalid_reason")))
            counts["relationship"] = con.execute("SELECT count(*) FROM relationship").fetchone()[0]
        anc = _find(folder, "CONCEPT_ANCESTOR.csv")
        if anc is not None:
            fh, rows = _reader(anc)
            with fh:
                con.executemany("INSERT INTO ancestor VALUES (?,?,?)",
                                ((int(r["ancestor_concept_id"]), int(r["descendant_concept_id"]),
                                  int(r.get("min_levels_of_separation") or 0)) for r in rows))
            counts["ancestor"] = con.execute("SELECT count(*) FROM ancestor").fetchone()[0]
        con.executescript("""
            CREATE INDEX concept_code ON concept (vocabulary_id, concept_code);
            CREATE INDEX rel_1 ON relationship (concept_id_1, relationship_id);
            CREATE INDEX rel_2 ON relationship (concept_id_2, relationship_id);
            CREATE INDEX anc_a ON ancestor (ancestor_concept_id);
            CREATE INDEX anc_d ON ancestor (descendant_concept_id);
        """)
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("source", str(folder.resolve()))]
                        + [(f"rows.{k}", str(v)) for k, v in counts.items()])
        con.commit()
        con.close()
        os.replace(tmp, db)
    except (KeyError, ValueError) as e:
        raise VocabularyError(f"{folder}: unexpected content in the vocabulary files: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return counts


@dataclass(frozen=True)
class Concept:
    id: int
    system: str
    code: str
    name: str
    concept_class: str | None
    standard: bool
    domain: str | None

    @property
    def key(self) -> str:
        return f"{self.system}:{self.code}"


class Athena:
    """Read-only look-ups in an indexed vocabulary file."""

    def __init__(self, db: str | Path):
        db = Path(db)
        if not db.exists():
            raise VocabularyError(f"{db}: no vocabulary database (create it with `screening vocab load DIR`)")
        self.path = db
        self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)

    def close(self) -> None:
        self.con.close()

    def _concept(self, row) -> Concept:
        cid, name, domain, vocab, cls, std, code = row
        return Concept(cid, SYSTEM_OF.get(vocab, vocab.lower()), code, name, cls, std == "S", domain)

    _COLS = "concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code"

    def lookup(self, code: str) -> list[Concept]:
        """Concepts for 'system:code' ('icd10:' looks in ICD-10-CM, then WHO ICD-10)."""
        system, _, value = code.strip().partition(":")
        system = system.lower()
        vocabs = ["ICD10CM", "ICD10"] if system == "icd10" else [VOCABULARY_OF.get(system)]
        out = []
        for vocab in vocabs:
            if vocab is None:
                continue
            candidates = {value, value.upper()}
            if vocab in ("ICD10CM", "ICD10") and "." not in value and len(value) > 3:
                candidates.add(value.upper()[:3] + "." + value.upper()[3:])
            for v in candidates:
                out += [self._concept(r) for r in self.con.execute(
                    f"SELECT {self._COLS} FROM concept WHERE vocabulary_id = ? AND concept_code = ?", (vocab, v))]
            if out:
                break
        return out

    def by_ids(self, ids) -> list[Concept]:
        ids = list(dict.fromkeys(ids))
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += [self._concept(r) for r in self.con.execute(
                f"SELECT {self._COLS} FROM concept WHERE concept_id IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def related(self, ids, relations) -> set[int]:
        """Concept ids related to ``ids`` by one of ``relations``."""
        if not ids:
            return set()
        q = (f"SELECT concept_id_2 FROM relationship WHERE concept_id_1 IN ({','.join('?' * len(ids))}) "
             f"AND relationship_id IN ({','.join('?' * len(relations))})")
        return {r[0] for r in self.con.execute(q, list(ids) + list(relations))}

    def maps_to(self, code: str) -> list[Concept]:
        """The standard concepts a (source) code maps to; the concept itself when it is standard."""
        out = []
        for c in self.lookup(code):
            if c.standard:
                out.append(c)
            out += self.by_ids(self.related([c.id], ("Maps to",)))
        return list({c.id: c for c in out}.values())

    def descendants(self, code: str) -> list[Concept]:
        """Concepts under a code: CONCEPT_ANCESTOR when loaded, else the transitive 'Subsumes' relation."""
        start = [c.id for c in self.maps_to(code)] or [c.id for c in self.lookup(code)]
        if not start:
            return []
        if self.con.execute("SELECT 1 FROM ancestor LIMIT 1").fetchone():
            q = f"SELECT descendant_concept_id FROM ancestor WHERE ancestor_concept_id IN ({','.join('?' * len(start))})"
            ids = {r[0] for r in self.con.execute(q, start)}
        else:
            ids, frontier = set(start), set(start)
            while frontier:
                frontier = self.related(frontier, ("Subsumes",)) - ids
                ids |= frontier
        return self.by_ids(ids)

    def ingredients(self, code: str) -> list[Concept]:
        """The RxNorm ingredients of a drug code (a clinical or branded drug, a pack, an NDC); the
        concept itself when it is an ingredient."""
        seen: set[int] = set()
        frontier = {c.id for c in self.lookup(code)}
        found: dict[int, Concept] = {}
        for _ in range(6):
            if not frontier:
                break
            seen |= frontier
            for c in self.by_ids(frontier):
                if c.concept_class == "Ingredient":
                    found[c.id] = c
            frontier = self.related(frontier, _INGREDIENT_RELATIONS) - seen
        return list(found.values())

    def products(self, ingredient_codes) -> list[Concept]:
        """Drug concepts whose ingredients include one of ``ingredient_codes`` ('rxnorm:3002')."""
        ids = {c.id for code in ingredient_codes for c in self.lookup(code)}
        if not ids:
            return []
        if self.con.execute("SELECT 1 FROM ancestor LIMIT 1").fetchone():
            q = f"SELECT descendant_concept_id FROM ancestor WHERE ancestor_concept_id IN ({','.join('?' * len(ids))})"
            out = {r[0] for r in self.con.execute(q, list(ids))}
        else:
            out, frontier = set(ids), set(ids)
            for _ in range(6):
                frontier = self.related(frontier, ("RxNorm ing of", "Ingredient of", "Constitutes", "Tradename of",
                                                    "Has marketed form", "Has quantified form", "Available as box",
                                                    "Brand name of", "RxNorm inverse is a", "Mapped from")) - out
                if not frontier:
                    break
                out |= frontier
        return [c for c in self.by_ids(out) if c.domain in (None, "Drug")]


def default_db() -> Path | None:
    """SCREENING_VOCABULARY, else 'vocabulary.sqlite' in the cache folder when it exists; None when neither."""
    from .drugs import cache_folder

    env = os.environ.get("SCREENING_VOCABULARY")
    if env is not None:
        return Path(env) if env else None
    folder = cache_folder()
    if folder is None:
        return None
    path = folder / "vocabulary.sqlite"
    return path if path.exists() else None
