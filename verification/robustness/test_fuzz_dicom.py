"""Step definitions of ``features/robustness/fuzz_dicom.feature``: the fuzz sweep of DICOM
headers given to ``corridor ingest``.

The seed is a small valid CT series (a 24 x 20 x 12 pelvis phantom from ``corridor_phantoms``,
Explicit VR Little Endian, one file a slice), written once for the module.  Each example
damages the header of one or more of its files (everything before the Pixel Data element):
bytes flipped, cut short, deleted, repeated or overwritten (the harness's
:func:`~verification.robustness.helpers.mutated_bytes`); values set to absurd or plausible
ones (image size and pixel description 0 to 65535; pixel spacing, positions, orientations,
thickness and rescale values zero, negative, not a number, infinite, 1e308 or not numbers;
the number of frames huge), in one, a few or every file; an element's value length made
huge, its VR changed, or a sequence nested up to 30,000 items deep inserted.  The folder,
the undamaged files beside the damaged ones, is given to the real command in process
(:func:`~verification.robustness.helpers.probe`).

Oracles: the exit statuses ``corridor ingest`` documents (0 loaded, 2 refused or bad input,
written in the feature file), no traceback, the harness's memory and time bounds and an
unchanged folder after a refusal (:func:`~verification.robustness.helpers.check_refusal`);
at most one line on standard error; neither the Patient's Name nor the Patient ID of the
seed (read here with pydicom) in any output; a value outside the physical ranges
SRS-ING-028 states (restated here, :func:`_absurd`) refused; and, when it loads, no value
printed that is not a number, and the printed shape has every slice of the seed unless a
damaged file no longer holds the series' Series Instance UID element byte for byte
(searched for here in its bytes), in which case the slices missing are at most those
files, each named in the output (a file naming another series is not a slice of this one:
SRS-ING-027).
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.filereader import data_element_generator
from pydicom.tag import Tag
from pytest_bdd import given as bdd_given
from pytest_bdd import parsers, scenarios, then, when

from corridor_phantoms import make_phantom, write_series
from verification.robustness.helpers import (
    Probe,
    check_refusal,
    mutated_bytes,
    probe,
    scratch_folder,
    write_input,
)

scenarios("robustness/fuzz_dicom.feature")

SHAPE = (24, 20, 12)
"""Voxels of the seed series along i (columns), j (rows) and k (slices)."""

_PIXEL_DATA = 0x7FE00010


class Seed:
    """The valid series: its files' names and bytes, where each file's Pixel Data element
    starts, the encoded Series Instance UID element every slice holds, and the patient's
    name and ID (never to be shown).  Not a dataclass, so that hypothesis shows it short."""

    def __init__(self, names: tuple[str, ...], files: tuple[bytes, ...],
                 header_end: tuple[int, ...], series_uid_element: bytes,
                 patient: tuple[str, ...]) -> None:
        self.names, self.files, self.header_end = names, files, header_end
        self.series_uid_element, self.patient = series_uid_element, patient

    def __repr__(self) -> str:
        return f"Seed({len(self.files)} files)"


def _elements(data: bytes) -> list[tuple[int, int, str, int]]:
    """``(offset of the element, tag, VR, header bytes)`` of each top-level element after the
    file meta information, read with pydicom's element reader (Explicit VR Little Endian)."""
    meta_end = 132 + 12 + struct.unpack_from("<I", data, 140)[0]
    stream = io.BytesIO(data)
    stream.seek(meta_end)
    found = []
    for element in data_element_generator(stream, False, True, defer_size=64):
        vr = str(element.VR)
        header = 12 if vr in {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR",
                              "UT", "UV"} else 8
        found.append((element.value_tell - header, int(element.tag), vr, header))
    return found


