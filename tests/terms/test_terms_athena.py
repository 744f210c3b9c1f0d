"""An OMOP vocabulary export indexed once, then read: tested on the Synthea27Nj vocabulary subset."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from screening.model.patient import Medication
from screening.terms import athena
from screening.terms.drugs import vocabulary
from screening.terms.vocabulary import Terminology, read_data

OMOP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omop" / "Synthea27Nj_5.4.zip"
pytestmark = pytest.mark.skipif(not OMOP.exists(), reason="../shared/data/omop is not present")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("omop")
    with zipfile.ZipFile(OMOP) as z:
        for name in ("CONCEPT.csv", "CONCEPT_RELATIONSHIP.csv", "CONCEPT_ANCESTOR.csv"):
            z.extract(name, folder)
    path = folder / "vocabulary.sqlite"
    counts = athena.load(folder, path)
    assert counts["concept"] == 2294 and counts["relationship"] > 250_000
    return athena.Athena(path)


def test_lookup_and_ingredients_of_a_clinical_drug(db):
    (c,) = db.lookup("rxnorm:243670")
    assert c.name == "aspirin 81 MG Oral Tablet" and c.concept_class == "Clinical Drug"
    assert [(i.key, i.name) for i in db.ingredients("rxnorm:243670")] == [("rxnorm:1191", "aspirin")]
    assert [i.name for i in db.ingredients("rxnorm:314077")] == ["lisinopril"]


def test_products_of_an_ingredient(db):
    assert "rxnorm:243670" in {p.key for p in db.products(["rxnorm:1191"])}


def test_a_product_code_without_a_name_is_recognised_through_the_vocabulary(db):
    T = Terminology(vocabulary(), read_data(("conditions.yaml",))["conditions.yaml"]["conditions"], db)
    fp = T.footprint(["rxnorm:1191"], ["aspirin"])
    verdict, cls = T.member("medications", Medication(code="rxnorm:243670"), fp)
    assert verdict == "yes" and "OMOP vocabulary" in cls.source
    plain = Terminology(vocabulary(), [], None)
    assert plain.member("medications", Medication(code="rxnorm:243670"), fp)[0] == "maybe"


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(athena.VocabularyError, match="no CONCEPT.csv"):
        athena.load(tmp_path, tmp_path / "v.sqlite")
    with pytest.raises(athena.VocabularyError, match="screening vocab load"):
        athena.Athena(tmp_path / "missing.sqlite")
