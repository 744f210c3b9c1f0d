"""The `batch` and `synth` commands: exit status, outputs and messages."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from screening.cli import app
from screening.tools.synth import synth_patients

from .conftest import HERE, read_lines

runner = CliRunner()
MINI = str(HERE / "mini.yaml")


def _synth(tmp_path, n=12):
    path = tmp_path / "p.ndjson"
    result = runner.invoke(app, ["synth", "--n", str(n), "--seed", "8", "--out", str(path), "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    return path


def test_synth_command_writes_the_library_profiles(tmp_path):
    path = _synth(tmp_path)
    assert read_lines(path) == list(synth_patients(12, 8, __import__("datetime").date(2026, 11, 23)))
    piped = runner.invoke(app, ["synth", "--n", "3", "--seed", "8", "--out", "-", "--as-of", "2026-11-23"])
    assert [json.loads(x) for x in piped.stdout.splitlines()] == read_lines(path)[:3]


def test_batch_command_outputs_and_exit_status(tmp_path):
    src = _synth(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(src), "-t", MINI, "--out", str(out), "--as-of", "2026-11-23",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "MINI-LUPUS: attrition over 12 patients" in result.stdout
    assert "12 records: 12 patients screened against 1 trial(s) as of 2026-11-23, 0 error(s)" in result.stderr
    assert len(result.stderr.splitlines()) == 1  # stderr is not a terminal: no progress bar, only the count
    assert len(read_lines(out / "results.ndjson")) == 12
    assert (out / "funnel-MINI-LUPUS.csv").exists() and (out / "summary.csv").exists()
    # --resume on a finished run does nothing
    again = runner.invoke(app, ["batch", str(src), "-t", MINI, "--out", str(out), "--resume", "--workers", "1"])
    assert again.exit_code == 0 and "nothing to resume" in again.stderr


def test_bad_records_exit_zero_unless_strict(tmp_path):
    src = _synth(tmp_path, 5)
    with open(src, "a", encoding="utf-8") as fh:
        fh.write('{"id": "p-bad", "birth_date": "yesterday"}\n')
    args = ["batch", str(src), "-t", MINI, "--as-of", "2026-11-23", "--workers", "1"]
    lenient = runner.invoke(app, args + ["--out", str(tmp_path / "a")])
    assert lenient.exit_code == 0
    assert "6 records: 5 patients screened against 1 trial(s) as of 2026-11-23, 1 error(s) (see errors.ndjson)" in lenient.stderr
    strict = runner.invoke(app, args + ["--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 1
    [err] = read_lines(tmp_path / "b" / "errors.ndjson")
    assert err["line"] == 6 and err["message"].startswith("birth_date:")
    clean = runner.invoke(app, ["batch", str(_synth(tmp_path, 3)), "-t", MINI, "--as-of", "2026-11-23",
                                "--workers", "1", "--strict", "--out", str(tmp_path / "c")])
    assert clean.exit_code == 0


def test_bad_command_line_input_exits_two(tmp_path):
    src = _synth(tmp_path, 2)
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\ntrial: {id: X}\ncriteria:\n  - {id: a, kind: inclusion, text: t, rule: agee >= 18}\n")
    result = runner.invoke(app, ["batch", str(src), "-t", str(broken), "--out", str(tmp_path / "o"), "--workers", "1"])
    assert result.exit_code == 2
    assert str(broken) in result.stderr and "error" in result.stderr
    assert not (tmp_path / "o").exists()
    missing = runner.invoke(app, ["batch", str(tmp_path / "none.ndjson"), "-t", MINI, "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no such file or directory" in missing.stderr


def _one_line_exit_2(result, expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.strip().splitlines() == [expected]
    assert "Traceback" not in result.output


def test_output_that_is_not_a_directory_exits_two(tmp_path):
    src = _synth(tmp_path, 2)
    args = ["batch", str(src), "-t", MINI, "--as-of", "2026-11-23", "--workers", "1"]
    _one_line_exit_2(runner.invoke(app, args + ["--out", str(src)]),
                     f"{src}: error: the output must be a directory, and this is a file")
    blocked = tmp_path / "file-in-the-way"
    blocked.write_text("x")
    _one_line_exit_2(runner.invoke(app, args + ["--out", str(blocked / "out")]),
                     f"{blocked / 'out'}: error: cannot create the output directory: Not a directory")
    assert read_lines(src) and blocked.read_text() == "x"  # nothing was overwritten


def test_a_single_json_document_is_not_taken_for_ndjson(tmp_path):
    profiles = list(synth_patients(2, 8, __import__("datetime").date(2026, 11, 23)))
    args = ["-t", MINI, "--as-of", "2026-11-23", "--workers", "1", "--out", str(tmp_path / "o")]
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(profiles[0], indent=2), encoding="utf-8")
    _one_line_exit_2(runner.invoke(app, ["batch", str(pretty), *args]),
                     f"{pretty}: error: holds one JSON document spread over several lines, not NDJSON "
                     "(one profile per line): screen it with 'screening screen', or put it in a directory")
    array = tmp_path / "all.json"
    array.write_text(json.dumps(profiles), encoding="utf-8")
    _one_line_exit_2(runner.invoke(app, ["batch", str(array), *args]),
                     f"{array}: error: holds a JSON array of 2 item(s), not NDJSON: write one profile per line, "
                     "or one profile per file in a directory")
    assert not (tmp_path / "o").exists()


def test_empty_input_exits_two(tmp_path):
    args = ["-t", MINI, "--as-of", "2026-11-23", "--workers", "1", "--out", str(tmp_path / "o")]
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n\n", encoding="utf-8")
    _one_line_exit_2(runner.invoke(app, ["batch", str(empty), *args]),
                     f"{empty}: error: empty file: no profiles to screen")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    _one_line_exit_2(runner.invoke(app, ["batch", str(folder), *args]),
                     f"{folder}: error: no *.json files in this directory: nothing to screen")


def test_two_rule_files_with_one_trial_id_are_named(tmp_path):
    src = _synth(tmp_path, 2)
    copy = tmp_path / "copy.yaml"
    copy.write_text((HERE / "mini.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    _one_line_exit_2(runner.invoke(app, ["batch", str(src), "-t", MINI, "-t", str(copy), "--as-of", "2026-11-23",
                                         "--workers", "1", "--out", str(tmp_path / "o")]),
                     f"{copy}: error: trial id 'MINI-LUPUS' clashes with the trial in {MINI} "
                     "(batch outputs are named by trial id)")


def test_outputs_that_cannot_be_written_are_one_line(tmp_path):
    src = _synth(tmp_path, 2)
    out = tmp_path / "o"
    (out / "results.ndjson.partial").mkdir(parents=True)  # where the results would be written
    result = runner.invoke(app, ["batch", str(src), "-t", MINI, "--as-of", "2026-11-23", "--workers", "1",
                                 "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"{out / 'results.ndjson.partial'}: error: cannot write the outputs: Is a directory"]
