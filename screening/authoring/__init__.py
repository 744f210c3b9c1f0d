"""Authoring rule files: drafts from registry records, and proposals for common criteria.

``screening new RECORD.json`` reads a ClinicalTrials.gov API v2 study record (no network)
and writes a draft rule file: the trial's metadata, the structured age and sex bounds as
rules, and every inclusion and exclusion bullet verbatim as a draft criterion that a
person confirms until a rule is written. Bullets that match a well-known pattern (an age,
a lab with a threshold and a unit, a washout window, pregnancy or breastfeeding, ECOG)
carry a proposed rule as a YAML comment for the author to accept.

Modules: ``ctgov`` (the study record), ``bullets`` (the criteria text as a tree of
bullets), ``patterns`` (proposals, with their vocabulary in ``data/patterns.yaml``),
``scaffold`` (the YAML text), ``new`` (writing the file; the CLI's ``screening new``).

Belongs here: reading registry records and writing draft rule files for people to finish.
Not here: reading or checking rule files (``rules``) or evaluating them (``engine``): a
draft is checked by compiling it like any other rule file.
"""

from __future__ import annotations

from .bullets import Bullet, CriteriaText, split_criteria
from .ctgov import RegistryRecordError, Study, read_study, study_from_json
from .scaffold import scaffold

__all__ = [
    "Bullet",
    "CriteriaText",
    "RegistryRecordError",
    "Study",
    "read_study",
    "scaffold",
    "split_criteria",
    "study_from_json",
]
