"""Step definitions of ``verification/features/docs/signatures.feature``.

Verifies ``corridor docs sign`` and ``corridor docs verify-signatures`` and the approvals page
of the design-history report: approvals by the three roles verify; content edited after
signing, a record edited after signing, and a key outside the allowed-signers list (or outside
its role) are each invalid, with the reason; approvals missing fail the check; an encrypted key
signs with its passphrase from the environment; and the report shows each signature VALID or
INVALID, the signer's name as text.

Keys are generated here with ``cryptography`` (no private key is committed). Oracles, none of them
the code's own output: OpenSSH's ``ssh-keygen`` (``-l`` for fingerprints, ``-Y verify`` for the
SSHSIG signature over the record's fields, the bytes built here from the format the requirement
states, and ``-Y sign``, whose deterministic Ed25519 signature must be the record's), GNU
``sha256sum`` for a folder's listing, ``hashlib`` for each record file of the design-history
manifest, and Python's HTML parser for what a browser shows.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, run_command

scenarios("docs/signatures.feature")

SIGNERS = {"quality": "Ada <b>Lovelace</b> & Co", "engineering-lead": "Grace Hopper",
           "clinical": "Mary Seacole"}
"""The allowed signers, one per role (the quality signer's name carries markup)."""

NAMESPACE = "corridor-release@corridor"
"""The SSHSIG namespace the requirement names."""

MINIMAL = ROOT / "verification" / "fixtures" / "minimal"


@dataclass
class Signing:
    """Keys, folders and the signature records of one scenario."""

    root: Path
    keys: dict[str, Path] = field(default_factory=dict)
    public: dict[str, str] = field(default_factory=dict)
    content: Path | None = None
    signatures: Path = Path()
    allowed: Path = Path()
    outs: list[Path] = field(default_factory=list)


@pytest.fixture
def signing(tmp_path: Path) -> Signing:
    """A fresh scenario context for the keys and records."""
    return Signing(tmp_path, signatures=tmp_path / "signatures",
                   allowed=tmp_path / "allowed_signers.yaml")


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        pytest.fail("ssh-keygen (Debian: openssh-client) is needed as the independent verifier")
    return found


def _new_key(signing: Signing, who: str) -> None:
    key = Ed25519PrivateKey.generate()
    path = signing.root / "keys" / who
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    signing.keys[who] = path
    signing.public[who] = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _keys(signing: Signing) -> None:
    for role in SIGNERS:
        _new_key(signing, role)
    signing.allowed.write_text(yaml.safe_dump({"signers": [
        {"name": name, "roles": [role], "public_key": signing.public[role]}
        for role, name in SIGNERS.items()]}, sort_keys=False), encoding="utf-8")


@given("a content folder and keys for the quality, engineering-lead and clinical signers in "
       "the allowed-signers list")
def content_and_keys(signing: Signing) -> None:
    """Two files, one in a subfolder; three keys, each listed for its own role."""
    content = signing.root / "release"
    (content / "dhf").mkdir(parents=True)
    (content / "dhf" / "design-history.html").write_text("<h1>DHF</h1>\n", encoding="utf-8")
    (content / "release-notes.txt").write_text("Corridor 1.0\n", encoding="utf-8")
    signing.content = content
    _keys(signing)


@given("a copy of the minimal project and keys for the quality, engineering-lead and clinical "
       "signers in the allowed-signers list")
def project_and_keys(case: Case, signing: Signing) -> None:
    """The minimal fixture project, copied."""
    case.project = case.root / "project"
    shutil.copytree(MINIMAL, case.project)
    _keys(signing)


def _sign(case: Case, signing: Signing, who: str, role: str, meaning: str,
          content: Path | None = None, out: Path | None = None) -> None:
    assert signing.content is not None or content is not None
    run_command(case, ["docs", "sign", "--content", str(content or signing.content),
                       "--role", role, "--meaning", meaning, "--key", str(signing.keys[who]),
                       "--signer", SIGNERS.get(who, "Eve Mallory"),
                       "--out", str(out or signing.signatures)])


@given(parsers.parse('each signer signs the content folder as "{meaning}"'))
@when(parsers.parse('each signer signs the content folder as "{meaning}"'))
def each_signs(case: Case, signing: Signing, meaning: str) -> None:
    """One record per role, each checked written."""
    for role in SIGNERS:
        _sign(case, signing, role, role, meaning)
        assert case.status == 0, case.stderr


@given(parsers.parse('a signer whose key is not in the list signs the content folder as '
                     '{role} "{meaning}"'))
def unlisted_signs(case: Case, signing: Signing, role: str, meaning: str) -> None:
    """A fourth key, listed nowhere."""
    _new_key(signing, "unlisted")
    _sign(case, signing, "unlisted", role, meaning)
    assert case.status == 0, case.stderr


@given(parsers.parse('the clinical signer signs the content folder as {role} "{meaning}"'))
def clinical_signs_as(case: Case, signing: Signing, role: str, meaning: str) -> None:
    """A listed key used outside its role."""
    _sign(case, signing, "clinical", role, meaning)
    assert case.status == 0, case.stderr


@when("a file of the content folder is edited")
def edit_content(signing: Signing) -> None:
    """One byte more in the release notes."""
    assert signing.content is not None
    with (signing.content / "release-notes.txt").open("a", encoding="utf-8") as stream:
        stream.write("!")


@when(parsers.parse('the quality signer\'s record has its role changed to "{role}"'))
def tamper_role(signing: Signing, role: str) -> None:
    """The JSON record edited by hand, its signature kept."""
    [path] = signing.signatures.glob("ada-*-quality-approved.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["role"] = role
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@when(parsers.parse('the quality signer\'s key is saved encrypted with the passphrase '
                    '"{passphrase}"'))
def encrypt_key(signing: Signing, passphrase: str) -> None:
    """The same key, in OpenSSH's bcrypt-protected form."""
    path = signing.keys["quality"]
    key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(passphrase.encode())))


