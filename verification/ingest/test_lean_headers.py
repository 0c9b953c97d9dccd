"""The lean header reader gives exactly what pydicom's full parse gives, or steps aside.

pydicom is the reference: every file is read twice, once with the lean reader
enabled and once with it disabled, and the headers and skip reasons must be equal.
Each test also checks that the lean reader actually answered for the files it is
meant to handle, so that a reader that always steps aside cannot pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from corridor.ingest import io as ingest_io
from corridor.ingest.io import SliceHeader, find_files, read_headers
from corridor.ingest.lean import read_lean
from corridor.ingest.model import SkippedFile
from corridor_phantoms import make_phantom, write_series


def _both(files: list[Path], monkeypatch: pytest.MonkeyPatch,
          ) -> tuple[tuple[list[SliceHeader], list[SkippedFile]],
                     tuple[list[SliceHeader], list[SkippedFile]]]:
    lean = read_headers(files)
    with monkeypatch.context() as patch:
        patch.setattr(ingest_io, "_lean_headers", lambda path: None)
        reference = read_headers(files)
    return lean, reference


SERIES: dict[str, dict[str, Any]] = {
    "rle": {"kind": "sphere", "transfer_syntax": "rle"},
    "enhanced": {"kind": "sphere", "enhanced": True},
    "plain": {"kind": "sphere"},
}
"""Series the lean reader must leave to pydicom, and one it must read (the scenario
"The lean header reader reads what pydicom reads" covers every kind and fault)."""


@pytest.mark.parametrize("name", sorted(SERIES))
def test_phantom_headers_equal_pydicom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       name: str) -> None:
    options = dict(SERIES[name])
    phantom = make_phantom(options.pop("kind"), shape=(24, 20, 6), spacing=(6.0, 6.0, 10.0),
                           seed=5)
    written = write_series(phantom, tmp_path / "s", **options)
    files = find_files(written.out_dir / "dicom")
    lean, reference = _both(files, monkeypatch)
    assert repr(lean) == repr(reference)  # repr: NaN from pydicom equals itself
    answered = sum(read_lean(path) is not None for path in files)
    plain = not options.get("enhanced") and options.get("transfer_syntax") is None
    assert (answered > 0) == plain, (name, answered)


def _dataset(values: dict[str, Any], extra: list[tuple[int, str, Any]]) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    for keyword, value in values.items():
        if isinstance(value, str):  # written as given, even where pydicom would refuse it
            tag, vr = Tag(tag_for_keyword(keyword)), dictionary_VR(keyword)
            raw = value.encode("latin-1")
            raw += (b"\0" if vr == "UI" else b" ") * (len(raw) % 2)
            ds[tag] = RawDataElement(tag, vr, len(raw), raw, 0, False, True)
        else:
            setattr(ds, keyword, value)
    for tag, vr, value in extra:
        ds.add_new(tag, vr, value)
    return ds


_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_ODD_TEXT = st.one_of(_TEXT, st.sampled_from(["", " ", "a\\b", "é", "CT ", " 1.5", "1e2", "nan",
                                              "1_0", "+3", "\\"]))
_NUMBER = st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: f"{x:.6g}")


def _mostly(clean: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``clean`` 19 times in 20, so that the lean reader answers for many cases."""
    return st.integers(0, 19).flatmap(lambda n: odd if n == 0 else clean)


def _numbers(count: int) -> st.SearchStrategy[str]:
    return _mostly(st.lists(_NUMBER, min_size=count, max_size=count).map("\\".join),
                   st.lists(st.one_of(_NUMBER, _ODD_TEXT), min_size=1, max_size=7)
                   .map("\\".join))


_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "ImageType": _mostly(st.sampled_from(["ORIGINAL\\PRIMARY\\AXIAL", "DERIVED\\SECONDARY",
                                          "ORIGINAL\\PRIMARY\\LOCALIZER", "ORIGINAL"]),
                         _ODD_TEXT),
    "SeriesDescription": _mostly(_TEXT.filter(lambda t: "\\" not in t), _ODD_TEXT),
    "Modality": _mostly(st.sampled_from(["CT", "MR", "ct"]), st.sampled_from(["", "CT\\MR"])),
    "GantryDetectorTilt": _mostly(_NUMBER, _ODD_TEXT),
    "ImagePositionPatient": _numbers(3),
    "ImageOrientationPatient": _numbers(6),
    "FrameOfReferenceUID": _mostly(st.just("1.2.3.4"), st.sampled_from(["", "1.2.3\\4.5"])),
    "PixelSpacing": _numbers(2),
    "RescaleSlope": _mostly(_NUMBER, _ODD_TEXT),
    "RescaleIntercept": _mostly(_NUMBER, _ODD_TEXT),
    "NumberOfFrames": _mostly(st.sampled_from(["1", " 1", "2"]), st.sampled_from(["1.0", ""])),
    "SamplesPerPixel": st.sampled_from([1, 1, 3]),
    "PixelPaddingValue": st.integers(-32768, 32767),
    "PixelPaddingRangeLimit": st.integers(-32768, 32767),
}


