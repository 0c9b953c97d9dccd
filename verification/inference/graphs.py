"""Small ONNX graphs with known behaviour, built in the tests (independent of any training).

* :func:`threshold_model`: 1x1x1 convolution, logits ``[0, gain * (x - threshold)]``
  per voxel: label 1 wherever the preprocessed intensity exceeds ``threshold``.
* :func:`box_filter_model`: a k x k x k mean filter of the input as the score of
  label 1 (and its negative for label 0): output depends on the neighbourhood, so
  window edges and blending matter.
* :func:`linear_model`: random per-voxel affine scores for any number of labels.
* :func:`shifted_threshold_model`: the threshold model applied to the next voxel along
  k, so that mirroring the input changes the result (TTA variance).
* :func:`interval_model`: three labels by intensity, background below ``low``, one label
  from ``low`` to ``high``, the other above (linear logits of increasing slope).
* :func:`write_ensemble`: a package of several members (manifest ``ensemble``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto], labels: int,
           patch: tuple[int, int, int] | None) -> onnx.ModelProto:
    spatial: list[int | str] = list(patch[::-1]) if patch else ["k", "j", "i"]
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 1, *spatial])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", labels, *spatial])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def threshold_model(threshold: float, gain: float = 50.0,
                    patch: tuple[int, int, int] | None = None) -> onnx.ModelProto:
    weight = np.array([0.0, gain], np.float32).reshape(2, 1, 1, 1, 1)
    bias = np.array([0.0, -gain * threshold], np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["scores"], kernel_shape=[1, 1, 1])
    return _model([node], [numpy_helper.from_array(weight, "w"),
                           numpy_helper.from_array(bias, "b")], 2, patch)


def box_filter_model(size: int = 3, patch: tuple[int, int, int] | None = None,
                     ) -> onnx.ModelProto:
    weight = np.full((1, 1, size, size, size), 1.0 / size**3, np.float32)
    weight = np.concatenate([-weight, weight])
    pad = size // 2
    node = helper.make_node("Conv", ["image", "w"], ["scores"], kernel_shape=[size] * 3,
                            pads=[pad] * 6)
    return _model([node], [numpy_helper.from_array(weight, "w")], 2, patch)


LABELS: list[dict[str, Any]] = [
    {"index": 0, "name": "background"},
    {"index": 1, "name": "object",
     "category": {"scheme": "SCT", "value": "91723000", "meaning": "Anatomical Structure"},
     "type": {"scheme": "SCT", "value": "272673000", "meaning": "Bone"}},
]


def write_package(folder: Path, model: onnx.ModelProto, **overrides: Any) -> Path:
    """Write ``model.onnx`` and a manifest pinning it; ``overrides`` replace manifest fields."""
    folder.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    manifest: dict[str, Any] = {
        "format": "corridor-model-manifest/1",
        "name": "test-model",
        "version": "1",
        "sha256": hashlib.sha256(data).hexdigest(),
        "opset": OPSET,
        "input_spacing_mm": [2.0, 2.0, 2.0],
        "grid": "lps",
        "intensity": {"clip_hu": [-1000.0, 2000.0], "subtract": 0.0, "divide": 1000.0},
        "patch_size": [16, 16, 16],
        "output_kind": "logits",
        "labels": LABELS,
        "intended_use": "tests",
        "training_data": "none: weights set by hand",
    }
    manifest.update(overrides)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def linear_model(labels: int, seed: int = 0,
                 patch: tuple[int, int, int] | None = None) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(labels, 1, 1, 1, 1)).astype(np.float32)
    bias = rng.normal(size=labels).astype(np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["scores"], kernel_shape=[1, 1, 1])
    return _model([node], [numpy_helper.from_array(weight, "w"),
                           numpy_helper.from_array(bias, "b")], labels, patch)


def shifted_threshold_model(threshold: float, gain: float = 50.0) -> onnx.ModelProto:
    kernel = np.zeros((2, 1, 3, 1, 1), np.float32)
    kernel[1, 0, 2, 0, 0] = gain  # the voxel at k + 1
    bias = np.array([0.0, -gain * threshold], np.float32)
    node = helper.make_node("Conv", ["image", "w", "b"], ["scores"], kernel_shape=[3, 1, 1],
                            pads=[1, 0, 0, 1, 0, 0])
    return _model([node], [numpy_helper.from_array(kernel, "w"),
                           numpy_helper.from_array(bias, "b")], 2, None)


def interval_model(low: float, high: float, gain: float = 50.0, middle: int = 1,
                   patch: tuple[int, int, int] | None = None) -> onnx.ModelProto:
    """Three labels by intensity: label ``middle`` (1 or 2) wins for ``low < x < high``, the
    other above ``high``, background below ``low``.  Per-voxel logits: background 0, the
    middle label ``gain (x - low)``, the top label ``gain (x - low) + gain (x - high)``."""
    top = 3 - middle
    weight = np.zeros(3, np.float32)
    bias = np.zeros(3, np.float32)
    weight[middle], bias[middle] = gain, -gain * low
    weight[top], bias[top] = 2.0 * gain, -gain * (low + high)
    weight = weight.reshape(3, 1, 1, 1, 1)
    node = helper.make_node("Conv", ["image", "w", "b"], ["scores"], kernel_shape=[1, 1, 1])
    return _model([node], [numpy_helper.from_array(weight, "w"),
                           numpy_helper.from_array(bias, "b")], 3, patch)


def write_ensemble(folder: Path, models: list[onnx.ModelProto], **overrides: Any) -> Path:
    """A package of these members: the first as ``model.onnx``, the others as
    ``member-2.onnx``, ... listed in the manifest's ``ensemble`` with their SHA-256."""
    write_package(folder, models[0], **overrides)
    members = []
    for number, model in enumerate(models[1:], start=2):
        data = model.SerializeToString()
        (folder / f"member-{number}.onnx").write_bytes(data)
        members.append({"onnx_file": f"member-{number}.onnx",
                        "sha256": hashlib.sha256(data).hexdigest()})
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["ensemble"] = members
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder
