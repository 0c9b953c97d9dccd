"""Helpers shared by the meshing step modules: the scenario context, the analytic label maps
and their NIfTI and NRRD files (written with nibabel and pynrrd, independently of Corridor's
writers), the in-process ``corridor mesh`` runs, and the closed-form volume and area of the
phantoms' shapes (elliptic integrals for the ellipsoid), taken from their manifests.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel
import nrrd
import numpy as np
from numpy.typing import NDArray
from scipy import special

from corridor.images import LabelMap
from corridor_phantoms import make_phantom
from verification.command_run import run_corridor


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    label_map: LabelMap | None = None
    shape_info: dict[str, Any] = field(default_factory=dict)
    points: NDArray[np.float64] | None = None
    triangles: NDArray[np.int64] | None = None
    quality: Any = None
    files: dict[str, Path] = field(default_factory=dict)
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    outs: list[Path] = field(default_factory=list)
    snapshot: dict[str, bytes] = field(default_factory=dict)


def triple(text: str, kind: type = float) -> tuple[Any, Any, Any]:
    """Three numbers of a step's text ("48 48 48")."""
    values = [kind(v) for v in text.split()]
    return values[0], values[1], values[2]


def analytic_map(case: Case, shape_name: str, grid: str, spacing: str, orientation: str) -> None:
    """The phantom's analytic label (value 1) as a label map, and its shape from the manifest."""
    phantom = make_phantom(shape_name, shape=triple(grid, int), spacing=triple(spacing),
                           orientation=orientation)
    labels = (np.asarray(phantom.labels) == 1).astype(np.uint8)
    case.label_map = LabelMap(labels, phantom.geometry, ("background", shape_name))
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


def save_label_map(case: Case, suffix: str) -> Path:
    """Write the label map to ``map<suffix>`` with nibabel (NIfTI) or pynrrd (NRRD) directly.

    Not with Corridor's own writers, so that ``corridor mesh`` is given files that its
    reader did not make for itself.  NIfTI stores RAS: its affine is the label map's LPS
    affine with the x and y rows negated, as sform and qform with code 1 (scanner), in mm.
    NRRD states ``space: left-posterior-superior``, the LPS step of one voxel along i, j
    and k as ``space directions`` (one row per axis) and the LPS centre of voxel (0, 0, 0)
    as ``space origin``.  Both hold the uint8 labels indexed i, j, k.
    """
    assert case.label_map is not None
    labels = np.asarray(case.label_map.labels, dtype=np.uint8)
    lps = np.asarray(case.label_map.geometry.affine, dtype=np.float64)
    path = case.root / f"map{suffix}"
    if suffix == ".nrrd":
        nrrd.write(str(path), labels, {"space": "left-posterior-superior",
                                       "space directions": lps[:3, :3].T,
                                       "space origin": lps[:3, 3],
                                       "kinds": ["domain", "domain", "domain"],
                                       "encoding": "gzip"})
    else:
        assert suffix == ".nii.gz", suffix
        ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
        image = nibabel.Nifti1Image(labels, ras)
        image.set_sform(ras, code=1)
        image.set_qform(ras, code=1)
        image.header.set_xyzt_units("mm")
        nibabel.save(image, path)
    case.files[suffix] = path
    return path


def run_command(case: Case, argv: list[str]) -> None:
    """``corridor ARGV...`` in process, its outcome kept in the context."""
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def mesh_into(case: Case, source: Path, options: str, name: str) -> Path:
    """``corridor mesh SOURCE --out NAME OPTIONS``; the output folder."""
    out = case.root / name
    run_command(case, ["mesh", str(source), "--out", str(out), *shlex.split(options)])
    case.outs.append(out)
    return out


def analytic_volume_area(info: dict[str, Any]) -> tuple[float, float]:
    """Closed-form volume (mm3) and area (mm2) of a sphere, cylinder or ellipsoid."""
    kind = info["type"]
    if kind == "sphere":
        r = info["radius_mm"]
        return 4.0 / 3.0 * math.pi * r**3, 4.0 * math.pi * r**2
    if kind == "cylinder":
        r, h = info["radius_mm"], info["half_length_mm"]
        return math.pi * r * r * 2 * h, 2 * math.pi * r * 2 * h + 2 * math.pi * r * r
    a, b, c = sorted(info["semi_axes_mm"], reverse=True)
    phi = math.acos(c / a)
    m = (a * a * (b * b - c * c)) / (b * b * (a * a - c * c))
    area = 2 * math.pi * c * c + 2 * math.pi * a * b / math.sin(phi) * (
        special.ellipeinc(phi, m) * math.sin(phi) ** 2
        + special.ellipkinc(phi, m) * math.cos(phi) ** 2)
    return 4.0 / 3.0 * math.pi * a * b * c, float(area)
