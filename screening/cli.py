"""The `screening` command: a thin shell over the library (screen, check, schema).

Exit status: 0 when the command ran (whatever the verdict), 2 for bad input, with a
one-line message naming the file and the place. Heavy imports happen inside commands.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Screen patients against clinical-trial eligibility rule files.",
                  epilog="Exit status: 0 when the command ran, whatever the verdicts; 2 for bad input, with one "
                         "line naming the file and the place (file:line:column: error: ...). 'screening COMMAND "
                         "--help' describes a command.")

EXIT_BAD_INPUT = 2
EARLIEST, LATEST = date(1800, 1, 1), date(9000, 12, 31)
SYNTH_EARLIEST = date(1900, 1, 1)  # screening dates: windows of years fit on either side
COMPLETE_HELP = ("Record parts known complete, so that no record means no (comma-separated: conditions, "
                 "medications, procedures, immunizations, facts).")


def _fail(message: str, located: bool = False) -> "typer.Exit":
    """Print a one-line message for bad input; ``located`` messages already read 'file:line:col: error: ...'."""
    typer.echo(message if located else f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _one_line(err) -> str:
    from .errors import RuleFileError

    more = len(err.problems) - 1
    hint = "; run 'screening check'" if isinstance(err, RuleFileError) else ""  # check reads rule files only
    return err.first_line + (f" (and {more} more problem{'s' if more > 1 else ''}{hint})" if more > 0 else "")


def _parse_date(text: Optional[str]) -> tuple[date, bool]:
    if text is None:
        return date.today(), True  # the CLI, not the engine, reads the clock
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # fromisoformat also takes 20261123 and 2026-W48-1
        raise _fail(f"--as-of {text!r}: expected a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--as-of {text!r}: no such date") from None
    if not (EARLIEST <= day <= LATEST):  # windows and ages reach back and forward from it
        raise _fail(f"--as-of {text!r}: a screening date must lie between {EARLIEST} and {LATEST}")
    return day, False


def _parse_complete(text: Optional[str]) -> list[str]:
    from .model.patient import Category

    if not text:
        return []
    parts = [p.strip() for p in text.split(",") if p.strip()]
    known = {c.value for c in Category}
    bad = [p for p in parts if p not in known]
    if bad:
        raise _fail(f"--complete: unknown record part {bad[0]!r} (choose from {', '.join(sorted(known))})")
    return parts


SCHEMA_HELP = "OMOP input: the schema holding the CDM tables (PostgreSQL: default public; DuckDB: main)."
VOCABULARY_HELP = ("OMOP input: a folder with the vocabulary tables (concept, concept_ancestor ...; e.g. an "
                   "Athena download) to use instead of the database's own.")
COMPLETENESS_HELP = ("OMOP input: which record parts are declared complete: 'observation-period' (conditions, "
                     "medications, procedures, immunizations, when an observation period contains the screening "
                     "date), 'lifetime' (the same, for persons observed from birth), 'none'.")
STRICT_HELP = "Refuse a FHIR Bundle holding any invalid resource (default: list it as unmapped, screen the rest)."

# options several commands share (screen, batch, population, explain), declared once
TrialsOption = Annotated[List[Path], typer.Option("--trial", "-t", metavar="RULES.yaml",
                                                  help="Rule file (repeat for several trials).")]
AsOfOption = Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD",
                                                   help="Screening date (default: today, printed on stderr).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON (a list with several --trial).")]
StrictOption = Annotated[bool, typer.Option("--strict", help=STRICT_HELP)]
CompleteOption = Annotated[Optional[str], typer.Option("--complete", metavar="PARTS", help=COMPLETE_HELP)]
SchemaOption = Annotated[Optional[str], typer.Option("--schema", metavar="NAME", help=SCHEMA_HELP)]
VocabularyOption = Annotated[Optional[Path], typer.Option("--vocabulary", metavar="DIR", help=VOCABULARY_HELP)]
CompletenessOption = Annotated[str, typer.Option("--completeness", metavar="POLICY", help=COMPLETENESS_HELP)]


@app.command(short_help="Screen one patient against one or more trials.")
def screen(
    patient: Path = typer.Argument(..., metavar="PATIENT.json|OMOP",
                                  help="Patient profile JSON (native or FHIR R4 Bundle); '-' reads standard input; "
                                       "or an OMOP CDM database (a folder of CSV/Parquet files, a DuckDB file, a "
                                       "postgresql:// URL) with --person."),
    trial: TrialsOption = ...,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    complete: CompleteOption = None,
    person: Optional[str] = typer.Option(None, "--person", metavar="ID",
                                         help="OMOP input: the person (person_id or person_source_value)."),
    schema: SchemaOption = None,
    vocabulary: VocabularyOption = None,
    completeness: CompletenessOption = "observation-period",
    strict: StrictOption = False,
    explain: bool = typer.Option(False, "--explain", help="After the table, every criterion in full: its words, "
                                                          "reason, reading, evidence and what would decide it."),
) -> None:
    """Screen one patient against one or more trials."""
    from .errors import InputError

    day, today = _parse_date(as_of)
    parts = _parse_complete(complete)
    if _is_omop(_spec(patient)) and person is None:
        raise _fail(f"{_spec(patient)}: error: an OMOP database holds many persons: give --person ID "
                    "(or screen them all with 'screening batch')", located=True)
    if person is not None and not _is_omop(_spec(patient)):
        raise _fail("--person is for an OMOP database; this input is one patient file")
    try:
        from . import screen as run

        profile = _one_patient(patient, person, day, schema, vocabulary, completeness, strict)
        trials = [_load_trial(t) for t in trial]  # after the patient: a bad patient file costs no compile
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    results = [run(profile, t, as_of=day, complete=parts) for t in trials]
    if _screened(results, day, today, as_json):
        return
    from .report.table import print_results

    print_results(results, explain=explain)


def _one_patient(source: Path, person: Optional[str], day: date, schema: Optional[str],
                 vocabulary: Optional[Path], completeness: str, strict: bool):
    """One patient: ``person`` of an OMOP database, or a patient file (native or FHIR; '-' for standard input).
    InputError when it cannot be read."""
    spec = _spec(source)
    if _is_omop(spec):
        with _omop_source(spec, schema, vocabulary, day, completeness) as db:
            return db.patient(person)
    return _read_patient(source, strict)


def _screened(results: list, day: date, today: bool, as_json: bool) -> bool:
    """Say the screening date when it is today's (on stderr, so that --json output stays one JSON document),
    and print the results as JSON when asked; True when that was the output."""
    if today:
        typer.echo(f"as of {day.isoformat()} (today; use --as-of to fix the screening date)", err=True)
    if as_json:
        payload = [r.model_dump(mode="json") for r in results]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, ensure_ascii=False))
    return as_json


def _spec(path: Path) -> str:
    """The input as typed: a path, or a PostgreSQL URL (whose '//' a Path folds to '/')."""
    text = str(path)
    return re.sub(r"^(postgres(?:ql)?):/(?!/)", r"\1://", text, flags=re.I)


def _is_omop(spec: str) -> bool:
    from .sources.omop.database import is_database

    return spec != "-" and is_database(spec)


def _omop_source(spec: str, schema: Optional[str], vocabulary: Optional[Path], day: date, completeness: str,
                 engine: Optional[str] = None):
    """The OMOP database ``spec`` as a patient source judged on ``day`` (OmopError if it cannot be opened)."""
    from .sources.omop import POLICIES, OmopSource

    if completeness not in POLICIES:
        raise _fail(f"--completeness {completeness!r}: choose from {', '.join(POLICIES)}")
    return OmopSource.open(spec, schema, str(vocabulary) if vocabulary else None, engine=engine, as_of=day,
                           completeness=completeness)


def _read_patient(path: Path, strict: bool = False):
    """A patient file, or standard input for '-' (as batch reads it)."""
    from .sources.files import load_patient, patient_from_text

    if str(path) == "-":
        return patient_from_text(sys.stdin.read().lstrip("\ufeff"), "<stdin>", strict)
    return load_patient(path, strict)


def _load_trial(path: Path):
    from .rules.cache import load_criteria_cached

    return load_criteria_cached(path)


@app.command(short_help="Validate rule files.")
def check(files: List[Path] = typer.Argument(..., metavar="RULES.yaml", help="Rule files to validate.")) -> None:
    """Validate rule files: schema, expression syntax, names, windows and units."""
    from .errors import InputError
    from .rules.compiler import load_criteria

    bad = 0
    for f in files:
        try:
            trial = load_criteria(f)
        except InputError as err:
            bad += 1
            for p in err.problems:
                typer.echo(str(p))
            continue
        n = len(trial.criteria)
        typer.echo(f"{f}: ok: {trial.id}, {n} criteria, {len(trial.items)} data items, {len(trial.concepts)} concept sets")
        from .rules.compiler import concept_categories
        from .terms.describe import concept_warnings

        for concept, message in concept_warnings(trial.rules, trial.concepts, concept_categories(trial.criteria)):
            typer.echo(f"{f}: warning: concept set {concept!r} {message}")
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command(short_help="JSON Schema of the patient profile, rule file or result.")
def schema(which: str = typer.Argument(..., metavar="patient|criteria|result", help="Which schema to print.")) -> None:
    """Print the JSON Schema of the patient profile, the rule file or the result."""
    from .model import Patient, RuleFile, ScreeningResult

    models = {"patient": Patient, "criteria": RuleFile, "result": ScreeningResult}
    if which not in models:
        raise _fail(f"unknown schema {which!r} (choose from patient, criteria, result)")
    typer.echo(json.dumps(models[which].model_json_schema(), indent=2))


@app.command(short_help="Screen many patients against trials on every core, with funnels.")
def batch(
    source: Path = typer.Argument(..., metavar="INPUT",
                                 help="NDJSON file of profiles ('-' for standard input), a directory of JSON files, "
                                      "or an OMOP CDM database (a folder of CSV/Parquet files, a DuckDB file, a "
                                      "postgresql:// URL): every person."),
    trial: TrialsOption = ...,
    out: Path = typer.Option(..., "--out", "-o", metavar="DIR",
                             help="Output directory (results.ndjson, summary.csv, funnel-<trial>.csv, errors.ndjson)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                                        help="Screening date (default: today; on --resume, the interrupted run's)."),
    complete: CompleteOption = None,
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, metavar="N",
                                          help="Worker processes (default: all cores)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run in --out."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any record could not be read."),
    schema: SchemaOption = None,
    vocabulary: VocabularyOption = None,
    completeness: CompletenessOption = "observation-period",
) -> None:
    """Screen many patients against one or more trials on every core, with a funnel per trial."""
    from concurrent.futures import BrokenExecutor

    from .batch.progress import BatchProgress
    from .batch.run import BatchError, journal_as_of, run_batch
    from .errors import InputError
    from .report.funnel import print_funnels

    parts = _parse_complete(complete)
    day, today = _parse_date(as_of)
    if resume and as_of is None:
        day = journal_as_of(out) or day
    try:
        trials = [_load_trial(t) for t in trial]
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    _check_distinct_ids(trial, trials)
    omop = None
    try:
        if _is_omop(_spec(source)):  # persons read here, in person_id order, and screened by the workers
            from .sources.omop import BatchInput

            omop = _omop_source(_spec(source), schema, vocabulary, day, completeness)
            inputs = BatchInput(omop)
        else:
            inputs = str(source)
        with BatchProgress(sys.stderr.isatty()) as progress:
            summary = run_batch(inputs, trials, out, day, parts, workers=workers, resume=resume, progress=progress)
    except InputError as err:  # BatchError, or an OMOP database that cannot be read
        unlocated = err.problems and err.problems[0].file is None  # about the command line, not a file
        raise _fail(err.problems[0].message if unlocated else _one_line(err), located=not unlocated) from None
    except KeyboardInterrupt as err:
        import signal

        terminated = getattr(err, "signum", None) == signal.SIGTERM
        typer.echo(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: finished work is kept; run again "
                   f"with --resume to continue ({out})", err=True)
        raise typer.Exit(143 if terminated else 130) from None
    except BrokenExecutor as err:  # a worker process was killed (out of memory, signal)
        typer.echo(f"error: a worker process stopped ({err}); finished work is kept: run again with --resume", err=True)
        raise typer.Exit(1) from None
    except OSError as err:  # writing the outputs failed (disk full, permissions)
        typer.echo(f"{err.filename or out}: error: cannot write the outputs: {err.strerror or err}", err=True)
        raise typer.Exit(1) from None
    finally:
        if omop is not None:
            omop.close()
    if summary.already_complete:
        typer.echo(f"nothing to resume: {out} holds a complete run", err=True)
        return
    print_funnels(summary.funnels)
    resumed = f" ({summary.resumed_from} before resuming)" if summary.resumed_from else ""
    typer.echo(f"{summary.records} records{resumed}: {summary.patients} patients screened against {len(trials)} "
               f"trial(s) as of {day.isoformat()}, {summary.errors} error(s){' (see errors.ndjson)' if summary.errors else ''}; "
               f"outputs in {out}", err=True)
    if strict and summary.errors:
        raise typer.Exit(1)


def _check_distinct_ids(paths: List[Path], trials) -> None:
    """Outputs are keyed by trial id: two rule files with one id (or ids that clash as file names) are bad input."""
    from .batch.run import funnel_name

    seen: dict[str, Path] = {}
    for path, t in zip(paths, trials):
        key = funnel_name(t.id)
        if key in seen:
            raise _fail(f"{path}: error: trial id {t.id!r} clashes with the trial in {seen[key]} "
                        "(batch outputs are named by trial id)", located=True)
        seen[key] = path


@app.command(short_help="Reproducible synthetic patients (NDJSON).")
def synth(
    n: int = typer.Option(..., "--n", min=0, metavar="N", help="Number of patients."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Seed: the same seed and --as-of give the same patients."),
    out: str = typer.Option(..., "--out", "-o", metavar="FILE.ndjson", help="NDJSON file to write ('-' for standard output)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                                        help="Date the records lead up to (default: today)."),
) -> None:
    """Generate synthetic patient profiles (NDJSON) for tests and benchmarks."""
    from .tools.synth import synth_patients, write_synth

    day, today = _parse_date(as_of)
    if not (SYNTH_EARLIEST <= day):
        raise _fail(f"--as-of {as_of!r}: synthetic patients need a date from {SYNTH_EARLIEST} on (they are born up "
                    "to a century before it)")
    if today:
        typer.echo(f"dated up to {day.isoformat()} (today; use --as-of to reproduce)", err=True)
    if out == "-":
        for p in synth_patients(n, seed, day):
            sys.stdout.write(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n")
        return
    try:
        write_synth(out, n, seed, day)
    except OSError as err:
        raise _fail(f"{out}: error: cannot write: {err.strerror}", located=True) from None


@app.command(short_help="Criteria decided by data vs by a person, and the data needed.")
def coverage(
    files: List[Path] = typer.Argument(..., metavar="RULES.yaml", help="Rule files."),
    as_json: bool = typer.Option(False, "--json", help="Print the coverage as JSON."),
) -> None:
    """How many criteria each rule file decides by machine, and the data it needs."""
    from .errors import InputError
    from .report.coverage import coverage as cover, print_coverage
    from .rules.compiler import load_criteria

    try:
        rows = [cover(load_criteria(f)) for f in files]
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2, ensure_ascii=False))
        return
    print_coverage(rows)


@app.command(short_help="Draft a rule file from a ClinicalTrials.gov study record.")
def new(
    record: Path = typer.Argument(..., metavar="RECORD.json",
                                  help="A ClinicalTrials.gov API v2 study record (or a search response holding it)."),
    out: Path = typer.Option(..., "-o", "--out", metavar="RULES.yaml", help="The rule file to write."),
    nct: Optional[str] = typer.Option(None, "--nct", help="Which study of a search response with several."),
    source: Optional[str] = typer.Option(None, "--source", help="What trial.source says (default: RECORD as given)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing rule file."),
) -> None:
    """Write a draft rule file: metadata, age and sex as rules, every bullet verbatim as a draft to encode."""
    from .authoring.new import new_rule_file
    from .errors import InputError

    try:
        d = new_rule_file(record, out, source, nct, force)
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    except FileExistsError as err:
        raise _fail(str(err)) from None
    except OSError as err:
        raise _fail(f"{out}: error: cannot write: {err.strerror}", located=True) from None
    typer.echo(f"{d.path}: {d.trial}: {d.bullets} draft criteria, {d.proposals} proposed rules; "
               f"next: screening check {d.path}")


@app.command(short_help="The native profile a FHIR R4 Bundle maps to.")
def convert(patient: Path = typer.Argument(..., metavar="BUNDLE.json",
                                           help="FHIR R4 Bundle JSON ('-' for standard input; a native profile is printed as read)."),
            strict: bool = typer.Option(False, "--strict", help=STRICT_HELP)) -> None:
    """Print the native patient profile JSON a FHIR Bundle maps to, with its unmapped resources."""
    from .errors import InputError

    try:
        profile = _read_patient(patient, strict)
    except InputError as err:
        for p in err.problems:  # every problem, one per line: convert is where a bundle gets diagnosed
            typer.echo(str(p), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(profile.model_dump_json(indent=2, exclude_defaults=True))


@app.command(short_help="Write profiles as OMOP CDM tables (a DuckDB file or a Parquet folder).")
def load(
    inputs: List[Path] = typer.Argument(..., metavar="INPUT...",
                                        help="Profiles: JSON files (native or FHIR R4 Bundle), NDJSON files "
                                             "(.ndjson, .jsonl: one per line), directories of *.json."),
    out: Path = typer.Option(..., "--out", "-o", metavar="DB.duckdb|DIR",
                             help="A DuckDB file (.duckdb, .ddb, .db) or a directory for Parquet files."),
    vocabulary: Optional[str] = typer.Option(None, "--vocabulary", metavar="OMOP",
                                             help="An OMOP database or vocabulary folder whose concept table gives "
                                                  "the codes' concept ids (default: deterministic local ids)."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an existing output."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any input could not be read."),
) -> None:
    """Write native profiles, NDJSON and FHIR bundles as OMOP CDM tables, for the SQL path."""
    from .errors import InputError
    from .sources.omop.load import load_profiles, read_profiles

    problems: list = []
    try:
        summary = load_profiles(read_profiles(inputs, problems), out, vocabulary=vocabulary, replace=replace)
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    except OSError as err:
        raise _fail(f"{err.filename or out}: error: cannot write: {err.strerror or err}", located=True) from None
    for p in problems:
        typer.echo(str(p), err=True)
    rows = ", ".join(f"{n:,} {t}" for t, n in summary.rows.items() if n and t != "person")
    typer.echo(f"{summary.persons:,} persons loaded into {out} ({rows}; {summary.local_concepts:,} of "
               f"{summary.concepts:,} concepts local); {len(problems)} input problem(s)", err=True)
    if summary.imprecise_dates:
        typer.echo(f"{summary.imprecise_dates:,} condition onset or abatement dates known only to an interval "
                   "written as NULL (OMOP dates are days): those records read back undated", err=True)
    if strict and problems:
        raise typer.Exit(1)


vocab_app = typer.Typer(help="OMOP (Athena) vocabulary exports: index one for the terminology layer.",
                        no_args_is_help=True)
app.add_typer(vocab_app, name="vocab")


@vocab_app.command("load", short_help="Index an Athena vocabulary export (CONCEPT.csv ...) into a database file.")
def vocab_load(
    folder: Path = typer.Argument(..., metavar="DIR", help="Folder with CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, "
                                                           "CONCEPT_ANCESTOR.csv (tab- or comma-separated)."),
    db: Optional[Path] = typer.Option(None, "--db", metavar="FILE",
                                      help="Database file to write (default: vocabulary.sqlite in the cache folder, "
                                           "where screening looks for it; elsewhere, set SCREENING_VOCABULARY)."),
) -> None:
    """Index an OMOP vocabulary export once; concept sets then expand through it and records coded
    by clinical drugs, NDCs or source codes are recognised through it."""
    from .terms import athena
    from .terms.drugs import cache_folder

    target = db
    if target is None:
        folder_ = cache_folder()
        if folder_ is None:
            raise _fail("no cache folder (SCREENING_CACHE_DIR is empty): give --db FILE")
        target = folder_ / "vocabulary.sqlite"
    try:
        counts = athena.load(folder, target)
    except (athena.VocabularyError, OSError) as err:
        raise _fail(str(err))
    typer.echo(f"{target}: {counts['concept']} concepts, {counts['relationship']} relationships, "
               f"{counts['ancestor']} ancestor rows")


@app.command(short_help="What a concept set of a rule file expands to, and why.")
def terms(
    trial: Path = typer.Argument(..., metavar="RULES.yaml", help="Rule file."),
    concept: str = typer.Argument(..., metavar="SET", help="Concept set name."),
) -> None:
    """Print what a concept set expands to with the source of each member: its own codes and names,
    the drugs the vocabulary adds (by code, ATC level, name or class) with their brands, ICD-10
    descendants, and what it excludes."""
    from .errors import InputError
    from .rules.compiler import load_criteria
    from .terms.describe import describe_concept

    try:
        compiled = load_criteria(trial)
    except InputError as err:
        for p in err.problems:
            typer.echo(str(p))
        raise typer.Exit(EXIT_BAD_INPUT)
    if concept not in compiled.concepts:
        from .rules.expressions import suggest

        hint = suggest(concept, list(compiled.concepts))
        raise _fail(f"{trial}: no concept set {concept!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                    + "; sets: " + ", ".join(compiled.concepts))
    for line in describe_concept(compiled.rules, compiled.concepts[concept]):
        typer.echo(line)


@app.command(short_help="Screen an OMOP population in the database (SQL), with funnels.")
def population(
    source: Path = typer.Argument(..., metavar="DB",
                                  help="An OMOP CDM database: a DuckDB file, a folder of CSV/Parquet files."),
    trial: TrialsOption = ...,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR",
                                       help="Output directory (statuses.parquet, verdicts.parquet, "
                                            "funnel-<trial>.csv)."),
    as_of: AsOfOption = None,
    complete: CompleteOption = None,
    engine: Optional[str] = typer.Option(None, "--engine", metavar="ENGINE",
                                         help="SQL engine: duckdb (files, folders, DuckDB files: the default), "
                                              "postgres (a postgresql:// URL, with --schema) or spark (a folder "
                                              "of Parquet files; $SCREENING_SPARK_MASTER, local by default)."),
    explain: bool = typer.Option(False, "--explain", help="List, per criterion, what SQL decides and which "
                                                          "persons go to the Python path and why; screen nobody."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, metavar="N",
                                          help="Worker processes for the criteria decided on the Python path "
                                               "(default: all cores)."),
    schema: SchemaOption = None,
    vocabulary: VocabularyOption = None,
    completeness: CompletenessOption = "observation-period",
) -> None:
    """Screen every person of an OMOP database against trials in SQL, with the Python path's exact statuses."""
    from .batch.outputs import funnel_name
    from .errors import InputError
    from .report.funnel import print_funnels
    from .sql.plan import plan_trials
    from .sql.population import SqlScreen

    if engine not in (None, "duckdb", "postgres", "spark"):
        raise _fail(f"--engine {engine!r}: choose duckdb, postgres or spark")
    from .batch.run import BatchError, worker_count

    try:
        workers = worker_count(workers)
    except BatchError as err:
        raise _fail(str(err)) from None
    parts = _parse_complete(complete)
    day, today = _parse_date(as_of)
    try:
        trials = [_load_trial(t) for t in trial]
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    _check_distinct_ids(trial, trials)
    if explain:
        for row in plan_trials(trials).report():
            why = "; ".join(row["refers"])
            typer.echo(f"{row['trial']} {row['criterion']}: {row['path']}" + (f" ({why})" if why else ""))
        return
    if out is None:
        raise _fail("--out DIR is required (or --explain)")
    if today:
        typer.echo(f"screening date: {day.isoformat()} (today)", err=True)
    spec = _spec(source)
    if not _is_omop(spec):
        raise _fail(f"{spec}: error: not an OMOP CDM database", located=True)
    kind = "postgres" if re.match(r"^postgres(ql)?://", spec, re.I) else "duckdb"
    if engine == "spark" and kind == "duckdb" and Path(spec).is_dir():
        kind = "spark"  # a folder of Parquet files, read by Spark
    if engine is not None and engine != kind:
        raise _fail(f"--engine {engine}: {spec} is a {kind} database (PostgreSQL: a postgresql:// URL; "
                    "Spark: a folder of Parquet files)")
    try:
        with _omop_source(spec, schema, vocabulary, day, completeness, engine) as omop:
            result = SqlScreen(omop, trials, day, parts, workers=workers).run(out=out)
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    except OSError as err:
        typer.echo(f"{err.filename or out}: error: cannot write the outputs: {err.strerror or err}", err=True)
        raise typer.Exit(1) from None
    funnels = result.funnels
    for f in funnels:
        tmp = out / f".{funnel_name(f.trial)}.partial"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            f.write_csv(fh)
        tmp.replace(out / funnel_name(f.trial))
    print_funnels(funnels)
    referred = sum(len(v) for per in result.via_python.values() for v in per.values())
    total = result.count * sum(len(t.criteria) for t in trials)
    typer.echo(f"{result.count:,} persons screened against {len(trials)} trial(s) as of {day.isoformat()} "
               f"in SQL ({referred:,} of {total:,} criterion results by the Python path); outputs in {out} "
               f"({sum(result.sizes.values()):,} bytes of Parquet)", err=True)


