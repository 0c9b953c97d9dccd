"""Sliding-window inference over a model-grid image, blended with Gaussian importance weights.

Window placement and weights follow nnU-Net v2 (``tile_step_size`` 0.5 by default,
steps spread evenly so that the first window starts at 0 and the last ends at the
border; Gaussian importance map with sigma = patch / 8, normalised to a maximum
of 1, zeros replaced by the smallest non-zero weight).  An image smaller than the
patch along an axis is padded (with the value given, usually the preprocessed air)
and the padding cropped from the result.  Results are produced slab by slab
(:func:`stream_windows`), so that memory holds one patch depth of blended scores,
not the whole image's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["Weighting", "gaussian_importance", "sliding_window", "stream_windows", "window_starts"]

SIGMA_SCALE = 1.0 / 8.0
"""Gaussian sigma as a fraction of the patch size along each axis (nnU-Net, MONAI)."""


class Weighting(StrEnum):
    """How overlapping windows are blended."""

    GAUSSIAN = "gaussian"
    """Centre voxels of a window count more than its edges (nnU-Net default)."""
    CONSTANT = "constant"
    """Every voxel of every window counts the same (MONAI default)."""


def window_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Start indices of the windows along one axis.

    Parameters
    ----------
    size
        Voxels along the axis (at least ``patch``; pad smaller images first).
    patch
        Window size along the axis.
    overlap
        Fraction of a window shared with the next, in ``[0, 1)``; the actual step is
        at most ``patch * (1 - overlap)`` and the same between all windows (± 1 voxel).
    """
    if size < patch:
        raise ValueError(f"size {size} < patch {patch}: pad the image to the patch first")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap {overlap}: expected 0 <= overlap < 1")
    if size == patch:
        return [0]
    step = patch * (1.0 - overlap)
    count = min(math.ceil((size - patch) / step) + 1, size - patch + 1)  # no window twice
    return [round(n * (size - patch) / (count - 1)) for n in range(count)]


def gaussian_importance(patch: Sequence[int], sigma_scale: float = SIGMA_SCALE,
                        ) -> NDArray[np.float32]:
    """Importance weights of one window, maximum 1 at the centre, never 0."""
    axes = []
    for n in patch:
        sigma = max(n * sigma_scale, 1e-6)
        centre = (n - 1) / 2.0
        axes.append(np.exp(-0.5 * ((np.arange(n) - centre) / sigma) ** 2))
    weights = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    weights /= weights.max()
    smallest = weights[weights > 0].min()
    weights[weights == 0] = smallest
    result: NDArray[np.float32] = weights.astype(np.float32)
    return result


def _pad(image: NDArray[np.float32], patch: Sequence[int],
         pad_value: float) -> NDArray[np.float32]:
    shape = image.shape[1:]
    padded_shape = tuple(max(n, p) for n, p in zip(shape, patch, strict=True))
    if padded_shape == shape:
        return image
    padded = np.full((image.shape[0], *padded_shape), pad_value, dtype=np.float32)
    padded[(slice(None), *(slice(0, n) for n in shape))] = image
    return padded


def stream_windows(
    image: NDArray[np.float32],
    run_batch: Callable[[NDArray[np.float32]], NDArray[np.float32]],
    *,
    patch: Sequence[int],
    channels: int,
    overlap: float = 0.5,
    batch_size: int = 2,
    weighting: Weighting = Weighting.GAUSSIAN,
    pad_value: float = 0.0,
) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
    """Run ``run_batch`` over overlapping windows; yield the blended result slab by slab.

    Windows are taken row by row along the first axis.  Once a row is done, the
    slices before the next row's start receive no more windows: they are yielded
    and their memory reused, so the accumulator never holds more than one patch
    depth of the image (``channels x patch[0] x b x c`` floats), whatever its size.

    Parameters
    ----------
    image
        ``(channel, a, b, c)`` float32: the model-grid image, axes in the order the
        graph expects (``k, j, i``).
    run_batch
        Maps ``(n, channel, *patch)`` to ``(n, channels, *patch)``.
    patch
        Window size along ``a, b, c``.
    channels
        Output channels of ``run_batch``.
    overlap
        Fraction of a window shared with its neighbour along each axis.
    batch_size
        Windows per ``run_batch`` call (windows of one row are batched together).
    weighting
        Gaussian importance or constant weights.
    pad_value
        Value that fills the image where it is smaller than the patch (the padding
        is cropped from what is yielded).

    Yields
    ------
    tuple
        ``(a0, a1, block)``: ``block`` of shape ``(channels, a1 - a0, b, c)`` is the
        weighted mean of every window's output over slices ``a0 <= a < a1``.  The
        slabs follow each other without gap or overlap and cover the image.
    """
    if image.ndim != 4:
        raise ValueError(f"image shape {image.shape}: expected (channel, a, b, c)")
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size}: expected at least 1")
    shape = image.shape[1:]
    image = _pad(image, patch, pad_value)
    padded_shape = image.shape[1:]
    weights = (gaussian_importance(patch) if weighting is Weighting.GAUSSIAN
               else np.ones(tuple(patch), dtype=np.float32))
    rows, columns, depths = (window_starts(n, p, overlap)
                             for n, p in zip(padded_shape, patch, strict=True))
    depth = patch[0]
    total = np.zeros((channels, depth, *padded_shape[1:]), dtype=np.float32)
    norm = np.zeros((depth, *padded_shape[1:]), dtype=np.float32)
    plane = list(itertools.product(columns, depths))
    for row, start in enumerate(rows):
        for first in range(0, len(plane), batch_size):
            group = plane[first:first + batch_size]
            batch = np.stack([image[:, start:start + depth, b:b + patch[1], c:c + patch[2]]
                              for b, c in group])
            output = run_batch(np.ascontiguousarray(batch, dtype=np.float32))
            expected = (len(group), channels, *patch)
            if output.shape != expected:
                raise ValueError(f"model output shape {output.shape}: expected {expected}")
            for (b, c), result in zip(group, output, strict=True):
                window = (slice(None), slice(b, b + patch[1]), slice(c, c + patch[2]))
                total[(slice(None), *window)] += result * weights
                norm[window] += weights
        following = rows[row + 1] if row + 1 < len(rows) else padded_shape[0]
        done = following - start
        end = int(min(following, shape[0]))
        if end > start:
            block: NDArray[np.float32] = np.divide(total[:, :end - start], norm[:end - start],
                                                   dtype=np.float32)
            yield start, end, block[:, :, :shape[1], :shape[2]]
        if row + 1 < len(rows):
            total[:, :depth - done] = total[:, done:]
            total[:, depth - done:] = 0.0
            norm[:depth - done] = norm[done:]
            norm[depth - done:] = 0.0


def sliding_window(
    image: NDArray[np.float32],
    run_batch: Callable[[NDArray[np.float32]], NDArray[np.float32]],
    *,
    patch: Sequence[int],
    labels: int,
    overlap: float = 0.5,
    batch_size: int = 2,
    weighting: Weighting = Weighting.GAUSSIAN,
    pad_value: float = 0.0,
) -> NDArray[np.float32]:
    """The whole blended result of :func:`stream_windows` as one ``(labels, a, b, c)`` array."""
    result = np.empty((labels, *image.shape[1:]), dtype=np.float32)
    for start, end, block in stream_windows(image, run_batch, patch=patch, channels=labels,
                                            overlap=overlap, batch_size=batch_size,
                                            weighting=weighting, pad_value=pad_value):
        result[:, start:end] = block
    return result
