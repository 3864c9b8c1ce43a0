"""All reads of the platform core, always scoped to a user: another user's object is a 404."""

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import CompressionJob, Upload
from .services import quotas


def upload_list_for_user(*, user) -> QuerySet[Upload]:
    """The user's uploads, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Upload.objects.none()
    return Upload.objects.filter(owner=user).order_by("-created_at")


def upload_get_for_user(*, user, upload_id) -> Upload:
    return get_object_or_404(upload_list_for_user(user=user), id=_uuid_or_404(upload_id))


def job_list_for_user(
    *,
    user,
    status: str | list[str] | None = None,
    created_after=None,
    created_before=None,
    output_format: str | None = None,
    n_colors: int | None = None,
    upload_id=None,
    name_contains: str | None = None,
) -> QuerySet[CompressionJob]:
    """The user's jobs, newest first, with their uploads; every filter is optional.

    `name_contains` matches part of the upload's file name, ignoring case.
    """
    if not getattr(user, "is_authenticated", False):
        return CompressionJob.objects.none()
    jobs = CompressionJob.objects.filter(owner=user).select_related("upload").order_by("-created_at")
    if status:
        jobs = jobs.filter(status__in=[status] if isinstance(status, str) else list(status))
    if created_after is not None:
        jobs = jobs.filter(created_at__gte=created_after)
    if created_before is not None:
        jobs = jobs.filter(created_at__lt=created_before)
    if output_format:
        jobs = jobs.filter(output_format=output_format)
    if n_colors is not None:
        jobs = jobs.filter(n_colors=n_colors)
    if upload_id is not None:
        jobs = jobs.filter(upload_id=upload_id)
    if name_contains:
        jobs = jobs.filter(upload__original_name__icontains=name_contains)
    return jobs


def job_get_for_user(*, user, job_id) -> CompressionJob:
    return get_object_or_404(job_list_for_user(user=user), id=_uuid_or_404(job_id))


def usage_for_user(*, user) -> dict:
    """Jobs today and stored bytes against the quotas (quota 0 = unlimited; *_remaining None)."""
    jobs_today = quotas.jobs_today(user)
    storage = quotas.storage_bytes_for_user(user)
    jobs_quota = settings.QUOTA_JOBS_PER_DAY
    storage_quota = settings.QUOTA_STORAGE_BYTES
    return {
        "jobs_today": jobs_today,
        "jobs_per_day_quota": jobs_quota,
        "jobs_today_remaining": max(0, jobs_quota - jobs_today) if jobs_quota else None,
        "storage_bytes": storage,
        "storage_quota_bytes": storage_quota,
        "storage_remaining_bytes": max(0, storage_quota - storage) if storage_quota else None,
        "uploads": Upload.objects.filter(owner=user).count(),
        "jobs": CompressionJob.objects.filter(owner=user).count(),
        "day_started_at": timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0),
    }


def _uuid_or_404(value):
    import uuid

    from django.http import Http404

    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("Not found.")
