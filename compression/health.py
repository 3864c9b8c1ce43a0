"""Health of the platform's dependencies, each really exercised: the database (SELECT 1), the file
store (write, read back, delete; cached for a few seconds), the job queue (age of the oldest
queued job) and the engine's compiled loops. `health_report()` is what /api/health shows.
"""

import json
import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from compression.engine import native
from compression.models import CompressionJob, JobStatus

logger = logging.getLogger(__name__)


def health_report() -> tuple[bool, dict]:
    """(all healthy, {check name: {"ok": bool, "ms": float, "error"?: str, ...}})."""
    checks = {
        "database": _check("database", check_database),
        "storage": storage_check_cached(),
        "queue": _check("queue", check_queue),
        "engine": _check("engine", check_engine),
    }
    return all(check["ok"] for check in checks.values()), checks


# The endpoint is public: it says which dependency failed, never how (paths, hosts, driver
# messages go to the log). HealthProblem messages are ours and safe to show.
HEALTH_PUBLIC_ERRORS = {
    "database": "database unreachable",
    "storage": "storage unreachable",
    "queue": "queue check failed",
    "engine": "engine check failed",
}
# The storage probe writes, reads and deletes an object: at most once per this many seconds per
# process (load balancers poll every few seconds), whatever the answer was.
HEALTH_STORAGE_CACHE_SECONDS = 10
_storage_probe_lock = threading.Lock()
_storage_probe_cache: dict = {}  # {"key": the storage settings, "at": monotonic, "result": dict}


class HealthProblem(Exception):
    """A failed check whose message is written for the public health answer."""


def _check(name: str, probe) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **(probe() or {})}
    except HealthProblem as exc:
        result = {"ok": False, "error": str(exc)}
    except Exception:  # a failing dependency is the answer, not an error of this view
        logger.warning("health check %r failed", name, exc_info=True)
        result = {"ok": False, "error": HEALTH_PUBLIC_ERRORS[name]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def storage_check_cached() -> dict:
    key = json.dumps(settings.STORAGES["default"], sort_keys=True, default=str)
    with _storage_probe_lock:
        cached = _storage_probe_cache
        if cached.get("key") == key and time.monotonic() - cached["at"] < HEALTH_STORAGE_CACHE_SECONDS:
            return {**cached["result"], "cached": True}
        result = _check("storage", check_storage)
        _storage_probe_cache.update(key=key, at=time.monotonic(), result=result)
        return result


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 did not return 1")


def check_storage():
    payload = uuid.uuid4().hex.encode()
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(payload))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != payload:
                raise RuntimeError("read back different bytes")
    finally:
        default_storage.delete(name)


def check_engine() -> dict:
    state = native.status()
    if not state.ok:
        raise HealthProblem(state.message)
    return {"build": state.build_id}


def check_queue() -> dict:
    # Platform-wide counts, no user data (the one unscoped read of the API; a selector is requested).
    queued = CompressionJob.objects.filter(status=JobStatus.QUEUED)
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    age = round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
    stats = {
        "queued": queued.count(),
        "running": CompressionJob.objects.filter(status=JobStatus.RUNNING).count(),
        "oldest_queued_age_seconds": age,
    }
    limit = settings.API_HEALTH_MAX_QUEUE_AGE
    if limit and age is not None and age > limit:
        raise HealthProblem(f"the oldest queued job has waited {age:.0f} s (limit {limit} s): is a worker running?")
    return stats