def _seed(root: Path, syntax: str) -> Seed:
    """The series written in ``syntax`` under ``root``, read back."""
    phantom = make_phantom("pelvis", shape=SHAPE, spacing=(6.0, 6.0, 10.0), seed=7)
    written = write_series(phantom, root / syntax, transfer_syntax=syntax)
    paths = sorted((root / syntax / "dicom").iterdir())
    files = tuple(p.read_bytes() for p in paths)
    uid = written.series_instance_uid.encode("ascii")
    uid += b"\x00" * (len(uid) % 2)
    element = b"\x20\x00\x0e\x00UI" + struct.pack("<H", len(uid)) + uid
    assert all(data.count(element) == 1 for data in files)
    header_end = tuple(next(offset for offset, tag, _, _ in _elements(data) if tag == _PIXEL_DATA)
                       for data in files)
    first = pydicom.dcmread(paths[0])
    patient = (str(first.PatientName), str(first.PatientID))
    assert all(patient)
    return Seed(tuple(p.name for p in paths), files, header_end, element, patient)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Seed]:
    """The series in each transfer syntax the sweep uses (Explicit VR Little Endian, whose
    headers the lean reader reads, and RLE Lossless, which pydicom parses and decodes),
    written once for the module."""
    root = tmp_path_factory.mktemp("dicom-seed")
    return {syntax: _seed(root, syntax) for syntax in ("explicit-little-endian", "rle")}


@pytest.fixture
def seed(seeds: dict[str, Seed]) -> Seed:
    """The Explicit VR Little Endian series (the damage the sweep found is rebuilt on it)."""
    return seeds["explicit-little-endian"]


# --- damage -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Damage:
    """The damaged files of one example, and why the load must be refused, if it must."""

    files: dict[int, bytes]
    """File index in the seed to the damaged bytes that replace it."""
    absurd: str | None = None
    """A value written that lies outside the physical ranges SRS-ING-028 states (``None``
    when the damage may as well leave a loadable series)."""


def _which(seed: Seed) -> st.SearchStrategy[list[int]]:
    """One file, a few, or every file of the series."""
    count = len(seed.files)
    return st.one_of(st.lists(st.integers(0, count - 1), min_size=1, max_size=3, unique=True),
                     st.just(list(range(count))))


@st.composite
def header_bytes(draw: st.DrawFn, seed: Seed) -> Damage:
    """The harness's byte mutations, within each chosen file's header."""
    chosen = draw(st.lists(st.integers(0, len(seed.files) - 1), min_size=1, max_size=3,
                           unique=True))
    return Damage({i: draw(mutated_bytes(seed.files[i], region=seed.header_end[i]))
                   for i in chosen})


_US = st.sampled_from([0, 1, 2, 3, 7, 8, 15, 17, 32, 64, 255, 32768, 65534, 65535])
_DS = st.sampled_from(["0", "-0", "-1", "-1e-9", "1e-308", "1e308", "-1e308", "nan", "NaN",
                       "inf", "-inf", "1e999", "", " ", "abc", "1,5", "0x10", "2.5", "100"])
_IS = st.sampled_from(["0", "-1", "1", "2", "65536", "2147483647", "99999999999", "", "x"])

_ABSURD: dict[str, tuple[str, st.SearchStrategy[bytes]]] = {
    keyword: ("US", _US.map(lambda v: struct.pack("<H", v)))
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
                    "PixelRepresentation", "SamplesPerPixel")
} | {
    keyword: ("DS", st.lists(_DS, min_size=count, max_size=count).map(
        lambda values: "\\".join(values).encode("ascii")))
    for keyword, count in (("PixelSpacing", 2), ("ImagePositionPatient", 3),
                           ("ImageOrientationPatient", 6), ("SliceThickness", 1),
                           ("RescaleSlope", 1), ("RescaleIntercept", 1))
} | {
    "NumberOfFrames": ("IS", _IS.map(lambda v: v.encode("ascii"))),
}
"""Elements set to absurd values, with their VR and the values' bytes."""


