"""``corridor serve --routing FILE --state DIR [--pacs URL] [--config FILE] [--once]``.

``corridor serve`` is the planning service of a PACS (DICOMweb: QIDO-RS, WADO-RS, STOW-RS):
it finds studies whose CT series have stopped changing, plans each once (the routing file
picks the series, the procedure and the side) and stores the DICOM SEG, a Comprehensive 3D SR
(verdict, trajectory, clearances), the case report as an encapsulated PDF and, for a safe plan,
the implant as an encapsulated STL into the same study.  Jobs are kept in ``DIR/jobs.sqlite``
and survive restarts; every outcome is a record of the hash-chained audit log (default
``DIR/corridor-audit.jsonl``).  The PACS and its credentials come from ``--pacs``, the
``pacs:`` section of ``--config`` and the environment (``CORRIDOR_PACS_URL``,
``CORRIDOR_PACS_USERNAME``, ``CORRIDOR_PACS_PASSWORD`` or ``CORRIDOR_PACS_PASSWORD_FILE``);
a password is never written in the configuration file itself, never logged.  ``--list``
prints the jobs (JSON) and exits.  Exit status: 0 stopped (``--once``: every job done);
1 ``--once`` and some job failed; 2 bad configuration, routing file or PACS credentials;
130 stopped by SIGTERM or Ctrl-C (a running job is put back and resumed at the next start).
Needs the ``pacs`` extra (``pip install 'corridor[pacs]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from corridor.errors import CorridorError, ExitStatus, exit_status_of

__all__ = ["add_parser"]


def _say(line: str) -> None:
    print(f"corridor serve: {line}", file=sys.stderr, flush=True)


def _list(state: Path) -> int:
    from corridor.pacs.queue import QUEUE_FILE, JobQueue

    if not (state / QUEUE_FILE).is_file():
        _say(f"error: {state}: no {QUEUE_FILE} (not a service state folder)")
        return ExitStatus.INPUT_ERROR
    queue = JobQueue(state / QUEUE_FILE)
    try:
        print(json.dumps([job.to_json() for job in queue.jobs()], indent=1))
    finally:
        queue.close()
    return ExitStatus.OK


def _serve(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args.state)
    if args.routing is None:
        _say("error: --routing FILE is required (which series, procedure and side)")
        return ExitStatus.INPUT_ERROR
    try:
        from corridor.pacs.client import DicomWebPacs
        from corridor.pacs.config import load_pacs_config
        from corridor.pacs.errors import PacsError
        from corridor.pacs.queue import open_queue
        from corridor.pacs.routing import load_routing
        from corridor.pacs.service import (
            PlanningService,
            ServiceOptions,
            ServiceStopped,
            stop_on_signals,
        )
    except ImportError as exc:
        _say(f"error: needs the pacs extra (missing {exc.name}): install it with "
             "pip install 'corridor[pacs]'")
        return ExitStatus.INPUT_ERROR
    from corridor.case.cli import reference_model
    from corridor.pacs.queue import JobState

    try:
        config = load_pacs_config(args.pacs, args.config, os.environ)
        routing = load_routing(args.routing)
        parts = urlsplit(config.url)
        options = ServiceOptions(
            state=args.state, routing=routing, model=args.model or reference_model(),
            audit_log=args.audit_log or args.state / "corridor-audit.jsonl",
            pacs_name=f"{parts.scheme}://{parts.hostname}"
                      + (f":{parts.port}" if parts.port else "") + parts.path,
            poll_s=args.poll_s, stable_s=args.stable_s, retry_after_s=args.retry_after_s,
            max_attempts=args.max_attempts, once=args.once)
        with stop_on_signals(), open_queue(args.state) as queue:
            service = PlanningService(DicomWebPacs(config), queue, options, _say)
            _say(f"watching {options.pacs_name} (state {args.state})")
            service.run()
            failed = [j for j in queue.jobs() if j.state is JobState.FAILED]
    except ServiceStopped as stop:
        _say(f"stopped ({stop}); a running job was put back and resumes at the next start")
        return ExitStatus.INTERRUPTED
    except PacsError as exc:
        _say(f"error: PACS: {exc}")
        return ExitStatus.INPUT_ERROR
    except CorridorError as exc:
        _say(f"error: {exc}")
        return exit_status_of(exc)
    if failed:
        _say(f"{len(failed)} job(s) failed: see corridor serve --list --state {args.state}")
        return ExitStatus.FINDINGS
    return ExitStatus.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("serve", help="plan CT studies from a PACS and store the "
                                   "results back (DICOMweb)", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pacs", metavar="URL", help="the PACS's DICOMweb root, e.g. "
                        "https://pacs.example.org/dicom-web (else from --config or "
                        "CORRIDOR_PACS_URL)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML with a pacs: section (url, username, password_file, "
                             "verify_tls, ca_bundle, timeout_s)")
    parser.add_argument("--routing", type=Path, metavar="FILE",
                        help="routing YAML: which series, procedure and side")
    parser.add_argument("--state", type=Path, required=True, metavar="DIR",
                        help="the service's state folder (jobs, results, audit log)")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="model package (default: the shipped reference model)")
    parser.add_argument("--audit-log", type=Path, metavar="FILE",
                        help="hash-chained audit log (default DIR/corridor-audit.jsonl)")
    parser.add_argument("--poll-s", type=float, default=10.0, metavar="S",
                        help="seconds between polls of the PACS (default 10)")
    parser.add_argument("--stable-s", type=float, default=30.0, metavar="S",
                        help="seconds a study's CT series must stay unchanged (default 30)")
    parser.add_argument("--retry-after-s", type=float, default=60.0, metavar="S",
                        help="seconds before a job the PACS failed is tried again "
                             "(default 60)")
    parser.add_argument("--max-attempts", type=int, default=5, metavar="N",
                        help="attempts a job gets (default 5)")
    parser.add_argument("--once", action="store_true",
                        help="stop when every study found is planned (for cron and tests)")
    parser.add_argument("--list", action="store_true", help="print the jobs (JSON) and exit")
    parser.set_defaults(handler=_serve)
