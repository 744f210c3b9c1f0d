"""QuestionnaireResponse: a trial's screening checklist, each yes/no answer a fact named
'<questionnaire id>/<linkId>'."""

from __future__ import annotations

from typing import Any

from ....model.patient import Fact
from ..parse import Entry
from .context import MappingContext, Skip

RESOURCE_TYPES = ("QuestionnaireResponse",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    if r.status not in ctx.m["questionnaire_response"]["statuses"]:
        raise Skip(f"status {r.status}: answers not final")
    if not r.questionnaire:
        raise Skip("no questionnaire named: cannot tell which trial's checklist it answers")
    qid = r.questionnaire.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    day = ctx.day(r.authored, where, "authored")

    def walk(items: Any) -> None:
        for item in items or ():
            answers = item.answer or ()
            if len(answers) == 1 and answers[0].valueBoolean is not None:
                ctx.lists["facts"].append(Fact(code=f"{qid}/{item.linkId}", name=item.text,
                                               value=bool(answers[0].valueBoolean), date=day, source=where))
            elif answers:
                ctx.note(where, f"item {item.linkId}: the answer is not a single yes/no: not used")
            walk(item.item)
            for a in answers:
                walk(a.item)

    walk(r.item)
