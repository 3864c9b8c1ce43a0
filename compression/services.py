"""All writes of the platform core: accounts, uploads and compression jobs.

Services take keyword-only arguments, are the only code that enqueues jobs, and raise the typed
errors of compression/errors.py (or the engine's InvalidOptions) with messages a person reads.
"""

import hashlib
import io
import logging
import math
import posixpath
import threading
import time
import unicodedata
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.http import Http404
from django.utils import timezone

from .errors import InvalidUpload, JobNotCancellable, JobNotFinished, QuotaExceeded, UploadTooLarge
from .models import OPTION_DEFAULTS, CompressionJob, JobStatus, Upload
from .storage_names import user_prefix

logger = logging.getLogger(__name__)

User = get_user_model()

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



# --------------------------------------------------------------------------------------------
# Accounts


@transaction.atomic
def user_create(*, username: str, email: str, password: str):
    """A new active user. Raises django ValidationError (username taken, weak password, ...)."""
    user = User(username=username, email=email)
    errors = {}
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    try:
        user.set_unusable_password()  # so full_clean does not complain before set_password
        user.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user


def user_delete(*, user) -> None:
    """Delete a user, their uploads, jobs and every file under their storage prefix."""
    names = _file_names_of_user(user)
    user_id = user.pk
    with transaction.atomic():
        user.delete()
    _delete_files(names)
    _delete_prefix(user_prefix(user_id))


# --------------------------------------------------------------------------------------------
# Uploads


def upload_create(*, owner, file, original_name: str | None = None) -> Upload:
    """Store an uploaded image after checking its size, type and pixel count.

    `file` is a Django UploadedFile/File, a file object or bytes. The pixels are counted from the
    header before anything is decoded. The same user uploading the same bytes again gets the
    existing Upload back (no second copy is stored).
    """
    data = _read_limited(file)
    if original_name is None:
        original_name = getattr(file, "name", "") or ""
    original_name = _display_name(original_name)
    fmt, width, height = _inspect_image(data)
    digest = hashlib.sha256(data).hexdigest()

    with transaction.atomic():
        lock_user(owner)
        existing = Upload.objects.filter(owner=owner, sha256=digest).first()
        if existing is not None:
            return existing
        _check_storage_quota(owner, extra_bytes=len(data))
        upload = Upload(
            owner=owner,
            original_name=original_name,
            format=fmt,
            width=width,
            height=height,
            size_bytes=len(data),
            sha256=digest,
        )
        upload.file.save("upload", ContentFile(data), save=False)
        try:
            upload.full_clean()
            with transaction.atomic():
                upload.save(force_insert=True)
        except IntegrityError:
            # The same bytes arrived concurrently: keep the other row.
            _delete_files([upload.file.name])
            return Upload.objects.get(owner=owner, sha256=digest)
        except BaseException:
            _delete_files([upload.file.name])
            raise
    return upload


def upload_delete(*, upload: Upload) -> None:
    """Delete an upload, its jobs and all their files."""
    names = [upload.file.name] + _job_file_names(upload.jobs.all())
    with transaction.atomic():
        upload.delete()
    _delete_files(names)


def _read_limited(file) -> bytes:
    limit = settings.MAX_UPLOAD_BYTES
    too_large = UploadTooLarge(
        f"The file is larger than the {_human_bytes(limit)} limit; upload a smaller image."
    )
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)
        if isinstance(size, int) and size > limit:
            raise too_large
        if hasattr(file, "seek"):
            try:
                file.seek(0)
            except (OSError, ValueError):
                pass
        data = file.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise InvalidUpload("The file is empty.", kind="invalid_image")
    return data


