"""Train, export and package Corridor's reference bone-and-vessel model (PyTorch, CPU is enough).

Reproduce the shipped package (``software/corridor/inference/models/reference-bone-vessel``)::

    pip install -e '.[train]'
    python software/training/train_reference.py --out /tmp/reference-bone-vessel

Data recipe (nothing downloaded): the synthetic pelvis and femur phantoms of
:mod:`corridor_phantoms`, at the seeds, spacings, orientations and patient positions
of :data:`TRAINING_CASES`, each resampled onto the model grid with the same code
inference uses (:func:`corridor.inference.resample.to_model_grid`; labels by nearest
neighbour).  Classes: 0 background (air and soft tissue), 1 bone (cortical and
cancellous), 2 vessel (contrast-filled arteries, the risk structure).  Verification
uses other seeds, spacings and orientations (``verification/features/inference``).

Network: a 3-D U-Net with four levels (8, 16, 32, 64 channels), instance
normalisation and LeakyReLU, trained on random 64^3 patches (a third centred on
vessel, a third on bone) with cross-entropy plus soft Dice, Adam, fixed seed.
Exported to ONNX (opset 17, dynamic batch and spatial axes: any size divisible by 8)
with its manifest; the manifest's ``reproduction`` field records this command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from scipy import ndimage
from torch import nn

from corridor.inference.manifest import GridOrientation
from corridor.inference.resample import model_grid, to_model_grid
from corridor_phantoms import Label, make_phantom

SPACING_MM = (1.5, 1.5, 1.5)
PATCH = 64
CLIP_HU = (-200.0, 1400.0)
SUBTRACT, DIVIDE = 300.0, 300.0
OPSET = 17

TRAINING_CASES: tuple[dict[str, Any], ...] = (
    {"kind": "pelvis", "seed": 1, "spacing": (1.5, 1.5, 2.0), "orientation": "axial",
     "patient_position": "HFS"},
    {"kind": "pelvis", "seed": 2, "spacing": (0.9, 0.9, 1.25), "orientation": "coronal",
     "patient_position": "FFS"},
    {"kind": "pelvis", "seed": 3, "spacing": (1.2, 1.2, 3.0), "orientation": "oblique",
     "patient_position": "HFP"},
    {"kind": "pelvis", "seed": 4, "spacing": (2.0, 2.0, 2.0), "orientation": "axial",
     "patient_position": "FFP"},
    {"kind": "femur", "seed": 1, "spacing": (1.25, 1.25, 2.0), "orientation": "axial",
     "patient_position": "HFS"},
    {"kind": "femur", "seed": 2, "spacing": (0.9, 0.9, 1.25), "orientation": "oblique",
     "patient_position": "FFS"},
    {"kind": "femur", "seed": 3, "spacing": (1.2, 1.2, 3.0), "orientation": "coronal",
     "patient_position": "HFP"},
)
"""Phantoms trained on; the shapes follow from each spacing (the default field of view)."""

_FIELD_OF_VIEW_MM = {"pelvis": (384.0, 384.0, 200.0), "femur": (200.0, 200.0, 240.0)}


def _classes(labels: NDArray[np.integer]) -> NDArray[np.uint8]:
    out = np.zeros(labels.shape, np.uint8)
    out[(labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE)] = 1
    out[labels == Label.VESSEL] = 2
    return out


def prepare_case(case: dict[str, Any]) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """One phantom on the model grid: network input ``(k, j, i)`` and class targets."""
    spacing = case["spacing"]
    fov = _FIELD_OF_VIEW_MM[case["kind"]]
    shape = tuple(round(f / s) for f, s in zip(fov, spacing, strict=True))
    phantom = make_phantom(case["kind"], shape=shape, spacing=spacing,
                           orientation=case["orientation"],
                           patient_position=case["patient_position"], seed=case["seed"])
    geometry = phantom.geometry
    grid = model_grid(geometry, SPACING_MM, GridOrientation.LPS)
    image = to_model_grid(phantom.hu, geometry, grid, outside_hu=CLIP_HU[0])
    np.clip(image, *CLIP_HU, out=image)
    image = (image - SUBTRACT) / DIVIDE
    index = np.linalg.inv(geometry.affine) @ grid.affine
    reverse = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    target = ndimage.affine_transform(_classes(phantom.labels), index[:3, :3] @ reverse,
                                      index[:3, 3], output_shape=grid.shape[::-1], order=0,
                                      mode="constant", cval=0)
    return image.astype(np.float32), target.astype(np.uint8)


class _Block(nn.Sequential):
    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__(
            nn.Conv3d(channels_in, channels_out, 3, padding=1),
            nn.InstanceNorm3d(channels_out, affine=True), nn.LeakyReLU(0.01),
            nn.Conv3d(channels_out, channels_out, 3, padding=1),
            nn.InstanceNorm3d(channels_out, affine=True), nn.LeakyReLU(0.01))


class UNet3D(nn.Module):
    """Four-level 3-D U-Net: input ``(n, 1, k, j, i)``, logits ``(n, classes, k, j, i)``."""

    def __init__(self, classes: int = 3, widths: Sequence[int] = (8, 16, 32, 64)) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        channels = 1
        for width in widths:
            self.down.append(_Block(channels, width))
            channels = width
        self.pool = nn.MaxPool3d(2)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose3d(channels, width, 2, stride=2))
            self.merge.append(_Block(2 * width, width))
            channels = width
        self.head = nn.Conv3d(channels, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, block in enumerate(self.down):
            x = block(x)
            if level < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        logits: torch.Tensor = self.head(x)
        return logits


def _pad(image: NDArray[np.float32], target: NDArray[np.uint8],
         ) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """A case padded by one patch on every side (air, background), so any patch fits."""
    pads = [(PATCH, PATCH)] * 3
    return (np.pad(image, pads, constant_values=(CLIP_HU[0] - SUBTRACT) / DIVIDE),
            np.pad(target, pads))


def _patch(rng: np.random.Generator, image: NDArray[np.float32], target: NDArray[np.uint8],
           ) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """One training patch of a padded case: centred on vessel, on bone or anywhere."""
    choice = rng.integers(3)
    if choice < 2 and np.any(target == choice + 1):
        voxels = np.argwhere(target == choice + 1)
        centre = voxels[rng.integers(len(voxels))]
    else:
        centre = np.array([rng.integers(n - 2 * PATCH) for n in target.shape]) + PATCH
    start = centre - PATCH // 2 + rng.integers(-8, 9, size=3)
    window = tuple(slice(s, s + PATCH) for s in start)
    return image[window], target[window]


def train(out: Path, *, iterations: int, seed: int, threads: int) -> dict[str, Any]:
    """Train, export ``model.onnx`` and write ``manifest.json`` into ``out``."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    cases = [_pad(*prepare_case(case)) for case in TRAINING_CASES]
    print(f"prepared {len(cases)} phantoms in {time.perf_counter() - started:.0f} s", flush=True)
    network = UNet3D()
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3,
                                                   total_steps=iterations)
    weights = torch.tensor([1.0, 1.0, 2.0])
    for step in range(iterations):
        batch = [_patch(rng, *cases[rng.integers(len(cases))]) for _ in range(2)]
        x = torch.from_numpy(np.stack([b[0] for b in batch])[:, None].copy())
        y = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
        logits = network(x)
        probabilities = torch.softmax(logits, dim=1)
        one_hot = nn.functional.one_hot(y, 3).permute(0, 4, 1, 2, 3).float()
        overlap = (probabilities * one_hot).sum(dim=(0, 2, 3, 4))
        dice = (2 * overlap + 1) / (probabilities.sum(dim=(0, 2, 3, 4))
                                     + one_hot.sum(dim=(0, 2, 3, 4)) + 1)
        loss = nn.functional.cross_entropy(logits, y, weight=weights) + (1 - dice[1:].mean())
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        schedule.step()
        if step % 50 == 0 or step == iterations - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  dice bone {dice[1].item():.3f} "
                  f"vessel {dice[2].item():.3f}  {time.perf_counter() - started:.0f} s",
                  flush=True)
    return export(network, out, iterations=iterations, seed=seed)


