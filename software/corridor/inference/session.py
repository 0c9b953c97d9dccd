"""ONNX Runtime sessions: pick the execution provider, verify the one that actually runs.

ONNX Runtime falls back to the CPU silently when CUDA or TensorRT cannot start
(missing libraries, no GPU); it only logs.  So the session's active providers are
read back after creation, reported, and compared with the request: ``--device
cuda`` that ends up on the CPU is an error, never a quiet slowdown with possibly
different numbers.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from corridor.inference.errors import ProviderUnavailableError
from corridor.inference.package import ModelPackage

__all__ = ["GPU_PROVIDERS", "Device", "ModelSession", "open_session", "open_sessions"]

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
"""GPU execution providers in order of preference."""

_QUIET = 4
"""ONNX Runtime log severity ``fatal``: a failed GPU attempt is reported by us, not logged."""

_DEFAULT_SEVERITY = 2
"""ONNX Runtime's default log severity (warning), restored after the GPU attempts."""


class Device(StrEnum):
    """Where inference is asked to run."""

    AUTO = "auto"
    """TensorRT, else CUDA, else CPU: whatever starts."""
    CUDA = "cuda"
    """A GPU provider (TensorRT or CUDA) or an error."""
    CPU = "cpu"
    """The CPU provider only (deterministic: two runs give identical bytes)."""


@dataclass(frozen=True, slots=True)
class ModelSession:
    """An ONNX Runtime session for one model package, and the provider it runs on."""

    session: ort.InferenceSession
    input_name: str
    output_name: str
    requested: Device
    provider: str
    """The execution provider that runs the graph (the session's first active one)."""
    available: tuple[str, ...]
    """The providers this ONNX Runtime build offers (not all of them may start)."""
    attempts: tuple[str, ...]
    """What was tried before this provider, and why it was not used."""
    member: str = "member-1"
    """The package member this session runs (:class:`~corridor.inference.package.PackageMember`)."""

    @property
    def provider_options(self) -> dict[str, str]:
        """The running provider's options as ONNX Runtime reports them (read back)."""
        return dict(self.session.get_provider_options().get(self.provider, {}))

    @property
    def on_gpu(self) -> bool:
        """Whether a GPU provider runs the graph."""
        return self.provider in GPU_PROVIDERS

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run one batch ``(n, channel, k, j, i)``; return the first output as float32.

        On a GPU provider the input and output are bound through IO binding, so that
        ONNX Runtime copies each batch to the device once and the result back once.
        """
        if self.on_gpu:
            binding = self.session.io_binding()
            binding.bind_ortvalue_input(
                self.input_name, ort.OrtValue.ortvalue_from_numpy(batch, "cuda", 0))
            binding.bind_output(self.output_name, "cuda", 0)
            self.session.run_with_iobinding(binding)
            result = binding.copy_outputs_to_cpu()[0]
        else:
            result = self.session.run([self.output_name], {self.input_name: batch})[0]
        return np.asarray(result, dtype=np.float32)


def _options(*, quiet: bool, threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.use_deterministic_compute = True
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if quiet:
        options.log_severity_level = _QUIET
    return options


def _provider_options(name: str) -> tuple[str, dict[str, Any]] | str:
    if name == CUDA:
        # Full float32: TF32 convolutions (ONNX Runtime's default on Ampere and later) changed
        # 4 label voxels in 4.4 million against the CPU on an H100; with use_tf32 off none
        # changed, at the same speed (verification/benchmarks/RESULTS.md, GPU).
        return (CUDA, {"cudnn_conv_algo_search": "HEURISTIC",
                       "do_copy_in_default_stream": True, "use_tf32": 0})
    if name == TENSORRT:
        return (TENSORRT, {"trt_engine_cache_enable": False})
    return name


def _session(onnx_bytes: bytes, providers: Sequence[str], *, quiet: bool,
             threads: int | None) -> ort.InferenceSession:
    return ort.InferenceSession(onnx_bytes, sess_options=_options(quiet=quiet, threads=threads),
                                providers=[_provider_options(p) for p in providers])


@functools.cache
def _load_gpu_libraries() -> str:
    """Load the CUDA and cuDNN libraries of NVIDIA's pip packages; what could not be loaded.

    ONNX Runtime's CUDA provider library finds CUDA and cuDNN only on the loader's
    search path, where NVIDIA's pip packages (``nvidia-cublas``, ``nvidia-cudnn-cu13``,
    ..., installed beside PyTorch for instance) are not: unless something has loaded
    them first (``import torch`` does), the provider does not start.
    ``onnxruntime.preload_dlls`` loads them from those packages, else from the default
    search path.  It prints what it could not load; that text is returned, for the
    session's attempts.  Once per process.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # an ONNX Runtime older than 1.21
        return ""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            preload()
    except Exception as exc:  # reported in attempts, like a provider that fails to start
        return f"{type(exc).__name__}: {exc}"
    return " ".join(printed.getvalue().split())


