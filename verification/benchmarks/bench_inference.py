"""Benchmark of segmentation inference: ONNX Runtime against PyTorch eager on the same patches.

The script writes a pelvis phantom CT series (512 x 512 x 400 voxels by default,
0.75 x 0.75 x 1.0 mm) with :mod:`corridor_phantoms`, ingests it, and then:

* **whole CT**: times ``corridor.inference.infer`` with the shipped reference model
  end to end (resampling to the 1.5 mm model grid, sliding windows, probabilities
  back to the CT grid, entropy, statistics) and reports CT voxels per second;
* **same patches**, the named alternative: takes ``--windows`` windows of the
  preprocessed model-grid image and runs them, in batches as the runner does,
  through the ONNX Runtime session and through PyTorch eager (``torch.no_grad``)
  of the same weights (the network class of ``software/training`` with every
  parameter loaded from the ONNX file's initialisers), interleaved, best of
  ``--repeat``.  Before timing, the two outputs' class probabilities (softmax of
  the logits) must agree within 1e-3 on every voxel, so that both run the same
  computation (the logits themselves differ by float32 rounding in the instance
  normalisation's sums);
* **peak memory** of one ``infer`` in a fresh interpreter (``VmHWM`` after ingest as
  the baseline), against the CT volume and the model-grid probability field.

Target: ONNX Runtime faster than PyTorch eager on the same patches (speed > 1).
``--device cuda`` runs both on the GPU (ONNX Runtime CUDA provider, PyTorch CUDA);
record the figures beside the CPU ones.

Usage::

    python verification/benchmarks/bench_inference.py [--shape 512 512 400] \\
        [--windows 24] [--repeat 3] [--device cpu|cuda] [--keep DIR] [--enforce]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from numpy.typing import NDArray
from onnx import numpy_helper

from _common import cpu_model, run_main
from corridor import __version__
from corridor.inference import REFERENCE_MODEL, InferenceOptions, infer, load_model_package
from corridor.inference.resample import model_grid, to_model_grid
from corridor.inference.session import Device, open_session
from corridor.inference.window import window_starts
from corridor.ingest import ingest
from corridor_phantoms import make_phantom, write_series

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "software" / "training"))
from train_reference import UNet3D  # the training code is not an installed package

DEFAULT_SHAPE = (512, 512, 400)
DEFAULT_SPACING = (0.75, 0.75, 1.0)
TARGET_SPEED = 1.0
AGREEMENT = 1e-3
MEBIBYTE = 1 << 20

_MEMORY_PROBE = """\
import json, sys
from pathlib import Path
from corridor.ingest import ingest
from corridor.inference import InferenceOptions, infer, load_model_package

def high_water_mark():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0

volume = ingest(Path(sys.argv[1])).volume
package = load_model_package(sys.argv[2])
baseline = high_water_mark()
result = infer(volume, package, InferenceOptions(device=sys.argv[3]))
print(json.dumps({"baseline": baseline, "peak": high_water_mark(),
                  "volume": volume.hu.nbytes, "labels": len(package.manifest.labels),
                  "grid": result.record["spatial_operations"][0]["model_grid"]["shape_ijk"]}))
"""


def torch_network(onnx_path: Path, device: str) -> torch.nn.Module:
    """The training network with every parameter taken from the ONNX file's initialisers."""
    graph = onnx.load(onnx_path).graph
    initialisers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    network = UNet3D()
    state = network.state_dict()
    missing = [name for name in state if name not in initialisers]
    if missing:
        raise SystemExit(f"ONNX initialisers lack {missing[:5]}: not the training network")
    network.load_state_dict({name: torch.from_numpy(initialisers[name].copy()) for name in state})
    return network.eval().to(device)


