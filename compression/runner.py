"""Running one job (what the task calls): claim it, compress with a heartbeat, store the result.

The runner never raises for a bad image or a storage fault: the job row records the outcome. Only a
lost database is raised on, so the worker reconnects and stale-job recovery takes the job over.
"""

import logging
import math
import threading
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F
from django.utils import timezone

from compression.decoding import decode_limits
from compression.models import CompressionJob, JobStatus
from compression.stored_files import delete_files

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Internal error while compressing this image; the team has been notified. Try again later."
STORAGE_READ_ERROR_MESSAGE = (
    "The file store could not be reached while reading the original image. "
    "Nothing was saved; re-run the job once the service is back."
)
STORAGE_WRITE_ERROR_MESSAGE = (
    "The file store could not be reached while saving the result. "
    "Nothing was saved; re-run the job once the service is back."
)
# A stage reported again (e.g. during a target-size search) is written at most this often.
PROGRESS_WRITE_SECONDS = 0.5
# The database went away (restart, failover, network): nothing can be recorded until it is back.
DATABASE_ERRORS = (OperationalError, InterfaceError)


class JobCancelled(Exception):
    """Raised from the progress callback to stop the engine: cancel requested, deleted or taken over."""


class StorageFailure(Exception):
    """The file store failed while reading the input or writing the result."""


def job_run(*, job_id) -> CompressionJob | None:
    """Claim a queued job and run it to the end. Never raises for a bad image or a storage fault.

    Returns the job as it is afterwards (or None if it no longer exists). If another worker
    claimed it first, or it was cancelled while queued, it is returned untouched.
    """
    now = timezone.now()
    claimed = CompressionJob.objects.filter(id=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
        progress=0,
        stage="starting",
        error_message="",
    )
    job = CompressionJob.objects.select_related("upload").filter(id=job_id).first()
    if job is None or not claimed:
        return job
    try:
        _execute(job)
    except DATABASE_ERRORS as exc:
        # Not the job's fault, and nothing can be written now: the row stays `running` with its
        # last heartbeat, so stale-job recovery re-queues it once the database is back. Raised on
        # so the worker reconnects (manage.py worker) instead of recording a failure.
        logger.warning(
            "job %s: the database went away during attempt %s (%s: %s); left for stale-job recovery",
            job_id, job.attempts, type(exc).__name__, " ".join(str(exc).split())[:200],
        )
        raise
    except Exception:
        # _execute handles everything it expects; this is a bug.
        logger.exception("job %s: unexpected error outside the compression step", job_id)
        _finish(job, status=JobStatus.FAILED, error_message=INTERNAL_ERROR_MESSAGE)
    return CompressionJob.objects.select_related("upload").filter(id=job_id).first()