@app.command(short_help="One criterion (or every one) of a patient in full: reason, reading, evidence.")
def explain(
    source: Path = typer.Argument(..., metavar="PATIENT.json|DB",
                                  help="A patient file (native or FHIR), or an OMOP CDM database."),
    target: str = typer.Argument(..., metavar="CRITERION|PERSON",
                                 help="For a patient file: the criterion or bullet id. For an OMOP database: the "
                                      "person (person_id or person_source_value)."),
    criterion: Optional[str] = typer.Argument(None, metavar="[CRITERION]",
                                              help="For an OMOP database: only this criterion or bullet."),
    trial: TrialsOption = ...,
    as_of: AsOfOption = None,
    complete: CompleteOption = None,
    as_json: JsonOption = False,
    schema: SchemaOption = None,
    vocabulary: VocabularyOption = None,
    completeness: CompletenessOption = "observation-period",
    strict: StrictOption = False,
) -> None:
    """The full reasons: `explain PATIENT.json CRITERION -t RULES.yaml` prints one criterion (or a bullet's
    parts) in full; `explain DB PERSON [CRITERION]` re-screens one person of an OMOP population on the Python
    path (as `screen DB --person`) and prints the table, or the one criterion in full."""
    from .engine.evaluate import screen as screen_one
    from .errors import InputError

    parts = _parse_complete(complete)
    day, today = _parse_date(as_of)
    omop = _is_omop(_spec(source))
    if not omop and criterion is not None:
        raise _fail("explain PATIENT.json CRITERION takes one criterion (a third argument is for an OMOP database: "
                    "DB PERSON CRITERION)")
    only = criterion if omop else target
    try:
        trials = [_load_trial(t) for t in trial]
        patient = _one_patient(source, target if omop else None, day, schema, vocabulary, completeness, strict)
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    results = [screen_one(patient, t, day, complete=parts) for t in trials]
    if _screened(results, day, today, as_json):
        return
    from .report.table import details, print_details, print_results

    if only is None:
        print_results(results)
        return
    found = [r for r in results if any(c.id == only or c.parent == only for c in r.criteria)]
    if not found:
        try:
            details(results[0], only)
        except KeyError as err:
            raise _fail(f"{source}: error: {err.args[0]}", located=True) from None
    for r in found:
        print_details(r, only)


