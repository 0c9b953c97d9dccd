"""Electronic signatures of a release, in the spirit of 21 CFR Part 11: who signed, in which
role, with which meaning, when, and the SHA-256 of exactly what was signed.

The record
----------
One JSON file per signature, ``<signer>-<role>-<meaning>.json``, in one folder per release
(``traceability/signatures/<version>/`` by convention).  One file per signature, rather than one
manifest per release, because signers sign independently and in any order: each adds a file and
never rewrites another's (a signed record is never edited, and :func:`write_signature` refuses
to overwrite one), version control shows who added which, and the folder itself is the
manifest.  Each record holds the signer's name, role (:class:`Role`), meaning
(:class:`Meaning`), the UTC time, the SHA-256 of the signed content, the signer's OpenSSH
Ed25519 public key and its fingerprint (``SHA256:...``, as ``ssh-keygen -l`` prints it), and
the signature.

What is signed
--------------
The canonical bytes of every field but the signature (:meth:`Signature.canonical_bytes`: one
``name: value`` line each, in a fixed order, UTF-8), signed with the signer's own Ed25519 key
in OpenSSH's SSHSIG format (namespace :data:`NAMESPACE`), so that anyone can check a signature
without Corridor: ``ssh-keygen -Y verify -n corridor-release@corridor``.  No password is
stored: the key is the person's own file, and a passphrase is read from the terminal or
``CORRIDOR_SIGNING_PASSPHRASE`` and never written.

The content digest
------------------
:func:`content_sha256`: of a file, the SHA-256 of its bytes; of a folder, the SHA-256 of its
``sha256sum`` listing (one ``<sha256>  <relative path>`` line per file below it, sorted by
path).  The design-history report's content is its manifest ``design-history.sha256``
(:func:`corridor_qms.docs.dhf.content_manifest`), which the signatures do not change.

Verification (:func:`verify`) yields one :class:`Verdict` per record: valid only when the
signature verifies with the record's own key, the key is in the allowed-signers list for that
signer and role, and the content's digest is the one signed.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from corridor.staging import write_text_atomic
from corridor_qms.errors import QmsError

__all__ = [
    "FORMAT",
    "NAMESPACE",
    "PASSPHRASE_VARIABLE",
    "REQUIRED_APPROVALS",
    "AllowedSigners",
    "Meaning",
    "Role",
    "Signature",
    "SignatureError",
    "State",
    "Verdict",
    "approval_page",
    "content_sha256",
    "fingerprint",
    "load_private_key",
    "missing_approvals",
    "sign",
    "verify",
    "write_signature",
]

FORMAT = "corridor-signature/1"
"""The record format, the first line of the signed bytes."""

NAMESPACE = "corridor-release@corridor"
"""The SSHSIG namespace: a signature made for a Corridor release verifies for nothing else."""

PASSPHRASE_VARIABLE = "CORRIDOR_SIGNING_PASSPHRASE"
"""The environment variable a key's passphrase may come from (read, never stored)."""


class Role(Enum):
    """The roles that sign a release (the development plan's approval roles)."""

    QUALITY = "quality"
    ENGINEERING_LEAD = "engineering-lead"
    CLINICAL = "clinical"


