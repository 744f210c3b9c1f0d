"""The drug vocabulary: ingredients, vaccines and drug classes from data files, and product names read by words.

Data: ``data/drugs.yaml`` (ingredients with RxNorm and ATC codes, synonyms, brands by market),
``data/drugs-vaccines.yaml`` (vaccines by CVX), ``data/drugs-classes.yaml`` (classes with their
ATC levels) and ``data/drugs-routes.yaml`` (route words). A charted product name such as
"mycophenolate mofetil 500 MG Oral Tablet [CellCept]" or "SoluMedrol 1 g IV" resolves to its
ingredients by the ingredient, synonym and brand phrases found in it (the longest phrase at
each word wins: "mycophenolate sodium" is mycophenolic acid, not mycophenolate mofetil), and a
name in a guarded context ("no methotrexate", "planned rituximab") resolves only as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Iterable

from .names import name_tokens, words


@dataclass(frozen=True)
class Drug:
    """One ingredient (or one vaccine) of the vocabulary."""

    name: str
    kind: str  # 'ingredient' or 'vaccine'
    rxnorm: str | None = None
    atc: tuple[str, ...] = ()
    atc_former: tuple[str, ...] = ()
    cvx: tuple[str, ...] = ()
    classes: frozenset[str] = frozenset()  # direct classes and every class that includes them
    synonyms: tuple[str, ...] = ()
    brands: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (market, names)
    src: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """Its codes as 'system:code', lower case: rxnorm, current and former ATC, CVX."""
        out = [f"rxnorm:{self.rxnorm}"] if self.rxnorm else []
        out += [f"atc:{c.lower()}" for c in self.atc + self.atc_former]
        out += [f"cvx:{c}" for c in self.cvx]
        return tuple(out)

    @property
    def generic_names(self) -> tuple[str, ...]:
        """The ingredient's name and synonyms (not brands)."""
        return (self.name,) + self.synonyms

    def brand_markets(self, brand: str) -> tuple[str, ...]:
        """Markets where ``brand`` (compared by words) is one of its brands."""
        key = words(brand)
        return tuple(m for m, names in self.brands if any(words(n) == key for n in names))

    @property
    def all_names(self) -> tuple[str, ...]:
        """Name, synonyms and every brand, once each."""
        return tuple(dict.fromkeys(self.generic_names + tuple(n for _, names in self.brands for n in names)))


@dataclass(frozen=True)
class DrugClass:
    """A class of drugs: its members are listed on the ingredients; ATC levels cover coded records."""

    id: str
    label: str
    atc: tuple[str, ...] = ()  # ATC levels, upper case (L04A, B01AF)
    includes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Hit:
    """One drug found in a charted name or code, and how."""

    drug: Drug
    how: str  # 'code rxnorm:68149', 'name', 'synonym MMF', 'brand CellCept (US, EU, ES, CL)'

    def text(self) -> str:
        return f"{self.drug.name} ({self.how})"


@dataclass(frozen=True)
class Resolution:
    """What a drug record is by the vocabulary: drugs found, classes named or coded, route words."""

    hits: tuple[Hit, ...] = ()
    classes: tuple[str, ...] = ()  # class ids a class-level name or ATC level says ('chemotherapy', atc:L04AX)
    routes: frozenset[str] = frozenset()  # route groups named ('topical', 'intravenous', ...)
    unknown_codes: tuple[str, ...] = ()  # drug codes of systems the vocabulary knows but codes it does not
    guarded: bool = False

    @property
    def drugs(self) -> tuple[Drug, ...]:
        return tuple(dict.fromkeys(h.drug for h in self.hits))

    @property
    def recognised(self) -> bool:
        return bool(self.hits or self.classes)


