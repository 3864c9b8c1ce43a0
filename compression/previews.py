"""The prepared preview sources of this process: an LRU cache bounded in bytes, with expiry.

A preview source (`engine.preview.PreviewSource`: the decoded, geometry-applied, downscaled pixels,
the size sample and the colour histograms) takes a decode of the upload to build, which is most
of a cold preview's time; every later preview of the same upload and geometry only clusters,
remaps and encodes. Entries are keyed by (upload id, sha256, geometry options, preview_pixels),
held at most PREVIEW_CACHE_SECONDS after they were built, and the least recently used are
dropped once the entries hold more than PREVIEW_CACHE_MB. The cache is per process (each web
process warms its own): a source is a few MB of numpy arrays, too large to pickle into a shared
cache at slider speed.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.conf import settings

from compression.engine.preview import PreviewSource

MIB = 1024 * 1024


@dataclass
class _Entry:
    source: PreviewSource
    built_at: float


class PreviewCache:
    """Thread-safe LRU of prepared sources; bounds are read from the settings at every insert."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # sources prepared (cache misses), for tests and the benchmark

    def get_or_build(self, key: Hashable, build: Callable[[], PreviewSource]) -> tuple[PreviewSource, bool]:
        """(source, True) from the cache, or (build(), False) stored for next time.

        `build` runs outside the lock (a cold decode must not stall other users' previews); two
        first calls for one key at once both build, and the second one's source is kept.
        """
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry.built_at <= settings.PREVIEW_CACHE_SECONDS:
                self._entries.move_to_end(key)
                return entry.source, True
            self._entries.pop(key, None)
        source = build()
        with self._lock:
            self.builds += 1
            self._entries[key] = _Entry(source, self._clock())
            self._evict()
        return source, False

    def _evict(self) -> None:
        """Drop expired entries, then the least recently used until the rest fit the byte bound.

        Sizes are read now, not at insert: a source grows when a second colour space's histogram
        is built on it."""
        now = self._clock()
        for key in [k for k, e in self._entries.items() if now - e.built_at > settings.PREVIEW_CACHE_SECONDS]:
            del self._entries[key]
        limit = settings.PREVIEW_CACHE_MB * MIB
        total = sum(entry.source.nbytes for entry in self._entries.values())
        while self._entries and total > limit:
            _key, oldest = self._entries.popitem(last=False)
            total -= oldest.source.nbytes

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(entry.source.nbytes for entry in self._entries.values())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.builds = 0


preview_cache = PreviewCache()
