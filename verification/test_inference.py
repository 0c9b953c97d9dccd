"""Step definitions of the inference scenarios (``verification/features/inference``).

Oracles are independent of the code under test: analytic phantoms and their ground
truth, small ONNX graphs whose behaviour is known by construction
(``verification/inference/graphs.py``), whole-volume passes and window loops written
here, hashes and DICOM attributes read back with hashlib and pydicom.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import onnx
import onnxruntime as ort
import pydicom
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import ndimage

from corridor.inference import REFERENCE_MODEL, ModelPackageError, load_model_package
from corridor.inference import cli as inference_cli
from corridor.inference.window import sliding_window
from corridor.ingest import ingest
from corridor_phantoms import Label, make_phantom, write_series
from verification.command_run import run_corridor
from verification.inference.graphs import (
    LABELS,
    box_filter_model,
    linear_model,
    shifted_threshold_model,
    threshold_model,
    write_package,
)

scenarios("inference")


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    phantom: Any = None
    written: Any = None
    package: Path | None = None
    error: Exception | None = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    out: Path | None = None
    outs: list[Path] = field(default_factory=list)
    arrays: dict[str, Any] = field(default_factory=dict)

    @property
    def dicom(self) -> Path:
        return self.root / "ct" / "dicom"

    def manifest_path(self) -> Path:
        assert self.package is not None
        return self.package / "manifest.json"

    def record(self, out: Path | None = None) -> dict[str, Any]:
        folder = out or self.out
        assert folder is not None
        document: dict[str, Any] = json.loads((folder / "run.json").read_text())
        return document


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _nifti(path: Path) -> tuple[NDArray[Any], NDArray[np.float64]]:
    image = nibabel.load(path)
    return np.asarray(image.dataobj), np.asarray(image.affine, dtype=np.float64)


# Given: phantoms ------------------------------------------------------------------------

_PHANTOM = ('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} {sk:f} '
            'in position "{position}" and orientation "{orientation}"')


def _make_phantom(case: Case, kind: str, shape: tuple[int, int, int],
                  spacing: tuple[float, float, float], position: str, orientation: str,
                  seed: int) -> None:
    case.phantom = make_phantom(kind, shape=shape, spacing=spacing, orientation=orientation,
                                patient_position=position, seed=seed)


@given(parsers.parse(_PHANTOM))
def phantom(case: Case, kind: str, i: int, j: int, k: int, si: float, sj: float, sk: float,
            position: str, orientation: str) -> None:
    """Generate the phantom in memory (seed 7)."""
    _make_phantom(case, kind, (i, j, k), (si, sj, sk), position, orientation, 7)


@given(parsers.parse(_PHANTOM + " and seed {seed:d}"))
def phantom_seeded(case: Case, kind: str, i: int, j: int, k: int, si: float, sj: float,
                   sk: float, position: str, orientation: str, seed: int) -> None:
    """Generate the phantom in memory with the seed given."""
    _make_phantom(case, kind, (i, j, k), (si, sj, sk), position, orientation, seed)


@given("it is written as a DICOM series")
def written(case: Case) -> None:
    """Write the phantom as a DICOM CT series with its ground truth."""
    case.written = write_series(case.phantom, case.root / "ct")


@given("it is written as a DICOM series with its Rescale Slope set to 10")
def written_rescaled(case: Case) -> None:
    """Write the series, then multiply every image's Rescale Slope by 10 (HU x 10)."""
    written(case)
    for path in case.written.slice_paths:
        ds = pydicom.dcmread(path)
        ds.RescaleSlope = 10
        ds.save_as(path)


# Given: model packages ------------------------------------------------------------------

def _package(case: Case, model: onnx.ModelProto, **overrides: Any) -> None:
    case.package = write_package(case.root / "model", model, **overrides)


@given("a valid model package of a per-voxel threshold model")
def valid_package(case: Case) -> None:
    """Threshold at 0.5 (500 HU), 2 labels, 2 mm grid."""
    _package(case, threshold_model(0.5))


@given(parsers.parse('a per-voxel threshold model at {hu:d} HU with a {spacing:f} mm grid '
                     '"{grid}"'))
def threshold_package(case: Case, hu: int, spacing: float, grid: str) -> None:
    """Label 1 where HU > ``hu`` (input = HU / 1000), steep logits."""
    _package(case, threshold_model(hu / 1000.0), input_spacing_mm=[spacing] * 3, grid=grid)


@given(parsers.parse('a per-voxel threshold model at {hu:d} HU with a {spacing:f} mm grid '
                     '"{grid}" expecting at least {ml:d} ml of object'))
