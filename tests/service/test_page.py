"""The coordinator's page over real HTTP (forms as a browser posts them): screening, confirmations, funnels."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import httpx
import pytest

import screening

from .support import CRITERIA, EXAMPLES, serve

AS_OF = "2026-11-23"
LUPUS = "Phase-II-Lupus-MSC"


@pytest.fixture(scope="module")
def batch_root(tmp_path_factory):
    """A real batch output folder: the lupus examples screened by `run_batch`."""
    root = tmp_path_factory.mktemp("batches")
    src = root / "patients.ndjson"
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted((EXAMPLES / LUPUS).glob("*.json"))
             if p.name != "expected.json"]
    src.write_text("\n".join(lines) + "\n")
    trial = screening.load_criteria(CRITERIA / f"{LUPUS}.yaml")
    screening.run_batch(str(src), [trial], root / "lupus-run", date.fromisoformat(AS_OF), workers=1)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, batch_root):
    with serve(tmp_path_factory.mktemp("page"), "--batch-root", str(batch_root)) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


class Labels(HTMLParser):
    """Form controls and the ids their labels point at, to check that every control is labelled."""

    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.in_label, self.wrapped = [], set(), 0, set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "textarea", "select") and a.get("type") not in ("hidden", "submit") and "hidden" not in a:
            self.controls.append(a)
            if self.in_label:
                self.wrapped.add(id(a))

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1


def test_form_is_labelled_and_lists_trials(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text  # server-rendered, no JavaScript
    parser = Labels()
    parser.feed(page.text)
    assert parser.controls
    for c in parser.controls:
        assert id(c) in parser.wrapped or c.get("id") in parser.label_for, c
    for t in ("MSV-allo-LN", "NCT01056471", "NCT04348461", LUPUS):
        assert f'value="{t}"' in page.text
    assert f'value="{date.today().isoformat()}"' in page.text  # the screening date starts at today


def screen_form(path=None, text=None, trials=(LUPUS,), as_of=AS_OF, complete=(), extra=()):
    data = [("trial", t) for t in trials] + [("as_of", as_of)] + [("complete", p) for p in complete] + list(extra)
    if text is not None:
        data.append(("patient_text", text))
    files = {"patient_file": (path.name, path.read_bytes(), "application/json")} if path else None
    return form(data), files


def form(pairs):
    """Form fields as httpx takes them with files: a dict of lists (repeated names kept in order)."""
    out = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def rows(html):
    """(criterion id, status) of each row of the criteria tables."""
    return re.findall(r'<tr id="[^"]*">\s*<th scope="row">([^<]+)<div.*?class="status status-(\w+)"', html, re.S)


def test_upload_shows_verdict_reasons_and_evidence(client):
    data, files = screen_form(EXAMPLES / LUPUS / "excluded-cyclophosphamide-5-months.json")
    page = client.post("/page/screen", data=data, files=files)
    assert page.status_code == 200, page.text
    assert 'data-verdict="ineligible"' in page.text
    lib = screening.screen(screening.load_patient(EXAMPLES / LUPUS / "excluded-cyclophosphamide-5-months.json"),
                           screening.load_criteria(CRITERIA / f"{LUPUS}.yaml"), as_of=date.fromisoformat(AS_OF))
    assert rows(page.text) == [(c.id, c.status.value) for c in lib.criteria]
    exc2 = next(c for c in lib.criteria if c.id == "exc-2")
    import html

    assert exc2.reason in html.unescape(page.text)
    assert "upcr: 150 mg/mmol (= 1.33 mg/mg) on 2026-11-10" in page.text and "[Observation/upcr-1]" in page.text  # recorded and converted


def test_confirmation_recorded_on_the_page_decides(client):
    data, files = screen_form(EXAMPLES / LUPUS / "pending-confirmation.json")
    first = client.post("/page/screen", data=data, files=files)
    assert 'data-verdict="undetermined"' in first.text
    assert "eligible pending confirmation of: exc-4a, exc-4d, exc-4f" in first.text
    assert "a person: whether a coexisting disease is uncontrolled is the investigator&#39;s judgement" in first.text
    confirm_form = re.search(r'<form[^>]*id="confirm-form".*?</form>', first.text, re.S).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', confirm_form))
    patient_text = re.search(r'<textarea name="patient_text"[^>]*>(.*?)</textarea>', confirm_form, re.S).group(1)
    import html

    data = [("trial", LUPUS), ("as_of", hidden["as_of"]), ("confirmations", html.unescape(hidden["confirmations"])),
            ("patient_text", html.unescape(patient_text)), (f"confirm:{LUPUS}/exc-4a", "no"),
            (f"confirm:{LUPUS}/exc-4d", "no"), (f"confirm:{LUPUS}/exc-4f", "no"), ("confirmed_by", "Dr A. Investigator"),
            ("confirmed_on", AS_OF)]
    second = client.post("/page/screen", data=form(data))
    assert second.status_code == 200, second.text
    assert 'data-verdict="eligible"' in second.text
    assert f"{LUPUS}/exc-4a: does not hold (confirmed by Dr A. Investigator, {AS_OF})" in second.text
    # a confirmation that says the exclusion holds makes the patient ineligible, as the library says
    data[4] = (f"confirm:{LUPUS}/exc-4a", "yes")
    third = client.post("/page/screen", data=form(data))
    assert 'data-verdict="ineligible"' in third.text
    assert ("exc-4a", "fail") in rows(third.text)
    # who confirms must be said
    data[-2] = ("confirmed_by", "")
    fourth = client.post("/page/screen", data=form(data))
    assert fourth.status_code == 400 and "confirmed by: error: say who confirms" in fourth.text


def test_pasted_fhir_bundle(client):
    text = (EXAMPLES / "fhir" / "nct04348461-eligible.json").read_text()
    data, _ = screen_form(text=text, trials=("NCT04348461",), complete=("conditions", "medications", "procedures"))
    page = client.post("/page/screen", data=data)
    assert page.status_code == 200 and 'data-verdict="eligible"' in page.text


def test_bad_patient_is_reported_on_the_page_with_its_place(client):
    data, _ = screen_form(text='{"id": "p",\n "sex": 3}')
    page = client.post("/page/screen", data=data)
    assert page.status_code == 400
    assert re.search(r'<p class="error" role="alert" id="error">patient:2:9: error: sex: ', page.text)
    assert "Traceback" not in page.text
    data, _ = screen_form(text='{"id": "p"}', trials=())
    assert "choose at least one trial" in client.post("/page/screen", data=data).text


def test_batch_folder_funnel_as_svg(client, batch_root):
    page = client.get("/funnel")
    assert "lupus-run" in page.text
    page = client.get("/funnel", params={"folder": "lupus-run"})
    assert page.status_code == 200
    svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg
    steps = list(__import__("csv").DictReader((batch_root / "lupus-run" / f"funnel-{LUPUS}.csv").open()))
    assert svg.count("<rect") == 2 * len(steps)
    last = steps[-1]
    assert f"{last['remaining']} left · pass {last['pass']} · fail {last['fail']} · unknown {last['unknown']}" in svg
    assert client.get("/funnel", params={"folder": "../.."}).status_code == 400  # nothing outside the root
    assert client.get("/funnel", params={"folder": "nope"}).status_code == 404


def test_uploaded_ndjson_funnel_reports_bad_lines(client):
    good = json.dumps(json.loads((EXAMPLES / LUPUS / "eligible.json").read_text()))
    body = (good + "\n" + '{"id": "x", "sex": 5}' + "\n" + good + "\n").encode()
    page = client.post("/funnel", data={"trial": [LUPUS], "as_of": AS_OF},
                       files={"patients": ("cohort.ndjson", body, "application/x-ndjson")})
    assert page.status_code == 200, page.text
    assert "cohort.ndjson:2:" in page.text and "sex" in page.text
    assert "eligible 2" in page.text