@app.command(short_help="Serve the JSON API, CDS Hooks and the coordinator's web page over HTTP.")
def serve(
    trials: Path = typer.Option(Path("criteria"), "--trials", metavar="DIR",
                                help="Folder of rule files (*.yaml) to load and compile at start (or one file)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    max_body: int = typer.Option(5_000_000, "--max-body", min=1, metavar="BYTES", help="Largest request body accepted."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, metavar="SECONDS", help="Time allowed per request."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, metavar="N",
                                    help="Screenings running at once (per worker process)."),
    workers: int = typer.Option(1, "--workers", min=1, metavar="N",
                                help="Server processes (screening holds one core per process)."),
    queue: int = typer.Option(64, "--queue", min=0, metavar="N", help="Screenings waiting for a slot before 503."),
    batch_root: Optional[Path] = typer.Option(None, "--batch-root", metavar="DIR",
                                              help="Folder whose batch output folders the page may show as funnels."),
    cds_complete: Optional[str] = typer.Option(None, "--cds-complete", metavar="PARTS",
                                               help="Record parts a CDS client's FHIR server holds in full " + COMPLETE_HELP[COMPLETE_HELP.index("("):]),
    public_url: Optional[str] = typer.Option(None, "--public-url", metavar="URL",
                                             help="Base URL of this server as EHRs reach it (for CDS card links)."),
) -> None:
    """Serve the JSON API (POST /screen, GET /trials), CDS Hooks 2.0 (/cds-services) and the page at /."""
    from .errors import InputError
    from .service.config import ServiceConfig
    from .service.core import Trials
    from .service.server import serve as run

    parts = _parse_complete(cds_complete)
    try:
        loaded = Trials.load(trials)
    except InputError as err:
        raise _fail(_one_line(err), located=True) from None
    if batch_root is not None and not batch_root.is_dir():
        raise _fail(f"--batch-root {batch_root}: not a folder")
    config = ServiceConfig(trials=trials, host=host, port=port, max_body_bytes=max_body, timeout_s=timeout,
                           max_concurrency=concurrency, max_queue=queue, batch_root=batch_root,
                           cds_complete=tuple(parts), public_url=public_url)
    run(config, loaded, workers=workers)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
