"""A screen is the same in every process: record order does not depend on string hashing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys
import screening
trial = screening.compile_text(sys.argv[1], 'inline.yaml')
patient = screening.parse_patient(json.loads(sys.argv[2]))
print(screening.screen(patient, trial, '2026-11-23').model_dump_json())
"""

RULES = """
format: 1
trial: {id: DET, title: determinism}
concepts:
  immunosuppressants:
    codes: [rxnorm:1256, atc:L04AA06, rxnorm:68149, rxnorm:42316, atc:L04AD02, rxnorm:3008, atc:L04AX01]
criteria:
  - {id: ever, kind: exclusion, text: any immunosuppressant, rule: ever_taken(immunosuppressants)}
"""

PATIENT = {"id": "p", "medications": [
    {"code": code, "start": "2025-11-23"} for code in
    ["rxnorm:1256", "atc:L04AA06", "rxnorm:68149", "rxnorm:42316", "atc:L04AD02", "rxnorm:3008", "atc:L04AX01"]]}


def test_same_result_whatever_the_hash_seed():
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed, SCREENING_CACHE_DIR="")
        out = subprocess.run([sys.executable, "-c", SCRIPT, RULES, json.dumps(PATIENT)], env=env,
                             capture_output=True, text=True, check=True).stdout
        outputs.add(out)
    assert len(outputs) == 1
    evidence = json.loads(outputs.pop())["criteria"][0]["evidence"]
    assert [e["record"] for e in evidence] == [m["code"] for m in PATIENT["medications"]]  # chart order
