"""``corridor docs model-card``, ``dhf``, ``sbom``, ``sign`` and ``verify-signatures``.

``corridor docs model-card --model DIR [--validation RESULTS.json] [--results junit.xml]
--out DIR [--strict]``.

Writes ``<model>-<version>.md`` and ``<model>-<version>.html`` (self-contained; the card's data
embedded as JSON) into ``--out``.  Exit status: 0 written (the gaps are listed); 1 with
``--strict`` when the card has gaps (still written); 2 bad input, or validation results about
another model (nothing written).

``corridor docs sbom --out FILE``: the CycloneDX SBOM of the runtime closure
(:mod:`corridor_qms.sbom`).  Exit status: 0 written; 1 when the trace check's SOUP or SBOM
rules have findings (nothing written); 2 without a usable lock or pyproject.

``corridor docs sign --content FILE|DIR --role ROLE --meaning MEANING --key KEY --signer NAME
--out DIR``: one electronic signature record (:mod:`corridor_qms.docs.signatures`).  Exit status:
0 written; 2 bad input (nothing written).

``corridor docs verify-signatures DIR --content FILE|DIR --allowed-signers FILE``: each record
VALID or INVALID and why.  Exit status: 0 all valid and every required role approved; 1
otherwise; 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TypeVar

from corridor.inference.package import load_model_package
from corridor.staging import write_bytes_atomic, write_text_atomic
from corridor_qms.docs.dhf import (
    CONTENT_NAME,
    DHF_NAME,
    build_dhf_context,
    content_manifest,
    render_dhf,
)
from corridor_qms.docs.gitinfo import git
from corridor_qms.docs.modelcard import build_model_card
from corridor_qms.docs.outputs import approvals, dhf_pdf, model_card_files, sbom_text
from corridor_qms.errors import QmsError
from corridor_qms.records import WorkingTree, find_root, load_records
from corridor_qms.trace.index import build_index
from corridor_qms.trace.results import load_results
from corridor_qms.trace.rules import check

__all__ = ["EXIT_GAPS", "EXIT_INPUT", "EXIT_OK", "add_parser"]

EXIT_OK, EXIT_GAPS, EXIT_INPUT = 0, 1, 2


def _model_card(args: argparse.Namespace) -> int:
    try:
        root = find_root(Path.cwd()) if args.root is None else args.root
        package = load_model_package(args.model)
        records = load_records(WorkingTree(root), root)
        outcomes = load_results(args.results, records.scenarios) if args.results else None
        card = build_model_card(package, build_index(records, outcomes), root,
                                validation=args.validation)
    except (QmsError, OSError, ValueError) as exc:
        print(f"corridor docs model-card: {exc}", file=sys.stderr)
        return EXIT_INPUT
    stem = f"{card.model}-{card.version}"
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in model_card_files(card).items():
        write_text_atomic(args.out / name, text)
    print(f"wrote {args.out / stem}.md and .html ({len(card.gaps)} gap(s))")
    for gap in card.gaps:
        print(f"  gap: {gap}")
    return EXIT_GAPS if args.strict and card.gaps else EXIT_OK


def _dhf(args: argparse.Namespace) -> int:
    try:
        root = find_root(Path.cwd()) if args.root is None else args.root
        records = load_records(WorkingTree(root), root)
        outcomes = load_results(args.results, records.scenarios) if args.results else None
        index = build_index(records, outcomes)
        findings = check(index)
        validation = (json.loads(args.validation.read_text(encoding="utf-8"))
                      if args.validation else None)
        card = None
        if args.model is not None:
            card = build_model_card(load_model_package(args.model), index, root,
                                    validation=args.validation).to_json()
    except (QmsError, OSError, ValueError) as exc:
        print(f"corridor docs dhf: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if findings and not args.draft:
        for finding in findings:
            print(finding.format(), file=sys.stderr)
        print(f"corridor docs dhf: the trace check has {len(findings)} finding(s); nothing "
              "written (fix them, or give --draft for a watermarked draft)", file=sys.stderr)
        return EXIT_GAPS
    manifest = content_manifest(root, args.results, args.validation)
    try:
        signed = approvals(args.signatures, args.allowed_signers,
                           hashlib.sha256(manifest.encode("utf-8")).hexdigest())
    except (QmsError, OSError, ValueError, ImportError) as exc:
        print(f"corridor docs dhf: {exc}", file=sys.stderr)
        return EXIT_INPUT
    context = build_dhf_context(root, index, findings, draft=args.draft, results=args.results,
                                validation=validation, validation_path=args.validation,
                                model_card=card, signatures=signed)
    html = render_dhf(context)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out / CONTENT_NAME, manifest)
    write_text_atomic(args.out / DHF_NAME, html)
    print(f"wrote {args.out / DHF_NAME}" + (" (DRAFT)" if args.draft else ""))
    try:
        pdf_bytes = dhf_pdf(html, args.out)
    except (ImportError, OSError) as exc:
        print(f"  no PDF: WeasyPrint is not usable here ({type(exc).__name__}); "
              "tox -e dhf installs it")
    else:
        pdf = args.out / DHF_NAME.replace(".html", ".pdf")
        write_bytes_atomic(pdf, pdf_bytes)
        print(f"wrote {pdf}")
    return EXIT_OK


_SBOM_RULES = ("SOUP-", "SBOM-")
"""Findings of these rules make ``corridor docs sbom`` refuse: the SBOM would misstate a
component or its provenance."""


def _commit(root: Path) -> str | None:
    return git(root, "rev-parse", "HEAD") or None


def _sbom(args: argparse.Namespace) -> int:
    try:
        root = find_root(Path.cwd()) if args.root is None else args.root
        records = load_records(WorkingTree(root), root)
        findings = [f for f in check(build_index(records)) if f.rule.startswith(_SBOM_RULES)]
        text = None if findings else sbom_text(root, records, _commit(root))
    except ImportError as exc:
        print(f"corridor docs sbom: {exc} (install the sbom extra: pip install "
              "'corridor[sbom]')", file=sys.stderr)
        return EXIT_INPUT
    except (QmsError, OSError, ValueError) as exc:
        print(f"corridor docs sbom: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if text is None:
        for finding in findings:
            print(finding.format(), file=sys.stderr)
        print(f"corridor docs sbom: {len(findings)} finding(s) about the SOUP records and the "
              "runtime closure; nothing written", file=sys.stderr)
        return EXIT_GAPS
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, text)
    components = json.loads(text).get("components", [])
    print(f"wrote {args.out} ({len(components)} components)")
    return EXIT_OK


_SIGNING_EXTRA = "install the signing extra: pip install 'corridor[signing]'"


def _passphrase() -> bytes:
    """The key's passphrase from the environment or the terminal; never stored."""
    # Imported here: cryptography is in the signing extra.
    from corridor_qms.docs.signatures import PASSPHRASE_VARIABLE, SignatureError
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value is not None:
        return value.encode("utf-8")
    if not sys.stdin.isatty():
        raise SignatureError(None, "passphrase", "none (no terminal)",
                             f"the key's passphrase in {PASSPHRASE_VARIABLE} or typed at a "
                             "terminal")
    return getpass.getpass("passphrase of the signing key: ").encode("utf-8")


