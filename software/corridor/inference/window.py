"""Sliding-window inference over a model-grid image, blended with Gaussian importance weights.

Window placement and weights follow nnU-Net v2 (``tile_step_size`` 0.5 by default,
steps spread evenly so that the first window starts at 0 and the last ends at the
border; Gaussian importance map with sigma = patch / 8, normalised to a maximum
of 1, zeros replaced by the smallest non-zero weight).  An image smaller than the
patch along an axis is padded (with the value given, usually the preprocessed air)
and the padding cropped from the result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["Weighting", "gaussian_importance", "sliding_window", "window_starts"]

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


def _windows(shape: Sequence[int], patch: Sequence[int],
             overlap: float) -> Iterator[tuple[slice, slice, slice]]:
    starts = [window_starts(n, p, overlap) for n, p in zip(shape, patch, strict=True)]
    for corner in itertools.product(*starts):
        yield tuple(slice(c, c + p) for c, p in zip(corner, patch, strict=True))  # type: ignore[misc]


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
    """Run ``run_batch`` over overlapping windows and blend the outputs.

    Parameters
    ----------
    image
        ``(channel, a, b, c)`` float32: the whole model-grid image, axes in the order
        the graph expects (``k, j, i``).
    run_batch
        Maps ``(n, channel, *patch)`` to ``(n, labels, *patch)``.
    patch
        Window size along ``a, b, c``.
    labels
        Output channels.
    overlap
        Fraction of a window shared with its neighbour along each axis.
    batch_size
        Windows per ``run_batch`` call.
    weighting
        Gaussian importance or constant weights.
    pad_value
        Value that fills the image where it is smaller than the patch.

    Returns
    -------
    ndarray
        ``(labels, a, b, c)`` float32: the weighted mean of every window's output at
        each voxel.
    """
    if image.ndim != 4:
        raise ValueError(f"image shape {image.shape}: expected (channel, a, b, c)")
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size}: expected at least 1")
    shape = image.shape[1:]
    padded_shape = tuple(max(n, p) for n, p in zip(shape, patch, strict=True))
    if padded_shape != shape:
        padded = np.full((image.shape[0], *padded_shape), pad_value, dtype=np.float32)
        padded[(slice(None), *(slice(0, n) for n in shape))] = image
        image = padded
    weights = (gaussian_importance(patch) if weighting is Weighting.GAUSSIAN
               else np.ones(tuple(patch), dtype=np.float32))
    total = np.zeros((labels, *padded_shape), dtype=np.float32)
    norm = np.zeros(padded_shape, dtype=np.float32)
    windows = list(_windows(padded_shape, patch, overlap))
    for first in range(0, len(windows), batch_size):
        group = windows[first:first + batch_size]
        batch = np.stack([image[(slice(None), *w)] for w in group]).astype(np.float32,
                                                                           copy=False)
        output = run_batch(np.ascontiguousarray(batch))
        expected = (len(group), labels, *patch)
        if output.shape != expected:
            raise ValueError(f"model output shape {output.shape}: expected {expected}")
        for window, result in zip(group, output, strict=True):
            total[(slice(None), *window)] += result * weights
            norm[window] += weights
    total /= norm
    return total[(slice(None), *(slice(0, n) for n in shape))]
