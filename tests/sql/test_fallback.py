"""The Python path's share of a population: persons mapped from their rows elsewhere, screened for the
referred criteria only, give what the whole screen gives."""

from __future__ import annotations

import pickle
import random

from screening import screen
from screening.sources.omop.reader import OmopSource
from screening.sql.fallback import screen_referred, view_of
from screening.sql.population import own_bullets

from .conftest import AS_OF


def test_rows_mapped_elsewhere_give_the_same_profiles(synthea_folder):
    with OmopSource.open(str(synthea_folder), as_of=AS_OF) as source:
        direct = [p.model_dump() for p, _ in source]
        source.chunk = 10  # three chunks: each mapper carries its own chunk's concepts
        mapped = []
        for people, mapper in source.rows():
            elsewhere = pickle.loads(pickle.dumps(mapper))
            assert elsewhere.mapping is source.mapping  # the packaged mapping, not a copy
            mapped += [elsewhere.patient(pickle.loads(pickle.dumps(p))).model_dump() for p in people]
    assert len(direct) == 28
    assert mapped == direct


def test_referred_criteria_only_same_statuses_as_the_whole_screen(synthea_folder, seed_trials):
    rng = random.Random(7)
    compared, own_seen = 0, 0
    with OmopSource.open(str(synthea_folder), as_of=AS_OF) as source:
        for patient, _ in source:
            view = view_of(patient, AS_OF, ())  # one view for the four trials, as the workers do
            for t in seed_trials:
                whole = screen(patient, t, AS_OF)
                ids = [c.id for c in whole.criteria]
                want = rng.sample(ids, rng.randint(1, 5))
                own = own_bullets(t)
                got, bullets = screen_referred(patient, t, AS_OF, (), want, view, own)
                assert got == {c.id: c.status.value for c in whole.criteria if c.id in want}
                assert bullets == {b.bullet: b.status.value for b in whole.bullets if b.bullet in own}
                compared += len(got)
                own_seen += len(bullets)
    assert compared >= 28 * 4
    assert own_seen > 0  # the seed trials have bullets with their own and/or
