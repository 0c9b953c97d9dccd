"""Step definitions of ``verification/features/inference/ensemble.feature``.

Verifies deep ensembles: two members of one function measure no disagreement and segment as
the single model does; members that disagree on a planted block give the mutual information
a direct computation gives, high on the block and near zero elsewhere; each member's label
map is an alternative on which planning flags a verdict that differs between members; a
member missing, altered, duplicated or of another contract is refused, naming the member.

Oracles: the phantom's own HU (what its DICOM encodes) with a block planted here; each member
run here by ONNX Runtime on the whole preprocessed volume (on the CT's own grid, so that no
resampling lies between the two), its softmax and the mutual information computed here in
float64; SHA-256 recomputed with hashlib; each member's label map from the intervals its
graph is built with; for planning, the nominal plan's own trajectory and the planted segment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.inference import (
    Device,
    InferenceOptions,
    ModelPackageError,
    infer,
    load_model_package,
)
from corridor.planning import plan_trajectory
from corridor.planning.uncertainty import VERDICT_UNCERTAIN
from verification.inference.graphs import (
    linear_model,
    threshold_model,
    write_ensemble,
    write_package,
)
from verification.inference.helpers import (
    VESSEL_INTERVALS,
    Case,
    cylinder_ct_with_segment,
    entropy_of,
    file_sha256,
    member_probabilities,
    mutual_information,
    read_nifti,
    run_command,
    vessel_ensemble,
)
from verification.planning.phantoms import in_memory, loaded

scenarios("inference/ensemble.feature")

BLOCK = (slice(26, None), slice(13, 17), slice(8, 12))
"""Where the block is planted in the 32 x 32 x 20 sphere: voxels of the sphere reaching its
surface along +i (the sphere ends at i = 29 on these rows)."""


def _infer_cli(case: Case, package: Path, name: str) -> Path:
    out = case.root / name
    run_command(case, ["infer", str(case.dicom), "--model", str(package), "--out", str(out),
                       "--device", "cpu", "--no-seg"])
    assert case.status == 0, case.stdout + case.stderr
    return out


# --- identical members --------------------------------------------------------------------

@given("a package of the gentle per-voxel model at 500 HU and an ensemble of it with a copy "
       "differing only in its bytes")
def identical_members(case: Case) -> None:
    """The copy carries a doc string: other bytes, the same function."""
    model = threshold_model(0.5, gain=2.0)
    copy_of = onnx.ModelProto()
    copy_of.CopyFrom(model)
    copy_of.doc_string = "the same function, other bytes"
    case.arrays["single"] = write_package(case.root / "single", model,
                                          input_spacing_mm=[1.5] * 3)
    case.package = write_ensemble(case.root / "ensemble", [model, copy_of],
                                  input_spacing_mm=[1.5] * 3)
    assert file_sha256(case.package / "model.onnx") != file_sha256(
        case.package / "member-2.onnx")


@when("corridor infer runs the single model and the ensemble on the series")
def run_both(case: Case) -> None:
    """Into ``out-single`` and ``out-ensemble``."""
    case.outs = [_infer_cli(case, case.arrays["single"], "out-single")]
    assert case.package is not None
    case.outs.append(_infer_cli(case, case.package, "out-ensemble"))


@then("the ensemble's mutual information is 0 at every voxel and its label map and entropy are "
      "the single model's")
def no_disagreement(case: Case) -> None:
    """Identical members: the mean is each member, so H(mean) = mean(H) exactly."""
    single, ensemble = case.outs
    mutual, _ = read_nifti(ensemble / "mutual_information.nii.gz")
    assert float(np.abs(mutual).max()) == 0.0
    for name in ("labels.nii.gz", "entropy.nii.gz"):
        ours, affine = read_nifti(ensemble / name)
        theirs, their_affine = read_nifti(single / name)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(affine, their_affine)


@then("the ensemble's run.json names both members with their SHA-256 and the ensemble's SHA-256 "
      "over them")
def members_recorded(case: Case) -> None:
    """Digests recomputed with hashlib from the files."""
    assert case.package is not None
    record = case.record(case.outs[1])
    digests = [file_sha256(case.package / name) for name in ("model.onnx", "member-2.onnx")]
    assert [(m["name"], m["onnx_file"], m["sha256"]) for m in record["ensemble"]["members"]] == [
        ("member-1", "model.onnx", digests[0]), ("member-2", "member-2.onnx", digests[1])]
    combined = hashlib.sha256("".join(f"{d}\n" for d in digests).encode("ascii")).hexdigest()
    assert record["model"]["sha256"] == combined
    assert record["model"]["members"] == 2
    rows = record["ensemble"]["mutual_information"]["per_label"]
    assert {row["name"]: row["max_nats"] for row in rows} == {"background": 0.0, "object": 0.0}
    assert "mutual_information.nii.gz" in [o["file"] for o in record["outputs"]]


@then("the single model's run.json records its mutual information as absent and writes no map "
      "of it")
def single_absent(case: Case) -> None:
    """Recorded as absent, with the file's own digest as its identity (unchanged)."""
    record = case.record(case.outs[0])
    assert record["ensemble"]["mutual_information"] is None
    assert "no epistemic uncertainty" in record["ensemble"]["note"]
    assert record["model"]["sha256"] == file_sha256(case.arrays["single"] / "model.onnx")
    assert not (case.outs[0] / "mutual_information.nii.gz").exists()
    assert [a["name"] for a in record["alternatives"]] == ["p>=0.3", "p>=0.7"]