def _with_values(data: bytes, values: dict[str, tuple[str, bytes]]) -> bytes:
    """``data`` with elements' values written byte for byte (pydicom would refuse to encode
    some of these values); ``values`` maps a keyword to its VR and value."""
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword, (vr, value) in values.items():
        tag = Tag(tag_for_keyword(keyword))
        value += (b"\x00" if vr in ("US", "UI") else b" ") * (len(value) % 2)
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _absurd(keyword: str, value: bytes) -> bool:
    """Whether SRS-ING-028's physical ranges refuse this value (read here, as the
    requirement states them: a value that is not a number may be read as absent)."""
    if _ABSURD[keyword][0] == "US":
        return (keyword in ("Rows", "Columns", "BitsAllocated")
                and struct.unpack("<H", value)[0] in (0, 65535))
    text = value.decode("ascii")
    if keyword == "NumberOfFrames":  # 0 reads as 1, as pydicom reads it
        return text.lstrip("-").isdigit() and int(text) not in (0, 1)
    ranges = {"PixelSpacing": (1e-3, 100.0), "ImagePositionPatient": (-1e5, 1e5),
              "ImageOrientationPatient": (-1.001, 1.001), "RescaleIntercept": (-1e6, 1e6)}
    numbers = []
    for item in text.split("\\"):
        try:
            numbers.append(float(item))
        except ValueError:
            continue
    if keyword == "RescaleSlope":
        return any(not 1e-6 <= abs(v) <= 1e6 for v in numbers)  # NaN fails the comparison
    if keyword in ranges:
        low, high = ranges[keyword]
        return any(not low <= v <= high for v in numbers)
    return False


@st.composite
def absurd_values(draw: st.DrawFn, seed: Seed) -> Damage:
    """One to three elements set to absurd (or plausible) values, in one, a few or every
    file."""
    edits = draw(st.lists(st.sampled_from(sorted(_ABSURD)), min_size=1, max_size=3,
                          unique=True))
    values = {keyword: draw(_ABSURD[keyword][1]) for keyword in edits}
    written = {keyword: (_ABSURD[keyword][0], values[keyword]) for keyword in edits}
    files = {index: _with_values(seed.files[index], written) for index in draw(_which(seed))}
    absurd = [f"{keyword} {values[keyword]!r}" for keyword in edits
              if _absurd(keyword, values[keyword])]
    return Damage(files, ", ".join(absurd) or None)


_VRS = [b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
        b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST",
        b"SV", b"TM", b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV", b"\x00\x00",
        b"zz"]


def _nested(depth: int) -> bytes:
    """Referenced Image Sequence (0008,1140) holding items nested ``depth`` deep, all of
    undefined length, closed properly."""
    opening = b"\x08\x00\x40\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    return opening * depth + closing * depth


@st.composite
def structure(draw: st.DrawFn, seed: Seed) -> Damage:
    """An element's value length made huge, its VR changed, or a deep sequence inserted."""
    damage: dict[int, bytes] = {}
    kind = draw(st.sampled_from(["length", "vr", "nested"]))
    if kind == "nested":  # one file: parsing one costs a second under tracemalloc
        index = draw(st.integers(0, len(seed.files) - 1))
        data = seed.files[index]
        at = next(offset for offset, tag, _, _ in _elements(data) if tag > 0x00081140)
        depth = draw(st.sampled_from([2, 50, 500, 5000, 30000]))
        return Damage({index: data[:at] + _nested(depth) + data[at:]})
    for index in draw(st.lists(st.integers(0, len(seed.files) - 1), min_size=1, max_size=3,
                               unique=True)):
        data = bytearray(seed.files[index])
        offset, _, _, header = draw(st.sampled_from(_elements(bytes(data))))
        if kind == "vr":
            data[offset + 4:offset + 6] = draw(st.sampled_from(_VRS))
        elif header == 12:
            data[offset + 8:offset + 12] = struct.pack(
                "<I", draw(st.sampled_from([0xFFFFFFFE, 0xFFFFFFFD, 0x7FFFFFFF, 0x10000001])))
        elif draw(st.booleans()):
            data[offset + 6:offset + 8] = struct.pack("<H", draw(st.sampled_from([0xFFFF,
                                                                                 0xFFFE, 1])))
        else:  # the element rewritten with a 4-byte length, as an unknown VR would have
            data[offset + 4:offset + 8] = b"UN\x00\x00\xfe\xff\xff\xff"
        damage[index] = bytes(data)
    return Damage(damage)