def _fallback_reason(printed: str) -> str:
    """The error in ONNX Runtime's printed fallback notice (``EP Error ... when using``), if any."""
    match = re.search(r"^EP Error:? (.*?)(?: when using | using \[|$)", printed, re.MULTILINE)
    return " ".join(match.group(1).split()) if match else ""


def _gpu_present() -> bool:
    """Whether the NVIDIA driver reports a GPU (Linux); ``True`` where that cannot be told."""
    listing = Path("/proc/driver/nvidia/gpus")
    if Path("/proc").is_dir() and not Path("/proc/driver/nvidia").exists():
        return False
    return not listing.is_dir() or any(listing.iterdir())


def open_session(package: ModelPackage, device: Device | str = Device.AUTO, *,
                 threads: int | None = None) -> ModelSession:
    """Open a session on the requested device and report the provider that runs.

    Parameters
    ----------
    package
        A verified model package (its hashed bytes are what ONNX Runtime loads).
    device
        ``auto``: TensorRT, CUDA, then CPU, whichever starts first; ``cuda``: a GPU
        provider or :class:`ProviderUnavailableError`; ``cpu``: the CPU provider.
    threads
        CPU threads for ONNX Runtime's operators (default: its own choice).

    Raises
    ------
    ProviderUnavailableError
        ``cuda`` was requested and no GPU provider started.
    """
    wanted = Device(device)
    available = tuple(ort.get_available_providers())
    attempts: list[str] = []
    session: ort.InferenceSession | None = None
    gpu_providers = [p for p in GPU_PROVIDERS if p in available]
    if wanted is not Device.CPU and gpu_providers and not _gpu_present():
        attempts.append("no NVIDIA GPU reported by the driver (/proc/driver/nvidia)")
        gpu_providers = []
    if wanted is not Device.CPU:
        preload_report = _load_gpu_libraries() if gpu_providers else ""
        ort.set_default_logger_severity(_QUIET)  # a failed attempt is reported in attempts
        try:
            for provider in gpu_providers:
                printed = io.StringIO()
                try:
                    # ONNX Runtime prints its own fallback ("EP Error ...") to stdout
                    with contextlib.redirect_stdout(printed):
                        candidate = _session(package.onnx_bytes, [provider, CPU], quiet=True,
                                             threads=threads)
                except Exception as exc:  # a provider that fails to start is reported
                    attempts.append(f"{provider}: {type(exc).__name__}: {exc}")
                    continue
                if candidate.get_providers()[0] == provider:
                    session = candidate
                    break
                reason = _fallback_reason(printed.getvalue())
                attempts.append(f"{provider}: did not start "
                                f"({reason or 'GPU libraries missing or unusable'})")
        finally:
            ort.set_default_logger_severity(_DEFAULT_SEVERITY)
        if session is None and preload_report:
            attempts.append(f"GPU library preload: {preload_report}")
        if session is None and wanted is Device.CUDA:
            raise ProviderUnavailableError(
                wanted.value, [CPU], available,
                "; ".join(attempts) or "this build has no GPU provider")
    if session is None:
        session = _session(package.onnx_bytes, [CPU], quiet=False, threads=threads)
    signature = package.signature
    return ModelSession(session, signature.input_name, signature.output_name, wanted,
                        session.get_providers()[0], available, tuple(attempts))


def open_sessions(package: ModelPackage, device: Device | str = Device.AUTO, *,
                  threads: int | None = None) -> tuple[ModelSession, ...]:
    """One session per member of the package, all on one execution provider.

    The first member's session is opened as :func:`open_session` opens it (the provider
    chosen and verified); every further member's is opened on that provider and read back:
    members of one ensemble never run on different providers.

    Raises
    ------
    ProviderUnavailableError
        ``cuda`` was requested and no GPU provider started, or a further member did not start
        on the provider the first runs on.
    """
    first = open_session(package, device, threads=threads)
    sessions = [first]
    for member in package.members[1:]:
        providers = [first.provider] if first.provider == CPU else [first.provider, CPU]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # ONNX Runtime prints its own fallback
            session = _session(member.onnx_bytes, providers, quiet=first.on_gpu,
                               threads=threads)
        active = session.get_providers()
        if active[0] != first.provider:
            raise ProviderUnavailableError(
                first.provider, active, first.available,
                f"{member.name} did not start on the provider member-1 runs on"
                + (f": {_fallback_reason(printed.getvalue())}"
                   if _fallback_reason(printed.getvalue()) else ""))
        signature = member.signature
        sessions.append(ModelSession(session, signature.input_name, signature.output_name,
                                     first.requested, active[0], first.available,
                                     first.attempts, member.name))
    return tuple(sessions)