class Meaning(Enum):
    """What a signature means (21 CFR 11.50(a)(3))."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"


REQUIRED_APPROVALS = (Role.QUALITY, Role.ENGINEERING_LEAD, Role.CLINICAL)
"""A release is approved when each of these roles has a valid ``approved`` signature."""


class State(Enum):
    """The verdict on one signature record; only ``VALID`` counts."""

    VALID = "VALID"
    CONTENT_CHANGED = "INVALID: content changed"
    BAD_SIGNATURE = "INVALID: signature does not verify"
    KEY_NOT_ALLOWED = "INVALID: key not allowed"
    MALFORMED = "INVALID: unreadable record"


class SignatureError(QmsError, ValueError):
    """A signature record, key or allowed-signers list that cannot be used.

    Attributes
    ----------
    path
        The file (or ``None`` for a value given on the command line).
    field
        The field or part that is wrong.
    found, expected
        What was found and what was expected.
    """

    def __init__(self, path: Path | None, field: str, found: object, expected: str) -> None:
        self.path, self.field, self.found, self.expected = path, field, found, expected
        where = f"{path}: " if path is not None else ""
        super().__init__(f"{where}{field}: found {found!r}, expected {expected}")


_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_ARMOR_BEGIN, _ARMOR_END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"


def _string(data: bytes) -> bytes:
    """An SSH wire-format string (RFC 4251 §5): uint32 length, then the bytes."""
    return struct.pack(">I", len(data)) + data


def _read_string(data: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(data):
        raise ValueError("truncated")
    (length,) = struct.unpack(">I", data[at:at + 4])
    if at + 4 + length > len(data):
        raise ValueError("truncated")
    return data[at + 4:at + 4 + length], at + 4 + length


def _key_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(b"ssh-ed25519") + _string(raw)


def _public_key(text: str, path: Path | None) -> Ed25519PublicKey:
    try:
        key = serialization.load_ssh_public_key(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError(path, "public_key", text[:40],
                             "an OpenSSH public key 'ssh-ed25519 AAAA...'") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(path, "public_key", text.split(" ", 1)[0], "ssh-ed25519")
    return key


def fingerprint(public_key: str) -> str:
    """The key's fingerprint as ``ssh-keygen -l`` prints it: ``SHA256:`` and the unpadded
    base64 of the SHA-256 of the key blob."""
    blob = _key_blob(_public_key(public_key, None))
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _signed_data(message: bytes) -> bytes:
    """What SSHSIG signs (OpenSSH PROTOCOL.sshsig §3): the message's SHA-512, namespaced."""
    return (b"SSHSIG" + _string(NAMESPACE.encode()) + _string(b"") + _string(b"sha512")
            + _string(hashlib.sha512(message).digest()))


def _sshsig(key: Ed25519PrivateKey, message: bytes) -> str:
    blob = (b"SSHSIG" + struct.pack(">I", 1) + _string(_key_blob(key.public_key()))
            + _string(NAMESPACE.encode()) + _string(b"") + _string(b"sha512")
            + _string(_string(b"ssh-ed25519") + _string(key.sign(_signed_data(message)))))
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return "\n".join([_ARMOR_BEGIN, *lines, _ARMOR_END]) + "\n"


