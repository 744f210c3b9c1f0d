"""The declarative FHIR tables: code systems (``data/fhir-systems.yaml``) and resource mappings
(``data/fhir-mapping.yaml``), read once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Tables:
    prefix_of: dict[str, str]        # Coding.system URI -> our prefix ('http://loinc.org' -> 'loinc')
    system_of: dict[str, str]        # our prefix -> Coding.system URI (for export)
    mapping: dict[str, Any]          # fhir-mapping.yaml as written


@lru_cache(maxsize=1)
def tables() -> Tables:
    systems = _read("fhir-systems.yaml")["systems"]
    prefix_of = {uri: s["prefix"] for s in systems for uri in (s["system"], *s.get("aliases", ()))}
    prefix_of.update({uri.rstrip("/") + "/": prefix for uri, prefix in list(prefix_of.items())})  # 'http://loinc.org/'
    system_of: dict[str, str] = {}
    for s in systems:
        system_of.setdefault(s["prefix"], s["system"])  # the first system of a prefix is the one exports write
    return Tables(prefix_of, system_of, _read("fhir-mapping.yaml"))
