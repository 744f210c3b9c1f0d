"""One mapper per FHIR resource type, each a module with ``RESOURCE_TYPES`` and
``map_resource(ctx, entry)`` that appends records to ``ctx.lists`` or raises ``Skip``.

``MAPPERS`` dispatches by resourceType. ``context`` holds the state and helpers the mappers
share; ``patient`` reads the bundle's Patient itself (it is not dispatched: every bundle has
exactly one). A resource type without a mapper is listed as unmapped by the bundle loop in
``..mapping``.
"""

from __future__ import annotations

from typing import Callable

from ..parse import Entry
from . import (allergy, condition, consent, family_history, immunization, medication, observation, procedure,
               questionnaire)
from .context import MappingContext

MAPPERS: dict[str, Callable[[MappingContext, Entry], None]] = {
    kind: module.map_resource
    for module in (observation, condition, procedure, immunization, consent, questionnaire, medication, allergy,
                   family_history)
    for kind in module.RESOURCE_TYPES
}