_DAMAGE: dict[str, Callable[[Seed], st.SearchStrategy[Damage]]] = {
    "bytes of the header flipped, cut, deleted, repeated or overwritten": header_bytes,
    "an absurd image size, pixel description, geometry, rescale or frame count": absurd_values,
    "a huge value length, a changed VR or a sequence nested thousands deep": structure,
    "any of these": lambda seed: st.one_of(header_bytes(seed), absurd_values(seed),
                                           structure(seed)),
}


# --- the oracle beyond the harness's ------------------------------------------------------------

class _Records(logging.Handler):
    """Keeps every log record of WARNING or above, shortened."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()[:200]}")


def probe_recording(argv: list[str], scratch: Path) -> tuple[Probe, list[str]]:
    """:func:`~verification.robustness.helpers.probe`, recording the warnings and the log
    records (WARNING and up) raised while the command runs: in a terminal each would be more
    lines on standard error, quoting header values (in process, pytest would swallow them)."""
    records, root = _Records(), logging.getLogger()
    root.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = probe(argv, scratch)
    finally:
        root.removeHandler(records)
    return result, records.lines + [f"{w.category.__name__}: {str(w.message)[:200]}"
                                    for w in caught]


_SHAPE_LINE = re.compile(r"shape \(i, j, k\): \((\d+), (\d+), (\d+)\)")


def check_outcome(result: Probe, noise: list[str], seed: Seed, damage: Damage) -> None:
    """Beyond the harness's oracle: one line on standard error (the refusal, or the export
    written) and no warning or log record beside it, no patient name or ID in any output, an
    absurd value refused; and a load has every slice and finite values, or lacks only
    damaged files whose bytes no longer hold the series' Series Instance UID element, each
    named in the output."""
    shown = f"stdout: {result.stdout[-1500:]}\nstderr: {result.stderr[-1500:]}"
    assert len(result.stderr.strip().splitlines()) <= 1, shown
    assert not noise, f"{noise[:5]}\n{shown}"
    for patient in seed.patient:
        assert patient not in result.stdout + result.stderr, shown
    if damage.absurd is not None:
        assert result.status == 2, f"{damage.absurd} was loaded\n{shown}"
    if result.status != 0:
        return
    assert not re.search(r"\b(nan|inf)\b", result.stdout, re.IGNORECASE), shown
    found = _SHAPE_LINE.search(result.stdout)
    assert found, shown
    k = int(found.group(3))
    renamed = [seed.names[index] for index, data in damage.files.items()
               if seed.series_uid_element not in data]
    assert k >= SHAPE[2] - len(renamed), (f"{SHAPE[2] - k} slice(s) lost; damaged: "
                                          f"{[seed.names[n] for n in damage.files]}\n{shown}")
    if k < SHAPE[2]:
        for name in renamed:
            assert name in result.stdout, shown


# --- steps -------------------------------------------------------------------------------------

@bdd_given(parsers.parse('the small CT series in "{syntax}" with its headers damaged by '
                         '"{damage}"'), target_fixture="damaged")
def damaged_series(seeds: dict[str, Seed], syntax: str,
                   damage: str) -> tuple[Seed, st.SearchStrategy[Damage]]:
    """The series in that transfer syntax, and the strategy of the damage named."""
    return seeds[syntax], _DAMAGE[damage](seeds[syntax])


def _numbers(text: str) -> set[int]:
    return {int(number) for number in re.findall(r"\d+", text)}


@then(parsers.parse('each of {count:d} damaged series given to "corridor {arguments}" exits '
                    "with {statuses} in at most one line, prints no traceback and no patient "
                    "name or ID, stays within the bounds, writes nothing unless it exits with "
                    "0, refuses every value outside the physical ranges, and loads every slice "
                    "or names the file that lost its Series Instance UID"))
def sweep(damaged: tuple[Seed, st.SearchStrategy[Damage]], count: int, arguments: str,
          statuses: str, tmp_path: Path) -> None:
    """The hypothesis loop: each example in a fresh scratch folder, the series in ``dicom``."""
    seed, damages = damaged
    allowed = _numbers(statuses)
    argv = arguments.split()
    assert argv[:2] == ["ingest", "dicom"], argv

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(damages)
    def run(damage: Damage) -> None:
        scratch = scratch_folder(tmp_path, "example")
        for index, name in enumerate(seed.names):
            write_input(scratch / "dicom" / name, damage.files.get(index, seed.files[index]))
        result, noise = probe_recording(argv, scratch)
        check_refusal(result, allowed)
        assert not any(p.startswith("dicom") for p in result.written), result.written
        check_outcome(result, noise, seed, damage)
        shutil.rmtree(scratch)

    run()


_FOUND_KEYWORDS = {"Pixel Spacing": ("PixelSpacing", "DS"),
                   "Image Orientation (Patient)": ("ImageOrientationPatient", "DS"),
                   "Rescale Intercept": ("RescaleIntercept", "DS"),
                   "Rescale Slope": ("RescaleSlope", "DS"), "Columns": ("Columns", "US")}


def _found_damage(seed: Seed, damage: str) -> dict[int, bytes]:
    """The damaged files of a defect the sweep found, rebuilt by name."""
    first = seed.files[0]
    if damage.startswith("the first slice cut at byte "):
        return {0: first[:int(damage.split()[6].rstrip(","))]}
    if damage == "one byte deleted from the tag of (0002,0001) in the first slice":
        at = first.index(b"\x02\x00\x01\x00OB")
        return {0: first[:at + 2] + first[at + 3:]}
    if damage == "a sequence nested 5000 deep in the first slice":
        at = next(offset for offset, tag, _, _ in _elements(first) if tag > 0x00081140)
        return {0: first[:at] + _nested(5000) + first[at:]}
    if damage == "a control character in the Transfer Syntax UID of the fourth slice":
        data = seed.files[3]
        at = data.index(b"1.2.840.10008.1.2.1\x00") + 6
        return {3: data[:at] + b"\x0e" + data[at + 1:]}
    name, value = damage.removesuffix(" in every slice").rsplit(" ", 1)
    keyword, vr = _FOUND_KEYWORDS[name]
    raw = struct.pack("<H", int(value)) if vr == "US" else value.encode("ascii")
    return {index: _with_values(data, {keyword: (vr, raw)})
            for index, data in enumerate(seed.files)}


@bdd_given(parsers.parse('the small CT series damaged as found: "{damage}"'),
           target_fixture="found")
def damaged_as_found(seed: Seed, damage: str, tmp_path: Path) -> Path:
    """The series with the damage written into a scratch folder."""
    files = _found_damage(seed, damage)
    scratch = scratch_folder(tmp_path, "found")
    for index, name in enumerate(seed.names):
        write_input(scratch / "dicom" / name, files.get(index, seed.files[index]))
    return scratch


@when("corridor ingest is given the damaged series", target_fixture="outcome")
def ingest_found(found: Path) -> tuple[Probe, list[str]]:
    """The real command, in process, its warnings and log records recorded."""
    return probe_recording(["ingest", "dicom"], found)


@then(parsers.parse('it exits with 2 in one line saying "{text}", within the bounds and with '
                    "no traceback"))
def refused_in_one_line(outcome: tuple[Probe, list[str]], seed: Seed, text: str) -> None:
    """The harness's oracle, exit status 2, the refusal's one line and nothing beside it."""
    outcome, noise = outcome
    check_refusal(outcome, {2})
    assert not noise, noise
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert text in lines[0], outcome.stderr
    for patient in seed.patient:
        assert patient not in outcome.stdout + outcome.stderr
