"""The documents as bytes: what ``corridor docs`` writes one at a time and ``corridor release``
writes together (:mod:`corridor_qms.docs.release`), made by the same functions so the two never
differ.

Each function returns the document's text or bytes and writes nothing; the caller decides where
they go.  No clock and no output path enters a document: the same repository state and inputs
give the same bytes wherever they are written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from corridor_qms.docs.modelcard import ModelCard
from corridor_qms.records import RecordSet
from corridor_qms.records.project import LAYOUT, normalize_distribution
from corridor_qms.sbom.closure import installed_environment, parse_lock, runtime_closure

__all__ = ["approvals", "dhf_pdf", "model_card_files", "sbom_text"]


def _environment() -> Environment:
    return Environment(loader=PackageLoader("corridor_qms", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def _markdown_text(value: object) -> object:
    """Markdown is text: ``&``, ``<`` and ``>`` are escaped so markup shows as text when the
    file is rendered; quotes stay readable."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _markdown_environment() -> Environment:
    return Environment(loader=PackageLoader("corridor_qms", "templates"), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=True,
                       finalize=_markdown_text)


def model_card_files(card: ModelCard) -> dict[str, str]:
    """The card as ``{file name: text}``: ``<model>-<version>.md`` and ``.html`` (self-contained,
    the card's data embedded as JSON)."""
    document = card.to_json()
    stem = f"{card.model}-{card.version}"
    return {
        f"{stem}.md": _markdown_environment().get_template("model_card.md.j2").render(
            card=document),
        f"{stem}.html": _environment().get_template("model_card.html.j2").render(
            card=document, card_json=document),
    }


def approvals(signatures: Path | None, allowed_signers: Path | None,
              content: str) -> dict[str, Any] | None:
    """The approvals page of the signature records in ``signatures`` against the content
    digest ``content`` (:func:`corridor_qms.docs.signatures.approval_page`); ``None`` when no
    folder is given.

    Raises
    ------
    ValueError
        ``signatures`` without ``allowed_signers``.
    corridor_qms.docs.signatures.SignatureError
        An unusable folder or allowed-signers list.
    ImportError
        Without the signing extra (cryptography).
    """
    if signatures is None:
        return None
    if allowed_signers is None:
        raise ValueError("--signatures needs --allowed-signers (the keys allowed to sign)")
    # Imported here: cryptography is in the signing extra.
    from corridor_qms.docs.signatures import AllowedSigners, approval_page, verify
    allowed = AllowedSigners.from_file(allowed_signers)
    return approval_page(verify(signatures, content, allowed), content)


def dhf_pdf(html: str, base: Path) -> bytes:
    """The design-history report as PDF, rendered by WeasyPrint from its HTML.

    Raises
    ------
    ImportError, OSError
        WeasyPrint (docs extra) or its system libraries (pango) are not usable here.
    """
    from weasyprint import HTML  # optional: needs system libraries (pango)
    pdf: bytes = HTML(string=html, base_url=str(base)).write_pdf()
    return pdf


def sbom_text(root: Path, records: RecordSet, commit: str | None) -> str:
    """The CycloneDX SBOM of the runtime closure (:mod:`corridor_qms.sbom`), dated by the lock.

    Raises
    ------
    corridor_qms.sbom.document.SbomError
        Without a lock, or a pyproject without name and version.
    ImportError
        Without the sbom extra (cyclonedx-python-lib).
    """
    # Imported here: the CycloneDX library is in the sbom extra, which the other documents do
    # not need.
    from corridor_qms.sbom.document import Device, SbomError, lock_date, render_sbom
    if records.lock_text is None:
        raise SbomError(root / LAYOUT.lock, "not found (expected the locked versions, "
                        "one 'name==version' a line)")
    frozen = lock_date(root / LAYOUT.lock, records.lock_text)
    device = Device(root / LAYOUT.pyproject, commit)
    soup = {normalize_distribution(s.record.package): s.record.id for s in records.soup}
    closure = runtime_closure(records.dependencies, soup, parse_lock(records.lock_text),
                              installed_environment())
    return render_sbom(device, closure, frozen=frozen, lock_sha256=hashlib.sha256(
        records.lock_text.encode("utf-8")).hexdigest())
