"""Step definitions of ``features/robustness/fuzz.feature``: the fuzz sweep of the device's
input families (model packages, procedure templates, landmarks, label maps, batch CSVs).

Each family has a seed (a valid input) and a hypothesis strategy damaging it; each example is
written into a fresh scratch folder and given to the real command, in process
(:func:`verification.robustness.helpers.probe`).  Oracle: the exit statuses each command's
help and the README document (written in the feature file, not taken from the code), no
traceback, the memory and time bounds and an unchanged scratch folder after a refusal
(:func:`verification.robustness.helpers.check_refusal`).

The seeds: the shipped reference model package; the analytic pin procedure and its bone and
vessel cylinder phantom of the planning tests (a plan takes under a second); a landmarks file;
that phantom as NIfTI and NRRD (its bone meshed); a DICOM SEG of an ellipsoid over a small CT
series; a batch CSV of one case with the pelvis
phantom's landmarks.  The batch family runs the real CSV
reading and checks, with the process pool replaced by one that runs no case (the sweep is of
the CSV, and a case run is seconds of planning that the case scenarios already verify).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st
from pytest_bdd import given as bdd_given
from pytest_bdd import parsers, scenarios, then

import corridor
from corridor.images import write_nifti_ras, write_nrrd_lps
from corridor_phantoms.anatomy import PhantomKind, build_anatomy
from verification.planning.phantoms import Cylinder, phantom, procedure_document
from verification.robustness.helpers import (
    Family,
    json_values,
    mutated_bytes,
    mutated_json,
    mutated_text,
    statuses,
    sweep_family,
    write_input,
)

scenarios("robustness/fuzz.feature")

MODEL = Path(corridor.__file__).parent / "inference" / "models" / "reference-bone-vessel"
LABEL_NAMES = "background,bone,vessel"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The valid inputs, written once for the module (read only)."""
    root = tmp_path_factory.mktemp("seeds")
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    label_map = phantom(bone, [Cylinder((20.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0)],
                        (2.0, 2.0, 2.0))
    write_nifti_ras(label_map, root / "labels.nii")
    write_nifti_ras(label_map, root / "labels.nii.gz")
    write_nrrd_lps(label_map, root / "labels.nrrd")
    (root / "procedure.yaml").write_text(yaml.safe_dump(procedure_document()))
    (root / "landmarks.json").write_text(json.dumps({"landmarks": [
        {"name": "top", "centre_lps_mm": [0.0, 0.0, 100.0], "radius_mm": 12.0},
        {"name": "middle", "centre_lps_mm": [0.0, 0.0, 50.0]}]}))
    _write_seg(root)
    (root / "empty-case").mkdir()
    (root / "pelvis-landmarks.json").write_text(json.dumps({"landmarks": [
        m.to_json() for m in build_anatomy(PhantomKind.PELVIS).landmarks]}))
    return {p.name: p for p in root.iterdir()}


def _write_seg(root: Path) -> None:
    """A DICOM SEG of one ellipsoid segment ("bone") over a small CT series of the phantoms."""
    import highdicom
    import numpy as np
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian

    from corridor_phantoms import make_phantom, write_series

    written = write_series(make_phantom("sphere", shape=(24, 24, 12)), root / "ct")
    sources = [pydicom.dcmread(f) for f in sorted((written.out_dir / "dicom").glob("*.dcm"))]
    k, j, i = np.indices((len(sources), sources[0].Rows, sources[0].Columns))
    mask = ((k - 5.5) ** 2 * 4 + (j - 11.5) ** 2 + (i - 11.5) ** 2 < 49).astype(np.uint8)
    code = highdicom.sr.CodedConcept
    segment = highdicom.seg.SegmentDescription(
        segment_number=1, segment_label="bone",
        segmented_property_category=code("91723000", "SCT", "Anatomical Structure"),
        segmented_property_type=code("272673000", "SCT", "Bone"),
        algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.MANUAL)
    highdicom.seg.Segmentation(
        source_images=sources, pixel_array=mask,
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment], series_instance_uid=highdicom.UID(), series_number=99,
        sop_instance_uid=highdicom.UID(), instance_number=1, manufacturer="fuzz seed",
        manufacturer_model_name="fuzz seed", software_versions="0", device_serial_number="0",
        transfer_syntax_uid=ExplicitVRLittleEndian).save_as(root / "seg.dcm")


# --- the families --------------------------------------------------------------------------------

def _model_folder(scratch: Path, manifest: bytes, onnx: Path | bytes) -> list[str]:
    folder = scratch / "model"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(manifest)
    if isinstance(onnx, bytes):
        (folder / "model.onnx").write_bytes(onnx)
    else:
        (folder / "model.onnx").symlink_to(onnx)
    return ["model", "inspect", "model"]


