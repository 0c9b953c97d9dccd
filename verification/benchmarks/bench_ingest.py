"""Benchmark of DICOM CT ingest against SimpleITK's series reader and a raw read of the bytes.

The script writes one uncompressed CT series with :mod:`corridor_phantoms` (the
pelvis phantom, 512 x 512 x 400 voxels by default, one Explicit VR Little
Endian file a slice) to a temporary folder, then times, best of ``--repeat``,
with the three readers interleaved in each round:

* **corridor**: ``corridor.ingest.ingest(folder)`` end to end (find the files,
  read and group their headers, sort and validate the series, read, hash and
  decode every file, rescale to HU);
* **SimpleITK**, the named alternative: ``ImageSeriesReader`` with
  ``GetGDCMSeriesFileNames(folder)`` then ``Execute()``, as a user would run
  it; the discovery and ``Execute`` are also reported apart;
* **raw read**, the floor: list the folder and read every file's bytes with
  ``Path.read_bytes`` (nothing parsed, nothing kept).

For context only, two more floors are timed in the same rounds: the raw read
plus the SHA-256 of every file (which ingest must compute for provenance,
SRS-ING-013), and one pydicom pass over every file (``dcmread`` from the bytes
and ``pixel_array``, nothing hashed, checked or kept), the work a reader built
on pydicom cannot avoid.

Every file is read once before timing, so all are measured with the series in
the page cache (warm); the figures are CPU and memory bound, not disk bound.
Throughput is megabytes (10**6 bytes) of file bytes per second.  Each row also
shows the median of the rounds, and the process's user and kernel CPU time in
its best round (all threads): on virtual machines the kernel time of first
touching a reader's output memory varies from run to run.

Before timing, one untimed run of each reader checks that they agree: corridor's
HU equal the phantom's ground truth on every voxel, SimpleITK's HU (its array is
``[k, j, i]``, rescaled by GDCM) equal corridor's (``volume.hu`` is
``[i, j, k]``), and SimpleITK's origin, spacing and direction (LPS) place every
voxel within 1e-3 mm of corridor's geometry.  The script stops with an error if
they do not.

Peak memory is measured for each reader in a fresh interpreter
(``python -c``): the peak resident set size during one ingest, minus the peak
after the imports, divided by the size of the volume (corridor's ``hu.nbytes``,
int16).  The peak is the interpreter's own high-water mark (``VmHWM``), not
``ru_maxrss``, which on Linux starts at the high-water mark of the process that
launched it (see :data:`_MEMORY_PROBE`).  For corridor, the peak of memory
traced by :mod:`tracemalloc` (Python and NumPy allocations) is measured in a
third interpreter.

With ``--cold`` (root only), the raw read and corridor are also timed, ``--repeat``
times each and interleaved, with the page cache dropped before every run, so that
every byte comes from the disk.

Targets, at the default shape: corridor faster than SimpleITK (discovery plus
``Execute``); corridor's throughput at least half the raw read's, judged cold
(from the disk: warm, the raw read is a memory copy at about 12 GB/s, and
reading plus the SHA-256 that provenance requires already falls below half of
it, as the report shows); corridor's peak memory at most 1.3 times the volume
beyond the interpreter's baseline.
``--enforce`` makes a missed target exit with status 1.

Usage::

    python verification/benchmarks/bench_ingest.py \\
        [--shape 512 512 400] [--repeat 3] [--cold] [--keep DIR] [--enforce]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk  # noqa: N813 - the alias SimpleITK's own documentation uses
from numpy.typing import NDArray
from pydicom.pixels.utils import pixel_array

from _common import cpu_model, memory_total, run_main, source_commit
from corridor.geometry import AFFINE_TOLERANCE_MM, ImageGeometry
from corridor.ingest import IngestResult, ingest
from corridor_phantoms import make_phantom, write_series

__all__ = [
    "Agreement",
    "AgreementError",
    "MemoryPeak",
    "Run",
    "Series",
    "Timings",
    "check_agreement",
    "generate_series",
    "hash_floor",
    "main",
    "measure_memory",
    "pydicom_floor",
    "read_raw",
    "time_corridor",
    "time_simpleitk",
]

DEFAULT_SHAPE = (512, 512, 400)
"""Voxels along i (columns), j (rows) and k (slices, one file each) by default."""
DEFAULT_REPEAT = 3
"""Timed rounds by default; the best of each reader is reported."""
PHANTOM_KIND = "pelvis"
"""The :mod:`corridor_phantoms` anatomy written (default spacing 1.5 x 1.5 x 2.0 mm, seed 0)."""

TARGET_SIMPLEITK_SPEED = 1.0
"""Corridor's throughput must exceed SimpleITK's (discovery plus ``Execute``) times this."""
TARGET_RAW_FRACTION = 0.5
"""Corridor's throughput must be at least this fraction of the raw read's."""
TARGET_MEMORY_RATIO = 1.3
"""Corridor's peak resident memory beyond the interpreter's baseline, over the volume's
size in bytes, must be at most this."""

GEOMETRY_TOLERANCE_MM = AFFINE_TOLERANCE_MM
"""Largest difference (mm) allowed between the two readers' origins, spacings and voxel
steps (direction times spacing), and between the positions of their corner voxels."""

MEGABYTE = 1_000_000
"""Bytes in a megabyte, for throughput (MB/s)."""
MEBIBYTE = 1 << 20
"""Bytes in a mebibyte, for memory (MiB)."""

READERS = ("corridor", "simpleitk")
"""Readers whose peak memory is measured, as the memory probe names them."""

_MEMORY_PROBE = """\
import json, resource, sys, tracemalloc
reader, folder, trace = sys.argv[1], sys.argv[2], sys.argv[3] == "tracemalloc"
if reader == "corridor":
    from pathlib import Path
    from corridor.ingest import ingest