# --- members that disagree on a planted block ---------------------------------------------

@given("a block of 500 HU planted inside the sphere at its surface")
def planted_block(case: Case) -> None:
    """500 HU plus the voxel's own noise, on the sphere's voxels in :data:`BLOCK`."""
    hu = case.phantom.hu.copy()
    labels = case.phantom.labels
    block = np.zeros(hu.shape, bool)
    block[BLOCK] = True
    block &= labels == 1
    assert block.sum() >= 40
    assert not labels[30, 13:17, 8:12].any()  # the block reaches the surface
    hu[block] = hu[block] - 1000 + 500
    case.phantom = dataclasses.replace(case.phantom, hu=hu)
    case.arrays["block"] = block


@given("an ensemble of per-voxel threshold members at 300 and 600 HU with temperature 1.5 on "
       "the CT's own grid")
def disagreeing_members(case: Case) -> None:
    """A native grid of the CT's spacing: the model grid is the CT's grid."""
    case.package = write_ensemble(
        case.root / "ensemble", [threshold_model(0.3, gain=40.0),
                                 threshold_model(0.6, gain=40.0)],
        input_spacing_mm=[1.5] * 3, grid="native", temperature=1.5)
    case.arrays["temperature"] = 1.5


@when("corridor infer runs the ensemble on the series")
def run_ensemble(case: Case) -> None:
    """Into ``out-ensemble``."""
    assert case.package is not None
    case.out = _infer_cli(case, case.package, "out-ensemble")


def _oracle(case: Case) -> list[NDArray[np.float64]]:
    if "oracle" not in case.arrays:
        assert case.package is not None
        case.arrays["oracle"] = member_probabilities(case.package, case.phantom.hu,
                                                      case.arrays["temperature"])
    members: list[NDArray[np.float64]] = case.arrays["oracle"]
    return members


@then("its mutual information equals, at every voxel within 1e-4 nats, the one computed here "
      "from each member run by ONNX Runtime")
def mutual_matches(case: Case) -> None:
    """float32 inference against the float64 oracle."""
    assert case.out is not None
    mutual, _ = read_nifti(case.out / "mutual_information.nii.gz")
    expected = mutual_information(_oracle(case))
    assert float(np.abs(mutual - expected).max()) <= 1e-4
    entropy, _ = read_nifti(case.out / "entropy.nii.gz")
    assert float(np.abs(entropy - entropy_of(np.mean(_oracle(case), axis=0))).max()) <= 1e-4