def _manifests() -> Family:
    text = (MODEL / "manifest.json").read_bytes()
    document = json.loads(text)
    examples = st.one_of(
        mutated_json(document).map(lambda d: json.dumps(d).encode("utf-8")),
        mutated_bytes(text),
        st.binary(max_size=512))
    return Family("model manifests", examples,
                  lambda scratch, manifest: _model_folder(scratch, manifest,
                                                          MODEL / "model.onnx"), text)


def _onnx_files() -> Family:
    """The ONNX file damaged and the manifest's SHA-256 renewed to match, so that the damage
    reaches the ONNX parser and the signature checks, not only the hash check."""
    onnx = (MODEL / "model.onnx").read_bytes()
    manifest = json.loads((MODEL / "manifest.json").read_text())

    def write(scratch: Path, data: bytes) -> list[str]:
        renewed = {**manifest, "sha256": hashlib.sha256(data).hexdigest()}
        return _model_folder(scratch, json.dumps(renewed).encode("utf-8"), data)

    return Family("ONNX files", st.one_of(mutated_bytes(onnx, region=4096), mutated_bytes(onnx)),
                  write, onnx, pinned=(b"",))  # read(2 GiB + 1) allocated 2 GiB


_HOSTILE = st.sampled_from([0, -1, 1e-9, 1e-3, 1e9, 1e12, 1e300, float("inf"), float("nan"),
                            10**6, "12", None, [], {}])


