"""Jobs: creation (options checked by the engine, quotas), cancellation, re-runs and deletion."""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from compression.errors import JobNotCancellable, JobNotFinished, NotFound
from compression.models import OPTION_DEFAULTS, CompressionJob, JobStatus, Upload
from compression.runner import job_run
from compression.stored_files import delete_files, job_file_names

from .queue import enqueue_job
from .quotas import check_job_quota, check_storage_quota, lock_user
from .uploads import upload_get_or_create, upload_delete

if TYPE_CHECKING:
    from compression.engine import CompressOptions


def job_create(*, owner, upload: Upload, options: dict | None = None) -> CompressionJob:
    """A queued job for `upload` with `options` (missing or None values take the defaults).

    Validates the options against the upload's dimensions (engine InvalidOptions), checks the
    quotas (QuotaExceeded) and enqueues the task once the transaction commits.
    """
    return _job_create(owner=owner, upload=upload, options=options or {}, enqueue=True)


def job_create_from_file(
    *, owner, file, original_name: str | None = None, options: dict | None = None, run_now: bool = False
) -> tuple[CompressionJob, bool]:
    """Store `file` as an upload and create a job for it: (job, whether the upload is new).

    `run_now` runs the job in this process (`job_compress_now`) instead of queueing it. If the job
    cannot be created (bad options, a quota), an upload stored by this call is deleted again, so
    a refused request leaves nothing behind; an upload the user already had stays.
    """
    upload, created = upload_get_or_create(owner=owner, file=file, original_name=original_name)
    create = job_compress_now if run_now else job_create
    try:
        job = create(owner=owner, upload=upload, options=options)
    except BaseException:
        if created and not upload.jobs.exists():
            upload_delete(upload=upload)
        raise
    return job, created


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
    delete_files(names)


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
    names = job_file_names(CompressionJob.objects.filter(id__in=ids))
    with transaction.atomic():
        count, _ = CompressionJob.objects.filter(id__in=ids).delete()
    delete_files(names)
    return len(ids)


def job_options_check(*, upload: Upload, options: dict) -> "tuple[dict, CompressOptions]":
    """(every option's value, the engine's CompressOptions) for a job of `upload` with `options`
    (missing or None values take the defaults); engine InvalidOptions when they are refused.
    Job creation and previews check options alike through this."""
    from compression.engine import InvalidOptions, validate_options

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
    try:
        engine_options = CompressionJob(upload=upload, **values).to_compress_options()
    except (TypeError, ValueError) as exc:
        raise InvalidOptions(f"Invalid options: {exc}") from exc
    validate_options(engine_options, image_width=upload.width, image_height=upload.height)
    return values, engine_options


@transaction.atomic
def _job_create(*, owner, upload: Upload, options: dict, enqueue: bool, rerun_of=None) -> CompressionJob:
    from compression.engine import ENGINE_VERSION, InvalidOptions

    if upload.owner_id != owner.pk:
        raise NotFound("No upload matches the given query.")
    values, _engine_options = job_options_check(upload=upload, options=options)
    job = CompressionJob(owner=owner, upload=upload, rerun_of=rerun_of, **values)
    job.engine_version = ENGINE_VERSION
    try:
        job.full_clean(exclude=["owner", "upload", "rerun_of", "result"])
    except ValidationError as exc:
        raise InvalidOptions(_validation_text(exc)) from exc

    lock_user(owner)
    check_job_quota(owner)
    check_storage_quota(owner, extra_bytes=1)  # a full store has no room for the result
    job.save(force_insert=True)
    if enqueue:
        enqueue_job(job.id)
    return job


def _normalise_colour(value) -> str:
    from compression.engine import parse_hex_colour

    if not isinstance(value, (tuple, list)):
        value = parse_hex_colour(str(value))
    return "#" + bytes(value).hex()


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
