"""``corridor study``: create, serve, status, lock, export, analyse and verify a reader study.

- ``create DEFINITION.yaml --out STUDY_DIR``: checks the definition, builds the schedule,
  creates the store and writes the readers' and the coordinator's tokens, once, to
  ``STUDY_DIR/tokens-DO-NOT-COMMIT.txt`` (mode 0600; never printed or logged);
- ``serve STUDY_DIR``: the reading web application (:mod:`corridor_qms.study.web`);
- ``status STUDY_DIR``: each reader's progress per session (no answers);
- ``lock STUDY_DIR``: no answer accepted after; answers become readable;
- ``export STUDY_DIR --out OUT``: ``readings.csv`` (what ``corridor validate`` reads),
  ``answers.csv`` (every question, the edit history), ``schedule.csv`` and a validation
  ``study.yaml``;
- ``analyse STUDY_DIR --out OUT``: the study's endpoints, as ``corridor validate study``
  analyses the export: ``results.json`` and ``report.html``;
- ``verify STUDY_DIR``: the hash chain of the study's events.

Exit status: 0 done; 1 ``verify`` found a break; 2 an input the user can fix (a definition
that fails validation, a missing or unlocked study, an output folder that is not empty, data
that cannot be analysed); nothing is written then.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from corridor.errors import ExitStatus
from corridor.staging import OutputFolderError
from corridor_qms.study.definition import load_definition
from corridor_qms.study.export import analyse, write_export
from corridor_qms.study.schedule import build_schedule
from corridor_qms.study.store import StudyError, StudyStore
from corridor_qms.validation.report import REPORT_NAME, RESULTS_NAME
from corridor_qms.validation.study import AnalysisError, StudyDataError

__all__ = ["TOKENS", "add_parser"]

TOKENS = "tokens-DO-NOT-COMMIT.txt"
"""The file ``create`` writes the plain tokens to (mode 0600), the only place they exist."""


def _fail(command: str, exc: BaseException) -> int:
    print(f"corridor study {command}: {exc}", file=sys.stderr)
    return ExitStatus.INPUT_ERROR


def _create(args: argparse.Namespace) -> int:
    try:
        definition = load_definition(args.definition)
        schedule = build_schedule(definition)
        StudyStore.create(args.out, args.definition, schedule, tokens_file=TOKENS)
    except (StudyDataError, StudyError, OutputFolderError) as exc:
        return _fail("create", exc)
    if definition.washout_warning:
        print(f"corridor study create: warning: {definition.washout_warning}", file=sys.stderr)
    print(f"created study {definition.name} in {args.out}: {len(definition.readers)} readers, "
          f"{len(schedule.items)} readings in {schedule.sessions} session(s), seed "
          f"{definition.seed}; schedule in schedule.json and schedule.csv")
    print(f"tokens written once to {args.out / TOKENS} (mode 0600): hand each reader their "
          "own, keep the file out of version control, delete it once handed out")
    return ExitStatus.OK


def _open(command: str, folder: Path) -> StudyStore | int:
    try:
        return StudyStore.open(folder)
    except (StudyDataError, StudyError) as exc:
        return _fail(command, exc)


def _status(args: argparse.Namespace) -> int:
    store = _open("status", args.study)
    if isinstance(store, int):
        return store
    with store:
        definition = store.definition
        print(f"{definition.title} ({definition.name}): "
              f"{'locked' if store.locked else 'open for reading'}; washout "
              f"{definition.washout_days} days")
        if definition.washout_warning:
            print(f"warning: {definition.washout_warning}")
        for reader in store.progress():
            print(f"  {reader.reader}: {reader.done} done, {reader.left} left")
            for s in reader.sessions:
                dates = ", ".join(f"{name} {when:%Y-%m-%d %H:%M} UTC" for name, when in
                                  (("started", s.started_at), ("finished", s.finished_at),
                                   ("opens", s.opens_at)) if when is not None)
                print(f"    session {s.session}: {s.status.value}, {s.done} done, "
                      f"{s.left} left{'; ' + dates if dates else ''}")
    return ExitStatus.OK


def _lock(args: argparse.Namespace) -> int:
    store = _open("lock", args.study)
    if isinstance(store, int):
        return store
    with store:
        left = sum(r.left for r in store.progress())
        when = store.lock()
    print(f"study locked at {when:%Y-%m-%d %H:%M:%S} UTC; no answer is accepted any more"
          + (f" ({left} reading(s) were never answered)" if left else ""))
    return ExitStatus.OK


def _export(args: argparse.Namespace) -> int:
    store = _open("export", args.study)
    if isinstance(store, int):
        return store
    with store:
        try:
            write_export(store, args.out)
        except (StudyError, OutputFolderError) as exc:
            return _fail("export", exc)
    print(f"wrote readings.csv, answers.csv, schedule.csv and study.yaml to {args.out}")
    return ExitStatus.OK


def _analyse(args: argparse.Namespace) -> int:
    store = _open("analyse", args.study)
    if isinstance(store, int):
        return store
    with store:
        try:
            results = analyse(store, args.out)
        except (StudyError, OutputFolderError, StudyDataError, AnalysisError) as exc:
            return _fail("analyse", exc)
    for item in results["endpoints"]:
        comparison = item["comparison"]
        print(f"  {item['name']}: difference {comparison['difference']:+.4f} (95 % CI "
              f"{comparison['ci95'][0]:.4f}, {comparison['ci95'][1]:.4f}) -> "
              f"{item['conclusion']}")
    print(f"wrote {args.out / RESULTS_NAME} and {args.out / REPORT_NAME} (data in "
          f"{args.out / 'data'})")
    return ExitStatus.OK


def _verify(args: argparse.Namespace) -> int:
    store = _open("verify", args.study)
    if isinstance(store, int):
        return store
    with store:
        check = store.verify()
    for item in check.breaks:
        print(f"{args.study}: {item}")
    head = f"head {check.head[0]}:{check.head[1]}" if check.head else "empty"
    print(f"study {args.study}: {check.events} event(s), {head}; "
          f"{len(check.breaks)} break(s)")
    return ExitStatus.FINDINGS if check.breaks else ExitStatus.OK


def _serve(args: argparse.Namespace) -> int:
    # Imported only here: the web stack is needed by ``serve`` alone.
    web = importlib.import_module("corridor_qms.study.web")
    return int(web.serve(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``study`` and its commands to the ``corridor`` parser."""
    study = subparsers.add_parser("study", help="run a reader study: create, serve, lock, "
                                  "export, analyse", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    inner = study.add_subparsers(title="commands", metavar="COMMAND", required=True)
    create = inner.add_parser("create", help="create a study folder from its definition")
    create.add_argument("definition", type=Path, metavar="DEFINITION.yaml")
    create.add_argument("--out", type=Path, required=True, metavar="STUDY_DIR")
    create.set_defaults(handler=_create)
    serve = inner.add_parser("serve", help="the reading web application")
    serve.add_argument("study", type=Path, metavar="STUDY_DIR")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default loopback; anything else is warned of)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)
    for name, handler, text in (("status", _status, "each reader's progress (no answers)"),
                                ("lock", _lock, "lock the study: no more answers"),
                                ("verify", _verify, "verify the hash chain of the events")):
        command = inner.add_parser(name, help=text)
        command.add_argument("study", type=Path, metavar="STUDY_DIR")
        command.set_defaults(handler=handler)
    for name, handler, text in (("export", _export, "write the locked study's data (CSV)"),
                                ("analyse", _analyse, "analyse the locked study's endpoints")):
        command = inner.add_parser(name, help=text)
        command.add_argument("study", type=Path, metavar="STUDY_DIR")
        command.add_argument("--out", type=Path, required=True, metavar="OUT")
        command.set_defaults(handler=handler)
