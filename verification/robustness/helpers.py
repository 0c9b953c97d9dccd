"""The fuzz sweep's harness: feed one malformed input to the real ``corridor`` command, in
process, and record what a careless or hostile user would see.

:func:`probe` runs the command with its working folder set to a scratch folder and records the
exit status, both streams, the peak of Python and NumPy allocations while it ran
(:mod:`tracemalloc`, which NumPy reports its arrays to), the seconds it took and every file it
left that was not there before.  :func:`check_refusal` states the sweep's oracle, the same for
every input family: an exit status in the command's documented set, never 70; no traceback on
either stream; memory and time below the stated bounds; and nothing written by a run that did
not succeed.  The mutation strategies (:func:`mutated_bytes`, :func:`mutated_json`,
:func:`mutated_text`) start from a valid input and damage it the ways files are damaged:
bytes flipped, cut short, spliced, repeated; values replaced by other types, huge or nested.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import tracemalloc
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from verification.command_run import run_corridor

__all__ = ["MEMORY_LIMIT", "SECONDS_LIMIT", "Family", "Probe", "check_refusal", "json_values",
           "mutated_bytes", "mutated_json", "mutated_text", "probe", "scratch_folder",
           "statuses", "sweep_family", "write_input"]

MEMORY_LIMIT = 256 << 20
"""Peak Python and NumPy allocation of one refused or accepted input (bytes)."""

SECONDS_LIMIT = 30.0
"""Wall time of one run (an endless input must not make the command hang)."""


@dataclass(frozen=True)
class Probe:
    """What one run of the command did."""

    argv: tuple[str, ...]
    status: int
    stdout: str
    stderr: str
    peak_bytes: int
    seconds: float
    written: tuple[str, ...]
    """Files and folders under the scratch folder that the run left behind."""


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def probe(argv: Sequence[str], scratch: Path, *, measured: bool = True) -> Probe:
    """Run ``corridor ARGV`` with ``scratch`` as the working folder (relative paths in
    ``argv`` are under it); measure allocations, time and what was written there.

    ``measured=False`` runs without tracing allocations (``peak_bytes`` is 0): for a first,
    warming run, whose imports tracing would slow down many times over."""
    before = _tree(scratch)
    tracing = tracemalloc.is_tracing() or not measured
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    clock = time.perf_counter()
    try:
        with contextlib.chdir(scratch):
            done = run_corridor(list(argv))
    finally:
        seconds = time.perf_counter() - clock
        peak = tracemalloc.get_traced_memory()[1] if measured else 0
        if not tracing:
            tracemalloc.stop()
    written = tuple(sorted(_tree(scratch) - before))
    return Probe(tuple(argv), done.status, done.stdout, done.stderr, peak, seconds, written)


def check_refusal(result: Probe, allowed: Collection[int], *,
                  success: int | Collection[int] = 0, memory_limit: int = MEMORY_LIMIT,
                  one_line: bool = False) -> None:
    """The sweep's oracle; ``allowed`` is the command's documented set of exit statuses,
    ``success`` those after which the command may have written its outputs (0, or e.g. 3 for
    a plan without a safe trajectory, which writes the shortfall); ``one_line``: a refusal
    (any status not in ``success``) prints exactly one line, on standard error."""
    shown = (f"corridor {' '.join(result.argv)} -> {result.status}\n"
             f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}")
    assert result.status in allowed, shown
    assert result.status != 70, shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert result.peak_bytes < memory_limit, (
        f"{result.peak_bytes / 2**20:.0f} MiB allocated\n{shown}")
    assert result.seconds < SECONDS_LIMIT, f"{result.seconds:.1f} s\n{shown}"
    wrote = {success} if isinstance(success, int) else set(success)
    if result.status not in wrote:
        assert not result.written, f"left behind: {result.written}\n{shown}"
        if one_line:
            assert not result.stdout, shown
            assert len(result.stderr.strip().splitlines()) == 1, shown


# --- mutations -----------------------------------------------------------------------------------

_HOSTILE_NUMBERS = st.sampled_from([0, -1, 1e-300, 1e300, 2**63, -(2**63), 10**40, 1e-9])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _HOSTILE_NUMBERS
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
"""Any JSON value, nested a little, with numbers a hostile file would hold."""


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes, *, region: int | None = None) -> bytes:
    """``data`` damaged: bytes flipped, cut short, a span deleted, repeated or overwritten with
    0x00 or 0xFF (``region``: only within the first so many bytes, e.g. a header)."""
    end = len(data) if region is None else min(region, len(data))
    kind = draw(st.sampled_from(["flip", "truncate", "delete", "repeat", "fill"]))
    at = draw(st.integers(0, max(end - 1, 0)))
    if kind == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, max(end - 1, 0)), st.integers(1, 255)),
                              min_size=1, max_size=8))
        buffer = bytearray(data)
        for index, mask in flips:
            buffer[index] ^= mask
        return bytes(buffer)
    if kind == "truncate":
        return data[:at]
    span = draw(st.integers(1, 64))
    if kind == "delete":
        return data[:at] + data[at + span:]
    if kind == "repeat":
        return data[:at + span] + data[at:at + span] * draw(st.integers(1, 50)) + data[at + span:]
    fill = draw(st.sampled_from([b"\x00", b"\xff"])) * span
    return data[:at] + fill + data[at + span:]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three values replaced by any JSON value, or keys removed."""
    result = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(result) if p]
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return result


