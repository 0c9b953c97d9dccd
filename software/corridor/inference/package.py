"""Load a model package: verify each ONNX file's hash and its graph against the manifest.

A deep ensemble's members (:attr:`~corridor.inference.manifest.ModelManifest.members`) are
each verified as a single model is (bytes, hash, graph against the manifest), and then against
the first member: same input and output element types, and no fixed dimension where the
first has another.  A refusal names the member (``member-2``), its file and the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import onnx
from pydantic import ValidationError

from corridor.inference.errors import ModelPackageError
from corridor.inference.manifest import ModelManifest
from corridor.reading import InputFileError, json_depth, read_regular_file

__all__ = ["MANIFEST_NAME", "GraphSignature", "ModelPackage", "PackageMember",
           "load_model_package"]

MANIFEST_NAME = "manifest.json"

MAX_MANIFEST_BYTES = 1 << 20
"""Largest manifest read (1 MiB; the reference model's is 2 kB): a bigger one is refused
before it is read."""

MAX_ONNX_BYTES = 2 << 30
"""Largest ONNX file read (2 GiB, protobuf's own limit for one message, which an ONNX file is
when it keeps its weights inside): a bigger one is refused before it is read."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and arrays accepted in a manifest (the format needs 4)."""
"""File name of the manifest inside a model package folder."""

Dim = int | str | None
"""One tensor dimension: a fixed size, a symbolic name, or unknown."""


@dataclass(frozen=True, slots=True)
class GraphSignature:
    """The graph's single input and first output: names, shapes and opset."""

    input_name: str
    input_shape: tuple[Dim, ...]
    output_name: str
    output_shape: tuple[Dim, ...]
    opset: int
    input_type: int = onnx.TensorProto.FLOAT
    """ONNX element type of the input (``TensorProto.FLOAT`` is 1)."""
    output_type: int = onnx.TensorProto.FLOAT
    """ONNX element type of the output."""


@dataclass(frozen=True, slots=True)
class PackageMember:
    """One verified ONNX file of a package: its name, path, bytes (hash checked) and graph."""

    name: str
    """``member-1``, ``member-2``, ... in the manifest's order."""
    onnx_path: Path
    onnx_bytes: bytes
    sha256: str
    signature: GraphSignature


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """A verified model package: its manifest and its members (one, or a deep ensemble's).

    ``onnx_path``, ``onnx_bytes`` and ``signature`` are the first member's.
    """

    directory: Path
    manifest: ModelManifest
    members: tuple[PackageMember, ...]

    def __post_init__(self) -> None:
        files = tuple(m.onnx_file for m in self.manifest.members)
        if tuple(m.onnx_path.name for m in self.members) != files:
            raise ValueError(f"members: found {[m.onnx_path.name for m in self.members]}, "
                             f"expected the manifest's {list(files)}")

    @property
    def onnx_path(self) -> Path:
        """The first member's ONNX file."""
        return self.members[0].onnx_path

    @property
    def onnx_bytes(self) -> bytes:
        """The first member's ONNX bytes (the bytes hashed)."""
        return self.members[0].onnx_bytes

    @property
    def signature(self) -> GraphSignature:
        """The first member's graph signature."""
        return self.members[0].signature

    @property
    def is_ensemble(self) -> bool:
        """Whether the package holds more than one member."""
        return len(self.members) > 1

    @property
    def sha256(self) -> str:
        """The model's SHA-256 in its identity: the ONNX file's for a single model, over the
        members' for an ensemble (:attr:`ModelManifest.identity_sha256`)."""
        return self.manifest.identity_sha256


def _dims(value_info: onnx.ValueInfoProto) -> tuple[Dim, ...]:
    dims: list[Dim] = []
    for dim in value_info.type.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(str(dim.dim_param))
        else:
            dims.append(None)
    return tuple(dims)


def _signature(path: Path, data: bytes) -> GraphSignature:
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # any protobuf failure: not an ONNX model
        raise ModelPackageError(path, "onnx", f"{type(exc).__name__}: {exc}",
                                "an ONNX model file") from exc
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelPackageError(path, "graph inputs", [i.name for i in inputs], "exactly one input")
    if not graph.output:
        raise ModelPackageError(path, "graph outputs", [], "at least one output")
    opsets = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return GraphSignature(inputs[0].name, _dims(inputs[0]), graph.output[0].name,
                          _dims(graph.output[0]), opsets[0] if opsets else 0,
                          inputs[0].type.tensor_type.elem_type,
                          graph.output[0].type.tensor_type.elem_type)


def _check_dim(path: Path, what: str, found: Dim, expected: int) -> None:
    if isinstance(found, int) and found != expected:
        raise ModelPackageError(path, what, found, f"{expected} (or a dynamic dimension)")


def _check_signature(path: Path, manifest: ModelManifest, signature: GraphSignature) -> None:
    if signature.opset != manifest.opset:
        raise ModelPackageError(path, "opset", signature.opset,
                                f"{manifest.opset} as the manifest states")
    if len(signature.input_shape) != 5:
        raise ModelPackageError(path, "input shape", list(signature.input_shape),
                                "5 dimensions (batch, channel, k, j, i)")
    if len(signature.output_shape) != 5:
        raise ModelPackageError(path, "output shape", list(signature.output_shape),
                                "5 dimensions (batch, label, k, j, i)")
    _check_dim(path, "input channels", signature.input_shape[1], manifest.input_channels)
    _check_dim(path, "output labels", signature.output_shape[1], len(manifest.labels))
    patch_kji = manifest.patch_size[::-1]
    for axis, name in enumerate("kji"):
        _check_dim(path, f"input size along {name}", signature.input_shape[2 + axis],
                   patch_kji[axis])
        _check_dim(path, f"output size along {name}", signature.output_shape[2 + axis],
                   patch_kji[axis])


def _check_agreement(path: Path, name: str, signature: GraphSignature,
                     first: GraphSignature) -> None:
    """A further member against the first: element types, and fixed dimensions that agree."""
    for what, kind, expected_kind in (
            ("input type", signature.input_type, first.input_type),
            ("output type", signature.output_type, first.output_type)):
        if kind != expected_kind:
            raise ModelPackageError(
                path, f"{name} {what}", onnx.TensorProto.DataType.Name(kind),
                f"{onnx.TensorProto.DataType.Name(expected_kind)} as member-1's")
    for what, shape, expected_shape in (
            ("input shape", signature.input_shape, first.input_shape),
            ("output shape", signature.output_shape, first.output_shape)):
        for axis, (found, expected) in enumerate(zip(shape, expected_shape, strict=True)):
            if isinstance(found, int) and isinstance(expected, int) and found != expected:
                raise ModelPackageError(path, f"{name} {what} axis {axis}", found,
                                        f"{expected} as member-1's")


def _read_bounded(path: Path, limit: int, field: str, expected: str) -> bytes:
    """:func:`~corridor.reading.read_regular_file`, refused as a model package error."""
    try:
        return read_regular_file(path, limit, field=field, expected=expected)
    except InputFileError as exc:
        raise ModelPackageError(path, field, exc.found, exc.expected) from exc


def load_model_package(directory: str | Path) -> ModelPackage:
    """Read, validate and verify a model package folder.

    Parameters
    ----------
    directory
        Folder holding ``manifest.json`` and the ONNX file it names.

    Returns
    -------
    ModelPackage
        The package, with each member's ONNX bytes that were hashed (so the bytes run are
        the bytes verified).

    Raises
    ------
    ModelPackageError
        The manifest or the ONNX file is missing, not a regular file, or larger than its
        limit (:data:`MAX_MANIFEST_BYTES`, :data:`MAX_ONNX_BYTES`); the manifest is not
        UTF-8, nested deeper than :data:`MAX_JSON_DEPTH` or invalid; an ONNX file's SHA-256
        differs from the manifest's, or the graph's opset, input or output shapes
        contradict the manifest; a further member of an ensemble disagrees with the first
        (element types, fixed dimensions).  An ensemble's refusals name the member
        (``member-2 sha256``).
    """
    folder = Path(directory)
    manifest_path = folder / MANIFEST_NAME
    raw = _read_bounded(manifest_path, MAX_MANIFEST_BYTES, "manifest",
                        f"a readable {MANIFEST_NAME} in the model folder")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelPackageError(manifest_path, "manifest", f"not UTF-8 text ({exc.reason} at "
                                f"byte {exc.start})", "JSON in UTF-8") from exc
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ModelPackageError(manifest_path, "manifest", f"objects and arrays nested {depth} "
                                "deep", f"at most {MAX_JSON_DEPTH} levels")
    try:
        manifest = ModelManifest.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ModelPackageError(manifest_path, f"JSON line {exc.lineno}", exc.msg,
                                "valid JSON") from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "manifest"
        raise ModelPackageError(manifest_path, where, error.get("input"), error["msg"]) from exc
    members: list[PackageMember] = []
    for number, pinned in enumerate(manifest.members, start=1):
        name = f"member-{number}"
        # a single model's refusals name the field alone, as they always have
        prefix = f"{name} " if manifest.ensemble else ""
        onnx_path = folder / pinned.onnx_file
        data = _read_bounded(onnx_path, MAX_ONNX_BYTES, f"{prefix}onnx_file",
                             "the ONNX file the manifest names")
        digest = hashlib.sha256(data).hexdigest()
        if digest != pinned.sha256:
            raise ModelPackageError(onnx_path, f"{prefix}sha256", digest,
                                    f"{pinned.sha256} as the manifest pins it")
        signature = _signature(onnx_path, data)
        try:
            _check_signature(onnx_path, manifest, signature)
        except ModelPackageError as exc:
            if not prefix:
                raise
            raise ModelPackageError(onnx_path, f"{prefix}{exc.field}", exc.found,
                                    exc.expected) from exc
        if members:
            _check_agreement(onnx_path, name, signature, members[0].signature)
        members.append(PackageMember(name, onnx_path, data, digest, signature))
    return ModelPackage(folder, manifest, tuple(members))