def export(network: nn.Module, out: Path, *, iterations: int, seed: int) -> dict[str, Any]:
    """Export to ONNX and write the manifest that pins it."""
    out.mkdir(parents=True, exist_ok=True)
    network.eval()
    onnx_path = out / "model.onnx"
    example = torch.zeros(1, 1, PATCH, PATCH, PATCH)
    torch.onnx.export(network, (example,), str(onnx_path), input_names=["image"],
                      output_names=["logits"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"image": {0: "n", 2: "k", 3: "j", 4: "i"},
                                    "logits": {0: "n", 2: "k", 3: "j", 4: "i"}})
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    sct = "SCT"
    manifest = {
        "format": "corridor-model-manifest/1",
        "name": "reference-bone-vessel",
        "version": "1.0.0",
        "onnx_file": "model.onnx",
        "sha256": digest,
        "opset": OPSET,
        "input_spacing_mm": list(SPACING_MM),
        "grid": "lps",
        "intensity": {"clip_hu": list(CLIP_HU), "subtract": SUBTRACT, "divide": DIVIDE,
                      "expected_hu_range": [-1100.0, 3100.0], "max_fraction_outside": 0.01},
        "patch_size": [PATCH, PATCH, PATCH],
        "input_channels": 1,
        "output_kind": "logits",
        "labels": [
            {"index": 0, "name": "background"},
            {"index": 1, "name": "bone",
             "category": {"scheme": sct, "value": "91723000", "meaning": "Anatomical Structure"},
             "type": {"scheme": sct, "value": "272673000", "meaning": "Bone"},
             "min_volume_ml": 10.0},
            {"index": 2, "name": "vessel",
             "category": {"scheme": sct, "value": "91723000", "meaning": "Anatomical Structure"},
             "type": {"scheme": sct, "value": "51114001", "meaning": "Artery"},
             "risk_structure": True, "min_volume_ml": 1.0},
        ],
        "intended_use": (
            "Demonstration and verification of Corridor's inference stage on Corridor's "
            "synthetic pelvis and femur phantoms (contrast-enhanced CT). Not for clinical use: "
            "never trained or tested on patient images."),
        "training_data": (
            f"{len(TRAINING_CASES)} synthetic phantoms from corridor_phantoms (pelvis and femur; "
            "seeds 1-4; spacings 0.9-2.0 mm in-plane, 1.25-3.0 mm slices; axial, coronal and "
            "oblique planes; HFS, FFS, HFP, FFP), resampled to 1.5 mm; random 64^3 patches, "
            f"{iterations} iterations of batch 2, seed {seed}."),
        "reproduction": (
            f"python software/training/train_reference.py --out DIR --iterations {iterations} "
            f"--seed {seed} (torch {torch.__version__}, CPU)"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="model package folder to write")
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    manifest = train(args.out, iterations=args.iterations, seed=args.seed, threads=args.threads)
    print(f"wrote {args.out} (sha256 {manifest['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
