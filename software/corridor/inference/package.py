"""Load a model package: verify the ONNX file's hash and its graph against the manifest."""

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

__all__ = ["MANIFEST_NAME", "GraphSignature", "ModelPackage", "load_model_package"]

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


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """A verified model package: its manifest, ONNX bytes (hash checked) and graph signature."""

    directory: Path
    manifest: ModelManifest
    onnx_path: Path
    onnx_bytes: bytes
    signature: GraphSignature

    @property
    def sha256(self) -> str:
        """SHA-256 of the ONNX file (equal to the manifest's, or the package would not load)."""
        return self.manifest.sha256


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
                          _dims(graph.output[0]), opsets[0] if opsets else 0)


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
        The package, with the ONNX bytes that were hashed (so the bytes run are the
        bytes verified).

    Raises
    ------
    ModelPackageError
        The manifest or the ONNX file is missing, not a regular file, or larger than its
        limit (:data:`MAX_MANIFEST_BYTES`, :data:`MAX_ONNX_BYTES`); the manifest is not
        UTF-8, nested deeper than :data:`MAX_JSON_DEPTH` or invalid; the ONNX file's SHA-256
        differs from the manifest's, or the graph's opset, input or output shapes
        contradict the manifest.
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
    onnx_path = folder / manifest.onnx_file
    data = _read_bounded(onnx_path, MAX_ONNX_BYTES, "onnx_file",
                         "the ONNX file the manifest names")
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest.sha256:
        raise ModelPackageError(onnx_path, "sha256", digest,
                                f"{manifest.sha256} as the manifest pins it")
    signature = _signature(onnx_path, data)
    _check_signature(onnx_path, manifest, signature)
    return ModelPackage(folder, manifest, onnx_path, data, signature)
