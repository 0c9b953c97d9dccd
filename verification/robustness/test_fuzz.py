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
phantom's landmarks.  The segmentation families (segmentations made elsewhere, given to
``corridor plan-trajectory``) share one seed: the cylinder phantom on the grid of a small CT
series, its bone named ``hip_left`` and its vessel ``iliac_artery_left`` as TotalSegmentator
names them, with the pin procedure naming roles; written as a multi-label NIfTI with a class
map, a TotalSegmentator folder, a 3D Slicer ``.seg.nrrd`` and a DICOM SEG over that series by
the writers of :mod:`verification.segmentation.helpers`.  The batch family runs the real CSV
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
from verification.segmentation.helpers import (
    write_dicom_seg,
    write_slicer_seg_nrrd,
    write_ts_folder,
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


# --- segmentations made elsewhere ----------------------------------------------------------------

CLASS_MAP = {"1": "hip_left", "2": "iliac_artery_left"}
"""The seed's class map: TotalSegmentator's names of the cylinder phantom's bone and vessel."""


def _shifted(node: Any, offset: list[float]) -> Any:
    """A procedure document with every point (``centre_lps_mm``, ``point_lps_mm``) moved."""
    if isinstance(node, dict):
        return {k: ([a + b for a, b in zip(v, offset, strict=True)]
                    if k in ("centre_lps_mm", "point_lps_mm") else _shifted(v, offset))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_shifted(v, offset) for v in node]
    return node


@pytest.fixture(scope="module")
def segmentations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The cylinder phantom on a small CT series' grid, in the four formats (read only)."""
    import nibabel
    import numpy as np

    from corridor_phantoms import make_phantom, write_series

    root = tmp_path_factory.mktemp("segmentations")
    written = write_series(make_phantom("sphere", shape=(35, 35, 55), spacing=(2.0, 2.0, 2.0)),
                           root / "ct")
    geometry = written.phantom.geometry
    centre = geometry.index_to_lps((np.asarray(geometry.shape, dtype=float) - 1) / 2)
    points = geometry.index_to_lps(np.indices(geometry.shape).reshape(3, -1).T.astype(float))
    bone = Cylinder(tuple(centre), (0.0, 0.0, 1.0), 12.0, 50.0).inside(points)
    aside = centre + np.array([20.0, 0.0, 0.0])
    vessel = Cylinder(tuple(aside), (0.0, 0.0, 1.0), 3.0).inside(points)
    masks = {"hip_left": (bone & ~vessel).reshape(geometry.shape),
             "iliac_artery_left": vessel.reshape(geometry.shape)}
    document = procedure_document()
    document["corridor"]["roles"] = document["corridor"].pop("labels")
    document["risk_structures"][0]["region"] = {"roles": ["iliac-vessel"]}
    # The analytic procedure's bone is centred at (0, 0, 50): its regions move with ours.
    offset = (centre - np.array([0.0, 0.0, 50.0])).tolist()
    (root / "procedure.yaml").write_text(yaml.safe_dump(_shifted(document, offset)))
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    for value, name in CLASS_MAP.items():
        labels[masks[name]] = int(value)
    nibabel.save(nibabel.Nifti1Image(labels, geometry.affine_ras()), root / "labels.nii.gz")
    (root / "class-map.json").write_text(json.dumps(CLASS_MAP))
    write_ts_folder(masks, geometry, root / "ts", extra=("spleen",))
    write_slicer_seg_nrrd(masks, geometry, root / "labels.seg.nrrd")
    write_dicom_seg(masks, written.out_dir / "dicom", root / "seg.dcm")
    return {p.name: p for p in root.iterdir()}


def _segmentation_command(segmentations: dict[str, Path], source: str,
                          *extra: str) -> list[str]:
    return ["plan-trajectory", source, "--procedure", str(segmentations["procedure.yaml"]),
            "--out", "plan", *extra]


def _class_maps(segmentations: dict[str, Path]) -> Family:
    text = json.dumps(CLASS_MAP)
    examples = st.one_of(
        mutated_json(CLASS_MAP).map(json.dumps),
        mutated_text(text),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from(["0", "1", "2", "3", "255", "256", "-1", "1.0", " 1",
                                         "1e0", "\u0661"]),
                        st.one_of(st.sampled_from(["hip_left", "iliac_artery_left", "",
                                                   "sacrum"]), json_values),
                        max_size=4).map(json.dumps))

    def write(scratch: Path, content: str) -> list[str]:
        write_input(scratch / "class-map.json", content)
        return _segmentation_command(segmentations, str(segmentations["labels.nii.gz"]),
                                     "--class-map", "class-map.json")

    return Family("class maps", examples, write, text,
                  pinned=("[" * 100_000 + "]" * 100_000,  # RecursionError, exit 70
                          '{"1": "hip_left", "2": null}',  # a name that is not text
                          json.dumps({"1": "hip_left", "2": "iliac_artery_left",
                                      "3": "hip_left"})))