def cache_folder():
    """Where the parsed vocabulary is kept between runs: SCREENING_CACHE_DIR, else the user's cache
    folder ('screening' under XDG_CACHE_HOME or ~/.cache); None when SCREENING_CACHE_DIR is empty.
    The same folder as the compiled-trial cache, read without importing it (terms is a lower layer)."""
    import os
    from pathlib import Path

    env = os.environ.get("SCREENING_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "screening"


DATA_FILES = ("drugs.yaml", "drugs-vaccines.yaml", "drugs-classes.yaml", "drugs-routes.yaml")


def read_data(files: Iterable[str] = DATA_FILES) -> dict[str, dict]:
    """The data files, parsed: from a JSON copy in the cache folder when their bytes are unchanged
    (JSON parses many times faster than YAML), else from YAML (and the copy is written)."""
    import hashlib
    import json
    import os
    import tempfile

    texts = {f: resources.files("screening.terms").joinpath("data", f).read_bytes() for f in files}
    key = hashlib.sha256(b"\0".join(f.encode() + b"\0" + t for f, t in texts.items())).hexdigest()[:32]
    folder = cache_folder()
    entry = folder / f"terms-{key}.json" if folder is not None else None
    if entry is not None:
        try:
            with open(entry, encoding="utf-8") as fh:
                data = json.load(fh)
            if isinstance(data, dict) and set(data) == set(texts):
                return data
        except (OSError, ValueError):
            pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = {f: yaml.load(t.decode("utf-8"), Loader=loader) for f, t in texts.items()}
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=entry.parent, delete=False, suffix=".tmp",
                                             encoding="utf-8") as tmp:
                json.dump(data, tmp)
            os.replace(tmp.name, entry)
        except (OSError, TypeError):
            pass
    return data


