"""Step definitions of ``verification/features/inference/runner.feature``.

Verifies that inference places labels exactly on the CT, that the sliding window equals a
whole-volume pass and a window loop written here, that the device asked for is used or
refused, and that outputs are written all or nothing with a run record of the provider,
model, sources and outputs.

Oracles: analytic phantoms and their ground truth, small ONNX graphs whose behaviour is known
by construction (:mod:`verification.inference.graphs`), whole-volume passes and window loops
written here (SciPy box filter, Gaussian weights computed here), and hashes and DICOM
attributes read back with hashlib and pydicom.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pydicom
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import ndimage

from corridor.inference import cli as inference_cli
from corridor.inference.window import sliding_window
from corridor.ingest import ingest
from corridor_phantoms import write_series
from verification.inference.graphs import box_filter_model, linear_model
from verification.inference.helpers import (
    Case,
    dice_coefficient,
    file_sha256,
    infer_into,
    make_package,
    read_nifti,
)

scenarios("inference/runner.feature")


@given("it is written as a DICOM series with its Rescale Slope set to 10")
def written_rescaled(case: Case) -> None:
    """Write the series, then multiply every image's Rescale Slope by 10 (HU x 10)."""
    case.written = write_series(case.phantom, case.root / "ct")
    for path in case.written.slice_paths:
        ds = pydicom.dcmread(path)
        ds.RescaleSlope = 10
        ds.save_as(path)


@given("a 3x3x3 box-filter model with a 2.0 mm grid")
def box_package(case: Case) -> None:
    """A neighbourhood model: the result depends on window placement and blending."""
    make_package(case, box_filter_model(3))


@given("the output folder already holds a file")
def occupied_output(case: Case) -> None:
    """Create the output folder with one file in it."""
    out = case.root / "out"
    out.mkdir()
    (out / "keep.txt").write_text("not to be lost\n")


@given("the source images are removed after ingest, so the DICOM SEG cannot be written")
def remove_sources_after_inference(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Delete the series' files once inference has run, before the outputs are written."""
    real_infer = inference_cli.infer

    def infer_then_delete(*args: Any, **kwargs: Any) -> Any:
        result = real_infer(*args, **kwargs)
        for path in case.dicom.iterdir():
            path.unlink()
        return result

    monkeypatch.setattr(inference_cli, "infer", infer_then_delete)


@when(parsers.parse('I run corridor infer on the series twice with "{options}"'))
def run_infer_twice(case: Case, options: str) -> None:
    """Two runs into two folders."""
    case.outs = [infer_into(case, options, "out-1"), infer_into(case, options, "out-2")]
    assert case.status == 0, case.stderr


@then(parsers.re(r'it prints "(?P<text>[^"]+)"$'))
def prints(case: Case, text: str) -> None:
    """The text appears in the command's output."""
    assert text in case.stdout + case.stderr


@then("the label map has the CT's geometry")
def label_geometry(case: Case) -> None:
    """labels.nii.gz's affine equals the CT's RAS affine (float32 header precision)."""
    assert case.out is not None
    volume = ingest(case.dicom).volume
    labels, affine = read_nifti(case.out / "labels.nii.gz")
    assert labels.shape == volume.geometry.shape
    assert np.allclose(affine, volume.geometry.affine_ras(), atol=1e-4)


@then(parsers.parse("the label map's Dice against the ground truth is at least {limit:f}"))
def sphere_dice(case: Case, limit: float) -> None:
    """Object voxels against the phantom's analytic labels, on the CT grid."""
    assert case.out is not None
    labels, _ = read_nifti(case.out / "labels.nii.gz")
    truth = np.load(case.root / "ct" / "truth" / "labels.npy")
    assert dice_coefficient(labels == 1, truth == 1) >= limit


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, batch: NDArray[np.float32]) -> NDArray[np.float32]:
    result: NDArray[np.float32] = session.run(None, {"image": batch})[0]
    return result


def _triple(text: str) -> tuple[int, int, int]:
    values = [int(v) for v in text.split()]
    return values[0], values[1], values[2]


@given(parsers.parse("a per-voxel model and a random image of shape {shape}"))
def per_voxel_image(case: Case, shape: str) -> None:
    """Random affine per-voxel scores for 3 labels; a random image."""
    case.arrays["model"] = _session(linear_model(3, seed=5))
    case.arrays["image"] = np.random.default_rng(3).normal(size=_triple(shape)).astype(
        np.float32)
    case.arrays["labels"] = 3


@given(parsers.parse("a 3x3x3 box-filter model and a random image of shape {shape}"))
def box_image(case: Case, shape: str) -> None:
    """A box filter (zero padding at each window's edge); a random image."""
    case.arrays["model"] = _session(box_filter_model(3))
    case.arrays["image"] = np.random.default_rng(4).normal(size=_triple(shape)).astype(
        np.float32)
    case.arrays["labels"] = 2


@when(parsers.parse("it is run in windows of {patch} with overlap {overlap:f} and in one "
                    "whole-volume pass"))
def windows_and_whole(case: Case, patch: str, overlap: float) -> None:
    """The runner's sliding window, and the graph run once on the whole image."""
    session, image = case.arrays["model"], case.arrays["image"]
    case.arrays["windowed"] = sliding_window(
        image[np.newaxis], lambda batch: _run(session, batch), patch=_triple(patch),
        labels=case.arrays["labels"], overlap=overlap, batch_size=3)
    case.arrays["reference"] = _run(session, image[np.newaxis, np.newaxis])[0]


def _own_starts(size: int, patch: int, overlap: float) -> list[int]:
    if size <= patch:
        return [0]
    count = math.ceil((size - patch) / (patch * (1 - overlap))) + 1
    return [int(v) for v in np.round(np.linspace(0, size - patch, count))]