def _ts_folders(segmentations: dict[str, Path]) -> Family:
    files = {p.name: p.read_bytes() for p in segmentations["ts"].iterdir()}
    raw = gzip.decompress(files["hip_left.nii.gz"])
    damaged = st.one_of(mutated_bytes(files["hip_left.nii.gz"]),  # the gzip stream
                        mutated_bytes(raw, region=352).map(lambda d: gzip.compress(d, mtime=0)),
                        mutated_bytes(raw).map(lambda d: gzip.compress(d, mtime=0)),
                        st.binary(max_size=256))
    examples = st.tuples(st.sampled_from(sorted(files)), damaged)

    def write(scratch: Path, example: tuple[str, bytes]) -> list[str]:
        name, data = example
        for each, content in files.items():
            write_input(scratch / "ts" / each, data if each == name else content)
        return _segmentation_command(segmentations, "ts")

    return Family("TotalSegmentator folders", examples, write,
                  ("hip_left.nii.gz", files["hip_left.nii.gz"]),
                  pinned=(("hip_left.nii.gz", files["hip_left.nii.gz"][:-9]),  # cut short
                          ("iliac_artery_left.nii.gz", b"")))


def _slicer_segmentations(segmentations: dict[str, Path]) -> Family:
    raw = segmentations["labels.seg.nrrd"].read_bytes()
    header_end = raw.index(b"\n\n") + 2
    header = raw[:header_end].decode("ascii")
    examples = st.one_of(
        mutated_text(header).map(lambda h: h.encode("utf-8", "surrogatepass")
                                 + raw[header_end:]),
        mutated_bytes(raw, region=header_end))

    def write(scratch: Path, data: bytes) -> list[str]:
        write_input(scratch / "labels.seg.nrrd", data)
        return _segmentation_command(segmentations, "labels.seg.nrrd")

    layered = header.replace("Segment1_Layer:=0", "Segment1_Layer:=1").encode("ascii")
    return Family("Slicer segmentations", examples, write, raw,
                  pinned=(layered + raw[header_end:],
                          header.replace("Segment0_LabelValue:=1", "Segment0_LabelValue:=300")
                          .encode("ascii") + raw[header_end:]))


_SEGMENT_FIELDS = ("SegmentNumber", "SegmentLabel", "SegmentedPropertyTypeCodeSequence",
                   "CodeValue", "CodingSchemeDesignator", "CodeMeaning", "modifier")


