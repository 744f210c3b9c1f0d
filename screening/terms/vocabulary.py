"""The terminology layer's interface: what a record is, and whether it could belong to a concept set.

``Terminology.classify(category, record)`` gives ``Recognised`` (the concepts the record is,
and how they were found: a code, an ingredient or brand name inside a product name, a
condition's name) or ``Unrecognised`` (why not). ``Terminology.member(category, record,
footprint)`` says whether a record that a concept set's matcher did not find could still be
one of its members: ``no`` only when the record is recognised as something the set does not
hold (a vitamin against immunosuppressants, I10 against C*), ``maybe`` otherwise. A
``Footprint`` is what a concept set covers in the vocabularies (its drugs and drug classes,
its ICD-10 codes and classes), computed when the rule file is compiled.

Vocabularies are loaded once per process, on first use: the drug data files (``drugs.py``),
the condition data file, and an OMOP vocabulary database when one is configured
(``athena.py``: SCREENING_VOCABULARY or ``screening vocab load``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from . import icd
from .drugs import DrugVocabulary, expand, read_data, vocabulary as drug_vocabulary

DRUG_CATEGORIES = ("medications", "immunizations")
YES, NO, MAYBE = "yes", "no", "maybe"


@dataclass(frozen=True)
class Recognised:
    """A record the vocabulary knows: the concepts it is and how they were found."""

    concepts: tuple[str, ...]
    source: str
    icd10: tuple[str, ...] = ()  # ICD-10 codes that place it (conditions)
    drugs: tuple[str, ...] = ()  # drug names (medications, immunizations)
    classes: tuple[str, ...] = ()  # drug classes named without a drug ('chemotherapy', atc:L04AX)
    history: str | None = None  # 'personal history' / 'family history' for Z80-Z87, Z92 codes
    entries: tuple[str, ...] = ()  # condition or procedure vocabulary entries it is
    entry_classes: tuple[str, ...] = ()  # procedure classes of those entries

    def text(self) -> str:
        return ", ".join(self.concepts) + f" ({self.source})"


@dataclass(frozen=True)
class Unrecognised:
    """A record the vocabulary cannot place, and why."""

    why: str


@dataclass(frozen=True)
class Footprint:
    """What a concept set covers in the vocabularies (computed at compile time; plain data)."""

    drugs: frozenset[str] = frozenset()
    drug_classes: frozenset[str] = frozenset()
    icd10: tuple[str, ...] = ()  # ICD-10 codes and classes, without system or dot ('C', 'I801', 'G35')
    excluded_drugs: frozenset[str] = frozenset()
    excluded_icd10: tuple[str, ...] = ()
    members: tuple[tuple[str, str], ...] = ()  # (member, why) for `screening terms`
    related: frozenset[str] = frozenset()  # drugs the set is about without holding all of them (a pulse, a form)
    conditions: frozenset[str] = frozenset()  # condition-vocabulary entries the set names (by code or name)
    procedures: frozenset[str] = frozenset()  # procedure-vocabulary entries the set names
    procedure_classes: frozenset[str] = frozenset()  # procedure classes the set names ('surgery')
    icd10_exact: frozenset[str] = frozenset()  # icd10 entries without their descendants (include_descendants: false)
    excluded_icd10_exact: frozenset[str] = frozenset()
    # the excluded sets' own matcher: a record it finds is taken out even where the set holds its
    # class (atc:L04A* holds atc:L04AX05, which an excluded 'antifibrotics' names)
    excluded_matcher: Any = None

    @property
    def has_drugs(self) -> bool:
        return bool(self.drugs or self.drug_classes or self.related)


@dataclass(frozen=True)
class Condition:
    name: str
    snomed: tuple[str, ...]
    icd10: tuple[str, ...]
    synonyms: tuple[str, ...]
    src: tuple[str, ...]


class Terminology:
    """Every vocabulary the engine knows, loaded once: drugs, conditions, ICD-10, an OMOP export."""

    def __init__(self, drugs: DrugVocabulary, conditions: Iterable[dict], athena: Any = None,
                 procedures: dict | None = None, uncertain: Iterable[str] = ()):
        from .names import words

        self.uncertain = tuple(w for w in (words(u) for u in uncertain) if w)
        self.drugs = drugs
        self.athena = athena
        conditions_raw = list(conditions)
        conditions = conditions_raw
        self.conditions = [Condition(c["name"], tuple(str(s) for s in c.get("snomed", ())),
                                     tuple(c.get("icd10", ())), tuple(c.get("synonyms", ())),
                                     tuple(c.get("src", ()))) for c in conditions]
        self._by_snomed = {s: c for c in self.conditions for s in c.snomed}
        self._identified = tuple((icd.key(str(code)), c) for c, raw in zip(self.conditions, conditions_raw)
                                 for code in raw.get("identified_by", ()))
        self._by_name = {}
        for c in self.conditions:
            for n in (c.name,) + c.synonyms:
                self._by_name.setdefault(words(n), c)
        procedures = procedures or {}
        self.procedure_classes = {cid: tuple(names) for cid, names in (procedures.get("classes") or {}).items()}
        self._procedure_class_phrase = {words(n): cid for cid, names in self.procedure_classes.items() for n in names}
        self.procedures = [Condition(e["name"], tuple(str(x) for x in e.get("snomed", ())),
                                     tuple(e.get("classes", ())), tuple(e.get("synonyms", ())), tuple(e.get("src", ())))
                           for e in procedures.get("procedures") or ()]
        self._proc_by_code = {}
        for e, raw in zip(self.procedures, procedures.get("procedures") or ()):
            for s_ in e.snomed:
                self._proc_by_code[f"snomed:{s_}"] = e
            for c_ in raw.get("cpt", ()):
                self._proc_by_code[f"cpt:{c_}"] = e
        self._proc_by_name = {}
        for e in self.procedures:
            for n in (e.name,) + e.synonyms:
                self._proc_by_name.setdefault(words(n), e)

    # ------------------------------------------------------------ classification

    def classify(self, category: str, record: Any) -> Recognised | Unrecognised:
        """What a record is by the vocabularies, or why it cannot be placed."""
        category = READ_AS.get(category, category)
        codes = ((record.code,) if record.code else ()) + tuple(record.codes)
        statement = self._statement(record.name, codes, getattr(record, "status", None) == "planned")
        if statement is not None:
            return statement
        if category in DRUG_CATEGORIES:
            return self._classify_drug(record.name, codes)
        if category == "conditions":
            return self._classify_condition(record.name, codes)
        if category == "procedures":
            return self._classify_procedure(record.name, codes)
        return Unrecognised(f"no vocabulary of {category}")

    def _classify_procedure(self, name: str | None, codes: tuple[str, ...]) -> Recognised | Unrecognised:
        from .names import name_tokens

        for code in codes:
            e = self._proc_by_code.get(code.strip().lower())
            if e:
                return Recognised((e.name,), f"code {code}", entries=(e.name,), entry_classes=e.icd10)
        if name:
            toks, _ = name_tokens(name)
            e = self._proc_by_name.get(toks)
            if e:
                return Recognised((e.name,), "name", entries=(e.name,), entry_classes=e.icd10)
        return Unrecognised("its code or name is not in the procedure vocabulary")

    def _statement(self, name: str | None, codes: tuple[str, ...], planned: bool) -> Recognised | None:
        """A record named only by a guarded phrase ('No known cancer', 'Family history of cancer',
        'methotrexate not taken'): a statement that the patient does not have or take it, or about
        someone else; None when the name is not guarded, has words that leave it open ('possible
        lymphoma'), or the record has codes (a code says what it is)."""
        from .names import name_tokens, words

        if not name or codes:
            return None
        toks, guarded = name_tokens(name, planned=planned)
        if not guarded:
            return None
        if any(toks[i:i + len(u)] == u for u in self.uncertain for i in range(len(toks) - len(u) + 1)):
            return None
        return Recognised((f"a statement that is not a record of it ({name!r})",), "guarded name")

    def _classify_drug(self, name: str | None, codes: tuple[str, ...]) -> Recognised | Unrecognised:
        res = self.drugs.resolve(name, codes)
        hits = list(res.hits)
        if not hits and self.athena is not None:
            for code in codes:  # a clinical or branded drug, an NDC: its ingredients in the OMOP vocabulary
                for ing in self.athena.ingredients(code):
                    for d in self.drugs.by_code.get(f"rxnorm:{ing.code}", ()):
                        from .drugs import Hit

                        hits.append(Hit(d, f"{code} has ingredient {ing.name} (OMOP vocabulary)"))
                    if not self.drugs.by_code.get(f"rxnorm:{ing.code}"):
                        return Recognised((ing.name,), f"{code} has ingredient rxnorm:{ing.code} (OMOP vocabulary)",
                                          drugs=(f"rxnorm:{ing.code}",))
        if hits:
            drugs = tuple(dict.fromkeys(h.drug.name for h in hits))
            return Recognised(drugs, "; ".join(dict.fromkeys(h.how for h in hits)), drugs=drugs)
        if res.classes:
            labels = tuple(self.drugs.classes[c].label for c in res.classes)
            return Recognised(labels, "class named" if name else "ATC class", classes=res.classes)
        if res.guarded:
            return Unrecognised(f"the name {name!r} is negated or about a plan or another person")
        if codes and not name:
            return Unrecognised("code " + ", ".join(codes) + " is not in the drug vocabulary")
        return Unrecognised("no known ingredient, brand or class in its name"
                            + (" or codes" if codes else ""))

    def _classify_condition(self, name: str | None, codes: tuple[str, ...]) -> Recognised | Unrecognised:
        from .names import name_tokens

        found: list[str] = []
        how = []
        for code in codes:
            parsed = icd.split(code)
            if parsed:
                found.append(parsed[1])
                how.append(f"code {code}")
        if not found:
            for code in codes:
                system, _, value = code.strip().lower().partition(":")
                c = self._by_snomed.get(value) if system == "snomed" else None
                if c:
                    found += list(c.icd10)
                    how.append(f"code {code} = {c.name}")
                elif self.athena is not None:
                    for std in self.athena.maps_to(code):
                        pass
                    cm = [a for a in self._athena_icd(code)]
                    if cm:
                        found += cm
                        how.append(f"code {code} (OMOP vocabulary)")
        entries = [c.name for f in found for k, c in self._identified if icd.key(f).startswith(k)]
        for code in codes:
            system, _, value = code.strip().lower().partition(":")
            c = self._by_snomed.get(value) if system == "snomed" else None
            if c:
                entries.append(c.name)
        if name:
            toks, guarded = name_tokens(name)
            c = self._by_name.get(toks)
            if c:
                entries.append(c.name)
                if not found:
                    found += list(c.icd10)
                    how.append(f"name {c.name}")
        if not found:
            return Unrecognised("no ICD-10 code, and its code or name is not in the condition vocabulary")
        hist = [icd.history(f) for f in found]
        kind = hist[0].kind if hist and all(h is not None for h in hist) else None
        return Recognised(tuple(f"ICD-10 {f}" for f in dict.fromkeys(found)), "; ".join(how),
                          icd10=tuple(dict.fromkeys(found)), history=kind, entries=tuple(dict.fromkeys(entries)))

    def _procedures_apart(self, theirs: Footprint, mine: Footprint) -> bool:
        """Whether every procedure another set holds is outside this set (by entry and class)."""
        if not theirs.procedures:
            return False
        classes = {c for e in self.procedures if e.name in theirs.procedures for c in e.icd10}
        return not (theirs.procedures & mine.procedures or classes & mine.procedure_classes
                    or theirs.procedure_classes & mine.procedure_classes)

    def _entry_icd10(self, footprint: Footprint) -> tuple[str, ...]:
        """ICD-10 codes of the condition entries a set names (a set named 'MS relapse' lies under G35)."""
        return tuple(dict.fromkeys(icd.key(code) for c in self.conditions if c.name in footprint.conditions
                                   for code in c.icd10))

    def entry_terms(self, footprint: Footprint) -> tuple[set[str], set[str]]:
        """Codes and names of the condition and procedure entries a set names, and of the procedures
        of the classes it names: added to the set's matcher ('surgery' finds 'Appendectomy')."""
        codes: set[str] = set()
        names: set[str] = set()
        for c in self.conditions:
            if c.name in footprint.conditions:
                codes |= {f"snomed:{x}" for x in c.snomed}
                names |= {c.name, *c.synonyms}
        for e in self.procedures:
            if e.name in footprint.procedures or set(e.icd10) & footprint.procedure_classes:
                codes |= {k for k, v in self._proc_by_code.items() if v is e}
                names |= {e.name, *e.synonyms}
        return codes, names

    def _athena_icd(self, code: str) -> list[str]:
        """ICD-10 codes an OMOP vocabulary maps to the same standard concept as ``code``."""
        out = []
        for std in self.athena.maps_to(code):
            for c in self.athena.by_ids(self.athena.related([std.id], ("Mapped from",))):
                if c.system in ("icd10cm", "icd10who"):
                    out.append(c.code)
        return out

    # ------------------------------------------------------------ membership

    def member(self, category: str, record: Any, footprint: Footprint,
               placed: tuple[str, ...] = ()) -> tuple[str, Recognised | Unrecognised]:
        """Could ``record`` (not found by the set's matcher) be a member of the set? yes, no or maybe.
        ``placed``: ICD-10 codes of other concept sets of the trial that found the record (it lies
        under one of them): a condition the vocabularies cannot place is still placed by those."""
        if category == "allergies" and footprint.has_drugs:
            other = self._not_a_drug_allergy(record, footprint)
            if other is not None:
                return NO, other
        category = READ_AS.get(category, category)
        cls = self.classify(category, record)
        if isinstance(cls, Unrecognised):
            if category == "procedures" and placed and (footprint.procedures or footprint.procedure_classes):
                # found by other sets of the trial that the procedure vocabulary places: it is one of theirs
                theirs = [p for p in placed if isinstance(p, Footprint)]
                if theirs and all(self._procedures_apart(f, footprint) for f in theirs):
                    return NO, Recognised(tuple(sorted(set().union(*(f.procedures for f in theirs)))),
                                          "found by another concept set of the trial")
                return MAYBE, cls
            placed = tuple(p for p in placed if isinstance(p, str))
            if category == "conditions" and placed:
                mine = footprint.icd10 or self._entry_icd10(footprint)
                if mine and all(icd.relation(code, mine) == "apart" for code in placed):
                    return NO, Recognised((f"ICD-10 {' or '.join(placed)}",), "found by another concept set of the trial",
                                          icd10=placed)
            return MAYBE, cls
        if cls.source == "guarded name":
            return NO, cls
        if category in DRUG_CATEGORIES:
            if not footprint.has_drugs:
                # the set names no drug of the vocabulary (an investigational drug): a drug the
                # vocabulary knows is an approved product, something else (`screening check` warns)
                return NO, cls
            if cls.drugs:
                if set(cls.drugs) & footprint.drugs:
                    return YES, cls
                if set(cls.drugs) & footprint.related:
                    return MAYBE, cls
                return NO, cls
            if footprint.excluded_matcher is not None and self._excluded_finds(footprint, record):
                # recognised only as a class, and named by the excluded sets: the narrower set decides
                return NO, cls
            verdicts = set()
            for c in cls.classes:
                members = {d.name for d in self.drugs.members(c)}
                if c in footprint.drug_classes or (members and members <= footprint.drugs):
                    verdicts.add(YES)
                elif members & (footprint.drugs | footprint.related | footprint.excluded_drugs):
                    verdicts.add(MAYBE)
                else:
                    verdicts.add(NO)
            if YES in verdicts:
                return YES, cls
            return (MAYBE if MAYBE in verdicts else NO), cls
        if category == "conditions":
            if not footprint.icd10:
                if footprint.conditions and cls.entries:
                    return (YES if set(cls.entries) & footprint.conditions else NO), cls
                mine = self._entry_icd10(footprint)
                if mine and cls.icd10 and all(icd.relation(code, mine) == "apart" for code in cls.icd10):
                    return NO, cls
                return MAYBE, cls
            relations = []
            for code in cls.icd10:
                rel = icd.relation(code, footprint.icd10, footprint.icd10_exact)
                if rel == "in" and footprint.excluded_icd10:
                    ex = icd.relation(code, footprint.excluded_icd10, footprint.excluded_icd10_exact)
                    rel = "apart" if ex == "in" else ("holds" if ex == "holds" else "in")
                relations.append(rel)
            if "in" in relations:
                return YES, cls
            if all(r == "apart" for r in relations):
                return NO, cls
            return MAYBE, cls
        if category == "procedures":
            if not (footprint.procedures or footprint.procedure_classes):
                return MAYBE, cls
            if set(cls.entries) & footprint.procedures or set(cls.entry_classes) & footprint.procedure_classes:
                return YES, cls
            return NO, cls
        return MAYBE, cls

    def _not_a_drug_allergy(self, record: Any, footprint: Footprint) -> Recognised | None:
        """An allergy whose FHIR categories all say it is not to a drug (food, environment; biologic
        unless the set holds a biologic drug): data/allergy-categories.yaml. None otherwise."""
        categories = set(getattr(record, "category", None) or ())
        if not categories:
            return None
        table = _allergy_categories()
        not_drug = set(table["not_drug"])
        if "biologic" in categories:
            biologic = set(table["biologic_classes"])
            held = set(footprint.drug_classes) | {c for d in self.drugs.drugs if d.name in footprint.drugs
                                                  for c in d.classes}
            if not held & biologic:
                not_drug.add("biologic")
        if categories <= not_drug:
            return Recognised((f"a {' and '.join(sorted(categories))} allergy, not to a drug",), "allergy category")
        return None

    @staticmethod
    def _excluded_finds(footprint: Footprint, record: Any) -> bool:
        from .matcher import RecordIndex

        return bool(RecordIndex([record]).find(footprint.excluded_matcher))

    # ------------------------------------------------------------ concept sets

    def footprint(self, codes: Iterable[str], names: Iterable[str], classes: Iterable[str] = (),
                  excluded: "Footprint | None" = None) -> Footprint:
        """What a concept set covers: its drugs (by code, ATC level, name, class) and ICD-10 codes."""
        codes, names, classes = list(codes), list(names), list(classes)
        ds = expand(codes, names, classes, self.drugs)
        drug_names = set(ds.names)
        excluded_drugs = frozenset(excluded.drugs) if excluded else frozenset()
        drug_names -= excluded_drugs
        icd_codes, starred = [], set()
        for c in codes:
            body = c.strip()
            star = body.endswith("*")
            parsed = icd.split(body[:-1] if star else body)
            if parsed:
                icd_codes.append(icd.key(parsed[1]))
                if star:
                    starred.add(icd.key(parsed[1]))
            elif star and body.split(":", 1)[0].lower() in icd.SYSTEMS and len(body.split(":", 1)[1]) <= 3:
                icd_codes.append(body.split(":", 1)[1][:-1].upper())  # a chapter letter such as icd10:C*
                starred.add(icd_codes[-1])
        from .names import words

        members = tuple((n, why) for n, why in ds.members if n in drug_names)
        related = frozenset(n for n, _ in ds.related) - drug_names
        keys = {c.strip().lower() for c in codes}
        phrases = {words(n) for n in names}
        conditions = {c.name for c in self.conditions
                      if {f"snomed:{x}" for x in c.snomed} & keys or {words(n) for n in (c.name,) + c.synonyms} & phrases}
        procs = {e.name for e in self.procedures
                 if {k for k, v in self._proc_by_code.items() if v is e} & keys
                 or {words(n) for n in (e.name,) + e.synonyms} & phrases}
        proc_classes = {self._procedure_class_phrase[p] for p in phrases if p in self._procedure_class_phrase}
        if excluded is not None:
            conditions -= excluded.conditions
            procs -= excluded.procedures
        return Footprint(frozenset(drug_names), frozenset(ds.classes), tuple(dict.fromkeys(icd_codes)),
                         excluded_drugs, tuple(excluded.icd10) if excluded else (), members, related,
                         frozenset(conditions), frozenset(procs), frozenset(proc_classes),
                         frozenset(icd_codes) - starred, excluded.icd10_exact if excluded else frozenset())


@lru_cache(maxsize=1)
def _allergy_categories() -> dict:
    return read_data(("allergy-categories.yaml",))["allergy-categories.yaml"]


@lru_cache(maxsize=1)
def terminology() -> Terminology:
    """The process-wide terminology: data files, and the OMOP vocabulary database when configured."""
    from .athena import Athena, default_db

    data = read_data(("conditions.yaml", "conditions-procedures.yaml", "conditions-qualifiers.yaml"))
    db = default_db()
    athena = Athena(db) if db is not None and db.exists() else None
    return Terminology(drug_vocabulary(), data["conditions.yaml"]["conditions"], athena,
                       data["conditions-procedures.yaml"], data["conditions-qualifiers.yaml"]["uncertain"])


# ------------------------------------------------------------------ what the engine asks

# FHIR resource types of the parts of a record a caller may declare complete: a resource of
# such a part that the mapper could not use stands in the way of "no record" like an
# unrecognised record does.
RESOURCE_CATEGORY = {
    "Condition": "conditions", "MedicationRequest": "medications", "MedicationStatement": "medications",
    "MedicationAdministration": "medications", "MedicationDispense": "medications", "Medication": "medications",
    "Procedure": "procedures", "Immunization": "immunizations",
    "AllergyIntolerance": "allergies", "FamilyMemberHistory": "family_history",
}
# Parts of the record whose records are read with another part's vocabulary: an allergy's substance is
# placed by the drug vocabulary (a food it does not know stays unrecognised), a relative's condition
# by the condition vocabulary.
READ_AS = {"allergies": "medications", "family_history": "conditions"}


@dataclass(frozen=True)
class Blocker:
    """A record of a complete part that could be a member of the concept set, and why it is not known not to be."""

    category: str
    record: str  # as charted, with its dates and source ("'CellCept 1 g' started 2026-10-05 [MedicationRequest/x]")
    why: str  # "not recognised: no known ingredient, brand or class in its name"
    source: str | None = None
    date: Any = None


def unmapped_category(resource: str) -> str | None:
    """The part of the record an unmapped source record belongs to ('MedicationRequest/x' -> medications)."""
    kind = resource.split("/", 1)[0].split("[", 1)[0].strip()
    return RESOURCE_CATEGORY.get(kind)


def blockers(category: str, candidates: Iterable[tuple[Any, str]], footprint: Footprint,
             unmapped: Iterable[Any] = (), terms: "Terminology | None" = None,
             kept: Iterable[str] = (), placed: dict | None = None) -> list[Blocker]:
    """Records of a complete part that the set's matcher did not find but that could be members:
    unrecognised records, records recognised only as a class that overlaps the set, and source
    records of that part that could not be mapped (``unmapped_blocks``). Records
    recognised as something the set does not hold are left out: they do not block "no record".
    ``kept``: sources of the part's records; a source record that was mapped in part (and is one of
    them) is judged by its record, not by its note."""
    out: list[Blocker] = []
    candidates = list(candidates)
    if candidates:
        terms = terms or terminology()
    for record, text in candidates:
        verdict, cls = terms.member(category, record, footprint, (placed or {}).get(id(record), ()))
        if verdict == NO:
            continue
        if isinstance(cls, Unrecognised):
            why = f"not recognised ({cls.why})"
        elif verdict == YES:
            why = f"recognised as {cls.text()}, which the concept set holds"
        else:
            why = f"recognised as {cls.text()}, which may or may not be in the concept set"
        out.append(Blocker(category, text, why, getattr(record, "source", None),
                           getattr(record, "start", None) or getattr(record, "onset", None) or getattr(record, "date", None)))
    kept = set(kept)
    for u in unmapped:
        if not unmapped_blocks(u, category) or u.resource in kept:
            continue
        out.append(Blocker(category, u.resource, f"not mapped: {u.reason}", u.resource))
    return out


def unmapped_blocks(u: Any, category: str) -> bool:
    """Is the unmapped source record ``u`` one of ``category`` that could be any of its records (so "no record"
    of that part, declared complete, is not known)? Its part is the one it says (an OMOP row whose concept is 0
    or not in the concept table: the reader gives its table's part), else its FHIR resource's; whatever its date.
    An entered-in-error resource is not a record."""
    return (u.category or unmapped_category(u.resource)) == category and "entered-in-error" not in u.reason


def route_check(name: str | None, route: str, drugs: DrugVocabulary | None = None) -> tuple[str, str]:
    """Does a charted drug name say ``route`` ('systemic', 'intravenous', 'oral', ...)? yes, no or
    maybe, with the route words read. A name with no route word is systemic (tablets and
    infusions are charted by the drug's name alone) but may be any systemic route."""
    drugs = drugs or drug_vocabulary()
    groups = drugs.routes_in(name or "")
    local = {g for g in groups if drugs.route_kind(g) == "local"}
    systemic = groups - local
    said = ", ".join(sorted(groups)) or "no route words"
    if route == "systemic":
        if local and not systemic:
            return NO, f"route {said}"
        return YES, f"route {said}"
    if route in groups and not systemic - {route, "parenteral"}:
        return YES, f"route {said}"
    if route in groups:  # "500 mg oral pulse": the name says two systemic routes
        return MAYBE, f"cannot tell whether it was {route}: {said}"
    if local and not systemic:
        return NO, f"route {said}"
    if systemic - {"parenteral"}:
        return NO, f"route {said}"
    return MAYBE, f"cannot tell whether it was {route}: {said}"


@lru_cache(maxsize=65536)
def _personal_history(name: str | None, codes: tuple[str, ...]) -> bool:
    from .names import says_history, says_present

    placed = [icd.history(p[1]) for p in (icd.split(c) for c in codes) if p]
    if placed and all(h is not None and h.kind == "personal history" for h in placed):
        # Z85.3 charted as 'Personal history of breast cancer, now with metastatic recurrence': the
        # name says present, and the record's own clinical status decides
        return not (bool(name) and says_present(name))
    return bool(name) and not placed and says_history(name)


def personal_history(record: Any) -> bool:
    """Whether a condition record says the disease is past rather than present: its ICD-10 codes
    are all personal-history codes (Z85-Z87, Z92), or it has no ICD-10 code and its name says so
    ('Personal history of pulmonary embolism', 'antecedentes de cáncer de mama'); in either case
    not when its name also says the disease is present ('now with metastatic recurrence'). Its
    date is then when it was recorded: the disease was on or before it."""
    codes = tuple(c for c in ((record.code,) if record.code else ()) + tuple(record.codes or ()))
    return _personal_history(record.name, codes)
