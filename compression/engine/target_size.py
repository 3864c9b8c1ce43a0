"""Search strategies for a byte budget (target size) or a quality floor (target PSNR/SSIM).

The searches are binary searches over K that assume the measured figure is monotone in K (file size
grows and quality improves with more colours), which holds closely for K-Means palettes. They take
callables, so the pipeline decides how one attempt is made (one colour histogram for all K, the same
remap and encoder as the final output) and records every attempt.

* Target size: the LARGEST K in [MIN_SEARCH_COLORS, n_colors] whose encoded output fits. Only when
  K = MIN_SEARCH_COLORS is still too big, the LARGEST scale (binary search over the percentage,
  SCALE_SEARCH_STEPS halvings, down to MIN_SCALE_PERCENT) whose output fits at that K. When even the
  smallest scale does not fit, the smallest output found is returned and the target is not met.
* With oxipng on, attempts are priced with the default encoder, and oxipng runs only where it
  decides: its gain is measured on a band of rows of the largest K that fits that way, then it
  runs on the largest K whose default size times that gain fits (found with default-encoded attempts,
  `largest_k_between`, among the K that `optimizer_range` leaves). Only when that K misses after
  oxipng does a binary search with oxipng run below it. oxipng never makes a file larger, so a K
  that fits unoptimised still fits. The gain varies by a few per cent with K, so the answer can be
  a K or two below the true edge: the price of one full oxipng run instead of one per attempt.
* Target quality: the SMALLEST K whose PSNR (or SSIM) reaches the target; when n_colors does not
  reach it, n_colors is used and the target is not met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

MIN_SEARCH_COLORS = 2
MIN_SCALE_PERCENT = 1.0
FULL_SCALE_PERCENT = 100.0
SCALE_SEARCH_STEPS = 7  # halvings of the scale interval: about 1% precision over 1-100%
# How much more than at the best fit oxipng may shrink a larger K's file (its gain varies by a
# few per cent with K): larger K beyond that are not tried with oxipng.
OPTIMIZER_GAIN_SLACK = 0.05
GAIN_SAMPLE_PIXELS = 300_000  # oxipng's gain is measured on a band of about this many pixels

T = TypeVar("T")


def largest_k_within(
    k_max: int,
    size_of: Callable[[int], tuple[int, T]],
    budget: int,
) -> tuple[int | None, dict[int, tuple[int, T]]]:
    """Largest K in [MIN_SEARCH_COLORS, k_max] whose size fits `budget`.

    Parameters
    ----------
    k_max : int
        Upper bound (the requested n_colors).
    size_of : callable
        `size_of(k) -> (n_bytes, attempt)`; called at most once per K.
    budget : int
        Byte budget.

    Returns
    -------
    (k or None, tried)
        None when even MIN_SEARCH_COLORS does not fit. `tried` maps every K tried to its result.
    """
    tried: dict[int, tuple[int, T]] = {}

    def fits(k: int) -> bool:
        if k not in tried:
            tried[k] = size_of(k)
        return tried[k][0] <= budget

    if fits(k_max):
        return k_max, tried
    low = MIN_SEARCH_COLORS
    if low >= k_max or not fits(low):
        return None, tried
    high = k_max  # invariant: fits(low), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low, tried


def largest_scale_within(
    size_at: Callable[[float], tuple[int, T]],
    budget: int,
) -> tuple[float | None, dict[float, tuple[int, T]]]:
    """Largest scale percentage in [MIN_SCALE_PERCENT, FULL_SCALE_PERCENT) whose size fits.

    `size_at(percent) -> (n_bytes, attempt)`. The caller already knows 100% does not fit.
    Returns (None, tried) when even MIN_SCALE_PERCENT does not fit.
    """
    tried: dict[float, tuple[int, T]] = {}

    def fits(percent: float) -> bool:
        if percent not in tried:
            tried[percent] = size_at(percent)
        return tried[percent][0] <= budget

    low, high = MIN_SCALE_PERCENT, FULL_SCALE_PERCENT
    if not fits(low):
        return None, tried
    for _ in range(SCALE_SEARCH_STEPS):
        middle = round((low + high) / 2, 2)
        if middle in (low, high):
            break
        if fits(middle):
            low = middle
        else:
            high = middle
    return low, tried


def smallest_k_reaching(
    k_max: int,
    quality_of: Callable[[int], tuple[float, T]],
    target: float,
) -> tuple[int | None, dict[int, tuple[float, T]]]:
    """Smallest K in [MIN_SEARCH_COLORS, k_max] whose quality is at least `target`.

    `quality_of(k) -> (value, attempt)`, higher is better. Returns (None, tried) when even k_max
    falls short. Whenever K > MIN_SEARCH_COLORS is returned, K - 1 was tried and fell short.
    """
    tried: dict[int, tuple[float, T]] = {}

    def reaches(k: int) -> bool:
        if k not in tried:
            tried[k] = quality_of(k)
        return tried[k][0] >= target

    if not reaches(k_max):
        return None, tried
    low, high = MIN_SEARCH_COLORS, k_max  # invariant: reaches(high); everything below low falls short
    while low < high:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle + 1
    return high, tried


def optimizer_range(k_fit: int, k_max: int, plain_sizes: dict[int, int], gain: float, budget: int) -> int:
    """The first K above `k_fit` that cannot fit even after oxipng (k_max + 1 when none is known).

    `plain_sizes` maps the K tried to their size with the default encoder; `gain` is oxipng's
    size ratio (optimised / plain) measured at `k_fit`. A K is ruled out when its plain size times
    `gain - OPTIMIZER_GAIN_SLACK` still exceeds the budget.
    """
    ruled_out = [
        k for k, size in plain_sizes.items() if k > k_fit and size * (gain - OPTIMIZER_GAIN_SLACK) > budget
    ]
    return min(ruled_out, default=k_max + 1)


def largest_k_between(
    low: int,
    high: int,
    size_of: Callable[[int], tuple[int, T]],
    budget: int,
) -> tuple[int, dict[int, tuple[int, T]]]:
    """Largest K in [low, high) whose size fits, given that `low` fits and `high` does not.

    `size_of(k) -> (n_bytes, attempt)` is called only strictly between the two (binary search).
    """
    tried: dict[int, tuple[int, T]] = {}
    while high - low > 1:
        middle = (low + high) // 2
        tried[middle] = size_of(middle)
        if tried[middle][0] <= budget:
            low = middle
        else:
            high = middle
    return low, tried