@st.composite
def _header_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[int, str, Any]], bool]:
    signed = draw(st.booleans())
    values: dict[str, Any] = {
        "SOPClassUID": draw(st.sampled_from(["1.2.840.10008.5.1.4.1.1.2",
                                             "1.2.840.10008.5.1.4.1.1.2.1", "1.2.3"])),
        "SOPInstanceUID": generate_uid(),
        "SeriesInstanceUID": draw(st.sampled_from(["1.2.840.1", "1.2.840.1 ", "1.2.840.2"])),
        "Rows": draw(st.sampled_from([2, 2, 3, 0])),
        "BitsAllocated": 16,
        "BitsStored": draw(st.sampled_from([16, 12])),
        "PixelRepresentation": int(signed),
    }
    if draw(st.integers(0, 5)):
        values["Columns"] = 2
    for keyword, strategy in _OPTIONAL.items():
        if draw(st.booleans()):
            value = draw(strategy)
            if keyword.startswith("PixelPadding") and not signed:
                value = abs(value)
            values[keyword] = value
    extra: list[tuple[int, str, Any]] = []
    if draw(st.booleans()):
        extra.append((0x00091010, "LO", draw(_TEXT)))  # private element
    if draw(st.booleans()):
        item = Dataset()
        item.CodeValue = draw(_TEXT)
        extra.append((0x00081032, "SQ", DicomSequence([item] * draw(st.integers(0, 2)))))
    pixel_bytes = draw(st.sampled_from([8, 4, 0]))
    return values, extra, pixel_bytes == 8


@pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # written on purpose
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_header_cases(), implicit=st.integers(0, 4).map(lambda n: n == 0))
def test_generated_headers_equal_pydicom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         case: tuple[dict[str, Any], list[tuple[int, str, Any]],
                                                     bool],
                                         implicit: bool) -> None:
    values, extra, full = case
    ds = _dataset(values, extra)
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.PixelData = b"\x01\x00" * (4 if full else 2)
    path = tmp_path / f"{generate_uid()}.dcm"
    ds.save_as(path, enforce_file_format=True)
    lean, reference = _both([path], monkeypatch)
    assert repr(lean) == repr(reference)  # repr: NaN from pydicom equals itself
    if implicit:
        assert read_lean(path) is None


def _clean_cases() -> Iterator[tuple[str, Dataset]]:
    base = {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2", "SOPInstanceUID": "1.2.3.4",
            "SeriesInstanceUID": "1.2.3", "Modality": "CT", "Rows": 2, "Columns": 2,
            "BitsAllocated": 16, "BitsStored": 16, "PixelRepresentation": 1,
            "ImagePositionPatient": [0, 0, 0], "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
            "PixelSpacing": [0.5, 0.5], "RescaleSlope": 1, "RescaleIntercept": -1024,
            "PixelPaddingValue": -2000}
    yield "plain", _dataset(base, [])
    item = Dataset()
    item.CodeValue = "123"
    nested = Dataset()
    nested.ReferencedSOPInstanceUID = "1.2"
    item.ReferencedImageSequence = DicomSequence([nested])
    yield "nested sequences", _dataset(base, [(0x00081032, "SQ", DicomSequence([item, item]))])
    yield "private elements", _dataset(base, [(0x00091010, "LO", "x"), (0x00091011, "OB", b"ab")])


@pytest.mark.parametrize("name", [name for name, _ in _clean_cases()])
def test_lean_reader_answers_for_clean_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               name: str) -> None:
    ds = dict(_clean_cases())[name]
    ds.PixelData = b"\x00\x00" * 4
    path = tmp_path / "image.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert read_lean(path) is not None
    lean, reference = _both([path], monkeypatch)
    assert repr(lean) == repr(reference)  # repr: NaN from pydicom equals itself
    assert lean[0][0].native_pixels == (pydicom.dcmread(path).get_item(
        "PixelData", keep_deferred=True).value_tell, "<i2")