def threshold_package_expecting(case: Case, hu: int, spacing: float, grid: str,
                                ml: int) -> None:
    """As the threshold model, with a minimum plausible volume for the object."""
    labels = copy.deepcopy(LABELS)
    labels[1]["min_volume_ml"] = ml
    _package(case, threshold_model(hu / 1000.0), input_spacing_mm=[spacing] * 3, grid=grid,
             labels=labels)


@given(parsers.parse("a per-voxel model with gentle logits at {hu:d} HU on a {spacing:f} mm "
                     "grid"))
def gentle_package(case: Case, hu: int, spacing: float) -> None:
    """Logits [0, 2 (x - hu/1000)]: probabilities far from 0 and 1."""
    _package(case, threshold_model(hu / 1000.0, gain=2.0), input_spacing_mm=[spacing] * 3)
    case.arrays["gain"], case.arrays["threshold"] = 2.0, hu / 1000.0


@given(parsers.parse("a per-voxel model with gentle logits at {hu:d} HU on a {spacing:f} mm "
                     "grid whose object is a risk structure"))
def gentle_risk_package(case: Case, hu: int, spacing: float) -> None:
    """The gentle model, its object declared a risk structure."""
    labels = copy.deepcopy(LABELS)
    labels[1]["risk_structure"] = True
    _package(case, threshold_model(hu / 1000.0, gain=2.0), input_spacing_mm=[spacing] * 3,
             labels=labels)


@given("a 3x3x3 box-filter model with a 2.0 mm grid")
def box_package(case: Case) -> None:
    """A neighbourhood model: the result depends on window placement and blending."""
    _package(case, box_filter_model(3))


@given("a model that looks one voxel along k")
def shifted_package(case: Case) -> None:
    """The threshold model applied to the next voxel along k (mirroring changes it)."""
    case.package = write_package(case.root / "model-shifted", shifted_threshold_model(0.5),
                                 input_spacing_mm=[1.5] * 3)


@given("the reference model")
def reference_package(case: Case) -> None:
    """The shipped reference model package."""
    case.package = REFERENCE_MODEL


@given(parsers.parse("its manifest's \"{field_name}\" is set to {value}"))
def set_manifest_field(case: Case, field_name: str, value: str) -> None:
    """Change one manifest field (the value is JSON)."""
    manifest = json.loads(case.manifest_path().read_text())
    manifest[field_name] = json.loads(value)
    case.manifest_path().write_text(json.dumps(manifest))


@given(parsers.parse("its manifest's \"{field_name}\" is removed"))
def remove_manifest_field(case: Case, field_name: str) -> None:
    """Delete one manifest field."""
    manifest = json.loads(case.manifest_path().read_text())
    del manifest[field_name]
    case.manifest_path().write_text(json.dumps(manifest))


@given("one byte of its ONNX file is changed")
def change_byte(case: Case) -> None:
    """Flip the bits of the middle byte of model.onnx."""
    assert case.package is not None
    path = case.package / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


_GRAPHS = {"has 3 output labels": lambda: linear_model(3),
           "has a fixed patch of 8": lambda: threshold_model(0.5, patch=(8, 8, 8)),
           "imports opset 17": lambda: threshold_model(0.5)}
_MANIFESTS: dict[str, dict[str, Any]] = {"names 2 labels": {}, "states a patch of 16": {},
                                         "states opset 13": {"opset": 13}}


@given(parsers.parse("a model package whose graph {graph} and whose manifest {manifest}"))
def contradicting_package(case: Case, graph: str, manifest: str) -> None:
    """A graph and a manifest that disagree in one property (the hash is correct)."""
    _package(case, _GRAPHS[graph](), **_MANIFESTS[manifest])


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


# When ----------------------------------------------------------------------------------

@when("the package is loaded")
def load_package(case: Case) -> None:
    """Load the package with the real loader."""
    case.error = None
    try:
        load_model_package(case.package)  # type: ignore[arg-type]
    except ModelPackageError as exc:
        case.error = exc


def _command(case: Case, argv: list[str]) -> None:
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


@when("I run corridor model inspect on the reference model")
def inspect_reference(case: Case) -> None:
    """``corridor model inspect`` on the shipped package."""
    _command(case, ["model", "inspect", str(REFERENCE_MODEL)])


@when("I run corridor model inspect on that package")
def inspect_package(case: Case) -> None:
    """``corridor model inspect`` on the scenario's package."""
    _command(case, ["model", "inspect", str(case.package)])


def _infer(case: Case, options: str, name: str) -> Path:
    out = case.root / name
    _command(case, ["infer", str(case.dicom), "--model", str(case.package), "--out", str(out),
                    *shlex.split(options)])
    return out