_E = TypeVar("_E", bound=Enum)


def _choice(kind: type[_E], option: str, value: str) -> _E:
    from corridor_qms.docs.signatures import SignatureError
    try:
        return kind(value)
    except ValueError as exc:
        raise SignatureError(None, option, value,
                             "one of " + ", ".join(str(k.value) for k in kind)) from exc


def _sign(args: argparse.Namespace) -> int:
    try:
        from corridor_qms.docs import signatures as sig
    except ImportError as exc:
        print(f"corridor docs sign: {exc} ({_SIGNING_EXTRA})", file=sys.stderr)
        return EXIT_INPUT
    content, out = args.content.resolve(), args.out.resolve()
    try:
        if content.is_dir() and (out == content or content in out.parents):
            raise sig.SignatureError(args.out, "--out", "inside the signed content",
                                     "a folder outside --content (a signature would change "
                                     "what it signs)")
        role = _choice(sig.Role, "--role", args.role)
        meaning = _choice(sig.Meaning, "--meaning", args.meaning)
        digest = sig.content_sha256(args.content)
        key = sig.load_private_key(args.key.expanduser(), _passphrase)
        record = sig.sign(content=digest, signer=args.signer, role=role, meaning=meaning,
                          key=key, time=datetime.now(UTC))
        path = sig.write_signature(record, args.out)
    except (QmsError, OSError) as exc:
        print(f"corridor docs sign: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"wrote {path}: {record.signer} ({record.role.value}) {record.meaning.value} "
          f"{record.content_sha256} at {record.time} with key {record.fingerprint}")
    return EXIT_OK