@when(parsers.parse('the quality signer signs the content folder as "{meaning}" with the '
                    'passphrase "{passphrase}" in the environment'))
def sign_encrypted(case: Case, signing: Signing, meaning: str, passphrase: str,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The passphrase from ``CORRIDOR_SIGNING_PASSPHRASE``."""
    monkeypatch.setenv("CORRIDOR_SIGNING_PASSPHRASE", passphrase)
    _sign(case, signing, "quality", "quality", meaning)
    assert case.status == 0, case.stderr


def _verify(case: Case, signing: Signing, content: Path | None = None) -> None:
    run_command(case, ["docs", "verify-signatures", str(signing.signatures), "--content",
                       str(content or signing.content), "--allowed-signers",
                       str(signing.allowed)])


@then(parsers.parse("verify-signatures exits {status:d} listing {count:d} VALID signatures"))
@then(parsers.parse("verify-signatures exits {status:d} with {count:d} VALID signature"))
def verify_valid(case: Case, signing: Signing, status: int, count: int) -> None:
    """Each line of the report starts with the verdict."""
    _verify(case, signing)
    assert case.status == status, case.stdout + case.stderr
    verdicts = [line.split("  ", 1)[0] for line in case.stdout.splitlines()
                if line.startswith(("VALID", "INVALID"))]
    assert verdicts == ["VALID"] * count, case.stdout


@then(parsers.parse('verify-signatures exits {status:d} with {count:d} "{verdict}" naming the '
                    'signed and the current SHA-256'))
def verify_changed(case: Case, signing: Signing, status: int, count: int, verdict: str) -> None:
    """The digests before and after the edit, computed by ``sha256sum``."""
    edited = _listing_sha256(signing)
    _verify(case, signing)
    assert case.status == status
    assert case.stdout.count(f"{verdict}  ") == count, case.stdout
    signed = {json.loads(p.read_text())["content_sha256"]
              for p in signing.signatures.glob("*.json")}
    assert len(signed) == 1
    assert edited not in signed
    assert case.stdout.count(f"signed content SHA-256 {signed.pop()}, content now "
                             f"{edited}") == count, case.stdout


@then(parsers.parse('verify-signatures exits {status:d} with {count:d} "{verdict}"'))
def verify_invalid(case: Case, signing: Signing, status: int, count: int, verdict: str) -> None:
    """That many records have that verdict; every other one is VALID."""
    _verify(case, signing)
    assert case.status == status, case.stdout + case.stderr
    lines = [line for line in case.stdout.splitlines() if line.startswith(("VALID", "INVALID"))]
    assert sum(line.startswith(f"{verdict}  ") for line in lines) == count, case.stdout
    assert all(line.startswith((f"{verdict}  ", "VALID  ")) for line in lines), case.stdout


@then(parsers.parse('it reports "{text}"'))
def reports(case: Case, text: str) -> None:
    """A line of the last verify-signatures run."""
    assert text in case.stdout.splitlines(), case.stdout


@then(parsers.parse('it names the unlisted key\'s fingerprint as "{text}"'))
def names_unlisted(case: Case, signing: Signing, text: str) -> None:
    """The fingerprint as ``ssh-keygen -l`` prints it."""
    assert f"key {_fingerprint(signing, 'unlisted')} is {text}" in case.stdout, case.stdout


def _listing_sha256(signing: Signing) -> str:
    """SHA-256 of the ``sha256sum`` listing of the content folder, files sorted by path."""
    assert signing.content is not None
    files = sorted(p.relative_to(signing.content).as_posix()
                   for p in signing.content.rglob("*") if p.is_file())
    listing = subprocess.run(["sha256sum", "--", *files], cwd=signing.content, check=True,
                             capture_output=True, timeout=60).stdout
    return hashlib.sha256(listing).hexdigest()


def _fingerprint(signing: Signing, who: str) -> str:
    path = signing.root / f"{who}.pub"
    path.write_text(signing.public[who] + "\n", encoding="utf-8")
    done = subprocess.run([_ssh_keygen(), "-l", "-E", "sha256", "-f", str(path)], check=True,
                          capture_output=True, text=True, timeout=60)
    return done.stdout.split()[1]


def _records(signing: Signing) -> dict[str, dict[str, str]]:
    """The records by role, as JSON."""
    records = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted(signing.signatures.glob("*.json"))]
    return {r["role"]: r for r in records}


@then("each record's content SHA-256 is that of the folder's sha256sum listing computed here")
def content_digest(signing: Signing) -> None:
    """``sha256sum`` over the files, then SHA-256 of its output."""
    expected = _listing_sha256(signing)
    assert {r["content_sha256"] for r in _records(signing).values()} == {expected}


@then("each record's fingerprint is the one ssh-keygen -l prints for its key")
def fingerprints(signing: Signing) -> None:
    """OpenSSH's own fingerprint of the generated public key."""
    records = _records(signing)
    for role in SIGNERS:
        assert records[role]["public_key"] == signing.public[role]
        assert records[role]["fingerprint"] == _fingerprint(signing, role)


def _canonical(record: dict[str, str]) -> bytes:
    """The signed bytes as the requirement states them: the format, then one line a field."""
    return (f"corridor-signature/1\nsigner: {record['signer']}\nrole: {record['role']}\n"
            f"meaning: {record['meaning']}\ntime: {record['time']}\n"
            f"content-sha256: {record['content_sha256']}\n"
            f"public-key: {record['public_key']}\nfingerprint: {record['fingerprint']}\n"
            ).encode()


@then("ssh-keygen -Y verify accepts each record's signature over its fields as built here")
def ssh_keygen_verifies(signing: Signing) -> None:
    """And rejects it over the same fields with the role changed."""
    for role, record in _records(signing).items():
        allowed = signing.root / f"{role}.allowed"
        allowed.write_text(f"signer {record['public_key']}\n", encoding="utf-8")
        signature = signing.root / f"{role}.sig"
        signature.write_text(record["signature"], encoding="utf-8")
        command = [_ssh_keygen(), "-Y", "verify", "-f", str(allowed), "-I", "signer", "-n",
                   NAMESPACE, "-s", str(signature)]
        good = subprocess.run(command, input=_canonical(record), capture_output=True,
                              timeout=60)
        assert good.returncode == 0, good.stderr
        forged = subprocess.run(command, input=_canonical({**record, "role": "other"}),
                                capture_output=True, timeout=60)
        assert forged.returncode != 0


@then("ssh-keygen -Y sign with the same key over the same fields makes each record's "
      "signature byte for byte")
def ssh_keygen_signs(signing: Signing) -> None:
    """Ed25519 signatures are deterministic (RFC 8032), so OpenSSH's own SSHSIG of the fields
    built here is the record's, armour included."""
    for role, record in _records(signing).items():
        message = signing.root / f"{role}.fields"
        message.write_bytes(_canonical(record))
        subprocess.run([_ssh_keygen(), "-Y", "sign", "-q", "-f", str(signing.keys[role]),
                        "-n", NAMESPACE, str(message)], check=True, capture_output=True,
                       timeout=60)
        assert (signing.root / f"{role}.fields.sig").read_text(encoding="utf-8") == (
            record["signature"])


@then(parsers.parse('signing with the passphrase "{passphrase}" in the environment exits 2 '
                    'writing nothing'))
def wrong_passphrase(case: Case, signing: Signing, passphrase: str,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewed signature refused: nothing new in the folder."""
    before = sorted(signing.signatures.iterdir())
    monkeypatch.setenv("CORRIDOR_SIGNING_PASSPHRASE", passphrase)
    _sign(case, signing, "quality", "quality", "reviewed")
    assert case.status == 2, case.stdout
    assert str(signing.keys["quality"]) in case.stderr, case.stderr
    assert sorted(signing.signatures.iterdir()) == before


@then(parsers.parse('signing as role "{role}" exits 2 naming "{text}"'))
def bad_role(case: Case, signing: Signing, role: str, text: str) -> None:
    """The closed set of roles, listed."""
    _sign(case, signing, "clinical", role, "approved")
    assert case.status == 2, case.stderr
    assert text in case.stderr, case.stderr


@then(parsers.parse('signing into a folder inside the content exits 2 naming "{text}"'))
def inside_content(case: Case, signing: Signing, text: str) -> None:
    """A signature written into what it signs would change it."""
    assert signing.content is not None
    _sign(case, signing, "clinical", "clinical", "approved", out=signing.content / "sigs")
    assert case.status == 2, case.stderr
    assert text in case.stderr, case.stderr
    assert not (signing.content / "sigs").exists()


@when("its design-history report is written with --draft")
def write_dhf(case: Case, signing: Signing, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without signatures."""
    _write_dhf(case, signing, monkeypatch, signed=False)


@when("its design-history report is written with --draft and the signatures")
def write_signed_dhf(case: Case, signing: Signing, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the signature folder and the allowed-signers list."""
    _write_dhf(case, signing, monkeypatch, signed=True)


def _write_dhf(case: Case, signing: Signing, monkeypatch: pytest.MonkeyPatch, *, signed: bool
               ) -> None:
    """In process, without the PDF (WeasyPrint made unimportable: the HTML is what is read)."""
    assert case.project is not None
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    out = case.root / f"dhf-{len(signing.outs)}"
    signing.outs.append(out)
    extra = (["--signatures", str(signing.signatures), "--allowed-signers",
              str(signing.allowed)] if signed else [])
    run_command(case, ["docs", "dhf", "--root", str(case.project), "--out", str(out),
                       "--draft", *extra])
    assert case.status == 0, case.stderr


@when(parsers.parse('the quality signer, named "{name}", signs its design-history.sha256 as '
                    '"{meaning}"'))
def quality_signs_dhf(case: Case, signing: Signing, name: str, meaning: str) -> None:
    """The manifest of the latest report signed."""
    assert SIGNERS["quality"] == name
    _sign(case, signing, "quality", "quality", meaning,
          content=signing.outs[-1] / "design-history.sha256")
    assert case.status == 0, case.stderr


@when(parsers.parse('the engineering-lead signer signs its new design-history.sha256 as '
                    '"{meaning}"'))
def lead_signs_dhf(case: Case, signing: Signing, meaning: str) -> None:
    """The manifest of the report after the edit."""
    _sign(case, signing, "engineering-lead", "engineering-lead", meaning,
          content=signing.outs[-1] / "design-history.sha256")
    assert case.status == 0, case.stderr


@when("a requirement of the copy is edited")
def edit_requirement(case: Case) -> None:
    """The first requirement's statement."""
    assert case.project is not None
    path = case.project / "requirements_spec" / "srs" / "SRS-DEM-001.yaml"
    text = path.read_text(encoding="utf-8")
    assert "print a greeting" in text
    path.write_text(text.replace("print a greeting", "print a warm greeting"), encoding="utf-8")


@then("the content manifest lists every record, feature and plan of the copy with the SHA-256 "
      "computed here")
def manifest_lists(case: Case, signing: Signing) -> None:
    """``<sha256>  <path>`` per line; every record file hashed here appears."""
    assert case.project is not None
    lines = (signing.outs[-1] / "design-history.sha256").read_text(encoding="utf-8")
    listed = dict(reversed(line.split("  ", 1)) for line in lines.splitlines())
    expected = {p.relative_to(case.project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for folder in ("requirements_spec", "risk_management", "verification/features")
                for p in (case.project / folder).rglob("*")
                if p.suffix in (".yaml", ".md", ".feature")}
    assert "requirements_spec/srs/SRS-DEM-001.yaml" in expected
    assert {k: listed.get(k) for k in expected} == expected


@then("the signatures did not change the content manifest")
def manifest_unchanged(signing: Signing) -> None:
    """The report before and after the signatures were given: same manifest bytes."""
    assert ((signing.outs[-2] / "design-history.sha256").read_bytes()
            == (signing.outs[-1] / "design-history.sha256").read_bytes())
    assert ((signing.outs[0] / "design-history.sha256").read_bytes()
            != (signing.outs[-1] / "design-history.sha256").read_bytes())


class _Approvals(html.parser.HTMLParser):
    """The rows of the approvals table (cell texts) and the start tags inside that section."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if ("id", "approvals") in attrs:
            self.inside = True
        elif tag == "h2":
            self.inside = False
        if not self.inside:
            return
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.inside and self._cell is not None:
            self._cell.append(data)


def _approvals(signing: Signing) -> _Approvals:
    parser = _Approvals()
    parser.feed((signing.outs[-1] / "design-history.html").read_text(encoding="utf-8"))
    return parser


@then(parsers.parse('the approvals page shows "{name}" as text, {role} {meaning}, {verdict}'))
def page_shows_name(signing: Signing, name: str, role: str, meaning: str, verdict: str) -> None:
    """The name is one cell's text; no element of the name's markup exists."""
    page = _approvals(signing)
    [row] = [r for r in page.rows if r and r[0] == name]
    assert row[1:3] == [role, meaning]
    assert row[5].startswith(verdict), row
    assert "b" not in page.tags


@then("the approvals page shows the engineering-lead signer VALID with the key fingerprint "
      "ssh-keygen -l prints")
def page_shows_valid(signing: Signing) -> None:
    """Its row: name, role, meaning, fingerprint, verdict."""
    [row] = [r for r in _approvals(signing).rows if r and r[0] == SIGNERS["engineering-lead"]]
    assert row[1:3] == ["engineering-lead", "approved"]
    assert row[4] == _fingerprint(signing, "engineering-lead")
    assert row[5] == "VALID"


@then(parsers.parse('the report lists the gap "{gap}"'))
def report_gap(signing: Signing, gap: str) -> None:
    """Among the report's gaps in document control."""
    assert f"Gap: {gap}" in "".join(_approvals(signing).text)