@when(parsers.parse('I run corridor infer on the series with "{options}"'))
def run_infer(case: Case, options: str) -> None:
    """``corridor infer`` in-process, output into ``out``."""
    case.out = _infer(case, options, "out")


@when(parsers.parse('I run corridor infer on the series again with "{options}"'))
def run_infer_again(case: Case, options: str) -> None:
    """``corridor infer`` once more, into another folder."""
    case.out = _infer(case, options, "out-again")


@when(parsers.parse('I run corridor infer on the series twice with "{options}"'))
def run_infer_twice(case: Case, options: str) -> None:
    """Two runs into two folders."""
    case.outs = [_infer(case, options, "out-1"), _infer(case, options, "out-2")]
    assert case.status == 0, case.stderr


# Then: packages and commands -------------------------------------------------------------

@then(parsers.parse('loading is refused naming "{named}"'))
def refused_naming(case: Case, named: str) -> None:
    """The error is a ModelPackageError whose message names the field."""
    assert isinstance(case.error, ModelPackageError), case.error
    assert named in str(case.error)


@then("the refusal names the digest of the changed file")
def refusal_names_digest(case: Case) -> None:
    """The digest found is the changed file's own."""
    assert case.package is not None
    assert _sha256(case.package / "model.onnx") in str(case.error)


@then("the package's ONNX bytes hash to the manifest's SHA-256")
def bytes_hash(case: Case) -> None:
    """The bytes kept for the session are the bytes hashed."""
    package = load_model_package(case.package)  # type: ignore[arg-type]
    manifest = json.loads(case.manifest_path().read_text())
    assert hashlib.sha256(package.onnx_bytes).hexdigest() == manifest["sha256"]