@then("it is above 0.4 nats on the planted block and below 0.01 nats everywhere else")
def mutual_where(case: Case) -> None:
    """The members agree on 0 and 1000 HU and part on 500 HU.

    On the block (500 HU, noise sigma 10 HU), with logits 40 (x - t) / 1.5: at 500 HU the
    members give 0.995 and 0.065, MI 0.556 nats; at 540 HU (4 sigma) 0.998 and 0.17, MI
    0.45 nats; below 500 HU it is higher.  At 0 and 1000 HU both members are sure (MI below
    0.002 nats).
    """
    assert case.out is not None
    mutual, _ = read_nifti(case.out / "mutual_information.nii.gz")
    block = case.arrays["block"]
    assert float(mutual[block].min()) > 0.4
    assert float(mutual[~block].max()) < 0.01


@then("its label map is the most probable class of the members' mean computed here")
def labels_match(case: Case) -> None:
    """Argmax of the oracle's mean."""
    assert case.out is not None
    labels, _ = read_nifti(case.out / "labels.nii.gz")
    np.testing.assert_array_equal(labels, np.argmax(np.mean(_oracle(case), axis=0), axis=0))


@then("run.json summarises the mutual information per label, each member's label map is an "
      "alternative, and the summary prints it")
def summarised(case: Case) -> None:
    """Per label: mean and maximum over its voxels, against the oracle's."""
    record = case.record()
    expected = mutual_information(_oracle(case))
    labels = np.argmax(np.mean(_oracle(case), axis=0), axis=0)
    rows = {row["name"]: row for row in record["ensemble"]["mutual_information"]["per_label"]}
    for index, name in enumerate(("background", "object")):
        mine = labels == index
        assert rows[name]["voxels"] == int(mine.sum())
        assert abs(rows[name]["mean_nats"] - float(expected[mine].mean())) <= 1e-4
        assert abs(rows[name]["max_nats"] - float(expected[mine].max())) <= 1e-4
    assert [a["name"] for a in record["alternatives"]] == ["p>=0.3", "p>=0.7", "member-1",
                                                          "member-2"]
    assert "a deep ensemble of 2 members" in case.stdout
    assert f"object {rows['object']['mean_nats']:.3f} nats" in case.stdout


# --- a verdict that differs between members -----------------------------------------------

@given("a CT of a bone cylinder with a vessel at 30 mm, and a ring of 700 HU planted in the bone "
       "about the planned implant, 4 mm from it")
def cylinder_ct(case: Case) -> None:
    """:func:`~verification.inference.helpers.cylinder_ct`."""
    case.arrays.update(cylinder_ct_with_segment())


@given("an ensemble of two per-voxel members that differ only in the highest vessel intensity, "
       "750 and 600 HU")
def vessel_members(case: Case) -> None:
    """:func:`~verification.inference.helpers.vessel_ensemble`."""
    case.package = vessel_ensemble(case.root / "vessels")
    case.arrays["intervals"] = VESSEL_INTERVALS


@when("the ensemble segments the CT in process and the plan is made on its label map with its "
      "alternatives")
def segment_and_plan(case: Case) -> None:
    """In process: the CT is made in memory (no DICOM), the plan as ``corridor plan`` makes it
    (:func:`~corridor.planning.plan_trajectory` with the result's alternatives)."""
    assert case.package is not None
    result = infer(case.arrays["volume"], load_model_package(case.package),
                   InferenceOptions(device=Device.CPU))
    case.arrays["result"] = result
    planned = plan_trajectory(result.label_map, loaded(case.arrays["document"]), side=None,
                              landmarks={}, label_map_file=in_memory(result.label_map),
                              alternatives=result.alternatives)
    case.arrays["planned"] = planned


@then("member-1 and member-2 are each member's own most probable class computed here")
def member_maps(case: Case) -> None:
    """From the intervals each member's graph is built with (bone = 1, vessel = 2)."""
    result = case.arrays["result"]
    hu = case.arrays["hu"]
    for number, (low, high) in enumerate(case.arrays["intervals"], start=1):
        expected = np.where(hu > high, 1, np.where(hu > low, 2, 0))
        np.testing.assert_array_equal(result.alternatives[f"member-{number}"].labels, expected)
    # the members' mean says bone (1) on the segment: the nominal map lacks it
    assert bool(np.all(result.label_map.labels[case.arrays["planted"]] == 1))


