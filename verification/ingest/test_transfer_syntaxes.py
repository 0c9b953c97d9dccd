"""Step definitions of ``verification/features/ingest/transfer_syntaxes.feature``.

Verifies that a series in each transfer syntax pydicom and the codec extras read loads to
exactly the HU of pydicom's own decode (and, for lossless syntaxes, of the ground truth),
that a syntax whose decoder is missing or that Corridor does not decode is refused by name
and UID, and that a file cut short is refused as truncated whatever its syntax.

Oracles: pydicom's ``pixel_array`` of each file with its Modality LUT applied, read here
independently of the code under test; the phantom's ground truth; the syntax's name and UID
as PS3.6 gives them, written in the feature; the truncated file as the phantom's manifest
names it.  Decoder plugins are hidden from pydicom here, and the re-encoding in Deflated
Image Frame Compression (PS3.5 A.4.11: each frame deflated, encapsulated) is done here with
zlib and pydicom's own encapsulation.
"""

from __future__ import annotations

import zlib

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pytest_bdd import given, parsers, scenarios, then

from corridor.ingest.errors import UnsafeSeriesError
from corridor.ingest.io import find_files, read_headers
from corridor.ingest.lean import read_lean
from verification.ingest.helpers import Case, ct_images

scenarios("ingest/transfer_syntaxes.feature")

DEFLATED_IMAGE_FRAME_COMPRESSION = "1.2.840.10008.1.2.8.1"
"""PS3.6 Transfer Syntax UID of Deflated Image Frame Compression (2024)."""


@then("the volume's HU equal pydicom's own decode of every image")
def hu_match_pydicom(case: Case) -> None:
    """Slice k of the volume is pydicom's decode, rescaled, of the k-th image along the
    normal; every voxel, padding included."""
    volume = case.loaded().volume
    images = ct_images(case)
    assert volume.hu.shape[2] == len(images)
    for k, (path, ds) in enumerate(images):
        expected = apply_modality_lut(ds.pixel_array, ds)
        assert np.array_equal(volume.hu[:, :, k], expected.T), path


@then("the volume's HU are not the ground truth, as the codec is lossy")
def hu_lossy(case: Case) -> None:
    """The lossy series really lost something (else the scenario proves nothing lossy)."""
    assert not np.array_equal(case.loaded().volume.hu, case.truth_hu())
    for _, ds in ct_images(case):
        assert ds.LossyImageCompression == "01"


@then("only Explicit VR Little Endian headers were read without pydicom")
def lean_only_explicit_little_endian(case: Case) -> None:
    """The lean header reader answers for a file exactly when pydicom reads it as Explicit
    VR Little Endian."""
    for path, ds in ct_images(case):
        expected = ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert (read_lean(path) is not None) == expected, (path, ds.file_meta.TransferSyntaxUID)


@then("only little-endian native pixels were taken from the file's bytes without pydicom")
def native_only_little_endian(case: Case) -> None:
    """The header scan offers the pixels' offset for the fast path exactly for native little-
    endian files (never big-endian, deflated or encapsulated)."""
    syntax = {str(path): ds.file_meta.TransferSyntaxUID for path, ds in ct_images(case)}
    headers, _ = read_headers(find_files(case.dicom))
    assert {h.path for h in headers} == set(syntax)
    for header in headers:
        native = syntax[header.path] in (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
        assert (header.native_pixels is not None) == native, (header.path, syntax[header.path])


@given(parsers.parse('pydicom has no decoder plugin for "{uid}"'))
def hide_decoders(monkeypatch: pytest.MonkeyPatch, uid: str) -> None:
    """Every plugin of the syntax's decoder becomes unavailable, as if its package were not
    installed; the written files name that syntax."""
    decoder = get_decoder(uid)
    hidden = sorted(decoder.available_plugins)
    assert hidden, f"no decoder plugin to hide for {uid}"
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable",
                        {label: (f"{label} (hidden by the test)",) for label in hidden})


@given("every image's pixel data are re-encoded in Deflated Image Frame Compression")
def deflate_frames(case: Case) -> None:
    """Each image's one frame deflated (raw RFC 1951) and encapsulated, the File Meta
    Information naming the syntax; written with pydicom's element writers, since its file
    writer refuses a syntax it does not know."""
    for path, ds in ct_images(case):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        frame = compressor.compress(ds.PixelData) + compressor.flush()
        ds.add_new(Tag(0x7FE0, 0x0010), "OB", encapsulate([frame]))
        ds["PixelData"].is_undefined_length = True
        ds.file_meta.TransferSyntaxUID = DEFLATED_IMAGE_FRAME_COMPRESSION
        out = DicomBytesIO()
        out.write(b"\0" * 128 + b"DICM")
        write_file_meta_info(out, ds.file_meta)
        out.is_little_endian, out.is_implicit_VR = True, False
        write_dataset(out, ds)
        path.write_bytes(out.getvalue())
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == DEFLATED_IMAGE_FRAME_COMPRESSION


@then(parsers.parse('standard error says what to do: "{text}"'))
def says_what_to_do(case: Case, text: str) -> None:
    """The remedy is in the message."""
    assert text in case.stderr, case.stderr


@then(parsers.parse('standard error does not say "{text}"'))
def does_not_say(case: Case, text: str) -> None:
    """Neither the wrong diagnosis nor a traceback."""
    assert text not in case.stderr.lower(), case.stderr
    assert "Traceback" not in case.stderr


@then("the refusal names the truncated file")
def names_truncated(case: Case) -> None:
    """The file the phantom writer cut, and only it."""
    assert isinstance(case.error, UnsafeSeriesError)
    cut = case.written.manifest["faults"]["truncated-file"]["path"]
    assert case.error.files == [str(case.root / cut)]