_PIECES = list(',;"\'\t\r\n{}[]:#&*!|>-\x00\x1b\u00e9\u4e2d0123456789.e')
"""What :func:`mutated_text` inserts: separators, quotes, YAML syntax, control characters,
accented and CJK letters, digits."""


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with lines removed, repeated or swapped, characters inserted (quotes,
    separators, control characters, other scripts) or cut short."""
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["drop", "repeat", "swap", "insert", "truncate"]))
    if not lines:
        return draw(st.text(max_size=200))
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "drop":
        del lines[index]
    elif kind == "repeat":
        lines.insert(index, lines[index] * draw(st.integers(1, 20)))
    elif kind == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "insert":
        line = lines[index]
        at = draw(st.integers(0, len(line)))
        piece = draw(st.text(alphabet=st.sampled_from(_PIECES), min_size=1, max_size=12))
        lines[index] = line[:at] + piece + line[at:]
    else:
        joined = "".join(lines)
        return joined[:draw(st.integers(0, len(joined)))]
    return "".join(lines)


def write_input(path: Path, content: bytes | str) -> Path:
    """Write one fuzzed input (bytes as they are, text as UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
    else:
        path.write_bytes(content)
    return path


def scratch_folder(root: Path, name: str) -> Path:
    """A fresh, empty folder for one example (hypothesis reuses the test's tmp_path)."""
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)
    return folder


# --- the sweep of one input family ---------------------------------------------------------------

@dataclass
class Family:
    """One input family: how to write a damaged example and the command line to give it to."""

    name: str
    examples: st.SearchStrategy[Any]
    write: Callable[[Path, Any], list[str]]
    """Write one example into a scratch folder; return the command line (relative paths)."""
    seed: Any
    """The valid example the damage starts from."""
    pinned: tuple[Any, ...] = ()
    """Damage the sweep once found a defect with, tried first on every run (``@example``)."""


def statuses(text: str) -> set[int]:
    """The exit statuses a step names, ``"0 2 4"``."""
    return {int(word) for word in text.split()}


def sweep_family(family: Family, *, count: int, allowed: Collection[int],
                 success: Collection[int], root: Path, one_line: bool = False) -> None:
    """Run the family's seed once, unmeasured (its imports, slow under tracemalloc, out of the
    bounds; its exit status one of ``success``), then its pinned examples and ``count`` drawn
    ones, each in a fresh scratch folder under ``root``, through :func:`check_refusal`
    (``one_line``: refusals in one line)."""
    scratch = scratch_folder(root, "seed")
    seeded = probe(family.write(scratch, family.seed), scratch, measured=False)
    assert seeded.status in success, seeded

    def run(drawn: Any) -> None:
        scratch = scratch_folder(root, "example")
        argv = family.write(scratch, drawn)
        inputs = {p.relative_to(scratch).as_posix() for p in scratch.rglob("*")}
        result = probe(argv, scratch)
        check_refusal(result, allowed, success=success, one_line=one_line)
        assert inputs.isdisjoint(result.written)
        shutil.rmtree(scratch)

    for pinned in family.pinned:
        run = example(pinned)(run)
    settings(max_examples=count, deadline=None, database=None,
             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                    HealthCheck.data_too_large])(given(family.examples)(run))()
