"""The drug vocabulary: product names and codes resolve to ingredients; the data files hold together."""

from __future__ import annotations

import re

import pytest

from screening.terms.drugs import expand, read_data, vocabulary


@pytest.fixture(scope="module")
def voc():
    return vocabulary()


@pytest.mark.parametrize("charted, ingredients", [
    ("mycophenolate mofetil 500 MG Oral Tablet [CellCept]", {"mycophenolate mofetil"}),
    ("CellCept 1 g", {"mycophenolate mofetil"}),
    ("MMF 1000 mg bid", {"mycophenolate mofetil"}),
    ("micofenolato de mofetilo 500 mg", {"mycophenolate mofetil"}),
    ("Myfortic 360 mg", {"mycophenolic acid"}),
    ("mycophenolate sodium 360 mg", {"mycophenolic acid"}),  # the longer phrase wins over 'mycophenolate'
    ("SoluMedrol 1 g IV", {"methylprednisolone"}),
    ("Solu-Medrol 500 mg", {"methylprednisolone"}),
    ("Urbason 40 mg", {"methylprednisolone"}),
    ("Benlysta", {"belimumab"}),
    ("Rituxan 1000 mg IV", {"rituximab"}),
    ("MabThera 1 g", {"rituximab"}),
    ("rituximab-abbs 500 mg", {"rituximab"}),
    ("Truxima", {"rituximab"}),
    ("Ocrevus 600 mg", {"ocrelizumab"}),
    ("Kesimpta 20 mg pen", {"ofatumumab"}),
    ("Briumvi", {"ublituximab"}),
    ("Saphnelo 300 mg", {"anifrolumab"}),
    ("Privigen 10% 40 g IV", {"immune globulin intravenous"}),
    ("Gammagard Liquid", {"immune globulin intravenous"}),
    ("Octagam", {"immune globulin intravenous"}),
    ("Hizentra 4 g", {"immune globulin subcutaneous"}),
    ("Genoxal 1 g", {"cyclophosphamide"}),
    ("CYC 750 mg/m2", {"cyclophosphamide"}),
    ("Endoxan", {"cyclophosphamide"}),
    ("Sintrom 4 mg", {"acenocoumarol"}),
    ("Dolquine 200 mg", {"hydroxychloroquine"}),
    ("HCQ 400 mg", {"hydroxychloroquine"}),
    ("MTX 15 mg weekly", {"methotrexate"}),
    ("Tecfidera 240 mg", {"dimethyl fumarate"}),
    ("Esbriet 267 mg", {"pirfenidone"}),
    ("pirfenidona 801 mg", {"pirfenidone"}),
    ("Vumerity", {"diroximel fumarate"}),
    ("Mavenclad 10 mg", {"cladribine"}),
    ("Zeposia", {"ozanimod"}),
    ("Ponvory", {"ponesimod"}),
    ("Mayzent 2 mg", {"siponimod"}),
    ("Aubagio 14 mg", {"teriflunomide"}),
    ("acetaminophen 325 MG / oxycodone hydrochloride 10 MG Oral Tablet [Percocet]", {"acetaminophen", "oxycodone"}),
    ("Percocet", {"acetaminophen", "oxycodone"}),
    ("Vitamin D3 1000 IU", {"cholecalciferol"}),
    ("Fluzone High-Dose Quadrivalent", {"influenza vaccine"}),
    ("Prevenar 20", {"pneumococcal vaccine"}),
    ("Comirnaty", {"COVID-19 vaccine"}),
    ("5 ML hyaluronidase-oysk 2000 UNT/ML / trastuzumab-oysk 120 MG/ML Injection", {"hyaluronidase", "trastuzumab"}),
])
def test_product_names_resolve_to_their_ingredients(voc, charted, ingredients):
    assert {d.name for d in voc.resolve(charted).drugs} == ingredients


def test_how_a_brand_was_found_names_its_markets(voc):
    (hit,) = voc.resolve("CellCept 1 g").hits
    assert hit.how == "brand CellCept (US, EU, ES, CL)"


@pytest.mark.parametrize("charted", ["no methotrexate", "methotrexate not taken", "planned rituximab",
                                     "family history of warfarin use"])
def test_guarded_names_do_not_resolve_by_a_word_inside(voc, charted):
    r = voc.resolve(charted)
    assert r.drugs == () and r.guarded