def _sshsig_verifies(armored: str, key: Ed25519PublicKey, message: bytes) -> bool:
    """Whether ``armored`` is an SSHSIG by ``key`` over ``message`` in :data:`NAMESPACE`."""
    body = armored.strip()
    if not (body.startswith(_ARMOR_BEGIN) and body.endswith(_ARMOR_END)):
        return False
    try:
        blob = base64.b64decode("".join(body[len(_ARMOR_BEGIN):-len(_ARMOR_END)].split()),
                                validate=True)
        if blob[:6] != b"SSHSIG" or blob[6:10] != struct.pack(">I", 1):
            return False
        signer_key, at = _read_string(blob, 10)
        namespace, at = _read_string(blob, at)
        _reserved, at = _read_string(blob, at)
        algorithm, at = _read_string(blob, at)
        signature, at = _read_string(blob, at)
        kind, inner = _read_string(signature, 0)
        raw, end = _read_string(signature, inner)
    except ValueError:
        return False
    if (signer_key != _key_blob(key) or namespace != NAMESPACE.encode()
            or algorithm != b"sha512" or kind != b"ssh-ed25519" or at != len(blob)
            or end != len(signature)):
        return False
    try:
        key.verify(raw, _signed_data(message))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature record; valid in form once constructed (whether it *verifies* is
    :func:`verify`'s question).

    Attributes
    ----------
    signer
        The signer's printed name (one line, 1-200 characters).
    role, meaning
        The role signed in and what the signature means.
    time
        When it was signed, UTC, ``YYYY-MM-DDTHH:MM:SSZ``.
    content_sha256
        The SHA-256 of the signed content (:func:`content_sha256`), lowercase hex.
    public_key
        The signer's OpenSSH Ed25519 public key, ``ssh-ed25519 AAAA...`` (no comment).
    fingerprint
        Its fingerprint, ``SHA256:...``.
    signature
        The armored SSHSIG over :meth:`canonical_bytes`.
    """

    signer: str
    role: Role
    meaning: Meaning
    time: str
    content_sha256: str
    public_key: str
    fingerprint: str
    signature: str

    def __post_init__(self) -> None:
        if not (0 < len(self.signer) <= 200 and self.signer.isprintable()
                and self.signer == self.signer.strip()):
            raise SignatureError(None, "signer", self.signer,
                                 "a name on one line, 1 to 200 printable characters")
        if not _TIME.fullmatch(self.time):
            raise SignatureError(None, "time", self.time, "UTC as YYYY-MM-DDTHH:MM:SSZ")
        if not _HEX64.fullmatch(self.content_sha256):
            raise SignatureError(None, "content_sha256", self.content_sha256,
                                 "64 lowercase hex digits")
        if len(self.public_key.split()) != 2:
            raise SignatureError(None, "public_key", self.public_key,
                                 "'ssh-ed25519 <base64>' without a comment")
        _public_key(self.public_key, None)
        if not _FINGERPRINT.fullmatch(self.fingerprint):
            raise SignatureError(None, "fingerprint", self.fingerprint, "SHA256:<43 base64>")

    def canonical_bytes(self) -> bytes:
        """The bytes signed: the format, then one ``name: value`` line per field."""
        lines = [FORMAT, f"signer: {self.signer}", f"role: {self.role.value}",
                 f"meaning: {self.meaning.value}", f"time: {self.time}",
                 f"content-sha256: {self.content_sha256}", f"public-key: {self.public_key}",
                 f"fingerprint: {self.fingerprint}"]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def file_name(self) -> str:
        """``<signer>-<role>-<meaning>.json``, the signer's name lowercased to letters, digits
        and hyphens."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.signer.lower()).strip("-") or "signer"
        return f"{slug}-{self.role.value}-{self.meaning.value}.json"

    def to_json(self) -> str:
        """The record as written: indented JSON, keys in field order, newline-terminated."""
        data = {"format": FORMAT, "signer": self.signer, "role": self.role.value,
                "meaning": self.meaning.value, "time": self.time,
                "content_sha256": self.content_sha256, "public_key": self.public_key,
                "fingerprint": self.fingerprint, "signature": self.signature}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Signature:
        """Read a record; :class:`SignatureError` naming the file when it is not one."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SignatureError(path, "file", type(exc).__name__,
                                 "a UTF-8 JSON signature record") from exc
        fields = ("format", "signer", "role", "meaning", "time", "content_sha256",
                  "public_key", "fingerprint", "signature")
        if not isinstance(data, dict) or sorted(data) != sorted(fields) or not all(
                isinstance(data[f], str) for f in fields):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise SignatureError(path, "fields", found, f"exactly {', '.join(fields)} (text)")
        if data["format"] != FORMAT:
            raise SignatureError(path, "format", data["format"], FORMAT)
        try:
            role = Role(data["role"])
        except ValueError as exc:
            raise SignatureError(path, "role", data["role"],
                                 "one of " + ", ".join(r.value for r in Role)) from exc
        try:
            meaning = Meaning(data["meaning"])
        except ValueError as exc:
            raise SignatureError(path, "meaning", data["meaning"],
                                 "one of " + ", ".join(m.value for m in Meaning)) from exc
        try:
            return cls(signer=data["signer"], role=role, meaning=meaning, time=data["time"],
                       content_sha256=data["content_sha256"], public_key=data["public_key"],
                       fingerprint=data["fingerprint"], signature=data["signature"])
        except SignatureError as exc:
            raise SignatureError(path, exc.field, exc.found, exc.expected) from exc


def content_sha256(path: Path) -> str:
    """The SHA-256 of the content at ``path``: a file's bytes, or a folder's ``sha256sum``
    listing (``<sha256>  <path relative to the folder>`` per file, sorted by path, each line
    ending in a newline).

    Raises
    ------
    SignatureError
        When ``path`` is neither a file nor a folder.
    """
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if not path.is_dir():
        raise SignatureError(path, "content", "nothing there", "a file or a folder")
    files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {rel}\n"
                      for rel, p in files)
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def load_private_key(path: Path, passphrase: Callable[[], bytes]) -> Ed25519PrivateKey:
    """The signer's Ed25519 key from an OpenSSH private key file.

    Parameters
    ----------
    path
        The key file (``~/.ssh/id_ed25519``).
    passphrase
        Called only when the key is encrypted; returns the passphrase (kept in memory only).

    Raises
    ------
    SignatureError
        Not readable, not an OpenSSH private key, a wrong passphrase, or not Ed25519.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignatureError(path, "key", type(exc).__name__, "a readable key file") from exc
    try:
        try:
            key = serialization.load_ssh_private_key(data, password=None)
        except TypeError:  # encrypted: the library asks for the passphrase this way
            key = serialization.load_ssh_private_key(data, password=passphrase())
    except (ValueError, TypeError) as exc:
        raise SignatureError(path, "key", str(exc),
                             "an OpenSSH private key (with its passphrase if encrypted)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(path, "key", type(key).__name__, "an Ed25519 key (ssh-ed25519)")
    return key


def sign(*, content: str, signer: str, role: Role, meaning: Meaning, key: Ed25519PrivateKey,
         time: datetime) -> Signature:
    """Sign ``content`` (a SHA-256, hex) as ``signer`` in ``role`` with ``meaning`` at ``time``
    (aware; written as UTC, to the second)."""
    if time.tzinfo is None:
        raise SignatureError(None, "time", time.isoformat(), "an aware time (UTC)")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    unsigned = Signature(signer=signer, role=role, meaning=meaning,
                         time=time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         content_sha256=content, public_key=public,
                         fingerprint=fingerprint(public), signature="")
    return dataclasses.replace(unsigned, signature=_sshsig(key, unsigned.canonical_bytes()))


def write_signature(signature: Signature, folder: Path) -> Path:
    """Write the record into ``folder`` atomically; never over an existing one."""
    path = folder / signature.file_name()
    if path.exists():
        raise SignatureError(path, "file", "exists",
                             "a new record (a signature is never overwritten; remove it "
                             "through version control to sign again)")
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, signature.to_json())
    return path


@dataclass(frozen=True, slots=True)
class AllowedSigners:
    """Who may sign, in which roles: the reviewed list of public keys.

    Read from YAML: ``signers:`` a list of ``name``, ``roles`` (a list of :class:`Role`
    values) and ``public_key`` (``ssh-ed25519 AAAA...``).  Keyed by fingerprint.
    """

    entries: dict[str, tuple[str, frozenset[Role]]]

    @classmethod
    def from_file(cls, path: Path) -> AllowedSigners:
        """Read the list; :class:`SignatureError` naming the file and entry when unusable."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise SignatureError(path, "file", type(exc).__name__,
                                 "a YAML allowed-signers list") from exc
        signers = data.get("signers") if isinstance(data, dict) else None
        if not isinstance(signers, list):
            raise SignatureError(path, "signers", type(signers).__name__, "a list")
        entries: dict[str, tuple[str, frozenset[Role]]] = {}
        for number, entry in enumerate(signers, 1):
            where = f"signers[{number}]"
            if not (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                    and isinstance(entry.get("public_key"), str)
                    and isinstance(entry.get("roles"), list)):
                raise SignatureError(path, where, entry, "name, roles (a list) and public_key")
            try:
                roles = frozenset(Role(r) for r in entry["roles"])
            except ValueError as exc:
                raise SignatureError(path, f"{where}.roles", entry["roles"], "values of " + ", "
                                     .join(r.value for r in Role)) from exc
            key = " ".join(entry["public_key"].split()[:2])
            _public_key(key, path)
            entries[fingerprint(key)] = (entry["name"], roles)
        return cls(entries)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on one record file.

    Attributes
    ----------
    path
        The record file.
    state
        :class:`State`.
    detail
        Why, naming what was found and what was expected ("" when valid).
    signature
        The record, or ``None`` when it could not be read.
    """

    path: Path
    state: State
    detail: str
    signature: Signature | None


def _verdict(path: Path, content: str, allowed: AllowedSigners) -> Verdict:
    try:
        record = Signature.from_file(path)
    except SignatureError as exc:
        return Verdict(path, State.MALFORMED, str(exc), None)
    key = _public_key(record.public_key, path)
    if record.fingerprint != fingerprint(record.public_key) or not _sshsig_verifies(
            record.signature, key, record.canonical_bytes()):
        return Verdict(path, State.BAD_SIGNATURE, "the signature does not verify with the "
                       f"record's key {fingerprint(record.public_key)} over its fields "
                       "(a field was changed after signing)", record)
    entry = allowed.entries.get(record.fingerprint)
    if entry is None:
        return Verdict(path, State.KEY_NOT_ALLOWED, f"key {record.fingerprint} is not in the "
                       "allowed-signers list", record)
    name, roles = entry
    if name != record.signer or record.role not in roles:
        return Verdict(path, State.KEY_NOT_ALLOWED, f"key {record.fingerprint} is allowed for "
                       f"{name!r} as {', '.join(sorted(r.value for r in roles))}; found "
                       f"{record.signer!r} as {record.role.value}", record)
    if record.content_sha256 != content:
        return Verdict(path, State.CONTENT_CHANGED, f"signed content SHA-256 "
                       f"{record.content_sha256}, content now {content}", record)
    return Verdict(path, State.VALID, "", record)


def verify(folder: Path, content: str, allowed: AllowedSigners) -> list[Verdict]:
    """One :class:`Verdict` per ``*.json`` record in ``folder`` (sorted by name), against the
    content's SHA-256 ``content``.  Reads only.

    Raises
    ------
    SignatureError
        When ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise SignatureError(folder, "signatures", "not a folder", "a folder of records")
    return [_verdict(path, content, allowed) for path in sorted(folder.glob("*.json"))]


def missing_approvals(verdicts: Iterable[Verdict]) -> list[Role]:
    """The roles of :data:`REQUIRED_APPROVALS` without a valid ``approved`` signature."""
    approved = {v.signature.role for v in verdicts if v.state is State.VALID
                and v.signature is not None and v.signature.meaning is Meaning.APPROVED}
    return [role for role in REQUIRED_APPROVALS if role not in approved]


def approval_page(verdicts: list[Verdict], content: str) -> dict[str, Any]:
    """The design-history report's approvals page as data: one row per record (signer, role,
    meaning, time, fingerprint, ``VALID`` or ``INVALID`` with the reason), the content's
    SHA-256, the count of invalid records and the roles still to approve."""
    rows = []
    for verdict in verdicts:
        record = verdict.signature
        verdict_word, _, reason = verdict.state.value.partition(": ")
        rows.append({"file": verdict.path.name, "verdict": verdict_word, "reason": reason,
                     "detail": verdict.detail,
                     "signer": record.signer if record else "unreadable",
                     "role": record.role.value if record else "",
                     "meaning": record.meaning.value if record else "",
                     "time": record.time if record else "",
                     "fingerprint": record.fingerprint if record else ""})
    return {"content_sha256": content, "rows": rows,
            "invalid": sum(1 for v in verdicts if v.state is not State.VALID),
            "missing": [role.value for role in missing_approvals(verdicts)]}