class DrugVocabulary:
    """Every drug and class of the data files, indexed by code and by the words of their names."""

    def __init__(self, entries: Iterable[dict], vaccines: Iterable[dict], classes: dict, routes: dict,
                 combinations: Iterable[dict] = ()):
        self.classes: dict[str, DrugClass] = {
            cid: DrugClass(cid, c.get("label", cid), tuple(a.upper() for a in c.get("atc", ())),
                           tuple(c.get("includes", ())), tuple(c.get("names", ())), c.get("note"))
            for cid, c in classes.items()}
        parents: dict[str, set[str]] = {}
        for c in self.classes.values():
            for child in c.includes:
                parents.setdefault(child, set()).add(c.id)

        def closure(ids: Iterable[str]) -> frozenset[str]:
            out, todo = set(), list(ids)
            while todo:
                c = todo.pop()
                if c not in out:
                    out.add(c)
                    todo.extend(parents.get(c, ()))
            return frozenset(out)

        self.drugs: list[Drug] = []
        for kind, rows in (("ingredient", entries), ("vaccine", vaccines)):
            for e in rows:
                self.drugs.append(Drug(
                    name=e["name"], kind=kind, rxnorm=str(e["rxnorm"]) if e.get("rxnorm") else None,
                    atc=tuple(e.get("atc", ())), atc_former=tuple(e.get("atc_former", ())),
                    cvx=tuple(str(c) for c in e.get("cvx", ())), classes=closure(e.get("classes", ())),
                    synonyms=tuple(e.get("synonyms", ())),
                    brands=tuple((m, tuple(n)) for m, n in (e.get("brands") or {}).items()),
                    src=tuple(e.get("src", ()))))
        position = {d.name: i for i, d in enumerate(self.drugs)}
        for combo in combinations:  # a brand of several ingredients names each of them
            for ing in combo["ingredients"]:
                if ing not in position:
                    raise ValueError(f"drugs.yaml: combination {combo['brands']} names unknown ingredient {ing!r}")
                d = self.drugs[position[ing]]
                merged = dict(d.brands)
                for m in combo.get("markets", ("?",)):
                    merged[m] = tuple(dict.fromkeys(merged.get(m, ()) + tuple(combo["brands"])))
                self.drugs[position[ing]] = Drug(**{**d.__dict__, "brands": tuple(merged.items())})
        self.by_code: dict[str, list[Drug]] = {}
        for d in self.drugs:
            for c in d.codes:
                self.by_code.setdefault(c, []).append(d)
        # phrase index: first word -> [(phrase words, drug, how)], longest phrases first
        self._phrases: dict[str, list[tuple[tuple[str, ...], Drug, str]]] = {}
        for d in self.drugs:
            seen: set[tuple[str, ...]] = set()
            for how, names in (("name", (d.name,)), ("synonym", d.synonyms),
                               ("brand", tuple(n for _, ns in d.brands for n in ns))):
                for n in names:
                    toks = words(n)
                    if toks and toks not in seen:
                        seen.add(toks)
                        label = how if how == "name" else f"{how} {n}"
                        if how == "brand":
                            label += " (" + ", ".join(m for m, ns in d.brands if n in ns) + ")"
                        self._phrases.setdefault(toks[0], []).append((toks, d, label))
        self._class_phrases: dict[tuple[str, ...], str] = {}
        for c in self.classes.values():
            for n in c.names + (c.label,):
                self._class_phrases.setdefault(words(n), c.id)
        for lst in self._phrases.values():
            lst.sort(key=lambda t: -len(t[0]))
        self.route_words: dict[tuple[str, ...], tuple[str, str]] = {}  # phrase -> (local|systemic, group)
        for kind in ("local", "systemic"):
            for group, phrases in (routes.get(kind) or {}).items():
                for p in phrases:
                    self.route_words.setdefault(words(str(p)), (kind, group))
        self._route_first: dict[str, list[tuple[str, ...]]] = {}
        for p in sorted(self.route_words, key=len, reverse=True):
            if p:
                self._route_first.setdefault(p[0], []).append(p)

    # ------------------------------------------------------------ look-ups

    def members(self, class_id: str) -> tuple[Drug, ...]:
        """Drugs listed in the class or in a class it includes."""
        return tuple(d for d in self.drugs if class_id in d.classes)

    def class_of_phrase(self, text: str) -> str | None:
        """The class a whole name stands for ('immunosuppressive drug' -> immunosuppressant), or None."""
        return self._class_phrases.get(words(text))

    def atc_classes(self, code: str) -> tuple[str, ...]:
        """Classes whose ATC levels hold an ATC code ('L04AX99' -> immunosuppressant)."""
        code = code.upper()
        return tuple(c.id for c in self.classes.values() if any(code.startswith(a) for a in c.atc))

    def routes_in(self, name: str) -> frozenset[str]:
        """Route groups named by words in a charted name ('cream' -> topical, 'IV' -> intravenous)."""
        toks = words(name)
        out = set()
        for i, t in enumerate(toks):
            for p in self._route_first.get(t, ()):
                if toks[i:i + len(p)] == p:
                    out.add(self.route_words[p][1])
                    break
        return frozenset(out)

    def route_kind(self, group: str) -> str:
        """'local' or 'systemic' for a route group."""
        for kind, g in self.route_words.values():
            if g == group:
                return kind
        raise KeyError(group)

    def resolve(self, name: str | None, codes: Iterable[str] = ()) -> Resolution:
        """The drugs a record's name and codes name; codes first, then the phrases in its name."""
        hits: list[Hit] = []
        classes: list[str] = []
        unknown: list[str] = []
        for code in codes:
            key = code.strip().lower()
            system, _, value = key.partition(":")
            found = self.by_code.get(key)
            if found:
                hits.extend(Hit(d, f"code {code}") for d in found)
            elif system == "atc" and value:
                in_classes = self.atc_classes(value)
                if in_classes:
                    classes.extend(in_classes)
                else:
                    unknown.append(code)
            elif system in ("rxnorm", "cvx", "ndc"):
                unknown.append(code)
        guarded = False
        routes: frozenset[str] = frozenset()
        if name:
            toks, guarded = name_tokens(name)
            routes = self.routes_in(name)
            if guarded:  # only the whole name may be a drug's name: 'no methotrexate' is no methotrexate
                for phrase, d, how in self._phrases.get(toks[0], ()) if toks else ():
                    if phrase == toks:
                        hits.append(Hit(d, how))
                cid = self._class_phrases.get(toks)
                if cid:
                    classes.append(cid)
            else:
                i = 0
                while i < len(toks):
                    step = 1
                    for phrase, d, how in self._phrases.get(toks[i], ()):
                        n = len(phrase)
                        if step > 1 and n < step:
                            break  # a longer phrase already matched here
                        if toks[i:i + n] == phrase:
                            hits.append(Hit(d, how))
                            step = n
                    else:
                        # a biosimilar's or salt's suffix ('trastuzumab-oysk', 'rituximab-abbs')
                        stem = toks[i].split("-", 1)[0]
                        if stem != toks[i] and len(stem) >= 5:
                            for phrase, d, how in self._phrases.get(stem, ()):
                                if phrase == (stem,):
                                    hits.append(Hit(d, f"{how} ({toks[i]})"))
                    i += step
                if not hits:
                    for n in range(len(toks), 0, -1):  # a class named in the record ('chemotherapy')
                        for i in range(len(toks) - n + 1):
                            cid = self._class_phrases.get(toks[i:i + n])
                            if cid:
                                classes.append(cid)
                        if classes:
                            break
        uniq: dict[tuple[str, str], Hit] = {}
        for h in hits:
            uniq.setdefault((h.drug.name, h.drug.kind), h)
        return Resolution(tuple(uniq.values()), tuple(dict.fromkeys(classes)), routes, tuple(unknown), guarded)