@st.composite
def _hostile_numbers(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """A number of the document, chosen at random, set to an absurd or ill-typed value."""
    result = json.loads(json.dumps(document))
    numbers: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, list)):
                walk(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                numbers.append((node, key))

    walk(result)
    for _ in range(draw(st.integers(1, 3))):
        node, key = draw(st.sampled_from(numbers))
        node[key] = draw(_HOSTILE)
    return result


def _plan_command(seeds: dict[str, Path], procedure: str, landmarks: str | None) -> list[str]:
    argv = ["plan-trajectory", str(seeds["labels.nii.gz"]), "--procedure", procedure,
            "--out", "plan", "--label-names", LABEL_NAMES]
    return argv + (["--landmarks", landmarks] if landmarks else [])


def _templates(seeds: dict[str, Path]) -> Family:
    document = procedure_document()
    text = yaml.safe_dump(document)

    def as_yaml(value: Any) -> str:
        return yaml.safe_dump(value, allow_unicode=True)

    examples = st.one_of(
        mutated_json(document).map(as_yaml),
        _hostile_numbers(document).map(as_yaml),
        mutated_text(text),
        st.builds(lambda n: "[" * n + "]" * n, st.integers(100, 50_000)),
        st.builds(lambda n: "".join(f"{'  ' * i}- \n" for i in range(n)), st.integers(20, 400)))

    def write(scratch: Path, content: str) -> list[str]:
        write_input(scratch / "procedure.yaml", content)
        return _plan_command(seeds, "procedure.yaml", None)

    return Family("procedure templates", examples, write, text,
                  pinned=(text.replace("name: analytic", "name: 2001-13-01"),  # ValueError, 70
                          text.replace("name: analytic", "name: " + "9" * 5000)))  # Overflow


def _landmarks(seeds: dict[str, Path]) -> Family:
    document = json.loads(seeds["landmarks.json"].read_text())
    examples = st.one_of(
        mutated_json(document).map(json.dumps),
        _hostile_numbers(document).map(json.dumps),
        mutated_text(seeds["landmarks.json"].read_text()),
        json_values.map(json.dumps),
        st.builds(lambda n: "[" * n + "]" * n, st.integers(100, 50_000)))

    def write(scratch: Path, content: str) -> list[str]:
        write_input(scratch / "landmarks.json", content)
        return _plan_command(seeds, str(seeds["procedure.yaml"]), "landmarks.json")

    return Family("landmark files", examples, write, seeds["landmarks.json"].read_text(),
                  pinned=("[" * 100_000 + "]" * 100_000,  # RecursionError, exit 70
                          '{"landmarks": [{"name": "a", "centre_lps_mm": [NaN, 0, 0]}]}'))


def _nifti(seeds: dict[str, Path]) -> Family:
    raw = seeds["labels.nii"].read_bytes()
    examples = st.tuples(st.one_of(mutated_bytes(raw, region=352), mutated_bytes(raw)),
                         st.booleans())

    def write(scratch: Path, example: tuple[bytes, bool]) -> list[str]:
        data, compressed = example
        name = "labels.nii.gz" if compressed else "labels.nii"
        write_input(scratch / name, gzip.compress(data, mtime=0) if compressed else data)
        return ["mesh", name, "--out", "meshes", "--labels", "1"]

    huge = bytearray(raw)
    struct.pack_into("<4h", huge, 40, 3, 1000, 1000, 500)  # 500 MB claimed, 67 kB held
    return Family("NIfTI label maps", examples, write, (raw, True),
                  pinned=((bytes(huge), True), (bytes(huge), False)))  # 0.5-1.2 GB allocated


def _nrrd(seeds: dict[str, Path]) -> Family:
    raw = seeds["labels.nrrd"].read_bytes()
    header_end = raw.index(b"\n\n") + 2
    header = raw[:header_end].decode("ascii")
    examples = st.one_of(
        mutated_text(header).map(lambda h: h.encode("utf-8", "surrogatepass")
                                 + raw[header_end:]),
        mutated_bytes(raw, region=header_end), mutated_bytes(raw))

    def write(scratch: Path, data: bytes) -> list[str]:
        write_input(scratch / "labels.nrrd", data)
        return ["mesh", "labels.nrrd", "--out", "meshes", "--labels", "1"]

    detached = header.replace("encoding:", "data file: /dev/zero\nencoding:").encode("ascii")
    return Family("NRRD label maps", examples, write, raw,
                  pinned=(detached + raw[header_end:],))  # read /dev/zero without end


def _dicom_segs(seeds: dict[str, Path]) -> Family:
    import pydicom

    raw = seeds["seg.dcm"].read_bytes()
    pixels = raw.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data: the header ends here
    huge = pydicom.dcmread(seeds["seg.dcm"])
    huge.Rows = huge.Columns = 65535  # 4.3 G pixels claimed in an 8 kB file
    pinned = seeds["seg.dcm"].with_name("huge-seg.dcm")
    huge.save_as(pinned)

    def write(scratch: Path, data: bytes) -> list[str]:
        write_input(scratch / "seg.dcm", data)
        return ["mesh", "seg.dcm", "--out", "meshes", "--labels", "1"]

    version = b"\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00"  # (0002,0001), 2 bytes long
    long_element = raw.replace(version, version[:8] + b"\xf0\xff\xff\x7f")  # 2 GB claimed
    return Family("DICOM SEG label maps",
                  st.one_of(mutated_bytes(raw, region=pixels), mutated_bytes(raw)), write, raw,
                  pinned=(pinned.read_bytes(),  # 4.3 G pixels claimed
                          long_element))  # read(2 GB) allocated 2 GB


def _batch_csvs(seeds: dict[str, Path]) -> Family:
    text = ("case_id,dicom,procedure,side,landmarks\n"
            f"C1,{seeds['empty-case']},acetabular-screw,left,{seeds['pelvis-landmarks.json']}\n")

    def write(scratch: Path, content: str) -> list[str]:
        write_input(scratch / "cases.csv", content)
        return ["plan-batch", "cases.csv", "--out", "batch", "--workers", "1"]

    return Family("batch CSVs", st.one_of(mutated_text(text), st.text(max_size=300)), write,
                  text, pinned=(text.replace(",/", ",\x00/"),  # ValueError, exit 70
                                text.replace("C1", "C" * 200_000)))  # csv.Error, exit 70


def _family(name: str, seeds: dict[str, Path]) -> Family:
    return {"model manifests": _manifests, "ONNX files": _onnx_files,
            "procedure templates": lambda: _templates(seeds),
            "landmark files": lambda: _landmarks(seeds),
            "NIfTI label maps": lambda: _nifti(seeds), "NRRD label maps": lambda: _nrrd(seeds),
            "DICOM SEG label maps": lambda: _dicom_segs(seeds),
            "batch CSVs": lambda: _batch_csvs(seeds)}[name]()


# --- steps ---------------------------------------------------------------------------------------

@bdd_given(parsers.parse("valid {family} and what corridor {command} needs beside them"),
           target_fixture="family")
def valid_family(family: str, seeds: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Family:
    """The family's seed and strategy; for batch CSVs, a pool that runs no case."""
    if family == "batch CSVs":
        monkeypatch.setattr("corridor.case.batch_cli.run_in_pool",
                            lambda pending, ledger, *, workers: None)
    return _family(family, seeds)


@then(parsers.parse("each of {count:d} damaged {name} exits with one of {allowed}, prints no "
                    "traceback, stays within the bounds and writes nothing unless it exits "
                    "with one of {writes}"), converters={"allowed": statuses, "writes": statuses})
def sweep(family: Family, count: int, allowed: set[int], writes: set[int],
          tmp_path: Path) -> None:
    """The family's seed, pinned examples and ``count`` drawn ones (helpers.sweep_family)."""
    sweep_family(family, count=count, allowed=allowed, success=writes, root=tmp_path)
