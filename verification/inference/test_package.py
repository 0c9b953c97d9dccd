"""Step definitions of ``verification/features/inference/package.feature``.

Verifies that model packages are verified before anything runs: manifest fields checked,
ONNX bytes matched against the manifest's SHA-256, graphs and manifests that contradict
each other refused, and ``corridor model inspect`` on the reference model and on a package.

Oracles: small ONNX graphs whose properties are known by construction
(:mod:`verification.inference.graphs`), faults planted here in the manifest and the ONNX
bytes, and SHA-256 digests computed here with hashlib.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from corridor.inference import REFERENCE_MODEL, ModelPackageError, load_model_package
from verification.inference.graphs import linear_model, threshold_model
from verification.inference.helpers import Case, file_sha256, make_package, run_command

scenarios("inference/package.feature")


@given("a valid model package of a per-voxel threshold model")
def valid_package(case: Case) -> None:
    """Threshold at 0.5 (500 HU), 2 labels, 2 mm grid."""
    make_package(case, threshold_model(0.5))


@given(parsers.parse("its manifest's \"{field_name}\" is set to {value}"))
def set_manifest_field(case: Case, field_name: str, value: str) -> None:
    """Change one manifest field (the value is JSON)."""
    manifest = json.loads(case.manifest_path().read_text())
    manifest[field_name] = json.loads(value)
    case.manifest_path().write_text(json.dumps(manifest))


@given(parsers.parse("its manifest's \"{field_name}\" is removed"))
def remove_manifest_field(case: Case, field_name: str) -> None:
    """Delete one manifest field."""
    manifest = json.loads(case.manifest_path().read_text())
    del manifest[field_name]
    case.manifest_path().write_text(json.dumps(manifest))


@given("one byte of its ONNX file is changed")
def change_byte(case: Case) -> None:
    """Flip the bits of the middle byte of model.onnx."""
    assert case.package is not None
    path = case.package / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


_GRAPHS = {"has 3 output labels": lambda: linear_model(3),
           "has a fixed patch of 8": lambda: threshold_model(0.5, patch=(8, 8, 8)),
           "imports opset 17": lambda: threshold_model(0.5)}


_MANIFESTS: dict[str, dict[str, Any]] = {"names 2 labels": {}, "states a patch of 16": {},
                                         "states opset 13": {"opset": 13}}


@given(parsers.parse("a model package whose graph {graph} and whose manifest {manifest}"))
def contradicting_package(case: Case, graph: str, manifest: str) -> None:
    """A graph and a manifest that disagree in one property (the hash is correct)."""
    make_package(case, _GRAPHS[graph](), **_MANIFESTS[manifest])


def _hostile_bytes(case: Case, hostile: str) -> bytes:
    manifest = case.manifest_path().read_text(encoding="utf-8")
    if hostile == "2 MiB of valid JSON":
        return (manifest.rstrip().removesuffix("}") + ', "padding": "' + "x" * (2 << 20)
                + '"}').encode("utf-8")
    if hostile == "an array nested 100000 levels deep":
        return ("[" * 100_000 + "]" * 100_000).encode("ascii")
    if hostile == "its own text encoded in UTF-16":
        return manifest.encode("utf-16")
    raise AssertionError(hostile)


@given(parsers.parse("its {file} is replaced by {hostile}"))
def hostile_file(case: Case, file: str, hostile: str) -> None:
    """Plant a hostile file where the loader reads."""
    assert case.package is not None
    path = case.manifest_path() if file == "manifest" else case.package / "model.onnx"
    if hostile == "a link to /dev/zero":
        path.unlink()
        path.symlink_to("/dev/zero")
    else:
        path.write_bytes(_hostile_bytes(case, hostile))


@then("no traceback is printed")
def no_traceback(case: Case) -> None:
    """A refusal, not a crash."""
    assert "Traceback" not in case.stdout + case.stderr


@when("the package is loaded")
def load_package(case: Case) -> None:
    """Load the package with the real loader."""
    case.error = None
    try:
        load_model_package(case.package)  # type: ignore[arg-type]
    except ModelPackageError as exc:
        case.error = exc


@when("I run corridor model inspect on the reference model")
def inspect_reference(case: Case) -> None:
    """``corridor model inspect`` on the shipped package."""
    run_command(case, ["model", "inspect", str(REFERENCE_MODEL)])


@when("I run corridor model inspect on that package")
def inspect_package(case: Case) -> None:
    """``corridor model inspect`` on the scenario's package."""
    run_command(case, ["model", "inspect", str(case.package)])


@then(parsers.parse('loading is refused naming "{named}"'))
def refused_naming(case: Case, named: str) -> None:
    """The error is a ModelPackageError whose message names the field."""
    assert isinstance(case.error, ModelPackageError), case.error
    assert named in str(case.error)


@then("the refusal names the digest of the changed file")
def refusal_names_digest(case: Case) -> None:
    """The digest found is the changed file's own."""
    assert case.package is not None
    assert file_sha256(case.package / "model.onnx") in str(case.error)


@then("the package's ONNX bytes hash to the manifest's SHA-256")
def bytes_hash(case: Case) -> None:
    """The bytes kept for the session are the bytes hashed."""
    package = load_model_package(case.package)  # type: ignore[arg-type]
    manifest = json.loads(case.manifest_path().read_text())
    assert hashlib.sha256(package.onnx_bytes).hexdigest() == manifest["sha256"]


@then("it prints \"verdict: VERIFIED\" and the reference model's SHA-256")
def prints_verified(case: Case) -> None:
    """The verdict and the digest of the shipped ONNX file, computed here."""
    assert "verdict: VERIFIED" in case.stdout
    assert file_sha256(REFERENCE_MODEL / "model.onnx") in case.stdout


@then(parsers.parse('it prints "{first}" and "{second}"'))
def prints_both(case: Case, first: str, second: str) -> None:
    """Both texts appear in the command's output."""
    output = case.stdout + case.stderr
    assert first in output, output
    assert second in output, output