def _verify_signatures(args: argparse.Namespace) -> int:
    try:
        from corridor_qms.docs import signatures as sig
    except ImportError as exc:
        print(f"corridor docs verify-signatures: {exc} ({_SIGNING_EXTRA})", file=sys.stderr)
        return EXIT_INPUT
    try:
        allowed = sig.AllowedSigners.from_file(args.allowed_signers)
        digest = sig.content_sha256(args.content)
        verdicts = sig.verify(args.signatures, digest, allowed)
    except (QmsError, OSError) as exc:
        print(f"corridor docs verify-signatures: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"content {args.content}: SHA-256 {digest}")
    for verdict in verdicts:
        record = verdict.signature
        who = ("" if record is None else f"  {record.signer} ({record.role.value}, "
               f"{record.meaning.value}, {record.time}, {record.fingerprint})")
        print(f"{verdict.state.value}  {verdict.path.name}{who}")
        if verdict.detail:
            print(f"  {verdict.detail}")
    missing = sig.missing_approvals(verdicts)
    for role in missing:
        print(f"MISSING  no valid 'approved' signature in the role {role.value}")
    invalid = [v for v in verdicts if v.state is not sig.State.VALID]
    return EXIT_GAPS if invalid or missing else EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``docs`` (with ``model-card``, ``dhf``, ``sbom``, ``sign`` and
    ``verify-signatures``) to the ``corridor`` parser."""
    docs = subparsers.add_parser("docs", help="audit documents generated from the repository")
    inner = docs.add_subparsers(title="documents", metavar="DOCUMENT", required=True)
    card = inner.add_parser("model-card", help="a model card of a model package",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    card.add_argument("--model", type=Path, required=True, metavar="DIR")
    card.add_argument("--validation", type=Path, metavar="RESULTS.json",
                      help="results.json of corridor validate study for this model")
    card.add_argument("--results", type=Path, metavar="junit.xml",
                      help="test results, for the verification status of controls and checks")
    card.add_argument("--out", type=Path, required=True, metavar="DIR")
    card.add_argument("--root", type=Path, help="project root (default: found from here)")
    card.add_argument("--strict", action="store_true", help="exit 1 when the card has gaps")
    card.set_defaults(handler=_model_card)
    dhf = inner.add_parser("dhf", help="the design-history report",
                           description="One self-contained HTML design-history report (and PDF "
                           "where WeasyPrint is usable). Refuses (exit 1, nothing written) when "
                           "the trace check has findings, unless --draft (every page "
                           "watermarked DRAFT).")
    dhf.add_argument("--results", type=Path, metavar="junit.xml", help="test results")
    dhf.add_argument("--validation", type=Path, metavar="RESULTS.json")
    dhf.add_argument("--model", type=Path, metavar="DIR", help="model package for the card")
    dhf.add_argument("--out", type=Path, required=True, metavar="DIR")
    dhf.add_argument("--root", type=Path)
    dhf.add_argument("--draft", action="store_true")
    dhf.add_argument("--signatures", type=Path, metavar="DIR",
                     help="the release's signature records, shown on the approvals page")
    dhf.add_argument("--allowed-signers", type=Path, metavar="FILE",
                     help="the keys allowed to sign (with --signatures)")
    dhf.set_defaults(handler=_dhf)
    sbom = inner.add_parser("sbom", help="the CycloneDX SBOM of the runtime dependencies",
                            description="A CycloneDX 1.6 JSON SBOM of the device's runtime "
                            "closure: the runtime dependencies of pyproject.toml and what they "
                            "pull in, at the versions of requirements.lock, each a declared "
                            "SOUP or a transitive dependency of one. Same inputs, same bytes. "
                            "Exit 1 (nothing written) when the SOUP or SBOM rules of the trace "
                            "check have findings; 2 when the lock or pyproject is unusable.")
    sbom.add_argument("--out", type=Path, required=True, metavar="FILE")
    sbom.add_argument("--root", type=Path, help="project root (default: found from here)")
    sbom.set_defaults(handler=_sbom)
    sign = inner.add_parser("sign", help="sign content (the design-history manifest) with "
                            "your own Ed25519 key", description="Writes one electronic "
                            "signature record: signer, role, meaning, UTC time, the SHA-256 of "
                            "--content (a file's bytes, or a folder's sha256sum listing), the "
                            "public key and its fingerprint, and an SSHSIG signature over them "
                            "(verifiable with ssh-keygen -Y verify -n corridor-release@corridor)."
                            " The passphrase of an encrypted key is read from the terminal or "
                            "CORRIDOR_SIGNING_PASSPHRASE, never stored.")
    sign.add_argument("--content", type=Path, required=True, metavar="FILE|DIR")
    sign.add_argument("--role", required=True, help="quality, engineering-lead or clinical")
    sign.add_argument("--meaning", required=True, help="authored, reviewed or approved")
    sign.add_argument("--key", type=Path, required=True, metavar="KEY",
                      help="OpenSSH Ed25519 private key, e.g. ~/.ssh/id_ed25519")
    sign.add_argument("--signer", required=True, metavar="NAME", help="your printed name")
    sign.add_argument("--out", type=Path, required=True, metavar="DIR",
                      help="the release's signature folder")
    sign.set_defaults(handler=_sign)
    check_signatures = inner.add_parser(
        "verify-signatures", help="check a release's signatures",
        description="Each record in DIR VALID, or INVALID with why (content changed, the "
        "signature does not verify, key not allowed for that signer and role, unreadable). "
        "Exit 0 only when all are valid and quality, engineering-lead and clinical have each "
        "approved; 1 otherwise; 2 bad input.")
    check_signatures.add_argument("signatures", type=Path, metavar="DIR")
    check_signatures.add_argument("--content", type=Path, required=True, metavar="FILE|DIR")
    check_signatures.add_argument("--allowed-signers", type=Path, required=True, metavar="FILE",
                                  help="YAML: signers, each with name, roles and public_key")
    check_signatures.set_defaults(handler=_verify_signatures)