@then(parsers.parse('the plan is flagged "{code}" for the vessel under member-1, and member-2 '
                    "keeps the verdict"))
def flagged_for_member(case: Case, code: str) -> None:
    """The nominal map (the members' mean) lacks the segment, member-1 holds it."""
    assert code == VERDICT_UNCERTAIN
    planned = case.arrays["planned"]
    assert planned.plan.verdict.value == "safe"
    np.testing.assert_allclose(planned.plan.trajectory.entry, case.arrays["entry"], atol=1e-9)
    assert planned.uncertainty is not None
    flips = planned.uncertainty.flips()
    assert {(f["alternative"], f["structure"]) for f in flips if f["alternative"].startswith(
        "member-")} == {("member-1", "vessel")}
    flag = planned.uncertainty.flag()
    assert flag is not None
    assert flag["code"] == code
    assert "member-1" in flag["message"]
    rows = {row["structure"]: row for row in planned.uncertainty.to_json()["clearances"]}
    assert rows["vessel"]["alternatives"]["member-2"]["met"] is True
    assert rows["vessel"]["alternatives"]["member-1"]["met"] is False


# --- refusals -----------------------------------------------------------------------------

@given("an ensemble package of two per-voxel threshold members")
def two_members(case: Case) -> None:
    """Thresholds at 400 and 600 HU."""
    case.package = write_ensemble(case.root / "model", [threshold_model(0.4),
                                                        threshold_model(0.6)])


def _set_members(case: Case, members: list[dict[str, str]]) -> None:
    manifest = json.loads(case.manifest_path().read_text())
    manifest["ensemble"] = members
    case.manifest_path().write_text(json.dumps(manifest))


def _replace_second(case: Case, model: onnx.ModelProto) -> None:
    """A new second member, pinned by its own (correct) SHA-256."""
    assert case.package is not None
    data = model.SerializeToString()
    (case.package / "member-2.onnx").write_bytes(data)
    _set_members(case, [{"onnx_file": "member-2.onnx",
                         "sha256": hashlib.sha256(data).hexdigest()}])


@given(parsers.parse("its second member {fault}"))
def fault(case: Case, fault: str) -> None:
    """Plant one fault in the second member or in the manifest's list of members."""
    assert case.package is not None
    path = case.package / "member-2.onnx"
    manifest = json.loads(case.manifest_path().read_text())
    if fault == "has one byte changed":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif fault == "is missing":
        path.unlink()
    elif fault == "has 3 output labels":
        _replace_second(case, linear_model(3))
    elif fault == "takes a fixed patch of 8":
        _replace_second(case, threshold_model(0.6, patch=(8, 8, 8)))
    elif fault == "is listed again as a third member":
        _set_members(case, [*manifest["ensemble"], manifest["ensemble"][0]])
    elif fault == "is the first member's file":
        _set_members(case, [{"onnx_file": "model.onnx", "sha256": manifest["sha256"]}])
    else:
        raise AssertionError(fault)


@when("the package is loaded")
def load_package(case: Case) -> None:
    """The real loader."""
    case.error = None
    try:
        load_model_package(case.package)  # type: ignore[arg-type]
    except ModelPackageError as exc:
        case.error = exc


@then(parsers.parse('loading is refused naming "{named}"'))
def refused_naming(case: Case, named: str) -> None:
    """A ModelPackageError whose message names the member and field."""
    assert isinstance(case.error, ModelPackageError), case.error
    assert named in str(case.error), str(case.error)


@when("I run corridor model inspect on that package")
def inspect_package(case: Case) -> None:
    """``corridor model inspect`` in process."""
    run_command(case, ["model", "inspect", str(case.package)])


@then("it prints each member's file and SHA-256 and \"verdict: VERIFIED\"")
def prints_members(case: Case) -> None:
    """Digests recomputed with hashlib."""
    assert case.package is not None
    for name in ("model.onnx", "member-2.onnx"):
        assert f"{name} sha256 {file_sha256(case.package / name)}" in case.stdout
    assert "verdict: VERIFIED" in case.stdout