def _display_name(name: str) -> str:
    """The file name for display: last path component, no control characters, at most 255 chars."""
    name = str(name).replace("\\", "/")
    name = posixpath.basename(name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def _inspect_image(data: bytes) -> tuple[str, int, int]:
    """(format, displayed width, height) of an upload, through the engine's decoder.

    The decoder checks the pixel count from the header before decoding any pixel, then decodes
    the first frame, so truncated or corrupt files are refused at upload time, not in the worker.
    """
    from compression.engine import EngineError, ImageTooLarge, UnsupportedFormat, probe

    try:
        info = probe(data, max_pixels=settings.MAX_IMAGE_PIXELS)
    except ImageTooLarge as exc:
        raise InvalidUpload(str(exc), kind="image_too_large") from exc
    except UnsupportedFormat as exc:
        raise InvalidUpload(str(exc), kind="unsupported_format") from exc
    except EngineError as exc:
        raise InvalidUpload(str(exc), kind="invalid_image") from exc
    return info.format, info.width, info.height


# --------------------------------------------------------------------------------------------
# Jobs: creation, cancellation, re-runs, deletion


def job_create(*, owner, upload: Upload, options: dict | None = None) -> CompressionJob:
    """A queued job for `upload` with `options` (missing or None values take the defaults).

    Validates the options against the upload's dimensions (engine InvalidOptions), checks the
    quotas (QuotaExceeded) and enqueues the task once the transaction commits.
    """
    return _job_create(owner=owner, upload=upload, options=options or {}, enqueue=True)


def job_compress_now(*, owner, upload: Upload, options: dict | None = None) -> CompressionJob:
    """Create the job and run it in this process (the classic synchronous endpoints).

    Returns the finished job: succeeded, or failed with `error_message`. Option and quota
    errors are raised before any job exists, as in `job_create`.
    """
    job = _job_create(owner=owner, upload=upload, options=options or {}, enqueue=False)
    return job_run(job_id=job.id)


def job_cancel(*, job: CompressionJob) -> CompressionJob:
    """Queued → cancelled at once; running → cancel requested (the worker stops at its next step)."""
    now = timezone.now()
    jobs = CompressionJob.objects.filter(id=job.id)
    if jobs.filter(status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, stage="cancelled"
    ):
        pass
    elif jobs.filter(status=JobStatus.RUNNING).update(cancel_requested=True):
        pass
    else:
        job.refresh_from_db()
        raise JobNotCancellable(f"This job has already finished ({job.get_status_display().lower()}).")
    job.refresh_from_db()
    return job


def job_rerun(*, job: CompressionJob, changes: dict | None = None) -> CompressionJob:
    """A new queued job on the same upload with the same options, updated by `changes`."""
    if not job.is_finished:
        raise JobNotFinished(f"Only finished jobs can be re-run; this one is {job.get_status_display().lower()}.")
    options = job.options_dict()
    options.update(changes or {})
    return _job_create(owner=job.owner, upload=job.upload, options=options, enqueue=True, rerun_of=job)


def job_delete(*, job: CompressionJob) -> None:
    """Delete a job and its result and thumbnail files. A running job stops at its next step."""
    names = [field.name for field in (job.result, job.thumbnail) if field]
    with transaction.atomic():
        job.delete()
    _delete_files(names)


def jobs_cancel(*, jobs) -> int:
    """Bulk cancel (admin): queued → cancelled, running → cancel requested. Two UPDATEs in all."""
    ids = list(jobs.values_list("id", flat=True))
    now = timezone.now()
    with transaction.atomic():
        queued = CompressionJob.objects.filter(id__in=ids, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, stage="cancelled"
        )
        running = CompressionJob.objects.filter(id__in=ids, status=JobStatus.RUNNING).update(cancel_requested=True)
    return queued + running


def jobs_delete(*, jobs) -> int:
    """Bulk delete (admin): the rows in one query, then their result and thumbnail files."""
    ids = list(jobs.values_list("id", flat=True))
    names = _job_file_names(CompressionJob.objects.filter(id__in=ids))
    with transaction.atomic():
        count, _ = CompressionJob.objects.filter(id__in=ids).delete()
    _delete_files(names)
    return len(ids)


@transaction.atomic
def _job_create(*, owner, upload: Upload, options: dict, enqueue: bool, rerun_of=None) -> CompressionJob:
    from compression.engine import ENGINE_VERSION, InvalidOptions, validate_options

    if upload.owner_id != owner.pk:
        raise Http404("No upload matches the given query.")
    unknown = sorted(set(options) - set(OPTION_DEFAULTS))
    if unknown:
        raise InvalidOptions(f"Unknown option(s): {', '.join(unknown)}.")
    values = dict(OPTION_DEFAULTS)
    values.update({key: value for key, value in options.items() if value is not None})
    crop = [values[key] for key in ("crop_x", "crop_y", "crop_width", "crop_height")]
    if any(v is not None for v in crop) and (values["crop_width"] is None or values["crop_height"] is None):
        raise InvalidOptions("A crop box needs crop_width and crop_height (crop_x and crop_y default to 0).")
    if values["background"] is not None:
        values["background"] = _normalise_colour(values["background"])

    job = CompressionJob(owner=owner, upload=upload, rerun_of=rerun_of, **values)
    try:
        engine_options = job.to_compress_options()
    except (TypeError, ValueError) as exc:
        raise InvalidOptions(f"Invalid options: {exc}") from exc
    validate_options(engine_options, image_width=upload.width, image_height=upload.height)
    job.engine_version = ENGINE_VERSION
    try:
        job.full_clean(exclude=["owner", "upload", "rerun_of", "result"])
    except ValidationError as exc:
        raise InvalidOptions(_validation_text(exc)) from exc

    lock_user(owner)
    quota = settings.QUOTA_JOBS_PER_DAY
    if quota and _jobs_today(owner) >= quota:
        raise QuotaExceeded(
            f"You have used your {quota} compression jobs for today; try again tomorrow.", kind="jobs_per_day"
        )
    _check_storage_quota(owner, extra_bytes=1)  # a full store has no room for the result
    job.save(force_insert=True)
    if enqueue:
        _enqueue(job.id)
    return job


def _enqueue(job_id) -> None:
    transaction.on_commit(partial(_send_task, job_id))


def _send_task(job_id) -> None:
    """Hand the job's task to the queue, then mark the job as sent (see `jobs_recover_stale`)."""
    from .tasks import run_compression_job

    run_compression_job.enqueue(str(job_id))
    CompressionJob.objects.filter(id=job_id).update(enqueued_at=timezone.now())


# --------------------------------------------------------------------------------------------
# Jobs: running (what the task calls)


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
    from compression.engine import EngineError, compress

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
        _delete_leftover_result(job)
    heartbeat.start()
    try:
        try:
            with job.upload.file.open("rb") as source:
                data = source.read()
        except Exception as exc:
            raise StorageFailure(STORAGE_READ_ERROR_MESSAGE) from exc
        progress("read", 5)
        result = compress(io.BytesIO(data), job.to_compress_options(), progress=progress)
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
            _delete_files([stored_name])
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
        _delete_files(written)
        raise
    if not updated:
        # Cancelled, deleted or taken over while we were saving: the files must not stay.
        _delete_files(written)
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


def _delete_leftover_result(job: CompressionJob) -> None:
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


def jobs_recover_stale() -> int:
    """Re-queue running jobs whose worker stopped beating (e.g. SIGKILL), or fail them; send the
    task of queued jobs that never reached the queue.

    A job whose heartbeat is older than JOB_STALE_SECONDS goes back to queued and is enqueued
    again while it has had fewer than JOB_MAX_ATTEMPTS attempts; after that it fails with a
    message. A stale job with a cancel request ends cancelled. A queued job older than
    JOB_STALE_SECONDS that was never marked as sent (the database went away right after it was
    saved) is enqueued; jobs that were sent are never sent again, however long they wait. Returns
    how many jobs changed. Safe to run from several workers at once: each change is a conditional
    update (two workers may both send a lost task; only one can claim the job).
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    max_attempts = settings.JOB_MAX_ATTEMPTS
    stale = CompressionJob.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    changed = 0
    for job in stale.select_related("upload"):
        same = CompressionJob.objects.filter(
            id=job.id, status=JobStatus.RUNNING, attempts=job.attempts, heartbeat_at=job.heartbeat_at
        )
        with transaction.atomic():
            if job.cancel_requested:
                rows = same.update(status=JobStatus.CANCELLED, finished_at=now, stage="cancelled")
            elif job.attempts < max_attempts:
                rows = same.update(status=JobStatus.QUEUED, progress=0, stage="requeued", heartbeat_at=None)
                if rows:
                    _enqueue(job.id)
            else:
                rows = same.update(
                    status=JobStatus.FAILED,
                    finished_at=now,
                    stage="failed",
                    error_message=(
                        f"The worker stopped while processing this job {job.attempts} times "
                        "(for example it ran out of memory or was restarted); giving up. "
                        "Try a smaller image or fewer colours."
                    ),
                )
        if rows:
            changed += 1
            logger.warning("job %s: stale (attempt %s, heartbeat %s) -> recovered", job.id, job.attempts, job.heartbeat_at)
            if job.cancel_requested or job.attempts >= max_attempts:
                _delete_leftover_result(job)
    lost = CompressionJob.objects.filter(status=JobStatus.QUEUED, enqueued_at__isnull=True, created_at__lt=cutoff)
    for job_id in lost.values_list("id", flat=True):
        _send_task(job_id)  # outside any transaction here: send at once, no on_commit detour
        changed += 1
        logger.warning("job %s: queued but its task never reached the queue -> sent", job_id)
    return changed


def job_requeue_lost(*, job_id) -> bool:
    """Enqueue a still-queued job again because its task was lost (returns whether it did).

    For a worker whose database went away after it took the task from the queue but before
    job_run claimed the job: that task is spent, and stale-job recovery only sees running jobs.
    A second task for a job is harmless: only one can claim it.
    """
    with transaction.atomic():
        if not CompressionJob.objects.filter(id=job_id, status=JobStatus.QUEUED).exists():
            return False
        _enqueue(job_id)
    return True


# --------------------------------------------------------------------------------------------
# Housekeeping


def prune_old(*, days: int, dry_run: bool = False) -> dict:
    """Delete jobs and uploads created more than `days` days ago, with their files.

    Jobs still queued or running are kept (and so are their uploads). Returns counts.
    """
    cutoff = timezone.now() - timedelta(days=days)
    active = (JobStatus.QUEUED, JobStatus.RUNNING)
    old_jobs = CompressionJob.objects.filter(created_at__lt=cutoff).exclude(status__in=active)
    old_uploads = Upload.objects.filter(created_at__lt=cutoff).exclude(
        jobs__status__in=active
    ).exclude(jobs__created_at__gte=cutoff)
    counts = {"jobs": 0, "uploads": 0, "files": 0, "bytes": 0}
    for job in old_jobs.iterator():
        counts["jobs"] += 1
        if job.result:
            counts["files"] += 1
            counts["bytes"] += job.result_bytes or 0
        if job.thumbnail:
            counts["files"] += 1
            counts["bytes"] += job.thumbnail_bytes or 0
        if not dry_run:
            job_delete(job=job)
    for upload in old_uploads.distinct().iterator():
        counts["uploads"] += 1
        counts["files"] += 1
        counts["bytes"] += upload.size_bytes
        if not dry_run:
            upload_delete(upload=upload)
    return counts


def storage_orphans_delete(*, min_age_seconds: int = 3600, dry_run: bool = False) -> list[str]:
    """Delete files under users/ that no row references (e.g. left by a storage fault).

    Files younger than `min_age_seconds` are kept: an upload or a job may be writing them.
    """
    from django.core.files.storage import default_storage

    referenced = set(Upload.objects.values_list("file", flat=True))
    referenced |= set(_job_file_names(CompressionJob.objects.all()))
    deleted = []
    now = timezone.now()
    for name in _walk(default_storage, "users"):
        if name in referenced:
            continue
        try:
            modified = default_storage.get_modified_time(name)
        except Exception:
            modified = None
        if modified is not None and (now - modified).total_seconds() < min_age_seconds:
            continue
        deleted.append(name)
        if not dry_run:
            _delete_files([name])
    return deleted


# --------------------------------------------------------------------------------------------
# Helpers


def lock_user(user) -> None:
    """Serialise quota checks per user, inside a transaction (PostgreSQL row lock; SQLite
    serialises writers anyway). Also used by api.tokens for the token limit."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def _jobs_today(user) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return CompressionJob.objects.filter(owner=user, created_at__gte=start).count()


def storage_bytes_for_user(user) -> int:
    """Bytes of the user's originals, results and thumbnails (the storage quota counts all three)."""
    uploads = Upload.objects.filter(owner=user).aggregate(total=Sum("size_bytes"))["total"] or 0
    jobs = CompressionJob.objects.filter(owner=user).aggregate(
        results=Sum("result_bytes"), thumbnails=Sum("thumbnail_bytes")
    )
    return uploads + (jobs["results"] or 0) + (jobs["thumbnails"] or 0)


def _check_storage_quota(user, *, extra_bytes: int) -> None:
    quota = settings.QUOTA_STORAGE_BYTES
    if not quota:
        return
    used = storage_bytes_for_user(user)
    if used + extra_bytes > quota:
        raise QuotaExceeded(
            f"Your storage is full ({_human_bytes(used)} of {_human_bytes(quota)} used); "
            "delete some uploads or jobs first.",
            kind="storage",
        )


def _file_names_of_user(user) -> list[str]:
    names = list(Upload.objects.filter(owner=user).values_list("file", flat=True))
    names += _job_file_names(CompressionJob.objects.filter(owner=user))
    return [name for name in names if name]


def _job_file_names(jobs) -> list[str]:
    """The stored files (results and thumbnails) of a queryset of jobs."""
    names = []
    for result, thumbnail in jobs.values_list("result", "thumbnail"):
        names += [name for name in (result, thumbnail) if name]
    return names


def _delete_files(names) -> None:
    """Delete stored files; a storage fault is logged, not raised (prune --orphans sweeps later)."""
    from django.core.files.storage import default_storage

    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except Exception:
            logger.warning("could not delete stored file %s", name, exc_info=True)


def _walk(storage, prefix: str):
    try:
        dirs, files = storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for name in dirs:
        yield from _walk(storage, f"{prefix}/{name}")


def _delete_prefix(prefix: str) -> None:
    from django.core.files.storage import default_storage

    try:
        _delete_files(list(_walk(default_storage, prefix.rstrip("/"))))
    except Exception:
        logger.warning("could not list %s for deletion", prefix, exc_info=True)


def _normalise_colour(value) -> str:
    from compression.engine import parse_hex_colour

    if not isinstance(value, (tuple, list)):
        value = parse_hex_colour(str(value))
    return "#" + bytes(value).hex()


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _human_bytes(value: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} bytes"
