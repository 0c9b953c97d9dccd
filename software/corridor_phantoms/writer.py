"""Writing a phantom as a DICOM series beside its ground truth, with planted faults.

Layout of the output folder::

    OUT/dicom/               the series (and what the faults add)
    OUT/truth/hu.npy         int16 [i, j, k]: the HU the series encodes (padding -3024)
    OUT/truth/labels.npy     uint8 [i, j, k]
    OUT/truth/labels.seg.nrrd  the same labels with geometry (LPS) and names
    OUT/truth/landmarks.json named anatomical points (LPS mm)
    OUT/truth/padding.npy    bool [i, j, k]: outside the reconstruction field of view
    OUT/truth/geometry.json  affine (voxel index → LPS mm), shape, Frame of Reference UID
    OUT/truth/manifest.json  the phantom's manifest, the series' UIDs and files, the faults

Everything is written into a hidden sibling folder first and renamed into place
at the end, so a failure leaves no half-written output.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nrrd
import numpy as np
from numpy.typing import NDArray

from corridor_phantoms.dicom import (
    MIN_JPEG2000_SIZE,
    PIXEL_PADDING_VALUE,
    RESCALE_INTERCEPT,
    Image,
    SeriesHeader,
    basic_text_sr,
    ct_image,
    enhanced_ct_image,
    require_encodable,
    serialise,
    transfer_syntax_uid,
)
from corridor_phantoms.enum import Fault, PhantomKind, TransferSyntax
from corridor_phantoms.errors import OutputExistsError, PhantomError
from corridor_phantoms.faint import DEFAULT_FAINT_VESSELS, FaintVessel, plant_faint_vessel
from corridor_phantoms.grid import (
    DEFAULT_GANTRY_TILT_DEG,
    VARIABLE_SPACING_FACTOR,
    VARIABLE_SPACING_SUBDIVISION,
    variable_spacing_slices,
)
from corridor_phantoms.model import HU_MAX, HU_MIN, PADDING_HU, Phantom, SeriesWritten
from corridor_phantoms.phantom import derived_uid, make_phantom, parse_choice

__all__ = ["write_series"]

_log = logging.getLogger(__name__)

_FAULT_STREAM = 0xFA_017
"""Second seed word of the random stream that picks fault slices and names."""

_MANIFEST_KEYS = ("kind", "seed", "request", "request_sha256", "geometry", "field_of_view")
"""Manifest keys :func:`write_series` reads (every phantom from make_phantom has them)."""

_IMAGE_TYPE = ("ORIGINAL", "PRIMARY", "AXIAL")
_LOCALIZER_TYPE = ("ORIGINAL", "PRIMARY", "LOCALIZER")
_TEXT_FILE = "notes.txt"


@dataclass(slots=True)
class _Planned:
    """One file to write: its role, identity and how to make its bytes."""

    role: str
    sop_instance_uid: str | None
    slices: tuple[int, ...]
    make: Callable[[], bytes]
    name: str = ""
    truncate: bool = False


def _faults(faults: Iterable[Fault | str]) -> tuple[Fault, ...]:
    if isinstance(faults, str | Fault):
        faults = [faults]
    chosen = {parse_choice(Fault, f, "faults") for f in faults}
    return tuple(f for f in Fault if f in chosen)


def _iop(row: NDArray[np.float64],
         column: NDArray[np.float64]) -> tuple[float, float, float, float, float, float]:
    """Image Orientation (Patient): along a row, then down a column (unit vectors, LPS)."""
    return (float(row[0]), float(row[1]), float(row[2]),
            float(column[0]), float(column[1]), float(column[2]))


def _slice_image(phantom: Phantom, k: int, instance_number: int) -> Image:
    geometry = phantom.geometry
    direction = geometry.direction
    ipp = geometry.index_to_lps([0.0, 0.0, float(k)])
    spacing_i, spacing_j, _ = geometry.spacing
    pixels = (phantom.hu[:, :, k].T.astype(np.int32) - RESCALE_INTERCEPT).astype(np.int16)
    return Image(
        pixels=pixels,
        image_position_patient=(float(ipp[0]), float(ipp[1]), float(ipp[2])),
        image_orientation_patient=_iop(direction[:, 0], direction[:, 1]),
        pixel_spacing=(spacing_j, spacing_i),
        instance_number=instance_number,
    )


def _localizer_image(phantom: Phantom, instance_number: int) -> Image:
    """A projection through j (mean HU of the field of view), in the plane of i and k.

    Each slice gives ``m = ceil(32 / nk)`` rows (one when there are 32 slices or
    more), so the image always has the 32 rows the JPEG 2000 encoder needs; the
    row spacing and first position follow.
    """
    geometry = phantom.geometry
    ni, nj, nk = geometry.shape
    repeat = max(1, math.ceil(MIN_JPEG2000_SIZE / nk))
    projection = np.full((nk, ni), float(HU_MIN))
    for k in range(nk):
        column = phantom.hu[:, :, k]
        valid = column != PADDING_HU
        count = valid.sum(axis=1)
        total = np.where(valid, column, 0).sum(axis=1, dtype=np.int64)
        projection[k] = np.where(count > 0, total / np.maximum(count, 1), float(HU_MIN))
    hu = np.repeat(np.clip(np.rint(projection), HU_MIN, HU_MAX), repeat, axis=0)
    direction = geometry.direction
    first_row = -0.5 + 0.5 / repeat
    ipp = geometry.index_to_lps([0.0, (nj - 1) / 2.0, first_row])
    spacing_i, _, spacing_k = geometry.spacing
    return Image(
        pixels=(hu - RESCALE_INTERCEPT).astype(np.int16),
        image_position_patient=(float(ipp[0]), float(ipp[1]), float(ipp[2])),
        image_orientation_patient=_iop(direction[:, 0], direction[:, 2]),
        pixel_spacing=(spacing_k / repeat, spacing_i),
        instance_number=instance_number,
    )


def _check_target(out: Path, overwrite: bool) -> None:
    occupied = out.is_symlink() or out.is_file() or (out.is_dir() and any(out.iterdir()))
    if occupied and not overwrite:
        raise OutputExistsError(str(out))


def _publish(temp: Path, out: Path, overwrite: bool) -> None:
    """Rename ``temp`` to ``out``; an existing ``out`` is replaced only when ``overwrite``."""
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        out.rmdir()
    elif out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputExistsError(str(out))
        backup = out.with_name(f".{out.name}.{uuid.uuid4().hex}.old")
        os.replace(out, backup)
        os.replace(temp, out)
        if backup.is_dir() and not backup.is_symlink():
            shutil.rmtree(backup)
        else:
            backup.unlink()
        return
    os.replace(temp, out)


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _lps(values: Any) -> list[float]:
    return [float(v) for v in values]


class _SeriesPlan:
    """Decides every file of the output, and what the manifest says about them."""

    def __init__(self, phantom: Phantom, faults: tuple[Fault, ...], syntax: TransferSyntax,
                 enhanced: bool, nominal: tuple[int, ...] | None = None,
                 faint: dict[str, Any] | None = None) -> None:
        manifest = phantom.manifest
        missing = [key for key in _MANIFEST_KEYS if key not in manifest]
        if missing or phantom.geometry.frame_of_reference_uid is None:
            raise PhantomError("phantom", f"a manifest without {missing} or a geometry without "
                               "a Frame of Reference UID", "a phantom made by make_phantom")
        self.phantom = phantom
        self.faults = faults
        self.syntax = syntax
        self.enhanced = enhanced
        self.digest = str(manifest["request_sha256"])
        self.seed = int(manifest["seed"])
        self.rng = np.random.default_rng([self.seed, _FAULT_STREAM])
        self.files: list[_Planned] = []
        self.fault_report: dict[str, Any] = {}
        if faint is not None:
            self.fault_report[Fault.FAINT_VESSEL] = faint
        geometry = phantom.geometry
        self.nominal = tuple(range(geometry.shape[2])) if nominal is None else nominal
        """Truth slices the series holds before ``missing-slice`` (all, unless
        ``variable-spacing`` chose some)."""
        self.instance = {k: n + 1 for n, k in enumerate(self.nominal)}
        """Instance Number of each truth slice written (``k + 1`` unless ``variable-spacing``)."""
        kind = str(manifest["kind"])
        tilt = float(manifest["request"]["gantry_tilt_deg"])
        gap = float(manifest["geometry"]["slice_gap_mm"])
        if Fault.VARIABLE_SPACING in faults:
            gap *= VARIABLE_SPACING_SUBDIVISION
        self.header = SeriesHeader(
            study_instance_uid=derived_uid(self.digest, "study"),
            series_instance_uid=derived_uid(self.digest, "series", 1),
            frame_of_reference_uid=str(geometry.frame_of_reference_uid),
            series_number=1,
            series_description=f"Phantom {kind} seed {self.seed}",
            patient_name=f"PHANTOM^{kind.upper()}",
            patient_id=f"PHANTOM-{self.seed:04d}",
            patient_position=str(manifest["request"]["patient_position"]),
            gantry_tilt_deg=tilt,
            slice_thickness_mm=gap,
            reconstruction_diameter_mm=2.0 * float(manifest["field_of_view"]["radius_mm"]),
        )
        self._plan()

    # -- planning -------------------------------------------------------------------------

    def _pick_slices(self) -> dict[Fault, int]:
        """Distinct interior slices for the faults that need one."""
        wanted = [f for f in (Fault.MISSING_SLICE, Fault.DUPLICATE_SLICE, Fault.TRUNCATED_FILE)
                  if f in self.faults and not (f is Fault.TRUNCATED_FILE and self.enhanced)]
        nk = len(self.nominal)
        if len(wanted) + 2 > nk:
            raise PhantomError("faults", [f.value for f in self.faults],
                               f"at least {len(wanted) + 2} slices for them (the phantom has {nk})")
        interior = np.asarray(self.nominal[1:-1])
        chosen = self.rng.choice(interior, size=len(wanted), replace=False)
        return {fault: int(k) for fault, k in zip(wanted, chosen, strict=True)}

    def _plan(self) -> None:
        phantom, header = self.phantom, self.header
        nk = phantom.geometry.shape[2]
        picks = self._pick_slices()
        missing = picks.get(Fault.MISSING_SLICE)
        duplicate = picks.get(Fault.DUPLICATE_SLICE)
        self.written = tuple(k for k in self.nominal if k != missing)
        if self.enhanced:
            self._plan_enhanced(duplicate)
        else:
            for k in self.written:
                uid = derived_uid(self.digest, "slice", k)
                self.files.append(self._classic(header, k, self.instance[k], uid, "slice"))
            if duplicate is not None:
                uid = derived_uid(self.digest, "duplicate", duplicate)
                self.files.append(self._classic(header, duplicate, self.instance[duplicate],
                                                uid, "duplicate"))
        if missing is not None:
            self.fault_report[Fault.MISSING_SLICE] = {
                "k": missing,
                "image_position_patient": _lps(phantom.geometry.index_to_lps([0, 0, missing])),
                "sop_instance_uid_not_written": (None if self.enhanced
                                                 else derived_uid(self.digest, "slice", missing)),
                "what": "this slice (frame, when enhanced) is absent; the truth still holds it",
            }
        if duplicate is not None:
            classic = not self.enhanced
            self.fault_report[Fault.DUPLICATE_SLICE] = {
                "k": duplicate,
                "image_position_patient": _lps(phantom.geometry.index_to_lps([0, 0, duplicate])),
                "what": ("a second frame at this position with identical pixels" if self.enhanced
                         else "a second file at this position, same Instance Number, new SOP "
                              "Instance UID, identical pixels"),
                "sop_instance_uid": (derived_uid(self.digest, "duplicate", duplicate)
                                     if classic else None),
                "duplicates_sop_instance_uid": (derived_uid(self.digest, "slice", duplicate)
                                                if classic else None),
            }
        if Fault.TRUNCATED_FILE in self.faults:
            self._plan_truncated(picks.get(Fault.TRUNCATED_FILE))
        if Fault.LOCALIZER in self.faults:
            self._plan_localizer(nk + 1)
        if Fault.MIXED_SERIES in self.faults:
            self._plan_mixed_series()
        if Fault.NON_CT_FILES in self.faults:
            self._plan_non_ct()
        if Fault.GANTRY_TILT in self.faults:
            geometry = phantom.geometry
            self.fault_report[Fault.GANTRY_TILT] = {
                "gantry_tilt_deg": header.gantry_tilt_deg,
                "slice_step_lps_mm": _lps(geometry.affine[:3, 2]),
                "image_normal_lps": _lps(np.cross(geometry.direction[:, 0],
                                                  geometry.direction[:, 1])),
                "slice_gap_mm": header.slice_thickness_mm,
                "what": "image plane turned about i by the tilt; slices step along the table, "
                        "so the truth affine is sheared (k not normal to the image plane)",
            }
        if Fault.VARIABLE_SPACING in self.faults:
            self._report_variable_spacing()
        self._name_files()

    def _classic(self, header: SeriesHeader, k: int, instance: int, uid: str,
                 role: str) -> _Planned:
        phantom, syntax = self.phantom, self.syntax

        def make() -> bytes:
            image = _slice_image(phantom, k, instance)
            return serialise(ct_image(header, image, uid, _IMAGE_TYPE), image.pixels, syntax)

        return _Planned(role, uid, (k,), make)

    def _enhanced_file(self, header: SeriesHeader, frames: tuple[int, ...], uid: str,
                       role: str) -> _Planned:
        phantom, syntax = self.phantom, self.syntax

        def make() -> bytes:
            images = [_slice_image(phantom, k, self.instance[k]) for k in frames]
            ds = enhanced_ct_image(header, images, uid, (*_IMAGE_TYPE, "NONE"), 1)
            return serialise(ds, np.stack([image.pixels for image in images]), syntax)

        return _Planned(role, uid, frames, make)

    def _plan_enhanced(self, duplicate: int | None) -> None:
        frames = list(self.written)
        if duplicate is not None:
            frames.append(duplicate)
        if Fault.SHUFFLED_ORDER in self.faults:
            frames = [frames[n] for n in self.rng.permutation(len(frames))]
        uid = derived_uid(self.digest, "enhanced", 1)
        self.files.append(self._enhanced_file(self.header, tuple(frames), uid, "slice"))

    def _report_variable_spacing(self) -> None:
        geometry = self.phantom.geometry
        normal = np.cross(geometry.direction[:, 0], geometry.direction[:, 1])
        truth_gap = float(geometry.affine[:3, 2] @ normal)
        positions = [k * truth_gap for k in self.nominal]
        self.fault_report[Fault.VARIABLE_SPACING] = {
            "slices_of_truth": list(self.nominal),
            "slice_positions_mm": positions,
            "slice_gaps_mm": [b - a for a, b in itertools.pairwise(positions)],
            "factor": VARIABLE_SPACING_FACTOR,
            "truth_slices_per_step": VARIABLE_SPACING_SUBDIVISION,
            "what": "the first half of the slices step the requested spacing, the rest "
                    f"{VARIABLE_SPACING_FACTOR} times it; the truth grid steps 1/"
                    f"{VARIABLE_SPACING_SUBDIVISION} of it, and each written slice is the truth "
                    "slice in slices_of_truth (positions along the normal from the first)",
        }

    def _plan_truncated(self, k: int | None) -> None:
        target = (self.files[0] if self.enhanced
                  else next(f for f in self.files if f.role == "slice" and f.slices == (k,)))
        target.truncate = True
        self.fault_report[Fault.TRUNCATED_FILE] = {
            "k": None if self.enhanced else k,
            "sop_instance_uid": target.sop_instance_uid,
            "what": "the file is cut to half its length (the truth still holds its slices)",
        }

    def _plan_localizer(self, instance: int) -> None:
        phantom, header, syntax, enhanced = self.phantom, self.header, self.syntax, self.enhanced
        uid = derived_uid(self.digest, "localizer")
        image = _localizer_image(phantom, instance)

        def make() -> bytes:
            if enhanced:
                ds = enhanced_ct_image(header, [image], uid, (*_LOCALIZER_TYPE, "NONE"), 2)
                return serialise(ds, image.pixels[None], syntax)
            return serialise(ct_image(header, image, uid, _LOCALIZER_TYPE), image.pixels, syntax)

        self.files.append(_Planned("localizer", uid, (), make))
        rows, columns = image.pixels.shape
        self.fault_report[Fault.LOCALIZER] = {
            "sop_instance_uid": uid,
            "image_type": "\\".join(_LOCALIZER_TYPE),
            "instance_number": None if enhanced else instance,
            "image_orientation_patient": list(image.image_orientation_patient),
            "image_position_patient": list(image.image_position_patient),
            "pixel_spacing": list(image.pixel_spacing),
            "rows": rows,
            "columns": columns,
            "what": "one extra image in the same series: a projection through j (mean HU) in "
                    "the plane of i and k, orthogonal to the slices",
        }

    def _plan_mixed_series(self) -> None:
        header = self.header
        slices = self.nominal[::2]
        other = SeriesHeader(
            study_instance_uid=header.study_instance_uid,
            series_instance_uid=derived_uid(self.digest, "series", 2),
            frame_of_reference_uid=header.frame_of_reference_uid,
            series_number=2,
            series_description=header.series_description + " every 2nd slice",
            patient_name=header.patient_name,
            patient_id=header.patient_id,
            patient_position=header.patient_position,
            gantry_tilt_deg=header.gantry_tilt_deg,
            slice_thickness_mm=2.0 * header.slice_thickness_mm,
            reconstruction_diameter_mm=header.reconstruction_diameter_mm,
        )
        uids: list[str] = []
        if self.enhanced:
            uid = derived_uid(self.digest, "enhanced", 2)
            uids.append(uid)
            self.files.append(self._enhanced_file(other, slices, uid, "mixed-series"))
        else:
            for number, k in enumerate(slices, start=1):
                uid = derived_uid(self.digest, "series-2-slice", k)
                uids.append(uid)
                self.files.append(self._classic(other, k, number, uid, "mixed-series"))
        affine = np.array(self.phantom.geometry.affine)
        affine[:3, 2] *= 2.0
        regular = Fault.VARIABLE_SPACING not in self.faults
        self.fault_report[Fault.MIXED_SERIES] = {
            "series_instance_uid": other.series_instance_uid,
            "series_number": 2,
            "slices_of_truth": list(slices),
            "affine": affine.tolist() if regular else None,
            "shape": [*self.phantom.geometry.shape[:2], len(slices)],
            "sop_instance_uids": uids,
            "what": "a second CT series of the same study and frame of reference in the same "
                    "folder: every second slice of the series (truth hu[:, :, ::2] unless "
                    "variable-spacing, whose second series has no single affine)",
        }

    def _plan_non_ct(self) -> None:
        header = self.header
        uid = derived_uid(self.digest, "structured-report")
        sr_header = SeriesHeader(
            study_instance_uid=header.study_instance_uid,
            series_instance_uid=derived_uid(self.digest, "series", 99),
            frame_of_reference_uid=header.frame_of_reference_uid,
            series_number=99,
            series_description="Phantom report",
            patient_name=header.patient_name,
            patient_id=header.patient_id,
            patient_position=header.patient_position,
            gantry_tilt_deg=0.0,
            slice_thickness_mm=header.slice_thickness_mm,
            reconstruction_diameter_mm=header.reconstruction_diameter_mm,
        )
        self.files.append(_Planned("structured-report", uid, (),
                                   lambda: serialise(basic_text_sr(sr_header, uid), None)))
        text = b"Synthetic phantom written by corridor_phantoms. Not patient data.\n"
        self.files.append(_Planned("text", None, (), lambda: text, name=_TEXT_FILE))
        self.fault_report[Fault.NON_CT_FILES] = {
            "text_file": f"dicom/{_TEXT_FILE}",
            "structured_report_sop_instance_uid": uid,
            "structured_report_series_instance_uid": sr_header.series_instance_uid,
            "what": "a plain text file and a Basic Text SR (no pixel data) in the folder",
        }

    def _name_files(self) -> None:
        dicom_files = [f for f in self.files if not f.name]
        if Fault.SHUFFLED_ORDER in self.faults:
            names: set[str] = set()
            while len(names) < len(dicom_files):
                names.add(f"{int(self.rng.integers(0, 2**32)):08X}")
            drawn = sorted(names)
            order = self.rng.permutation(len(drawn))
            for planned, n in zip(dicom_files, order, strict=True):
                planned.name = drawn[n]
            self.fault_report[Fault.SHUFFLED_ORDER] = {
                "what": "files have random 8-hex-digit names without extension, so their "
                        "sorted order is not the slice order"
                        + ("; the frames are stored in random order" if self.enhanced else ""),
            }
        else:
            width = max(4, len(str(len(dicom_files))))
            for number, planned in enumerate(dicom_files, start=1):
                planned.name = f"CT{number:0{width}d}.dcm"

    # -- writing --------------------------------------------------------------------------

    def write(self, folder: Path) -> list[dict[str, Any]]:
        """Write every file into ``folder``; the manifest's list of files."""
        folder.mkdir()
        listing = []
        for planned in self.files:
            data = planned.make()
            full = len(data)
            if planned.truncate:
                data = data[: full // 2]
            (folder / planned.name).write_bytes(data)
            entry: dict[str, Any] = {"path": f"dicom/{planned.name}", "role": planned.role,
                                     "sop_instance_uid": planned.sop_instance_uid,
                                     "slices": list(planned.slices), "bytes": len(data)}
            if planned.truncate:
                entry["truncated_from_bytes"] = full
                self.fault_report[Fault.TRUNCATED_FILE]["path"] = entry["path"]
            listing.append(entry)
        return listing

    def series_manifest(self, listing: list[dict[str, Any]]) -> dict[str, Any]:
        """The ``series`` section of the manifest."""
        header = self.header
        return {
            "study_instance_uid": header.study_instance_uid,
            "series_instance_uid": header.series_instance_uid,
            "frame_of_reference_uid": header.frame_of_reference_uid,
            "series_number": header.series_number,
            "series_description": header.series_description,
            "patient_name": header.patient_name,
            "patient_id": header.patient_id,
            "sop_class_uid": ("1.2.840.10008.5.1.4.1.1.2.1" if self.enhanced
                              else "1.2.840.10008.5.1.4.1.1.2"),
            "enhanced": self.enhanced,
            "transfer_syntax": self.syntax.value,
            "transfer_syntax_uid": str(transfer_syntax_uid(self.syntax)),
            "lossless": self.syntax.lossless,
            "pixels": {"bits_allocated": 16, "bits_stored": 16, "pixel_representation": 1,
                       "rescale_intercept": RESCALE_INTERCEPT, "rescale_slope": 1,
                       "pixel_padding_value": PIXEL_PADDING_VALUE,
                       "padding_hu": PADDING_HU,
                       "slice_pixels": "[row, column] = hu[:, :, k].T - rescale_intercept"},
            "slices_written": list(self.written),
            "files": listing,
        }


def _geometry_json(phantom: Phantom) -> dict[str, Any]:
    geometry = phantom.geometry
    return {
        "affine": geometry.affine.tolist(),
        "shape": list(geometry.shape),
        "spacing_mm": list(geometry.spacing),
        "frame_of_reference_uid": geometry.frame_of_reference_uid,
        "convention": "affine maps voxel index (i, j, k, 1) to LPS mm; i = column, j = row, "
                      "k = slice; arrays are indexed [i, j, k]",
    }


def _tilted(phantom: Phantom) -> Phantom:
    request = dict(phantom.manifest.get("request", {}))
    if not request:
        raise PhantomError("phantom", "a manifest without request", "a phantom made by "
                           "make_phantom (gantry-tilt re-samples it on a tilted grid)")
    if float(request["gantry_tilt_deg"]) != 0.0:
        return phantom
    request["gantry_tilt_deg"] = DEFAULT_GANTRY_TILT_DEG
    return make_phantom(**request)


def _variable_spacing(phantom: Phantom) -> tuple[Phantom, tuple[int, ...]]:
    """The phantom re-made on a truth grid fine enough for a variable-spacing series.

    Same request, but k spacing divided by
    :data:`~corridor_phantoms.grid.VARIABLE_SPACING_SUBDIVISION` and as many slices as
    :func:`~corridor_phantoms.grid.variable_spacing_slices` needs; returns it and the truth
    slices to write.
    """
    request = dict(phantom.manifest.get("request", {}))
    if not request:
        raise PhantomError("phantom", "a manifest without request", "a phantom made by "
                           "make_phantom (variable-spacing re-samples it on a finer grid)")
    shape, spacing = list(request["shape"]), list(request["spacing"])
    slices = variable_spacing_slices(int(shape[2]))
    request["shape"] = [int(shape[0]), int(shape[1]), slices[-1] + 1]
    request["spacing"] = [float(spacing[0]), float(spacing[1]),
                          float(spacing[2]) / VARIABLE_SPACING_SUBDIVISION]
    return make_phantom(**request), slices


def _write_label_nrrd(path: Path, phantom: Phantom, labels: dict[str, Any]) -> None:
    """The label map as NRRD in LPS, each label named as 3D Slicer names segments."""
    affine = phantom.geometry.affine
    header: dict[str, Any] = {
        "space": "left-posterior-superior",
        "space directions": affine[:3, :3].T,
        "space origin": affine[:3, 3],
        "encoding": "gzip",
    }
    for number, (value, entry) in enumerate(sorted(labels.items(), key=lambda e: int(e[0]))):
        if int(value) == 0:
            continue
        header[f"Segment{number}_ID"] = entry["name"]
        header[f"Segment{number}_Name"] = entry["name"]
        header[f"Segment{number}_LabelValue"] = str(int(value))
        header[f"Segment{number}_Layer"] = "0"
    nrrd.write(str(path), np.asarray(phantom.labels, dtype=np.uint8), header,
               compression_level=1)
    # pynrrd stamps the header with the clock ("# on <date>"); the truth must be the same
    # bytes for the same request, so that comment line goes.
    head, blank, body = path.read_bytes().partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.startswith(b"# on ")]
    path.write_bytes(b"\n".join(kept) + blank + body)