@lru_cache(maxsize=1)
def vocabulary() -> DrugVocabulary:
    """The drug vocabulary of the data files, loaded once per process."""
    data = read_data()
    return DrugVocabulary(data["drugs.yaml"]["ingredients"], data["drugs-vaccines.yaml"]["vaccines"],
                          data["drugs-classes.yaml"]["classes"], data["drugs-routes.yaml"],
                          data["drugs.yaml"].get("combinations", ()))


@dataclass(frozen=True)
class DrugSet:
    """A concept set over drugs, expanded: its member drugs (with why) and classes."""

    members: tuple[tuple[str, str], ...] = ()  # (drug name, why)
    classes: tuple[str, ...] = ()
    atc_levels: tuple[str, ...] = ()  # ATC prefixes the set names (lower case, no '*')
    excluded: tuple[str, ...] = ()  # drug names removed by `exclude`
    related: tuple[tuple[str, str], ...] = ()  # drugs a name mentions without holding them ('methylprednisolone pulse')

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n for n, _ in self.members)


def expand(codes: Iterable[str], names: Iterable[str], classes: Iterable[str] = (),
           voc: DrugVocabulary | None = None) -> DrugSet:
    """The drugs of a concept set: those whose code is one of its codes or under one of its ATC
    levels, whose name or synonym contains one of its names as a phrase, and the members of the
    classes it names (by ``classes`` or by a name equal to a class name)."""
    voc = voc or vocabulary()
    members: dict[str, str] = {}
    class_ids = list(classes)
    levels = []
    for code in codes:
        key = code.strip().lower()
        if key.endswith("*"):
            system, _, prefix = key[:-1].partition(":")
            if system == "atc" and prefix:
                levels.append(prefix)
                for d in voc.drugs:
                    if any(c.lower().startswith(prefix) for c in d.atc + d.atc_former):
                        members.setdefault(d.name, f"ATC under {code}")
            continue
        for d in voc.by_code.get(key, ()):
            members.setdefault(d.name, f"code {code}")
    phrases = [words(n) for n in names]
    for n, toks in zip(names, phrases):
        cid = voc.class_of_phrase(n)
        if cid:
            class_ids.append(cid)
    related: dict[str, str] = {}
    for d in voc.drugs:
        canonical = words(d.name)
        for n, p in zip(names, phrases):
            if not p:
                continue
            why = _member_by_name(d, canonical, p)
            if why and d.name not in members:
                members[d.name] = f"name {n!r}" + ("" if why == "name" else f" ({why})")
            elif d.name not in members and d.name not in related and (
                    _within(canonical, p) or any(words(b) == p for _, bs in d.brands for b in bs)
                    or any(words(syn) == p for syn in d.synonyms)):
                # the name mentions the drug, is one of its brands or a form of it: a set about the
                # drug that need not hold all of it ('methylprednisolone pulse', 'Solu-Medrol')
                related[d.name] = f"name {n!r} mentions it"
    for cid in dict.fromkeys(class_ids):
        if cid not in voc.classes:
            continue
        for d in voc.members(cid):
            members.setdefault(d.name, f"class {cid}")
    return DrugSet(tuple(members.items()), tuple(dict.fromkeys(class_ids)), tuple(levels),
                   related=tuple((k, v) for k, v in related.items() if k not in members))


def _within(part: tuple[str, ...], whole: tuple[str, ...]) -> bool:
    """Whether the words ``part`` occur together in ``whole``."""
    n = len(part)
    return any(whole[i:i + n] == part for i in range(len(whole) - n + 1))


def _member_by_name(d: Drug, canonical: tuple[str, ...], p: tuple[str, ...]) -> str | None:
    """Whether a concept set's name ``p`` takes in the whole drug ``d``: the drug's name or its
    first words ('mycophenolate' of 'mycophenolate mofetil'), or one of its synonyms. A synonym
    that is the drug's name and more ('methylprednisolone sodium succinate') names a form of it,
    and a brand names one product line ('Solu-Medrol'): such a set is about the drug
    (``related``) without holding all of it."""
    if p == canonical or (d.kind == "ingredient" and canonical[:len(p)] == p):
        return "name"
    for syn in d.synonyms:
        st = words(syn)
        if st == p and not (len(st) > len(canonical) and _within(canonical, st)):
            return f"synonym {syn}"
    return None
