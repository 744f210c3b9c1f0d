"""The CLI with FHIR input: screen a Bundle, convert it, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import builders as B

from screening.sources.native import parse_patient

RULES = Path(__file__).parent / "rules" / "lupus-fhir-test.yaml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screening.cli", *args], capture_output=True, text=True, timeout=120)


def write(tmp_path: Path, data: dict, name: str = "bundle.json", indent: int | None = None) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=indent), encoding="utf-8")
    return path


def position_of(path: Path, needle: str) -> str:
    """'line:column' (1-based) of the first occurrence of ``needle`` in a file."""
    text = path.read_text(encoding="utf-8")
    at = text.index(needle)
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"


def test_screen_a_bundle_as_json(tmp_path):
    path = write(tmp_path, B.bundle(*B.lupus_eligible(), {"resourceType": "Encounter", "id": "enc-1",
                                                          "status": "finished", "class": {"code": "AMB"}}))
    out = run("screen", str(path), "-t", str(RULES), "--as-of", "2026-11-23", "--complete", "medications,procedures",
              "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "eligible"
    assert result["unmapped"] == [{"resource": "Encounter/enc-1", "reason": "Encounter resources are not used for screening"}]
    upcr = next(c for c in result["criteria"] if c["id"] == "inc-upcr")
    assert upcr["evidence"][0]["source"] == "Observation/upcr"
    assert (upcr["evidence"][0]["value"], upcr["evidence"][0]["unit"], upcr["evidence"][0]["converted"]) == (
        1850, "mg/g{creat}", 1.85)


def test_without_strict_an_invalid_resource_is_listed_and_the_rest_screened(tmp_path):
    b = B.bundle(*B.lupus_eligible())
    b["entry"][4]["resource"]["valueQuantity"]["value"] = "1,85"  # Observation/upcr
    path = write(tmp_path, b, indent=2)
    out = run("screen", str(path), "-t", str(RULES), "--as-of", "2026-11-23", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    (note,) = [u for u in result["unmapped"] if u["resource"] == "Observation/upcr"]
    assert note["category"] == "observations" and "valueQuantity.value" in note["reason"]
    upcr = next(c for c in result["criteria"] if c["id"] == "inc-upcr")
    assert upcr["status"] == "unknown"


def test_invalid_bundle_is_one_line_and_exit_2(tmp_path):
    b = B.bundle(*B.lupus_eligible())
    b["entry"][4]["resource"]["valueQuantity"]["value"] = "1,85"  # Observation/upcr
    path = write(tmp_path, b, indent=2)
    out = run("screen", str(path), "-t", str(RULES), "--as-of", "2026-11-23", "--strict")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    where = position_of(path, '"1,85"')  # the line and column of the bad value, for an editor
    assert where.split(":")[0] != "1"
    assert lines[0].startswith(f"{path}:{where}: error: Bundle.entry[4] (Observation/upcr): valueQuantity.value: ")


def test_unknown_resource_type_names_the_entry(tmp_path):
    b = B.bundle(B.patient(), {"resourceType": "Observaton", "id": "typo"})
    path = write(tmp_path, b, indent=1)
    out = run("convert", str(path))
    assert out.returncode == 2
    where = position_of(path, '"Observaton"')
    assert out.stderr.strip() == (f"{path}:{where}: error: Bundle.entry[1] (Observaton/typo): "
                                  "unknown resourceType 'Observaton'")


def test_convert_prints_a_native_profile_that_reads_back(tmp_path):
    path = write(tmp_path, B.bundle(*B.lupus_eligible()))
    out = run("convert", str(path))
    assert out.returncode == 0, out.stderr
    native = json.loads(out.stdout)
    assert native["id"] == "pat-1"
    assert native["conditions"] == [{"code": "snomed:55464009", "codes": ["icd10:M32.9"],
                                     "name": "Systemic lupus erythematosus", "source": "Condition/sle",
                                     "onset": "2019-06-01"}]
    from screening.sources.fhir import bundle_to_patient

    assert parse_patient(native) == bundle_to_patient(json.loads(path.read_text()))


def test_native_profiles_do_not_import_the_fhir_models(tmp_path):
    native = write(tmp_path, {"id": "n1", "birth_date": "1980-01-01", "sex": "female"}, "native.json")
    code = ("import sys\nfrom screening.cli import app\n"
            f"try:\n    app([{'screen'!r}, {str(native)!r}, '-t', {str(RULES)!r}, '--as-of', '2026-11-23', '--json'])\n"
            "except SystemExit:\n    pass\n"
            "print('FHIR-LOADED' if any(m.startswith(('fhir.resources', 'screening.sources.fhir')) for m in sys.modules) else 'NO-FHIR')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "NO-FHIR", out.stderr