def _execute(job: CompressionJob) -> None:
    from compression.engine import EngineError, compress, decode_capped

    attempt = job.attempts
    mine = CompressionJob.objects.filter(id=job.id, status=JobStatus.RUNNING, attempts=attempt)
    heartbeat = _Heartbeat(job_id=job.id, attempt=attempt, interval=settings.JOB_HEARTBEAT_SECONDS)
    last_write = {"at": 0.0, "stage": None}

    def progress(stage: str, percent: float) -> None:
        if heartbeat.cancelled.is_set():
            raise JobCancelled()
        now = time.monotonic()
        # Every new stage is written; repeats of a stage (target searches) at most every 0.5 s.
        if stage == last_write["stage"] and now - last_write["at"] < PROGRESS_WRITE_SECONDS:
            return
        last_write.update(at=now, stage=stage)
        rows = mine.filter(cancel_requested=False).update(
            progress=max(0, min(99, int(percent))), stage=str(stage)[:32], heartbeat_at=timezone.now()
        )
        if rows == 0:
            raise JobCancelled()

    if attempt > 1:
        delete_leftover_result(job)
    heartbeat.start()
    try:
        try:
            with job.upload.file.open("rb") as source:
                data = source.read()
        except Exception as exc:
            raise StorageFailure(STORAGE_READ_ERROR_MESSAGE) from exc
        progress("read", 5)
        result = compress(decode_capped(data, decode_limits()), job.to_compress_options(), progress=progress)
        if heartbeat.cancelled.is_set():
            raise JobCancelled()
    except JobCancelled:
        _finish(job, status=JobStatus.CANCELLED)
        return
    except EngineError as exc:
        _finish(job, status=JobStatus.FAILED, error_message=str(exc))
        return
    except StorageFailure as exc:
        logger.warning("job %s: %s (%r)", job.id, exc, exc.__cause__)
        _finish(job, status=JobStatus.FAILED, error_message=str(exc))
        return
    except DATABASE_ERRORS:
        raise  # a progress write lost the database: not an engine failure (job_run explains)
    except Exception:
        logger.exception("job %s: the engine failed", job.id)
        _finish(job, status=JobStatus.FAILED, error_message=INTERNAL_ERROR_MESSAGE)
        return
    finally:
        heartbeat.stop()

    # The result and thumbnail files first, then the row; if the row cannot say so, the files go.
    stats = result.stats
    job.result_format = result.format
    try:
        job.result.save("result", ContentFile(result.data), save=False)
    except Exception as exc:
        logger.warning("job %s: %s (%r)", job.id, STORAGE_WRITE_ERROR_MESSAGE, exc)
        _finish(job, status=JobStatus.FAILED, error_message=STORAGE_WRITE_ERROR_MESSAGE)
        return
    stored_name = job.result.name
    thumbnail_name = ""
    thumbnail = _thumbnail_bytes_or_none(job, result.data)
    if thumbnail is not None:
        try:
            job.thumbnail.save("thumbnail", ContentFile(thumbnail), save=False)
        except Exception as exc:
            # The same store as the result: treat it like a failed result write.
            logger.warning("job %s: %s (thumbnail: %r)", job.id, STORAGE_WRITE_ERROR_MESSAGE, exc)
            delete_files([stored_name])
            _finish(job, status=JobStatus.FAILED, error_message=STORAGE_WRITE_ERROR_MESSAGE)
            return
        thumbnail_name = job.thumbnail.name
    written = [stored_name, thumbnail_name]
    psnr = stats.psnr if math.isfinite(stats.psnr) else None  # identical images: infinite PSNR
    ssim = stats.ssim if math.isfinite(stats.ssim) else None
    try:
        updated = mine.filter(cancel_requested=False).update(
            status=JobStatus.SUCCEEDED,
            progress=100,
            stage="done",
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            result=stored_name,
            thumbnail=thumbnail_name,
            thumbnail_bytes=len(thumbnail) if thumbnail_name else None,
            result_format=result.format,
            result_bytes=len(result.data),
            result_width=result.width,
            result_height=result.height,
            input_bytes=stats.input_bytes,
            output_bytes=stats.output_bytes,
            ratio=stats.file_ratio,
            psnr=psnr,
            ssim=ssim,
            n_colors_used=stats.n_colors_used,
            n_iter=stats.n_iter,
            processing_ms=stats.timings_ms.get("total"),
            stats=stats.to_dict(),
        )
    except Exception:
        delete_files(written)
        raise
    if not updated:
        # Cancelled, deleted or taken over while we were saving: the files must not stay.
        delete_files(written)
        _finish(job, status=JobStatus.CANCELLED)


def _thumbnail_bytes_or_none(job: CompressionJob, data: bytes) -> bytes | None:
    """The job's thumbnail, or None if it cannot be made (the job still succeeds; pages fall back)."""
    from compression.engine import thumbnail

    try:
        return thumbnail(data)
    except Exception:
        logger.exception("job %s: could not make the thumbnail", job.id)
        return None


def _finish(job: CompressionJob, *, status: str, error_message: str = "") -> None:
    """End this attempt of a running job (a no-op if the job is no longer ours)."""
    stage = {JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}.get(status, "")
    CompressionJob.objects.filter(id=job.id, status=JobStatus.RUNNING, attempts=job.attempts).update(
        status=status, error_message=error_message, finished_at=timezone.now(), stage=stage
    )


def delete_leftover_result(job: CompressionJob) -> None:
    """A previous attempt may have stored the result (and thumbnail) before dying: remove them."""
    probe = CompressionJob(id=job.id, owner_id=job.owner_id, result_format=job.output_format)
    for field_name in ("result", "thumbnail"):
        name = job._meta.get_field(field_name).generate_filename(probe, field_name)
        try:
            if job.result.storage.exists(name):
                job.result.storage.delete(name)
        except Exception:
            logger.warning("job %s: could not remove a leftover %s %s", job.id, field_name, name, exc_info=True)


class _Heartbeat:
    """Updates heartbeat_at every `interval` seconds in a thread and notices cancel requests.

    A thread, because one engine stage (quantizing a 24 MP image) can run for seconds without a
    progress callback. It uses its own database connection and closes it when stopped.
    """

    def __init__(self, *, job_id, attempt: int, interval: float):
        self.job_id = job_id
        self.attempt = attempt
        self.interval = interval
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    jobs = CompressionJob.objects.filter(id=self.job_id)
                    row = jobs.values("status", "attempts", "cancel_requested").first()
                    if row is None:
                        # Deleted, or not committed yet (job_compress_now inside a caller's
                        # transaction): the progress callback, on the job's own connection, decides.
                        continue
                    if row["cancel_requested"] or row["status"] != JobStatus.RUNNING or row["attempts"] != self.attempt:
                        self.cancelled.set()
                        continue
                    jobs.filter(status=JobStatus.RUNNING, attempts=self.attempt).update(heartbeat_at=timezone.now())
                except Exception as exc:
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
                    if isinstance(exc, DATABASE_ERRORS):
                        connection.close()  # dead after a database restart: the next beat reconnects
        finally:
            connection.close()
