"""The engine's second core: numpy releases the GIL inside its loops, GEMMs, gathers and
reductions, so large array work split into parts runs on several cores at once.

One pool per process, created on first use (and again in a forked child, whose copy would have no
threads). Work handed to `run_parts` must not call `run_parts` itself: nested calls run serially
rather than wait for a worker that is waiting on them.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _thread_count() -> int:
    """ENGINE_THREADS from the environment, else two (at most the CPUs this process may use).

    Two threads per call keep a 2-core machine busy with one job, and several worker processes
    side by side on a larger machine do not oversubscribe it; one worker per core wants 1.
    """
    value = os.environ.get("ENGINE_THREADS", "").strip()
    if not value:
        return min(2, os.process_cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"ENGINE_THREADS={value!r} must be a whole number of threads, at least 1")
    return int(value)


THREADS = _thread_count()

_state = threading.local()
_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _mark_pool_thread() -> None:
    _state.in_pool = True


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            # The calling thread runs one part itself, so the pool needs one thread fewer.
            _executor = ThreadPoolExecutor(max(THREADS - 1, 1), thread_name_prefix="engine", initializer=_mark_pool_thread)
        return _executor


def _forget_pool_after_fork() -> None:
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def split(items: np.ndarray, min_part: int) -> list[np.ndarray]:
    """`items` in at most `THREADS` contiguous parts of at least `min_part` items each."""
    n_parts = max(1, min(THREADS, len(items) // max(min_part, 1)))
    return np.array_split(items, n_parts) if n_parts > 1 else [items]


def run_parts(work, parts: list) -> list:
    """[work(part) for part in parts], the first part in this thread and the others on the pool."""
    if len(parts) <= 1 or getattr(_state, "in_pool", False):
        return [work(part) for part in parts]
    pending = [_pool().submit(work, part) for part in parts[1:]]
    first = work(parts[0])
    return [first, *(future.result() for future in pending)]
