"""The engine's worker threads: numpy releases the GIL inside its loops, GEMMs, gathers and
reductions, so large array work split into parts runs on several cores at once."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Two threads per job: a 2-core machine is kept busy by one job, and several worker processes
# side by side on a larger machine do not oversubscribe it.
THREADS = min(2, len(os.sched_getaffinity(0)))


def pool() -> ThreadPoolExecutor:
    """A pool for one call of the engine's work; use it as a context manager."""
    return ThreadPoolExecutor(THREADS)


def map_parts(executor: ThreadPoolExecutor | None, work, items: np.ndarray, min_part: int) -> list:
    """[work(part) for part in contiguous parts of `items`], the parts in parallel.

    Splits into at most `THREADS` parts of at least `min_part` items; with no executor, or too
    few items, calls `work(items)` once in this thread.
    """
    n_parts = min(THREADS, len(items) // min_part) if executor is not None else 1
    if n_parts <= 1:
        return [work(items)]
    return list(executor.map(work, np.array_split(items, n_parts)))
