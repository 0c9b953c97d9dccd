"""Step definitions of ``verification/features/inference/seg.feature``.

Verifies that the label map is also written as a DICOM Segmentation on the CT's frames: each
frame placed on its source image's plane, its pixels those of the label map's slice, and the
model named with its version and SHA-256.

Oracles: the source images' positions and UIDs read with pydicom, the label map read with
nibabel, the model package's manifest, and the CT's slice order from ingest.
"""

from __future__ import annotations

import json

import numpy as np
import pydicom
from pytest_bdd import given, parsers, scenarios, then

from corridor.ingest import ingest
from corridor_phantoms import write_series
from verification.inference.helpers import Case, read_nifti

scenarios("inference/seg.feature")


def _seg(case: Case) -> pydicom.Dataset:
    assert case.out is not None
    return pydicom.dcmread(case.out / "seg.dcm")


def _sources(case: Case) -> dict[str, pydicom.Dataset]:
    return {str(ds.SOPInstanceUID): ds for ds in
            (pydicom.dcmread(p, stop_before_pixels=True) for p in case.dicom.iterdir())}


@then("every SEG frame's position and referenced image are its source image's")
def seg_frames_placed(case: Case) -> None:
    """Per-frame plane position equals the referenced source image's IPP."""
    seg, sources = _seg(case), _sources(case)
    assert seg.Modality == "SEG"
    assert len(seg.PerFrameFunctionalGroupsSequence) == int(seg.NumberOfFrames) > 0
    for frame in seg.PerFrameFunctionalGroupsSequence:
        uid = str(frame.DerivationImageSequence[0].SourceImageSequence[0]
                  .ReferencedSOPInstanceUID)
        source = sources[uid]
        position = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, float)
        assert np.allclose(position, np.asarray(source.ImagePositionPatient, float), atol=1e-3)
    referenced = {str(item.ReferencedSOPInstanceUID)
                  for series in seg.ReferencedSeriesSequence
                  for item in series.ReferencedInstanceSequence}
    assert referenced == set(sources)


@then("every SEG frame's pixels equal the label map's slice for its segment")
def seg_frames_pixels(case: Case) -> None:
    """Frame pixels against labels.nii.gz at the source image's slice; no frame missing."""
    assert case.out is not None
    seg = _seg(case)
    volume = ingest(case.dicom).volume
    slice_of = {s.sop_instance_uid: k for k, s in enumerate(volume.sources)}
    labels, _ = read_nifti(case.out / "labels.nii.gz")
    pixels = seg.pixel_array.reshape(int(seg.NumberOfFrames), int(seg.Rows), int(seg.Columns))
    seen = set()
    shared = seg.SharedFunctionalGroupsSequence[0]
    for frame, data in zip(seg.PerFrameFunctionalGroupsSequence, pixels, strict=True):
        identification = (frame if "SegmentIdentificationSequence" in frame else shared)
        segment = int(identification.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        uid = str(frame.DerivationImageSequence[0].SourceImageSequence[0]
                  .ReferencedSOPInstanceUID)
        k = slice_of[uid]
        assert np.array_equal(data.astype(bool), segment == labels[:, :, k].T)
        seen.add((k, segment))
    expected = {(k, s) for k in range(labels.shape[2]) for s in range(1, int(labels.max()) + 1)
                if np.any(labels[:, :, k] == s)}
    assert expected <= seen


@then("the SEG names the model, its version and SHA-256")
def seg_names_model(case: Case) -> None:
    """Segment algorithm name and version, and the digest in the algorithm parameters."""
    assert case.package is not None
    seg = _seg(case)
    manifest = json.loads(case.manifest_path().read_text())
    segment = seg.SegmentSequence[0]
    assert segment.SegmentAlgorithmName == manifest["name"]
    algorithm = segment.SegmentationAlgorithmIdentificationSequence[0]
    assert algorithm.AlgorithmName == manifest["name"]
    assert algorithm.AlgorithmVersion == manifest["version"]
    assert manifest["sha256"] in str(algorithm.AlgorithmParameters)


@given("it is written as one Enhanced CT file")
def written_enhanced(case: Case) -> None:
    """One multi-frame image holds every slice."""
    case.written = write_series(case.phantom, case.root / "ct", enhanced=True)


@given(parsers.parse('it is written as a DICOM series with the faults "{faults}"'))
def written_with_faults(case: Case, faults: str) -> None:
    """Planted faults (a tilt and a change of spacing need --regularize)."""
    case.written = write_series(case.phantom, case.root / "ct",
                                faults=[f.strip() for f in faults.split(",")])


@then("the SEG references every source image file")
def seg_references_files(case: Case) -> None:
    """Every SOP Instance UID of the series, read here with pydicom, and no other."""
    referenced = {str(item.ReferencedSOPInstanceUID)
                  for series in _seg(case).ReferencedSeriesSequence
                  for item in series.ReferencedInstanceSequence}
    assert referenced == set(_sources(case))


@then("every SEG frame lies on a plane of the label map's grid and holds that slice's pixels "
      "for its segment")
def seg_frames_on_grid(case: Case) -> None:
    """Each frame's position is the corner of a slice of labels.nii.gz (its RAS affine turned
    to LPS here), its orientation and spacing the grid's, its pixels that slice's."""
    assert case.out is not None
    seg = _seg(case)
    labels, ras = read_nifti(case.out / "labels.nii.gz")
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    shared = seg.SharedFunctionalGroupsSequence[0]
    orientation = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    spacing_i, spacing_j = (float(np.linalg.norm(lps[:3, a])) for a in (0, 1))
    assert np.allclose(orientation, np.concatenate([lps[:3, 0] / spacing_i,
                                                    lps[:3, 1] / spacing_j]), atol=1e-6)
    measures = shared.PixelMeasuresSequence[0]
    assert np.allclose([float(v) for v in measures.PixelSpacing], [spacing_j, spacing_i])
    pixels = seg.pixel_array.reshape(int(seg.NumberOfFrames), int(seg.Rows), int(seg.Columns))
    seen = set()
    for frame, data in zip(seg.PerFrameFunctionalGroupsSequence, pixels, strict=True):
        identification = frame if "SegmentIdentificationSequence" in frame else shared
        segment = int(identification.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        position = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, float)
        k = float(np.linalg.solve(lps[:3, :3], position - lps[:3, 3])[2])
        assert abs(k - round(k)) < 1e-4, k
        corner = lps @ np.array([0.0, 0.0, round(k), 1.0])
        assert np.allclose(position, corner[:3], atol=1e-3)
        assert np.array_equal(data.astype(bool), segment == labels[:, :, round(k)].T)
        seen.add((round(k), segment))
    expected = {(k, s) for k in range(labels.shape[2]) for s in range(1, int(labels.max()) + 1)
                if np.any(labels[:, :, k] == s)}
    assert expected <= seen