else:
    import SimpleITK as sitk

def high_water_mark():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024, "VmHWM"
    except OSError:
        pass
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit, "ru_maxrss"

baseline, source = high_water_mark()
if trace:
    tracemalloc.start()
if reader == "corridor":
    nbytes = ingest(Path(folder)).volume.hu.nbytes
else:
    series_reader = sitk.ImageSeriesReader()
    series_reader.SetFileNames(series_reader.GetGDCMSeriesFileNames(folder))
    image = series_reader.Execute()
    nbytes = image.GetNumberOfPixels() * image.GetSizeOfPixelComponent()
peak, _ = high_water_mark()
traced = tracemalloc.get_traced_memory()[1] if trace else None
print(json.dumps({"baseline": baseline, "peak": peak, "source": source, "traced": traced,
                  "nbytes": nbytes}))
"""
"""Run as ``python -c PROBE READER FOLDER {rss,tracemalloc}``: one ingest in a fresh
interpreter.  Prints the peak resident set size after the imports (the baseline) and
after the ingest, in bytes, with its source; the tracemalloc peak (bytes, or null); and
the size of the volume read (bytes).

The peak is the process image's own high-water mark, ``VmHWM`` in ``/proc/self/status``,
where there is one.  ``ru_maxrss`` is the fallback only: on Linux it carries over the
high-water mark of the process that started the probe (the kernel keeps the larger of
it and the new image's across ``fork`` and ``execve``), so in a probe started by this
script it reads this script's resident size, not the probe's."""


class AgreementError(AssertionError):
    """The readers disagree, or corridor did not load the series cleanly.

    The timings would then compare different work, so the benchmark stops.

    Attributes
    ----------
    what
        What was compared.
    found
        What was found.
    expected
        What agreeing readers give.
    """

    def __init__(self, what: str, found: object, expected: object) -> None:
        self.what = what
        self.found = found
        self.expected = expected
        super().__init__(f"ingest benchmark: {what}: found {found}, expected {expected}")


@dataclass(frozen=True, slots=True)
class Series:
    """The generated series on disk.

    Attributes
    ----------
    folder
        The folder holding the series' files and nothing else.
    truth
        The phantom's ground-truth HU (``.npy``, int16 ``[i, j, k]``).
    files
        The series' files, sorted by name.
    file_bytes
        Their total size in bytes.
    shape
        Voxels along i, j and k.
    transfer_syntax_uid
        Transfer Syntax UID of the files.
    generate_s
        Seconds taken to make and write the phantom.
    """

    folder: Path
    truth: Path
    files: tuple[Path, ...]
    file_bytes: int
    shape: tuple[int, int, int]
    transfer_syntax_uid: str
    generate_s: float


@dataclass(frozen=True, slots=True)
class Agreement:
    """What the untimed check found (all within tolerance, else it raised).

    Attributes
    ----------
    voxels
        Voxels compared, truth to corridor and corridor to SimpleITK (all equal).
    corridor_dtype, simpleitk_pixel_type
        The voxel types each reader returned.
    volume_bytes
        Size of corridor's volume, ``hu.nbytes``.
    origin_mm, spacing_mm, steps_mm, corners_mm
        Largest difference between the readers' origins, spacings, voxel steps
        (direction times spacing) and corner voxel positions, in mm.
    """

    voxels: int
    corridor_dtype: str
    simpleitk_pixel_type: str
    volume_bytes: int
    origin_mm: float
    spacing_mm: float
    steps_mm: float
    corners_mm: float


@dataclass(frozen=True, slots=True)
class Run:
    """One timed call, in seconds.

    Attributes
    ----------
    wall
        Wall time.
    user, system
        CPU time of the whole process in user and in kernel mode, every thread
        included (SimpleITK's, and ingest's read-ahead thread).
    """

    wall: float
    user: float
    system: float

    def __add__(self, other: Run) -> Run:
        """The two runs one after the other."""
        return Run(self.wall + other.wall, self.user + other.user, self.system + other.system)


class _Stopwatch:
    """Wall and process CPU time since it was started or last read."""

    def __init__(self) -> None:
        self._start = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), usage.ru_utime, usage.ru_stime

    def lap(self) -> Run:
        """The time since the start or the previous lap."""
        now = self._now()
        run = Run(*(b - a for a, b in zip(self._start, now, strict=True)))
        self._start = now
        return run


@dataclass(slots=True)
class Timings:
    """Every timed round, one list per reader or floor."""

    raw: list[Run]
    corridor: list[Run]
    discovery: list[Run]
    execute: list[Run]
    hashed: list[Run]
    pydicom: list[Run]
    cold_raw: list[Run]
    cold_corridor: list[Run]

    @property
    def simpleitk(self) -> list[Run]:
        """SimpleITK end to end in each round: discovery plus ``Execute``."""
        return [d + e for d, e in zip(self.discovery, self.execute, strict=True)]


@dataclass(frozen=True, slots=True)
class MemoryPeak:
    """Resident memory of one ingest in a fresh interpreter.

    Attributes
    ----------
    reader
        ``corridor`` or ``simpleitk``.
    baseline_bytes
        Peak resident set size after the imports.
    peak_bytes
        Peak resident set size after the ingest.
    source
        Where the peaks come from: ``VmHWM`` (``/proc/self/status``) or ``ru_maxrss``.
    output_bytes
        Size of the volume the reader returned, in its own voxel type.
    traced_peak_bytes
        Peak of the memory :mod:`tracemalloc` traced during the ingest (measured in
        another interpreter), or ``None`` where not measured.
    """

    reader: str
    baseline_bytes: int
    peak_bytes: int
    source: str
    output_bytes: int
    traced_peak_bytes: int | None = None

    @property
    def beyond_bytes(self) -> int:
        """Peak resident memory beyond the baseline."""
        return self.peak_bytes - self.baseline_bytes


def generate_series(base: Path, shape: tuple[int, int, int]) -> Series:
    """Make the phantom and write it as an uncompressed single-frame CT series.

    Parameters
    ----------
    base
        An empty folder; the series goes to ``base/series/dicom``, its ground truth
        to ``base/series/truth``.
    shape
        Voxels along i, j and k.

    Returns
    -------
    Series
        Where the series lies and what it holds.
    """
    start = time.perf_counter()
    written = write_series(make_phantom(PHANTOM_KIND, shape=shape), base / "series")
    generate_s = time.perf_counter() - start
    files = tuple(sorted(written.paths))
    if files != tuple(sorted(written.slice_paths)):
        raise AgreementError("files written", len(files),
                             f"only the {len(written.slice_paths)} slice files")
    return Series(
        folder=written.out_dir / "dicom",
        truth=written.out_dir / "truth" / "hu.npy",
        files=files,
        file_bytes=sum(path.stat().st_size for path in files),
        shape=shape,
        transfer_syntax_uid=str(written.manifest["series"]["transfer_syntax_uid"]),
        generate_s=generate_s,
    )


def read_raw(folder: Path) -> tuple[Run, int]:
    """Time the floor once: list ``folder`` and read every file's bytes.

    Returns
    -------
    tuple
        The time taken, and the number of bytes read.
    """
    watch = _Stopwatch()
    total = 0
    for path in sorted(folder.iterdir()):
        total += len(path.read_bytes())
    return watch.lap(), total


def hash_floor(folder: Path) -> Run:
    """Time a context floor once: list ``folder``, read and SHA-256 every file."""
    watch = _Stopwatch()
    for path in sorted(folder.iterdir()):
        hashlib.sha256(path.read_bytes()).hexdigest()
    return watch.lap()


def pydicom_floor(folder: Path) -> Run:
    """Time a context floor once: one pydicom pass (``dcmread`` and ``pixel_array``) per file.

    Nothing is hashed, checked, rescaled or kept.
    """
    watch = _Stopwatch()
    for path in sorted(folder.iterdir()):
        pixel_array(pydicom.dcmread(io.BytesIO(path.read_bytes())))
    return watch.lap()


def time_corridor(folder: Path) -> tuple[Run, IngestResult]:
    """Time ``corridor.ingest.ingest(folder)`` once.

    Returns
    -------
    tuple
        The time taken, and the result.
    """
    watch = _Stopwatch()
    result = ingest(folder)
    return watch.lap(), result


def time_simpleitk(folder: Path) -> tuple[Run, Run, sitk.Image]:
    """Time SimpleITK's series reader once, as a user would run it.

    Returns
    -------
    tuple
        The time taken by ``GetGDCMSeriesFileNames`` (file discovery and GDCM's
        header scan), by ``Execute`` (reading, decoding, rescaling), and the image.
    """
    watch = _Stopwatch()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    discovery = watch.lap()
    image = reader.Execute()
    return discovery, watch.lap(), image


def _largest(a: NDArray[np.float64] | Sequence[float],
             b: NDArray[np.float64] | Sequence[float]) -> float:
    """Largest absolute difference between corresponding entries."""
    difference = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(difference)))


def _simpleitk_geometry(image: sitk.Image) -> ImageGeometry:
    """SimpleITK's geometry (LPS; the direction matrix's columns are the i, j, k axes)."""
    size = image.GetSize()
    return ImageGeometry.from_components(
        shape=(size[0], size[1], size[2]),
        spacing=image.GetSpacing(),
        direction=np.reshape(image.GetDirection(), (3, 3)),
        origin=image.GetOrigin(),
    )


def check_agreement(series: Series) -> Agreement:
    """Run corridor and SimpleITK once (untimed) and check that they read the same volume.

    Raises
    ------
    AgreementError
        Corridor skipped files, warned or differs from the ground truth; or the two
        readers differ on any voxel or place the volume more than
        :data:`GEOMETRY_TOLERANCE_MM` apart.
    """
    result = ingest(series.folder)
    volume = result.volume
    if result.skipped or volume.warnings:
        raise AgreementError("corridor skipped files or warnings",
                             [*result.skipped, *volume.warnings], "none (a clean series)")
    if volume.hu.shape != series.shape:
        raise AgreementError("corridor volume shape", volume.hu.shape, series.shape)
    truth = np.load(series.truth)
    if not np.array_equal(volume.hu, truth):
        raise AgreementError("corridor HU against the ground truth",
                             f"{int(np.count_nonzero(volume.hu != truth))} voxels differ",
                             "every voxel equal")
    del truth
    _, _, image = time_simpleitk(series.folder)
    array = sitk.GetArrayViewFromImage(image)  # [k, j, i]
    if array.shape != volume.hu.T.shape:
        raise AgreementError("SimpleITK array shape [k, j, i]", array.shape, volume.hu.T.shape)
    if not np.array_equal(array, volume.hu.T):
        raise AgreementError("SimpleITK HU against corridor's",
                             f"{int(np.count_nonzero(array != volume.hu.T))} voxels differ",
                             "every voxel equal")
    theirs, ours = _simpleitk_geometry(image), volume.geometry
    agreement = Agreement(
        voxels=int(volume.hu.size),
        corridor_dtype=str(volume.hu.dtype),
        simpleitk_pixel_type=image.GetPixelIDTypeAsString(),
        volume_bytes=int(volume.hu.nbytes),
        origin_mm=_largest(theirs.origin, ours.origin),
        spacing_mm=_largest(theirs.spacing, ours.spacing),
        steps_mm=_largest(theirs.affine[:3, :3], ours.affine[:3, :3]),
        corners_mm=ours.max_distance_mm(theirs),
    )
    for what, found in (("origin", agreement.origin_mm), ("spacing", agreement.spacing_mm),
                        ("voxel steps (direction x spacing)", agreement.steps_mm),
                        ("corner voxel positions", agreement.corners_mm)):
        if not found <= GEOMETRY_TOLERANCE_MM:
            raise AgreementError(f"SimpleITK {what} against corridor's (LPS)",
                                 f"{found:.6f} mm apart", f"at most {GEOMETRY_TOLERANCE_MM} mm")
    return agreement


def measure_memory(reader: str, folder: Path, *, trace: bool = False) -> MemoryPeak:
    """Ingest ``folder`` once with ``reader`` in a fresh interpreter and report its memory.

    Parameters
    ----------
    reader
        ``corridor`` or ``simpleitk``.
    folder
        The series.
    trace
        Also trace allocations with :mod:`tracemalloc` (which slows the run and
        adds its own memory, so measure resident memory without it).

    Returns
    -------
    MemoryPeak
        Baseline and peak resident memory; the traced peak when ``trace``.
    """
    if reader not in READERS:
        raise ValueError(f"reader: found {reader!r}, expected one of {READERS}")
    completed = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, reader, str(folder),
         "tracemalloc" if trace else "rss"],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory probe for {reader} exited with {completed.returncode}: "
                           f"{completed.stderr.strip()}")
    probe = json.loads(completed.stdout.strip().splitlines()[-1])
    return MemoryPeak(reader, int(probe["baseline"]), int(probe["peak"]), str(probe["source"]),
                      int(probe["nbytes"]),
                      None if probe["traced"] is None else int(probe["traced"]))


def run_rounds(series: Series, repeat: int) -> Timings:
    """Time the readers and floors ``repeat`` times, interleaved, collecting garbage before each.

    Raises
    ------
    AgreementError
        The raw read did not read every byte of the series.
    """
    timings = Timings([], [], [], [], [], [], [], [])
    for _ in range(repeat):
        gc.collect()
        run, total = read_raw(series.folder)
        if total != series.file_bytes:
            raise AgreementError("raw bytes read", total, series.file_bytes)
        timings.raw.append(run)
        gc.collect()
        run, result = time_corridor(series.folder)
        timings.corridor.append(run)
        del result
        gc.collect()
        discovery, execute, image = time_simpleitk(series.folder)
        timings.discovery.append(discovery)
        timings.execute.append(execute)
        del image
        gc.collect()
        timings.hashed.append(hash_floor(series.folder))
        gc.collect()
        timings.pydicom.append(pydicom_floor(series.folder))
    return timings


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_cache() -> None:
    """Write back and drop the page cache, so the next read of each file comes from disk."""
    os.sync()
    DROP_CACHES.write_text("3\n")


def run_cold_rounds(series: Series, repeat: int, timings: Timings) -> None:
    """Time the raw read and corridor ``repeat`` times each, interleaved, page cache dropped
    before each run."""
    for _ in range(repeat):
        gc.collect()
        drop_page_cache()
        run, total = read_raw(series.folder)
        if total != series.file_bytes:
            raise AgreementError("raw bytes read (cold)", total, series.file_bytes)
        timings.cold_raw.append(run)
        gc.collect()
        drop_page_cache()
        run, result = time_corridor(series.folder)
        timings.cold_corridor.append(run)
        del result
    read_raw(series.folder)  # leave the series warm, as the warm rounds expect


def _blas_note() -> str:
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    values = ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in names)
    return f"{values} (irrelevant: the timed code calls no BLAS routine)"


def _mb_s(file_bytes: int, seconds: float) -> float:
    return file_bytes / MEGABYTE / seconds


def _runs(runs: list[Run]) -> str:
    return ", ".join(f"{run.wall:.3f}" for run in runs)


def _best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall)


def _median(runs: list[Run]) -> float:
    return float(np.median([run.wall for run in runs]))


def _report(series: Series, agreement: Agreement, timings: Timings,
            memory: dict[str, MemoryPeak], default_shape: bool) -> bool:
    """Print the machine, the series, the figures and the targets; return all targets met."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print("Corridor ingest benchmark")
    print(f"  machine   : {cpu_model()}; os.cpu_count()={os.cpu_count()}, usable cores "
          f"{affinity}; {memory_total()}; {platform.system()} {platform.release()}")
    print(f"  python    : {platform.python_implementation()} {platform.python_version()}; "
          f"numpy {np.__version__}; pydicom {pydicom.__version__}; SimpleITK "
          f"{sitk.Version_VersionString()} ({sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()}"
          f" ITK threads); corridor {version('corridor')} at {source_commit()}")
    print(f"  BLAS      : {_blas_note()}")
    ni, nj, nk = series.shape
    print(f"  series    : {PHANTOM_KIND} phantom {ni} x {nj} x {nk}, {len(series.files)} files, "
          f"{series.file_bytes / MEGABYTE:.1f} MB, transfer syntax {series.transfer_syntax_uid} "
          f"(uncompressed); generated in {series.generate_s:.1f} s in {series.folder}")
    print("  cache     : every file read once before timing; readers measured warm "
          "(files in the page cache)")
    print(f"  agreement : corridor = ground truth and SimpleITK = corridor on all "
          f"{agreement.voxels:,} voxels (HU; corridor {agreement.corridor_dtype}, SimpleITK "
          f"{agreement.simpleitk_pixel_type}); geometry apart by origin "
          f"{agreement.origin_mm:.2e} mm, spacing {agreement.spacing_mm:.2e} mm, voxel steps "
          f"{agreement.steps_mm:.2e} mm, corners {agreement.corners_mm:.2e} mm "
          f"(tolerance {GEOMETRY_TOLERANCE_MM} mm)")
    print(f"  repeats   : {len(timings.corridor)} rounds, readers interleaved; best reported")
    print()
    corridor, corridor_median = _best(timings.corridor).wall, _median(timings.corridor)
    rows = (
        ("raw read (list + Path.read_bytes)", timings.raw),
        ("corridor ingest(path)", timings.corridor),
        ("SimpleITK discovery + Execute", timings.simpleitk),
        ("  GetGDCMSeriesFileNames", timings.discovery),
        ("  Execute alone", timings.execute),
        ("(context) raw read + SHA-256", timings.hashed),
        ("(context) pydicom, one pass", timings.pydicom),
    )
    cold_rows = (
        ("raw read, cold", timings.cold_raw),
        ("corridor ingest(path), cold", timings.cold_corridor),
    ) if timings.cold_corridor else ()
    width = 36
    print(f"  {'reader':<{width}} {'best s':>7} {'MB/s':>6} {'speed':>6} {'user':>5} "
          f"{'sys':>5} {'median':>7} {'speed':>6}  runs (s)")
    print(f"  {'-' * width} {'-' * 7} {'-' * 6} {'-' * 6} {'-' * 5} {'-' * 5} {'-' * 7} "
          f"{'-' * 6}  {'-' * 8}")
    for label, runs in rows:
        best, median = _best(runs), _median(runs)
        print(f"  {label:<{width}} {best.wall:7.3f} {_mb_s(series.file_bytes, best.wall):6.0f} "
              f"{best.wall / corridor:6.3f} {best.user:5.2f} {best.system:5.2f} {median:7.3f} "
              f"{median / corridor_median:6.3f}  {_runs(runs)}")
    if cold_rows:
        cold, cold_median = _best(timings.cold_corridor).wall, _median(timings.cold_corridor)
        print(f"  page cache dropped before each of these runs ({DROP_CACHES}):")
        for label, runs in cold_rows:
            best, median = _best(runs), _median(runs)
            print(f"  {label:<{width}} {best.wall:7.3f} "
                  f"{_mb_s(series.file_bytes, best.wall):6.0f} {best.wall / cold:6.3f} "
                  f"{best.user:5.2f} {best.system:5.2f} {median:7.3f} "
                  f"{median / cold_median:6.3f}  {_runs(runs)}")
    print("  speed: corridor's throughput over the row's (the row's time over corridor's), best "
          "to best and median to median; user, sys: CPU seconds of the process in the best run, "
          "all threads")
    print()
    volume = agreement.volume_bytes
    print(f"  peak resident memory of one ingest in a fresh interpreter "
          f"({memory['corridor'].source}), volume {volume / MEBIBYTE:.1f} MiB (corridor "
          "hu.nbytes)")
    print(f"  {'reader':<{width}} {'base MiB':>9} {'peak MiB':>9} {'beyond MiB':>11} "
          f"{'/ volume':>9}")
    print(f"  {'-' * width} {'-' * 9} {'-' * 9} {'-' * 11} {'-' * 9}")
    for peak in memory.values():
        label = "corridor" if peak.reader == "corridor" else (
            f"SimpleITK (returns {peak.output_bytes / MEBIBYTE:.0f} MiB)")
        print(f"  {label:<{width}} {peak.baseline_bytes / MEBIBYTE:9.1f} "
              f"{peak.peak_bytes / MEBIBYTE:9.1f} {peak.beyond_bytes / MEBIBYTE:11.1f} "
              f"{peak.beyond_bytes / volume:9.2f}")
    traced = memory["corridor"].traced_peak_bytes
    if traced is not None:
        print(f"  {'corridor, tracemalloc peak':<{width}} {'':>9} {'':>9} "
              f"{traced / MEBIBYTE:11.1f} {traced / volume:9.2f}")
    print()
    simpleitk_speed = _best(timings.simpleitk).wall / corridor
    warm_fraction = _best(timings.raw).wall / corridor
    memory_ratio = memory["corridor"].beyond_bytes / volume
    cold_fraction = (_best(timings.cold_raw).wall / _best(timings.cold_corridor).wall
                     if timings.cold_corridor else None)
    hash_fraction = _best(timings.raw).wall / _best(timings.hashed).wall
    print(f"  context: warm, corridor runs at {warm_fraction:.3f} x the raw read's throughput; "
          f"reading plus the SHA-256 that provenance requires (SRS-ING-013) alone runs at "
          f"{hash_fraction:.3f} x, so no reader that hashes can reach "
          f"{TARGET_RAW_FRACTION:g} x of a read from the page cache")
    targets = (
        (f"faster than SimpleITK (discovery + Execute): speed > {TARGET_SIMPLEITK_SPEED:g}",
         simpleitk_speed > TARGET_SIMPLEITK_SPEED, f"{simpleitk_speed:.2f}"),
        (f"throughput >= {TARGET_RAW_FRACTION:g} x raw read from disk (--cold)",
         cold_fraction is not None and cold_fraction >= TARGET_RAW_FRACTION,
         "not measured: run with --cold" if cold_fraction is None else f"{cold_fraction:.3f}"),
        (f"peak memory beyond baseline <= {TARGET_MEMORY_RATIO:g} x volume",
         memory_ratio <= TARGET_MEMORY_RATIO, f"{memory_ratio:.2f}"),
    )
    scope = "" if default_shape else " (shape differs from the default the targets are set for)"
    for label, met, found in targets:
        print(f"  target: {label}: {'met' if met else 'MISSED'} ({found}){scope}")
    return all(met for _, met, _ in targets)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="All readers are timed with the series in the page cache, and with --cold also "
        "from the disk. Peak memory is "
        "measured in fresh interpreters.",
    )
    parser.add_argument("--shape", type=int, nargs=3, default=list(DEFAULT_SHAPE),
                        metavar=("I", "J", "K"),
                        help="voxels along i (columns), j (rows) and k (slices, one file each) "
                        f"(default {' '.join(map(str, DEFAULT_SHAPE))})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"timed rounds, best reported (default {DEFAULT_REPEAT})")
    parser.add_argument("--enforce", action="store_true",
                        help="exit with status 1 when a target is missed")
    parser.add_argument("--cold", action="store_true",
                        help=f"also time the raw read and corridor with the page cache dropped "
                        f"before each run (writes {DROP_CACHES}: needs root); the raw-read "
                        "target is judged on these runs")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the series into DIR (new or empty) and keep it, e.g. for "
                        "profiling `corridor ingest DIR/series/dicom`")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if any(n < 2 for n in args.shape):
        parser.error(f"--shape: found {args.shape}, expected at least 2 voxels along each axis")
    if args.repeat < 1:
        parser.error(f"--repeat: found {args.repeat}, expected at least 1")
    if args.cold and not os.access(DROP_CACHES, os.W_OK):
        parser.error(f"--cold: cannot write {DROP_CACHES}, expected to run as root")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep: {args.keep} is not empty, expected a new or empty folder")


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    shape = (args.shape[0], args.shape[1], args.shape[2])
    series = generate_series(base, shape)
    gc.collect()
    read_raw(series.folder)  # page cache: every file read once before anything is timed
    agreement = check_agreement(series)
    gc.collect()
    timings = run_rounds(series, args.repeat)
    if args.cold:
        run_cold_rounds(series, args.repeat, timings)
    corridor = measure_memory("corridor", series.folder)
    traced = measure_memory("corridor", series.folder, trace=True).traced_peak_bytes
    memory = {
        "corridor": MemoryPeak("corridor", corridor.baseline_bytes, corridor.peak_bytes,
                               corridor.source, corridor.output_bytes, traced),
        "simpleitk": measure_memory("simpleitk", series.folder),
    }
    return _report(series, agreement, timings, memory, shape == DEFAULT_SHAPE)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the series, check the readers agree, time them, print the report.

    Parameters
    ----------
    argv
        Command-line arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0, or 1 when ``--enforce`` is given and a target is missed.
    """
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
