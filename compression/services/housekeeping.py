"""Housekeeping: pruning old jobs and uploads, sweeping files no row references."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from compression.models import CompressionJob, JobStatus, Upload
from compression.stored_files import delete_files, job_file_names, walk

from .jobs import job_delete
from .uploads import upload_delete


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
    referenced = set(Upload.objects.values_list("file", flat=True))
    referenced |= set(job_file_names(CompressionJob.objects.all()))
    deleted = []
    now = timezone.now()
    for name in walk(default_storage, "users"):
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
            delete_files([name])
    return deleted
