"""The written series is real DICOM that encodes exactly the ground truth beside it.

Oracles: pydicom reads every file back; the affine is rebuilt here from
ImageOrientationPatient, ImagePositionPatient and PixelSpacing by the
standard's definitions; pixel values are put through the modality LUT by hand;
compressed syntaxes are decoded by pydicom's decoders and compared with the
uncompressed bytes.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from corridor_phantoms import (
    EncoderUnavailableError,
    OutputExistsError,
    PhantomError,
    TransferSyntax,
    make_phantom,
    write_series,
)
from corridor_phantoms.dicom import JPEGLS_NEAR_LOSSLESS_ERROR
from verification.phantoms.phantom_oracle import (
    SMALL_SHAPE,
    SMALL_SPACING,
    affine_from_tags,
    enhanced_affine,
    hu_of,
    load_truth,
    read_all,
    sort_by_position,
)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"


@pytest.mark.parametrize(("kind", "orientation", "position"), [
    ("pelvis", "axial", "HFS"),
    ("sphere", "oblique", "FFS"),
    ("femur", "coronal", "HFP"),
    ("cylinder", "sagittal", "FFP"),
])
def test_series_reads_back_with_the_right_tags_and_geometry(tmp_path: Path, kind: str,
                                                            orientation: str,
                                                            position: str) -> None:
    phantom = make_phantom(kind, shape=SMALL_SHAPE, spacing=SMALL_SPACING,
                           orientation=orientation, patient_position=position, seed=3)
    written = write_series(phantom, tmp_path / "out")
    datasets = read_all(tmp_path / "out" / "dicom")
    assert sorted(datasets) == sorted(p.name for p in written.paths)
    assert len(datasets) == SMALL_SHAPE[2]
    hu, labels, geometry, manifest = load_truth(tmp_path / "out")
    slices = list(datasets.values())
    for ds in slices:
        assert ds.preamble == b"\0" * 128
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPClassUID == CT_IMAGE
        assert ds.Modality == "CT"
        assert ds.PatientName == f"PHANTOM^{kind.upper()}"
        assert ds.PatientID == "PHANTOM-0003"
        assert ds.PatientPosition == position
        assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
        assert (ds.Rows, ds.Columns) == (SMALL_SHAPE[1], SMALL_SHAPE[0])
        assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (16, 16, 1)
        assert ds.RescaleType == "HU"
        assert float(ds.RescaleSlope) == 1.0
        assert ds.SeriesInstanceUID == written.series_instance_uid
        assert ds.FrameOfReferenceUID == geometry["frame_of_reference_uid"]
        assert ds.StudyInstanceUID == manifest["series"]["study_instance_uid"]
        assert [float(v) for v in ds.PixelSpacing] == [SMALL_SPACING[1], SMALL_SPACING[0]]
        assert float(ds.SliceThickness) == pytest.approx(SMALL_SPACING[2])
        assert ds.PixelPaddingValue == -2000
    ordered = sort_by_position(slices)
    assert [int(ds.InstanceNumber) for ds in ordered] == list(range(1, SMALL_SHAPE[2] + 1))
    assert [ds.SOPInstanceUID for ds in ordered] == list(written.sop_instance_uids)
    affine = affine_from_tags(slices)
    assert np.allclose(affine, written.phantom.geometry.affine, atol=1e-6)
    assert np.allclose(affine, geometry["affine"], atol=1e-6)
    assert geometry["shape"] == list(SMALL_SHAPE)
    for k, ds in enumerate(ordered):
        assert np.array_equal(hu_of(ds), hu[:, :, k].T)
        padding = ds.pixel_array == ds.PixelPaddingValue
        assert np.array_equal(padding, hu[:, :, k].T == -3024)
    padding_file = np.load(tmp_path / "out" / "truth" / "padding.npy")
    assert padding_file.dtype == np.bool_
    assert np.array_equal(padding_file, hu == -3024)
    assert np.array_equal(hu, phantom.hu)
    assert np.array_equal(labels, phantom.labels)
    assert hu.dtype == np.int16
    assert labels.dtype == np.uint8
    assert manifest["kind"] == kind
    assert manifest["seed"] == 3


@pytest.mark.parametrize("syntax", [TransferSyntax.RLE, TransferSyntax.JPEG2000_LOSSLESS,
                                    TransferSyntax.JPEGLS_LOSSLESS, TransferSyntax.JPEG_LOSSLESS,
                                    TransferSyntax.JPEG_LOSSLESS_SV1])
@pytest.mark.parametrize("enhanced", [False, True])
def test_compressed_syntaxes_decode_to_exactly_the_stored_values(
        tmp_path: Path, syntax: TransferSyntax, enhanced: bool) -> None:
    phantom = make_phantom("pelvis", shape=(40, 32, 6), spacing=(9.0, 9.0, 10.0))
    plain = write_series(phantom, tmp_path / "plain", enhanced=enhanced)
    packed = write_series(phantom, tmp_path / "packed", transfer_syntax=syntax, enhanced=enhanced)
    manifest = packed.manifest["series"]
    assert manifest["transfer_syntax"] == syntax.value
    for path_plain, path_packed in zip(plain.paths, packed.paths, strict=True):
        a, b = pydicom.dcmread(path_plain), pydicom.dcmread(path_packed)
        assert b.file_meta.TransferSyntaxUID == manifest["transfer_syntax_uid"]
        assert b.file_meta.TransferSyntaxUID.is_compressed
        assert b.get("LossyImageCompression", "00") == "00"
        assert b.SOPInstanceUID == a.SOPInstanceUID
        assert np.array_equal(b.pixel_array, a.pixel_array)
        stored = np.frombuffer(a.PixelData, dtype="<i2")
        assert np.array_equal(b.pixel_array.ravel(), stored)


@pytest.mark.parametrize(("syntax", "uid", "implicit", "little"), [
    (TransferSyntax.IMPLICIT_LITTLE_ENDIAN, "1.2.840.10008.1.2", True, True),
    (TransferSyntax.EXPLICIT_BIG_ENDIAN, "1.2.840.10008.1.2.2", False, False),
    (TransferSyntax.DEFLATED, "1.2.840.10008.1.2.1.99", False, True),
])
def test_native_syntaxes_encode_the_data_set_as_named_with_the_same_values(
        tmp_path: Path, syntax: TransferSyntax, uid: str, implicit: bool, little: bool) -> None:
    phantom = make_phantom("pelvis", shape=(40, 32, 4), spacing=(9.0, 9.0, 10.0))
    plain = write_series(phantom, tmp_path / "plain", enhanced=True)
    other = write_series(phantom, tmp_path / "other", transfer_syntax=syntax, enhanced=True)
    assert other.manifest["series"]["transfer_syntax_uid"] == uid
    a, b = pydicom.dcmread(plain.paths[0]), pydicom.dcmread(other.paths[0])
    assert b.file_meta.TransferSyntaxUID == uid
    assert (b.original_encoding[0], b.original_encoding[1]) == (implicit, little)
    assert np.array_equal(b.pixel_array, a.pixel_array)
    stored = np.frombuffer(b.PixelData, dtype="<i2" if little else ">i2")
    assert np.array_equal(stored, np.frombuffer(a.PixelData, dtype="<i2"))
    assert b.PixelPaddingValue == -2000
    if syntax is TransferSyntax.DEFLATED:
        data = other.paths[0].read_bytes()
        start = 132 + 12 + int(b.file_meta.FileMetaInformationGroupLength)
        inflated = zlib.decompress(data[start:], -zlib.MAX_WBITS)
        assert len(data) < len(inflated)
        assert inflated.endswith(a.PixelData)


@pytest.mark.parametrize(("syntax", "method", "largest_error"), [
    (TransferSyntax.JPEGLS_NEAR_LOSSLESS, "ISO_14495_1", JPEGLS_NEAR_LOSSLESS_ERROR),
    (TransferSyntax.JPEG2000, "ISO_15444_1", None),
])
def test_lossy_syntaxes_are_marked_lossy(tmp_path: Path, syntax: TransferSyntax, method: str,
                                         largest_error: int | None) -> None:
    phantom = make_phantom("pelvis", shape=(40, 32, 4), spacing=(9.0, 9.0, 10.0))
    written = write_series(phantom, tmp_path / "out", transfer_syntax=syntax)
    assert written.manifest["series"]["lossless"] is False
    hu, _, _, _ = load_truth(tmp_path / "out")
    errors = []
    for k, path in enumerate(written.slice_paths):
        ds = pydicom.dcmread(path)
        assert ds.LossyImageCompression == "01"
        assert ds.LossyImageCompressionMethod == method
        assert float(ds.LossyImageCompressionRatio) > 1.0
        errors.append(np.abs(hu_of(ds) - hu[:, :, k].T).max())
    assert max(errors) > 0
    if largest_error is not None:
        assert max(errors) <= largest_error


def test_missing_gdcm_names_the_package_and_extra(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    import corridor_phantoms.dicom as dicom

    def no_gdcm() -> None:
        raise ImportError("No module named 'gdcm'")

    monkeypatch.setattr(dicom, "_gdcm", no_gdcm)
    phantom = make_phantom("sphere", shape=(8, 8, 4), spacing=(9.0, 9.0, 9.0))
    with pytest.raises(EncoderUnavailableError) as caught:
        write_series(phantom, tmp_path / "out", transfer_syntax="jpeg-lossless-sv1")
    assert (caught.value.package, caught.value.extra) == ("python-gdcm", "gdcm")
    assert "pip install 'corridor[gdcm]'" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_enhanced_ct_is_one_multiframe_file_with_functional_groups(tmp_path: Path) -> None:
    phantom = make_phantom("ellipsoid", shape=SMALL_SHAPE, spacing=SMALL_SPACING,
                           orientation="oblique", patient_position="FFS")
    written = write_series(phantom, tmp_path / "out", enhanced=True)
    assert len(written.paths) == 1
    ds = pydicom.dcmread(written.paths[0])
    assert ds.SOPClassUID == ENHANCED_CT_IMAGE
    assert int(ds.NumberOfFrames) == SMALL_SHAPE[2]
    assert "ImagePositionPatient" not in ds
    assert "PixelSpacing" not in ds
    shared = ds.SharedFunctionalGroupsSequence[0]
    transform = shared.PixelValueTransformationSequence[0]
    assert (float(transform.RescaleIntercept), transform.RescaleType) == (-1024.0, "HU")
    assert list(shared.CTImageFrameTypeSequence[0].FrameType) == [
        "ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    affine, positions = enhanced_affine(ds)
    assert np.allclose(affine, phantom.geometry.affine, atol=1e-6)
    hu, _, _, _ = load_truth(tmp_path / "out")
    frames = hu_of(transform, ds.pixel_array)
    for frame, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        content = group.FrameContentSequence[0]
        k = int(content.InStackPositionNumber) - 1
        assert list(content.DimensionIndexValues) == [1, k + 1]
        assert np.allclose(positions[frame], phantom.geometry.index_to_lps([0, 0, k]), atol=1e-6)
        assert np.array_equal(frames[frame], hu[:, :, k].T)
    pointers = [item.DimensionIndexPointer for item in ds.DimensionIndexSequence]
    assert pointers == [0x00209056, 0x00209057]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("syntax", "enhanced"), [
    (TransferSyntax.EXPLICIT_LITTLE_ENDIAN, False),
    (TransferSyntax.JPEG2000_LOSSLESS, True),
])
def test_same_seed_gives_byte_identical_output(tmp_path: Path, syntax: TransferSyntax,
                                               enhanced: bool) -> None:
    faults = ["shuffled-order", "missing-slice", "duplicate-slice", "localizer",
              "mixed-series", "non-ct-files", "truncated-file"]

    def write(name: str, seed: int) -> dict[str, bytes]:
        phantom = make_phantom("femur", shape=(36, 32, 10), spacing=(6.0, 6.0, 9.0), seed=seed)
        write_series(phantom, tmp_path / name, faults=faults, transfer_syntax=syntax,
                     enhanced=enhanced)
        return _tree(tmp_path / name)

    first, again, other = write("a", 11), write("b", 11), write("c", 12)
    assert first == again
    assert len(first) >= 8
    # Another seed: other noise and UIDs, so no DICOM object is the same (labels are).
    dicom_bytes = {name: data for name, data in first.items()
                   if name.startswith("dicom/") and not name.endswith(".txt")}
    assert not set(dicom_bytes.values()) & set(other.values())
    assert first["truth/labels.npy"] == other["truth/labels.npy"]


def test_uids_are_valid_and_distinct(tmp_path: Path) -> None:
    written = write_series(make_phantom("sphere", shape=(8, 8, 5), spacing=(9.0, 9.0, 9.0)),
                           tmp_path / "out", faults=["duplicate-slice", "mixed-series"])
    datasets = read_all(tmp_path / "out" / "dicom")
    sop_uids = [ds.SOPInstanceUID for ds in datasets.values()]
    assert len(set(sop_uids)) == len(sop_uids)
    for ds in datasets.values():
        for uid in (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID,
                    ds.FrameOfReferenceUID):
            assert uid.is_valid
            assert len(uid) <= 64
    assert len({ds.StudyInstanceUID for ds in datasets.values()}) == 1
    assert written.manifest["series"]["series_instance_uid"] == written.series_instance_uid


def test_output_is_atomic_when_writing_fails(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import corridor_phantoms.writer as writer

    calls = {"n": 0}
    real = writer.serialise

    def failing(*args: Any, **kwargs: Any) -> bytes:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "serialise", failing)
    with pytest.raises(OSError, match="No space"):
        write_series(make_phantom("sphere", shape=(8, 8, 6), spacing=(9.0, 9.0, 9.0)),
                     tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    phantom = make_phantom("sphere", shape=(8, 8, 4), spacing=(9.0, 9.0, 9.0))
    with pytest.raises(OutputExistsError) as caught:
        write_series(phantom, out)
    assert caught.value.field == "out_dir"
    assert str(out) in str(caught.value)
    assert (out / "keep.txt").read_text() == "mine"
    write_series(phantom, out, overwrite=True)
    assert not (out / "keep.txt").exists()
    assert (out / "truth" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    empty = tmp_path / "empty"
    empty.mkdir()
    write_series(phantom, empty)
    assert (empty / "dicom").is_dir()


def test_missing_encoder_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    import corridor_phantoms.dicom as dicom

    class Unavailable:
        available_plugins: tuple[str, ...] = ()
        missing_dependencies = ("pyjpegls - requires pyjpegls>=1.0",)

    monkeypatch.setattr(dicom, "get_encoder", lambda uid: Unavailable())
    phantom = make_phantom("sphere", shape=(8, 8, 4), spacing=(9.0, 9.0, 9.0))
    with pytest.raises(EncoderUnavailableError) as caught:
        write_series(phantom, tmp_path / "out", transfer_syntax="jpegls-lossless")
    assert caught.value.package == "pyjpegls"
    assert "pyjpegls" in str(caught.value)
    assert "jpegls-lossless" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_bad_write_arguments_list_the_choices(tmp_path: Path) -> None:
    phantom = make_phantom("sphere", shape=(8, 8, 4), spacing=(9.0, 9.0, 9.0))
    with pytest.raises(PhantomError) as caught:
        write_series(phantom, tmp_path / "a", transfer_syntax="jpeg-baseline")
    assert caught.value.field == "transfer_syntax"
    assert "rle" in caught.value.expected
    assert "jpegls-lossless" in caught.value.expected
    with pytest.raises(PhantomError) as caught:
        write_series(phantom, tmp_path / "b", faults=["corrupt-header"])
    assert caught.value.field == "faults"
    assert "truncated-file" in caught.value.expected
    thin = make_phantom("sphere", shape=(8, 8, 3), spacing=(9.0, 9.0, 9.0))
    with pytest.raises(PhantomError, match="at least 4 slices"):
        write_series(thin, tmp_path / "c", faults=["missing-slice", "duplicate-slice"])
    assert list(tmp_path.iterdir()) == []


def test_manifest_and_geometry_files_are_plain_json(tmp_path: Path) -> None:
    phantom = make_phantom("pelvis", shape=(16, 16, 4), spacing=(20.0, 20.0, 20.0))
    write_series(phantom, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "truth" / "manifest.json").read_text())
    assert manifest["format"] == "corridor-phantom-manifest/1"
    assert manifest["labels"]["4"] == {"name": "vessel", "hu": 300}
    assert manifest["anatomy"]["cortical_thickness_mm"] == 2.0
    assert manifest["series"]["pixels"]["pixel_padding_value"] == -2000
    assert manifest["faults"] == {}
    assert manifest["request"] == dict(phantom.to_json()["request"])


def test_a_phantom_not_made_by_make_phantom_is_refused(tmp_path: Path) -> None:
    from corridor_phantoms import Phantom

    made = make_phantom("sphere", shape=(8, 8, 4), spacing=(9.0, 9.0, 9.0))
    bare = Phantom(made.hu, made.labels, made.geometry, {"kind": "sphere"})
    with pytest.raises(PhantomError) as caught:
        write_series(bare, tmp_path / "out")
    assert caught.value.field == "phantom"
    assert "make_phantom" in caught.value.expected
    assert not (tmp_path / "out").exists()


@pytest.mark.filterwarnings("ignore:The DICOM readers are highly experimental")
@pytest.mark.parametrize(("orientation", "position"), [("oblique", "FFS"), ("axial", "HFP")])
def test_a_second_reader_places_every_slice_where_the_truth_says(
        tmp_path: Path, orientation: str, position: str) -> None:
    """nibabel's DICOM wrapper (its own IOP/IPP/PixelSpacing code) agrees, pixel for pixel.

    nibabel indexes a slice [row, column] = [j, i], so its first two affine
    columns are ours swapped; its translation is the slice's own position.
    """
    from nibabel.nicom import dicomwrappers

    phantom = make_phantom("sphere", shape=SMALL_SHAPE, spacing=SMALL_SPACING,
                           orientation=orientation, patient_position=position)
    written = write_series(phantom, tmp_path / "out")
    affine = np.asarray(phantom.geometry.affine)
    for k, path in zip(written.slices, written.slice_paths, strict=True):
        wrapper = dicomwrappers.wrapper_from_data(pydicom.dcmread(path))
        assert np.allclose(wrapper.affine[:3, [1, 0]], affine[:3, :2], atol=1e-9)
        assert np.allclose(wrapper.affine[:3, 3], phantom.geometry.index_to_lps([0, 0, k]),
                           atol=1e-9)
        assert np.array_equal(wrapper.get_data(), phantom.hu[:, :, k].T)