def _patches(image: NDArray[np.float32], patch: tuple[int, int, int], count: int,
             ) -> list[NDArray[np.float32]]:
    corners = [(a, b, c) for a in window_starts(image.shape[0], patch[0], 0.5)
               for b in window_starts(image.shape[1], patch[1], 0.5)
               for c in window_starts(image.shape[2], patch[2], 0.5)]
    chosen = np.linspace(0, len(corners) - 1, min(count, len(corners))).round().astype(int)
    return [image[a:a + patch[0], b:b + patch[1], c:c + patch[2]]
            for a, b, c in (corners[n] for n in chosen)]


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _best(times: list[float]) -> float:
    return min(times)


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    shape = tuple(args.shape)
    started = time.perf_counter()
    phantom = make_phantom("pelvis", shape=shape, spacing=tuple(args.spacing), seed=11)
    written = write_series(phantom, base / "series")
    generate_s = time.perf_counter() - started
    volume = ingest(written.out_dir / "dicom").volume
    del phantom
    package = load_model_package(REFERENCE_MODEL)
    manifest = package.manifest
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    device = Device(args.device)
    session = open_session(package, device, threads=threads)
    torch_device = "cuda" if session.on_gpu else "cpu"
    # Like for like with Corridor's CUDA provider, which runs full float32 (no TF32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    grid = model_grid(volume.geometry, manifest.input_spacing_mm, manifest.grid)
    image = to_model_grid(volume.hu, volume.geometry, grid, manifest.intensity.clip_hu[0])
    np.clip(image, *manifest.intensity.clip_hu, out=image)
    image = (image - manifest.intensity.subtract) / manifest.intensity.divide
    patch = manifest.patch_size[::-1]
    patches = _patches(image.astype(np.float32), patch, args.windows)
    batches = [np.ascontiguousarray(np.stack(patches[n:n + 2])[:, np.newaxis])
               for n in range(0, len(patches), 2)]
    network = torch_network(package.onnx_path, torch_device)

    def run_ort() -> list[NDArray[np.float32]]:
        return [session.run(batch) for batch in batches]

    def run_torch() -> list[NDArray[np.float32]]:
        with torch.no_grad():
            outputs = [network(torch.from_numpy(batch).to(torch_device)) for batch in batches]
            return [o.cpu().numpy() for o in outputs]

    difference = max(float(np.max(np.abs(_softmax(a) - _softmax(b))))
                     for a, b in zip(run_ort(), run_torch(), strict=True))
    if difference > AGREEMENT:
        raise SystemExit(f"ONNX Runtime and PyTorch probabilities differ by {difference:.2e} "
                         f"(expected <= {AGREEMENT})")
    ort_times, torch_times = [], []
    for _ in range(args.repeat):
        gc.collect()
        t = time.perf_counter()
        run_ort()
        ort_times.append(time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        run_torch()
        torch_times.append(time.perf_counter() - t)
    window_count = len(patches)
    del image, patches

    gc.collect()
    t = time.perf_counter()
    result = infer(volume, package, InferenceOptions(device=device, threads=threads))
    whole_s = time.perf_counter() - t
    record = result.record
    del result
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(written.out_dir / "dicom"),
         str(REFERENCE_MODEL), device.value], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"memory probe failed:\n{probe.stderr}")
    memory = json.loads(probe.stdout.strip().splitlines()[-1])

    voxels = int(np.prod(volume.geometry.shape))
    grid_voxels = int(np.prod(grid.shape))
    speed = _best(torch_times) / _best(ort_times)
    beyond = memory["peak"] - memory["baseline"]
    field = grid_voxels * memory["labels"] * 4
    print("Corridor inference benchmark")
    print(f"  machine   : {cpu_model()}; os.cpu_count()={os.cpu_count()}; "
          f"{platform.system()} {platform.release()}")
    print(f"  software  : corridor {__version__}; onnxruntime {ort.__version__}; "
          f"torch {torch.__version__}; numpy {np.__version__}; threads {threads}")
    print(f"  provider  : {session.provider} (requested {device.value}); "
          f"torch on {torch_device}")
    print(f"  model     : {manifest.name} {manifest.version} sha256 {package.sha256[:16]}...")
    print(f"  CT        : pelvis phantom {shape[0]} x {shape[1]} x {shape[2]} at "
          f"{' x '.join(f'{s:g}' for s in args.spacing)} mm ({voxels:,} voxels), generated in "
          f"{generate_s:.0f} s; model grid {' x '.join(map(str, grid.shape))} ({grid_voxels:,})")
    print()
    print(f"  same patches: {window_count} windows of "
          f"{' x '.join(map(str, manifest.patch_size))} in batches of 2; probabilities agree "
          f"within {difference:.1e}")
    print(f"    ONNX Runtime      best {_best(ort_times):7.3f} s  runs "
          f"{', '.join(f'{t:.3f}' for t in ort_times)}")
    print(f"    PyTorch eager     best {_best(torch_times):7.3f} s  runs "
          f"{', '.join(f'{t:.3f}' for t in torch_times)}")
    print(f"    speed (PyTorch time / ONNX Runtime time): {speed:.2f}")
    print()
    timing = record["timing_s"]
    print(f"  whole CT (one run): {whole_s:.1f} s = {voxels / whole_s / 1e6:.2f} M CT voxels/s "
          f"({grid_voxels / whole_s / 1e6:.2f} M model-grid voxels/s); prepare "
          f"{timing['prepare_s']} s, windows and back to the CT grid "
          f"{timing['predict_and_resample_back_s']} s ({record['parameters']['windows_run']} "
          f"windows), statistics {timing['statistics_s']} s")
    outputs = voxels * (1 + 4)  # uint8 labels and float32 entropy on the CT grid
    model_input = grid_voxels * 4
    band = memory["labels"] * manifest.patch_size[2] * grid.shape[0] * grid.shape[1] * 4
    rest = beyond - outputs - model_input - band
    print(f"  peak memory of infer beyond the ingested volume (fresh interpreter, VmHWM): "
          f"{beyond / MEBIBYTE:.0f} MiB = {beyond / memory['volume']:.2f} x the CT volume "
          f"({memory['volume'] / MEBIBYTE:.0f} MiB)")
    print(f"    of which output maps {outputs / MEBIBYTE:.0f} MiB (labels uint8 + entropy "
          f"float32, CT grid), model-grid input {model_input / MEBIBYTE:.0f} MiB (1 channel), "
          f"blended scores {band / MEBIBYTE:.0f} MiB (one patch depth), the rest "
          f"{rest / MEBIBYTE:.0f} MiB (ONNX Runtime's buffers for the patch batch, temporaries)")
    print(f"    for comparison, a float32 copy per class of the whole model grid would be "
          f"{field / MEBIBYTE:.0f} MiB")
    met = speed > TARGET_SPEED
    print(f"  target: ONNX Runtime faster than PyTorch eager on the same patches: "
          f"{'met' if met else 'MISSED'} ({speed:.2f})")
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs=3, default=list(DEFAULT_SHAPE),
                        metavar=("I", "J", "K"))
    parser.add_argument("--spacing", type=float, nargs=3, default=list(DEFAULT_SPACING),
                        metavar=("SI", "SJ", "SK"))
    parser.add_argument("--windows", type=int, default=24,
                        help="windows in the same-patch comparison (default 24)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--enforce", action="store_true",
                        help="exit with status 1 when the target is missed")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the series in DIR")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.windows < 2 or args.repeat < 1:
        parser.error("--windows must be at least 2 and --repeat at least 1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 with ``--enforce`` when the target is missed."""
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
