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
from pytest_bdd import scenarios, then

from corridor.ingest import ingest
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
