"""The native-pixel shortcut returns exactly what pydicom's decoder returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from corridor.ingest.io import read_headers
from corridor.ingest.load import _decode


def _write(path: Path, syntax: str, signed: bool, bits_stored: int) -> np.ndarray:
    rng = np.random.default_rng(bits_stored + signed)
    dtype = np.int16 if signed else np.uint16
    info = np.iinfo(dtype)
    pixels = rng.integers(info.min, info.max, size=(6, 7), endpoint=True).astype(dtype)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID = "CT", "1.2.3"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 6, 7, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return pixels


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits_stored", [16, 12])
def test_shortcut_equals_pydicom(tmp_path: Path, syntax: str, signed: bool,
                                 bits_stored: int) -> None:
    path = tmp_path / "image.dcm"
    _write(path, syntax, signed, bits_stored)
    headers, skipped = read_headers([path])
    assert skipped == []
    header = headers[0]
    assert (header.native_pixels is not None) == (bits_stored == 16)
    raw = path.read_bytes()
    decoded = _decode(raw, str(path), header, (6, 7))
    expected = pydicom.dcmread(path).pixel_array
    assert decoded.dtype == expected.dtype
    assert np.array_equal(decoded[0], expected)