def _own_gaussian(patch: tuple[int, int, int]) -> NDArray[np.float64]:
    grids = np.meshgrid(*[np.arange(n) for n in patch], indexing="ij")
    exponent = sum(((g - (n - 1) / 2) / (n / 8)) ** 2 for g, n in zip(grids, patch, strict=True))
    weights = np.exp(-0.5 * exponent)
    return weights / weights.max()


@when(parsers.parse("it is run in windows of {patch} with overlap {overlap:f} and by the "
                    "test's own window loop"))
def windows_and_own_loop(case: Case, patch: str, overlap: float) -> None:
    """The runner's sliding window, and a plain loop: box filter with zero padding per
    window (scipy), Gaussian weights computed here, weighted mean."""
    session, image = case.arrays["model"], case.arrays["image"]
    size = _triple(patch)
    case.arrays["windowed"] = sliding_window(
        image[np.newaxis], lambda batch: _run(session, batch), patch=size, labels=2,
        overlap=overlap, batch_size=2)
    weights = _own_gaussian(size)
    total = np.zeros(image.shape)
    norm = np.zeros(image.shape)
    for a in _own_starts(image.shape[0], size[0], overlap):
        for b in _own_starts(image.shape[1], size[1], overlap):
            for c in _own_starts(image.shape[2], size[2], overlap):
                window = (slice(a, a + size[0]), slice(b, b + size[1]), slice(c, c + size[2]))
                filtered = ndimage.uniform_filter(image[window].astype(np.float64), size=3,
                                                  mode="constant", cval=0.0)
                total[window] += filtered * weights
                norm[window] += weights
    score = total / norm
    case.arrays["reference"] = np.stack([-score, score])


@then(parsers.parse("the two results agree within {tolerance:g} at every voxel"))
def results_agree(case: Case, tolerance: float) -> None:
    """Same shape, every voxel within the tolerance."""
    windowed, reference = case.arrays["windowed"], case.arrays["reference"]
    assert windowed.shape == reference.shape
    assert float(np.max(np.abs(windowed - reference))) <= tolerance


def _gpu_usable() -> bool:
    listing = Path("/proc/driver/nvidia/gpus")
    return listing.is_dir() and any(listing.iterdir())


@then("without a usable GPU the command exits with status 2 naming the providers, and with "
      "one it records the GPU provider")
def cuda_request(case: Case) -> None:
    """On CI (no GPU): a refusal naming requested, active and available providers."""
    if not _gpu_usable():
        assert case.status == 2, case.stdout + case.stderr
        assert "requested 'cuda'" in case.stderr
        assert "CPUExecutionProvider" in case.stderr
        assert case.out is not None
        assert not case.out.exists()
    elif case.status == 0:
        execution = case.record()["execution"]
        assert execution["provider"] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
        if execution["provider"] == "CUDAExecutionProvider":  # full float32, read back
            assert execution["provider_options"]["use_tf32"] == "0", execution
    else:  # a GPU without CUDA libraries: still a refusal, never a silent CPU run
        assert "requested 'cuda'" in case.stderr


@then("the run record names the provider that ran and why any GPU provider did not")
def record_provider(case: Case) -> None:
    """The provider is one ONNX Runtime offers; a CPU run explains the GPU attempts."""
    execution = case.record()["execution"]
    assert execution["provider"] in ort.get_available_providers()
    assert execution["requested"] == "auto"
    assert isinstance(execution["provider_options"], dict)
    gpu_offered = {"TensorrtExecutionProvider", "CUDAExecutionProvider"} & set(
        execution["available"])
    if execution["provider"] == "CPUExecutionProvider" and gpu_offered:
        assert execution["attempts"], execution


@then("the run record's model digest is the ONNX file's SHA-256")
def record_model(case: Case) -> None:
    """Digest computed here from the file."""
    assert case.package is not None
    assert case.record()["model"]["sha256"] == file_sha256(case.package / "model.onnx")


@then("the run record lists every source file with its SHA-256 and no file path")
def record_sources(case: Case) -> None:
    """Each image's digest computed here; the record text holds no path of the case."""
    by_uid = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): file_sha256(p)
              for p in case.dicom.iterdir()}
    sources = case.record()["input"]["sources"]
    assert len(sources) == len(by_uid)
    for source in sources:
        assert by_uid[source["sop_instance_uid"]] == source["sha256"]
    assert case.out is not None
    assert str(case.root) not in (case.out / "run.json").read_text()


@then("every output file's SHA-256 in the run record matches the file")
def record_outputs(case: Case) -> None:
    """Digest of each listed output computed here; every file in the folder is listed."""
    assert case.out is not None
    outputs = case.record()["outputs"]
    assert {o["file"] for o in outputs} | {"run.json"} == {p.name for p in case.out.iterdir()}
    for output in outputs:
        assert file_sha256(case.out / output["file"]) == output["sha256"]


@then("the label, entropy and TTA variance files of the two runs are identical")
def identical_runs(case: Case) -> None:
    """Byte for byte."""
    first, second = case.outs
    for name in ("labels.nii.gz", "entropy.nii.gz", "tta_variance.nii.gz"):
        assert file_sha256(first / name) == file_sha256(second / name), name


@then("no output folder exists")
def no_output(case: Case) -> None:
    """Nothing at the output path."""
    assert not (case.root / "out").exists()


@then("no temporary folder is left beside it")
def no_temporary(case: Case) -> None:
    """No staging folder in the output's parent."""
    assert not [p for p in case.root.iterdir() if p.name.startswith(".out")]


@then("the output folder holds only that file")
def output_untouched(case: Case) -> None:
    """The file that was there, unchanged, and nothing else."""
    out = case.root / "out"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "not to be lost\n"