def write_series(
    phantom: Phantom,
    out_dir: str | os.PathLike[str],
    *,
    faults: Iterable[Fault | str] = (),
    transfer_syntax: TransferSyntax | str = TransferSyntax.EXPLICIT_LITTLE_ENDIAN,
    enhanced: bool = False,
    overwrite: bool = False,
    faint_vessel: FaintVessel | None = None,
) -> SeriesWritten:
    """Write a phantom as a DICOM CT series, with its ground truth beside it.

    Parameters
    ----------
    phantom
        A phantom from :func:`~corridor_phantoms.make_phantom`.
    out_dir
        Output folder: must not exist or be empty, unless ``overwrite``.  Gets
        ``dicom/`` (the series) and ``truth/`` (``hu.npy``, ``labels.npy``,
        ``padding.npy``, ``geometry.json``, ``manifest.json``).
    faults
        Deviations to plant (:class:`~corridor_phantoms.Fault` or their names);
        they combine, and ``truth/manifest.json`` records what each did.  With
        ``gantry-tilt`` a phantom made without tilt is re-made with
        :data:`~corridor_phantoms.grid.DEFAULT_GANTRY_TILT_DEG`, and with
        ``variable-spacing`` on a truth grid 4 times finer along k, of which the
        series holds the slices
        :func:`~corridor_phantoms.grid.variable_spacing_slices` names (see
        :attr:`SeriesWritten.phantom` and :attr:`SeriesWritten.slices`).  With
        ``faint-vessel`` the segment ``faint_vessel`` (default: the kind's in
        :data:`~corridor_phantoms.faint.DEFAULT_FAINT_VESSELS`) is planted in the truth and
        the series, on the grid the series is written from.
    transfer_syntax
        A :class:`~corridor_phantoms.TransferSyntax` or its name: the native
        ``explicit-little-endian``, ``implicit-little-endian``, ``explicit-big-endian``
        and ``deflated`` (pydicom's writer), ``rle`` (pydicom's encoder),
        ``jpeg2000-lossless`` and lossy ``jpeg2000`` (pylibjpeg-openjpeg),
        ``jpegls-lossless`` and lossy ``jpegls-near-lossless`` (pyjpegls), or
        ``jpeg-lossless`` and ``jpeg-lossless-sv1`` (python-gdcm).  A lossy series
        encodes the ground truth only within the codec's error (manifest
        ``series.lossless``).
    enhanced
        One Enhanced CT Image Storage multi-frame file instead of one CT Image
        Storage file a slice.
    overwrite
        Replace an existing, non-empty ``out_dir`` (only once the new output is complete).
    faint_vessel
        Where and how faint the ``faint-vessel`` fault's segment is; only with that fault.

    Returns
    -------
    SeriesWritten
        Paths, UIDs and the manifest written.

    Raises
    ------
    PhantomError
        A fault or syntax that is not one of the choices, too few slices for the
        faults asked for, ``faint_vessel`` without its fault, or ``faint-vessel`` on an
        analytic phantom or off its grid.
    EncoderUnavailableError
        The encoder of ``transfer_syntax`` is not installed (names the package).
    OutputExistsError
        ``out_dir`` exists, is not empty, and ``overwrite`` is false.
    """
    chosen = _faults(faults)
    syntax = parse_choice(TransferSyntax, transfer_syntax, "transfer_syntax")
    require_encodable(syntax, phantom.geometry.shape[1], phantom.geometry.shape[0])
    out = Path(os.path.abspath(out_dir))
    _check_target(out, overwrite)
    if Fault.GANTRY_TILT in chosen:
        phantom = _tilted(phantom)
    nominal = None
    if Fault.VARIABLE_SPACING in chosen:
        phantom, nominal = _variable_spacing(phantom)
    faint = None
    if Fault.FAINT_VESSEL in chosen:
        kind = parse_choice(PhantomKind, phantom.manifest.get("kind"), "kind")
        vessel = faint_vessel or DEFAULT_FAINT_VESSELS.get(kind)
        if vessel is None:
            raise PhantomError("faults", Fault.FAINT_VESSEL.value,
                               "an anatomical phantom (pelvis or femur) for a faint vessel")
        phantom, faint = plant_faint_vessel(phantom, vessel)
    elif faint_vessel is not None:
        raise PhantomError("faint_vessel", faint_vessel.to_json(),
                           f"no segment unless the fault {Fault.FAINT_VESSEL.value} is planted")
    plan = _SeriesPlan(phantom, chosen, syntax, bool(enhanced), nominal, faint)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    temp.mkdir()
    try:
        listing = plan.write(temp / "dicom")
        manifest = plan.phantom.to_json()
        manifest["series"] = plan.series_manifest(listing)
        manifest["faults"] = {fault.value: plan.fault_report[fault] for fault in chosen}
        manifest["truth"] = {
            "hu": "truth/hu.npy: int16 [i, j, k] (Fortran order), the HU the series encodes "
                  f"(stored value + {RESCALE_INTERCEPT}"
                  + ("" if plan.syntax.lossless else
                     f", before the lossy {plan.syntax.value} compression")
                  + f"); {PADDING_HU} marks padding outside the field of view",
            "labels": "truth/labels.npy: uint8 [i, j, k], label at each voxel centre",
            "padding": "truth/padding.npy: bool [i, j, k], true outside the reconstruction "
                       "field of view (stored Pixel Padding Value)",
            "geometry": "truth/geometry.json: affine from voxel index (i, j, k) to LPS mm",
            "labels_nrrd": "truth/labels.seg.nrrd: the labels with their geometry (LPS) and "
                           "names (3D Slicer segmentation fields Segment<n>_Name, "
                           "Segment<n>_LabelValue), readable by corridor mesh and "
                           "corridor plan-trajectory",
            "landmarks": "truth/landmarks.json: named anatomical points (LPS mm), exact",
        }
        truth = temp / "truth"
        truth.mkdir()
        np.save(truth / "hu.npy", plan.phantom.hu)
        np.save(truth / "labels.npy", plan.phantom.labels)
        np.save(truth / "padding.npy", plan.phantom.padding)
        (truth / "geometry.json").write_bytes(_json_bytes(_geometry_json(plan.phantom)))
        (truth / "manifest.json").write_bytes(_json_bytes(manifest))
        _write_label_nrrd(truth / "labels.seg.nrrd", plan.phantom, manifest["labels"])
        landmarks = manifest["anatomy"].get("landmarks", [])
        (truth / "landmarks.json").write_bytes(_json_bytes({"landmarks": landmarks}))
        _publish(temp, out, overwrite)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _log.debug("wrote %d files to %s", len(listing), out)
    dicom = out / "dicom"
    slice_files = [f for f in plan.files if f.role == "slice"]
    slice_files.sort(key=lambda f: min(f.slices))
    return SeriesWritten(
        out_dir=out,
        paths=tuple(sorted(dicom / f.name for f in plan.files)),
        slice_paths=tuple(dicom / f.name for f in slice_files),
        series_instance_uid=plan.header.series_instance_uid,
        sop_instance_uids=tuple(str(f.sop_instance_uid) for f in slice_files),
        slices=plan.written,
        phantom=plan.phantom,
        manifest=manifest,
    )
