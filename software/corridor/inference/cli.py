"""``corridor infer`` and ``corridor model inspect``.

``corridor infer DICOM_PATH --model DIR --out DIR [--device auto|cuda|cpu] [--tta]``
ingests the CT series, segments it with the model package and writes the label
map, uncertainty maps (with a deep ensemble, its mutual information), DICOM SEG and run
record (exit 0; 2 on refused input, a bad model package or an unavailable device).

``corridor model inspect DIR`` prints a model package's manifest and whether it
verifies (hash, graph against manifest): exit 0 when it does, 2 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corridor.errors import ExitStatus
from corridor.inference.api import InferenceOptions, infer
from corridor.inference.errors import ModelPackageError
from corridor.inference.outputs import ABSENT_KEY, ImageFormat, write_outputs
from corridor.inference.package import MANIFEST_NAME, load_model_package
from corridor.inference.session import Device
from corridor.inference.window import Weighting
from corridor.ingest.api import ingest
from corridor.staging import check_output_folder

__all__ = ["add_infer_parser", "add_model_parser"]


def _infer(args: argparse.Namespace) -> int:
    check_output_folder(args.out)  # before any work, so nothing runs for nothing
    package = load_model_package(args.model)
    volume = ingest(args.dicom_path, args.series, regularize=args.regularize).volume
    options = InferenceOptions(device=Device(args.device), overlap=args.overlap,
                               batch_size=args.batch_size, weighting=Weighting(args.weighting),
                               tta=args.tta, threads=args.threads)
    result = infer(volume, package, options)
    written = write_outputs(result, volume, args.out, image_format=ImageFormat(args.format),
                            seg=not args.no_seg)
    print(f"model {result.model.name} {result.model.version} "
          f"(sha256 {result.model.sha256[:12]}...) ran on {result.execution['provider']}")
    for row in result.statistics:
        print(f"  {row.name:<12} {row.volume_ml:10.1f} ml  mean probability "
              f"{row.mean_probability:.3f}  mean entropy {row.mean_entropy:.3f} nats")
    ensemble = result.record.get("ensemble") or {}
    mutual = ensemble.get("mutual_information")
    if mutual is not None:
        print(f"  a deep ensemble of {len(ensemble['members'])} members; mutual information "
              "(their disagreement), mean over each label: " + ", ".join(
                  f"{row['name']} {row['mean_nats']:.3f} nats" for row in mutual["per_label"]
                  if row["mean_nats"] is not None))
    for flag in result.flags:
        print(f"  flag [{flag.code.value}]: {flag.message}")
    absent = written.record.get(ABSENT_KEY) or []
    if absent:
        print("  the series lacks " + ", ".join(f"{a['name']} {a['tag']}" for a in absent)
              + f": see {ABSENT_KEY} in run.json for what the SEG holds instead")
    print(f"wrote {args.out}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    manifest_path = Path(args.directory) / MANIFEST_NAME
    try:
        package = load_model_package(args.directory)
    except ModelPackageError as exc:
        if manifest_path.is_file():
            print(manifest_path.read_text(encoding="utf-8", errors="replace").rstrip())
        print(f"verdict: REFUSED: {exc}", file=sys.stderr)
        return ExitStatus.INPUT_ERROR
    print(json.dumps(package.manifest.model_dump(mode="json"), indent=2))
    signature = package.signature
    print(f"graph: input {signature.input_name} {list(signature.input_shape)}, output "
          f"{signature.output_name} {list(signature.output_shape)}, opset {signature.opset}")
    if package.is_ensemble:
        for member in package.members:
            print(f"member {member.name}: {member.onnx_path.name} sha256 {member.sha256}")
        print(f"verdict: VERIFIED: the {len(package.members)} members' sha256 match (ensemble "
              f"sha256 {package.sha256}); every graph agrees with the manifest and with "
              "member-1's")
        return 0
    print(f"verdict: VERIFIED: sha256 {package.sha256} matches; graph agrees with the manifest")
    return 0


def add_infer_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``infer`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("infer", help="segment a CT series with a model package",
                                   description=__doc__)
    parser.add_argument("dicom_path", type=Path, help="a DICOM file or folder (as for ingest)")
    parser.add_argument("--model", type=Path, required=True, metavar="DIR",
                        help="model package folder (manifest.json + ONNX file)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (new or empty); written all or nothing")
    parser.add_argument("--series", metavar="UID", help="Series Instance UID to load")
    parser.add_argument("--regularize", action="store_true",
                        help="resample a gantry-tilted or unevenly spaced series onto a regular "
                             "grid instead of refusing it (recorded; flagged for review)")
    parser.add_argument("--device", choices=[d.value for d in Device], default="auto",
                        help="auto: TensorRT, CUDA, else CPU; cuda: GPU or error; cpu")
    parser.add_argument("--tta", action="store_true",
                        help="average 8 mirrored passes and write their variance")
    parser.add_argument("--overlap", type=float, default=0.5,
                        help="fraction of a window shared with its neighbour (default 0.5)")
    parser.add_argument("--batch-size", type=int, default=2, help="windows per run call")
    parser.add_argument("--weighting", choices=[w.value for w in Weighting], default="gaussian")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime CPU threads")
    parser.add_argument("--format", choices=[f.value for f in ImageFormat], default="nii.gz",
                        help="label and uncertainty map format (default nii.gz)")
    parser.add_argument("--no-seg", action="store_true", help="do not write the DICOM SEG")
    parser.set_defaults(handler=_infer)


def add_model_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``model`` (with ``inspect``) to the ``corridor`` parser."""
    parser = subparsers.add_parser("model", help="inspect a model package",
                                   description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True)
    inspect = actions.add_parser("inspect", help="print the manifest and verify the package")
    inspect.add_argument("directory", type=Path, help="model package folder")
    inspect.set_defaults(handler=_inspect)