@pytest.mark.parametrize("code, ingredient", [
    ("rxnorm:68149", "mycophenolate mofetil"), ("rxnorm:121191", "rituximab"), ("rxnorm:3002", "cyclophosphamide"),
    ("atc:L04AX05", "pirfenidone"), ("atc:L04AG08", "ocrelizumab"), ("atc:L04AA36", "ocrelizumab"),  # 2024 code and the code before it
    ("atc:L04AG04", "belimumab"), ("atc:L04AA26", "belimumab"), ("atc:L04AE01", "fingolimod"),
    ("atc:L04AA27", "fingolimod"), ("atc:L04AK02", "teriflunomide"), ("atc:L04AA31", "teriflunomide"),
    ("ATC:l01fa01", "rituximab"), ("atc:L01XC02", "rituximab"), ("cvx:208", "COVID-19 vaccine"),
    ("cvx:216", "pneumococcal vaccine"), ("cvx:150", "influenza vaccine"),
])
def test_codes_resolve(voc, code, ingredient):
    assert [d.name for d in voc.resolve(None, [code]).drugs] == [ingredient]


def test_an_atc_level_unknown_as_a_substance_still_names_its_class(voc):
    r = voc.resolve(None, ["atc:L04AX99"])
    assert r.drugs == () and "immunosuppressant" in r.classes


def test_an_unknown_product_code_is_not_recognised(voc):
    r = voc.resolve(None, ["rxnorm:999999999"])
    assert not r.recognised and r.unknown_codes == ("rxnorm:999999999",)


@pytest.mark.parametrize("charted, route", [
    ("Hydrocortisone 1% cream", "topical"), ("Budesonide 0.5 MG/ML Inhalation Suspension", "inhaled"),
    ("fluticasone nasal spray", "nasal"), ("prednisolone acetate 1% eye drops", "ophthalmic"),
    ("triamcinolone 40 mg intra-articular", "intra_articular"), ("SoluMedrol 1 g IV", "intravenous"),
    ("methylprednisolone pulse", "intravenous"), ("prednisone 5 MG Oral Tablet", "oral"),
    ("metilprednisolona 500 mg intravenosa", "intravenous"),
])
def test_route_words(voc, charted, route):
    assert route in voc.routes_in(charted)


def test_a_class_name_in_a_set_stands_for_its_members(voc):
    s = expand([], ["anti-CD20"], voc=voc)
    assert {"rituximab", "ocrelizumab", "ofatumumab", "obinutuzumab", "ublituximab"} <= s.names
    assert "belimumab" not in s.names and s.classes == ("anti_cd20",)


def test_an_atc_level_in_a_set_takes_current_and_former_codes(voc):
    names = expand(["atc:L04AA*"], [], voc=voc).names
    # natalizumab moved from L04AA23 to L04AG03 in 2024: its former code keeps it under L04AA
    assert {"natalizumab", "belimumab", "abatacept"} <= names and "tacrolimus" not in names


def test_classes_include_their_subclasses(voc):
    members = {d.name for d in voc.members("anticoagulant")}
    assert {"warfarin", "apixaban", "enoxaparin", "acenocoumarol", "heparin"} <= members
    assert {d.name for d in voc.members("ms_dmt")} >= {
        "ocrelizumab", "ofatumumab", "ozanimod", "ponesimod", "siponimod", "cladribine", "dimethyl fumarate",
        "diroximel fumarate", "teriflunomide", "natalizumab", "alemtuzumab", "glatiramer", "interferon beta-1a",
        "interferon beta-1b", "fingolimod", "ublituximab"}


def test_data_files_hold_together():
    data = read_data()
    ingredients = data["drugs.yaml"]["ingredients"]
    classes = data["drugs-classes.yaml"]["classes"]
    names = [e["name"] for e in ingredients] + [v["name"] for v in data["drugs-vaccines.yaml"]["vaccines"]]
    assert len(names) == len(set(names))
    markets = set(data["drugs.yaml"]["markets"])
    for e in ingredients + data["drugs-vaccines.yaml"]["vaccines"]:
        assert e.get("src"), e["name"]
        assert set(e.get("classes", ())) <= set(classes), e["name"]
        assert set(e.get("brands") or {}) <= markets, e["name"]
        if "rxnorm" in e:
            assert re.fullmatch(r"[0-9]{2,8}", str(e["rxnorm"])), e["name"]
            assert set(e["src"]) & {"cpic", "omop", "seed", "rxnav"}, f"{e['name']}: RxNorm code of unknown source"
        for code in e.get("atc", []) + e.get("atc_former", []):
            assert re.fullmatch(r"[A-Z](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?", code), (e["name"], code)
    for cid, c in classes.items():
        assert set(c.get("includes", ())) <= set(classes), cid


def test_only_combination_products_name_several_ingredients(voc):
    combos = {w for c in read_data()["drugs.yaml"]["combinations"] for b in c["brands"] for w in [b.lower()]}
    shared = {}
    for first, phrases in voc._phrases.items():
        for phrase, drug, how in phrases:
            shared.setdefault(" ".join(phrase), set()).add(drug.name)
    assert {p for p, ds in shared.items() if len(ds) > 1} <= combos