@st.composite
def _segment_edits(draw: st.DrawFn) -> list[tuple[str, int, Any]]:
    """Edits of a SEG's Segment Sequence: an item removed, repeated or emptied, a field of an
    item deleted or set to other text or another number.  Most edits replace text (a label, a
    code), which a DICOM reader takes as it is, so that they reach Corridor's reading of the
    segments, not only the library's checks."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["text", "text", "text", "number", "delete", "remove",
                                     "repeat", "empty"]))
        item = draw(st.integers(0, 1))
        field = draw(st.sampled_from(_SEGMENT_FIELDS))
        value: Any = None
        if kind == "text":
            value = draw(st.one_of(st.text(max_size=70), st.sampled_from(
                ["hip_left", "iliac_artery_left", "71341001", "29836001", "SCT", "7771000",
                 "24028007", "99SCT", ""])))
        elif kind == "number":
            value = draw(st.sampled_from([0, 1, 2, 3, 255, 256, 65535]))
        edits.append((kind, item, (field, value)))
    return edits


def _edit_segments(path: Path, edits: list[tuple[str, int, Any]], target: Path) -> None:
    """Apply :func:`_segment_edits` to the SEG at ``path`` and write it to ``target``."""
    import pydicom

    dataset = pydicom.dcmread(path)
    items = dataset.SegmentSequence
    for kind, index, (field, value) in edits:
        if kind == "empty":
            dataset.SegmentSequence = pydicom.Sequence([])
            items = dataset.SegmentSequence
            continue
        if not len(items):
            continue
        item = items[index % len(items)]
        if kind == "remove":
            del items[index % len(items)]
            continue
        if kind == "repeat":
            items.append(item)
            continue
        holder = item
        code = getattr(item, "SegmentedPropertyTypeCodeSequence", None)
        if field in ("CodeValue", "CodingSchemeDesignator", "CodeMeaning", "modifier") and code:
            holder = code[0]
            if field == "modifier":
                modifiers = getattr(holder, "SegmentedPropertyTypeModifierCodeSequence", None)
                if not modifiers:
                    continue
                holder, field = modifiers[0], "CodeValue"
        elif field == "modifier":
            continue
        if kind == "delete":
            if field in holder:
                delattr(holder, field)
        elif field == "SegmentNumber":
            holder.SegmentNumber = value if isinstance(value, int) else 1
        elif field == "SegmentedPropertyTypeCodeSequence":
            holder.SegmentedPropertyTypeCodeSequence = pydicom.Sequence([])
        else:
            setattr(holder, field, value if isinstance(value, str) else str(value))
    dataset.save_as(target)


def _seg_segment_sequences(segmentations: dict[str, Path]) -> Family:
    raw = segmentations["seg.dcm"].read_bytes()
    pixels = raw.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data: the header ends here
    sequence = raw.index(b"\x62\x00\x02\x00")  # (0062,0002) Segment Sequence
    examples = st.one_of(_segment_edits(), mutated_bytes(raw[sequence:pixels]).map(
        lambda part: raw[:sequence] + part + raw[pixels:]))

    def write(scratch: Path, example: list[tuple[str, int, Any]] | bytes) -> list[str]:
        if isinstance(example, bytes):
            write_input(scratch / "seg.dcm", example)
        else:
            _edit_segments(segmentations["seg.dcm"], example, scratch / "seg.dcm")
        return _segmentation_command(segmentations, "seg.dcm")

    return Family("DICOM SEG segment sequences", examples, write, raw,
                  pinned=([("delete", 1, ("CodeValue", None))],
                          # a laterality modifier without its CodeValue: AttributeError, 70
                          [("delete", 0, ("modifier", None))],
                          # the vessel's code and label unknown: not segmented, exit 5
                          [("text", 1, ("CodeValue", "12345678")),
                           ("text", 1, ("SegmentLabel", "aorta_left"))]))


def _family(name: str, seeds: dict[str, Path], request: pytest.FixtureRequest) -> Family:
    def segmentation(make: Any) -> Any:
        return lambda: make(request.getfixturevalue("segmentations"))

    return {"model manifests": _manifests, "ONNX files": _onnx_files,
            "procedure templates": lambda: _templates(seeds),
            "landmark files": lambda: _landmarks(seeds),
            "NIfTI label maps": lambda: _nifti(seeds), "NRRD label maps": lambda: _nrrd(seeds),
            "DICOM SEG label maps": lambda: _dicom_segs(seeds),
            "batch CSVs": lambda: _batch_csvs(seeds),
            "class maps": segmentation(_class_maps),
            "TotalSegmentator folders": segmentation(_ts_folders),
            "Slicer segmentations": segmentation(_slicer_segmentations),
            "DICOM SEG segment sequences": segmentation(_seg_segment_sequences)}[name]()


# --- steps ---------------------------------------------------------------------------------------

@bdd_given(parsers.parse("valid {family} and what corridor {command} needs beside them"),
           target_fixture="family")
def valid_family(family: str, seeds: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                 request: pytest.FixtureRequest) -> Family:
    """The family's seed and strategy; for batch CSVs, a pool that runs no case."""
    if family == "batch CSVs":
        monkeypatch.setattr("corridor.case.batch_cli.run_in_pool",
                            lambda pending, ledger, *, workers: None)
    return _family(family, seeds, request)


@then(parsers.parse("each of {count:d} damaged {name} exits with one of {allowed}, prints no "
                    "traceback, stays within the bounds and writes nothing unless it exits "
                    "with one of {writes}"), converters={"allowed": statuses, "writes": statuses})
def sweep(family: Family, count: int, allowed: set[int], writes: set[int],
          tmp_path: Path) -> None:
    """The family's seed, pinned examples and ``count`` drawn ones (helpers.sweep_family)."""
    sweep_family(family, count=count, allowed=allowed, success=writes, root=tmp_path)


@then(parsers.parse("each of {count:d} damaged {name} exits with one of {allowed}, is refused in "
                    "one line with no traceback, stays within the bounds and writes nothing "
                    "unless it exits with one of {writes}"),
      converters={"allowed": statuses, "writes": statuses})
def sweep_one_line(family: Family, count: int, allowed: set[int], writes: set[int],
                   tmp_path: Path) -> None:
    """As above, each refusal one line on standard error and nothing on standard output."""
    sweep_family(family, count=count, allowed=allowed, success=writes, root=tmp_path,
                 one_line=True)