@then(parsers.parse("the command exits with status {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stdout + case.stderr


@then("it prints \"verdict: VERIFIED\" and the reference model's SHA-256")
def prints_verified(case: Case) -> None:
    """The verdict and the digest of the shipped ONNX file, computed here."""
    assert "verdict: VERIFIED" in case.stdout
    assert _sha256(REFERENCE_MODEL / "model.onnx") in case.stdout


@then(parsers.parse('it prints "{first}" and "{second}"'))
def prints_both(case: Case, first: str, second: str) -> None:
    """Both texts appear in the command's output."""
    output = case.stdout + case.stderr
    assert first in output, output
    assert second in output, output


@then(parsers.re(r'it prints "(?P<text>[^"]+)"$'))
def prints(case: Case, text: str) -> None:
    """The text appears in the command's output."""
    assert text in case.stdout + case.stderr


# Then: placement -------------------------------------------------------------------------

@then("the label map has the CT's geometry")
def label_geometry(case: Case) -> None:
    """labels.nii.gz's affine equals the CT's RAS affine (float32 header precision)."""
    assert case.out is not None
    volume = ingest(case.dicom).volume
    labels, affine = _nifti(case.out / "labels.nii.gz")
    assert labels.shape == volume.geometry.shape
    assert np.allclose(affine, volume.geometry.affine_ras(), atol=1e-4)


def _dice(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    return 2.0 * float(np.count_nonzero(a & b)) / float(np.count_nonzero(a) + np.count_nonzero(b))


@then(parsers.parse("the label map's Dice against the ground truth is at least {limit:f}"))
def sphere_dice(case: Case, limit: float) -> None:
    """Object voxels against the phantom's analytic labels, on the CT grid."""
    assert case.out is not None
    labels, _ = _nifti(case.out / "labels.nii.gz")
    truth = np.load(case.root / "ct" / "truth" / "labels.npy")
    assert _dice(labels == 1, truth == 1) >= limit


# Then: sliding window -------------------------------------------------------------------

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


# Then: provider and record ---------------------------------------------------------------

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
    assert case.record()["model"]["sha256"] == _sha256(case.package / "model.onnx")


@then("the run record lists every source file with its SHA-256 and no file path")
def record_sources(case: Case) -> None:
    """Each image's digest computed here; the record text holds no path of the case."""
    by_uid = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): _sha256(p)
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
        assert _sha256(case.out / output["file"]) == output["sha256"]


@then("the label, entropy and TTA variance files of the two runs are identical")
def identical_runs(case: Case) -> None:
    """Byte for byte."""
    first, second = case.outs
    for name in ("labels.nii.gz", "entropy.nii.gz", "tta_variance.nii.gz"):
        assert _sha256(first / name) == _sha256(second / name), name


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


# Then: uncertainty ----------------------------------------------------------------------

@then("the entropy map equals -sum p log p of the softmax of the model's logits at every voxel "
      "within 1e-4")
def entropy_equals(case: Case) -> None:
    """Entropy computed here from the CT's HU and the model's known formula."""
    assert case.out is not None
    volume = ingest(case.dicom).volume
    x = np.clip(np.asarray(volume.hu, np.float64), -1000.0, 2000.0) / 1000.0
    logit = case.arrays["gain"] * (x - case.arrays["threshold"])
    p1 = 1.0 / (1.0 + np.exp(-logit))
    expected = -(p1 * np.log(p1) + (1 - p1) * np.log(1 - p1))
    entropy, _ = _nifti(case.out / "entropy.nii.gz")
    assert float(np.max(np.abs(entropy - expected))) <= 1e-4


@then(parsers.parse('the run record carries the flag "{code}"'))
def record_flag(case: Case, code: str) -> None:
    """The flag is in the run record and printed."""
    assert code in [flag["code"] for flag in case.record()["flags"]]
    assert f"flag [{code}]" in case.stdout


@then("the TTA variance is 0 at every voxel within 1e-6")
def variance_zero(case: Case) -> None:
    """A per-voxel model is unchanged by mirroring."""
    assert case.out is not None
    variance, _ = _nifti(case.out / "tta_variance.nii.gz")
    assert float(np.max(np.abs(variance))) <= 1e-6


@then("the TTA variance is above 0.01 somewhere on the sphere's surface and below 0.01 deep "
      "inside it")
def variance_surface(case: Case) -> None:
    """Looking at k + 1 mirrored is looking at k - 1: the passes disagree at the surface.

    Three voxels inside, every pass sees object; the passes can still differ slightly
    where a window's border cuts the model's 3-voxel view (zero padding at the patch
    edge, as in nnU-Net's per-patch mirroring), so the bound there is 0.01, not 0.
    """
    assert case.out is not None
    variance, _ = _nifti(case.out / "tta_variance.nii.gz")
    truth = np.load(case.root / "ct" / "truth" / "labels.npy") == 1
    surface = truth & ~ndimage.binary_erosion(truth)
    assert float(variance[surface].max()) > 0.01
    assert float(variance[ndimage.binary_erosion(truth, iterations=3)].max()) < 0.01


# Then: DICOM SEG ------------------------------------------------------------------------

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
    labels, _ = _nifti(case.out / "labels.nii.gz")
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


# Then: reference model ------------------------------------------------------------------

def _classes(labels: NDArray[np.integer]) -> dict[str, NDArray[np.bool_]]:
    return {"bone": (labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE),
            "vessel": labels == Label.VESSEL}


@then(parsers.parse("bone reaches Dice at least {bone:f} and vessel at least {vessel:f} "
                    "against the ground truth"))
def reference_dice(case: Case, bone: float, vessel: float,
                   record_property: Any) -> None:
    """Dice of each class on the CT grid against the phantom's analytic labels."""
    assert case.out is not None
    labels, _ = _nifti(case.out / "labels.nii.gz")
    truth = _classes(np.load(case.root / "ct" / "truth" / "labels.npy"))
    found = {"bone": labels == 1, "vessel": labels == 2}
    dice = {name: _dice(found[name], truth[name]) for name in truth}
    record_property("dice", json.dumps(dice))
    case.arrays["found"], case.arrays["truth"] = found, truth
    assert dice["bone"] >= bone, dice
    assert dice["vessel"] >= vessel, dice


def _surface_distances(a: NDArray[np.bool_], b: NDArray[np.bool_],
                       spacing: tuple[float, ...]) -> NDArray[np.float64]:
    """Distances (mm) from each surface voxel of ``a`` to the surface of ``b``."""
    surface_a = a & ~ndimage.binary_erosion(a)
    surface_b = b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)
    return np.asarray(to_b[surface_a], dtype=np.float64)


@then(parsers.parse("HD95 and ASSD of bone and vessel are reported, HD95 at most {hd:f} mm"))
def reference_surface(case: Case, hd: float, record_property: Any) -> None:
    """Symmetric surface distances on the CT grid (its voxel steps, mm)."""
    volume = ingest(case.dicom).volume
    spacing = volume.geometry.spacing
    report = {}
    for name in ("bone", "vessel"):
        found, truth = case.arrays["found"][name], case.arrays["truth"][name]
        distances = np.concatenate([_surface_distances(found, truth, spacing),
                                    _surface_distances(truth, found, spacing)])
        report[name] = {"hd95_mm": round(float(np.percentile(distances, 95)), 3),
                        "assd_mm": round(float(distances.mean()), 3)}
    record_property("surface_distances", json.dumps(report))
    print(json.dumps(report))
    for name, values in report.items():
        assert values["hd95_mm"] <= hd, (name, report)
