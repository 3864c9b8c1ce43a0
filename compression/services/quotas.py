"""Per-user quotas (jobs per day, stored bytes) and the per-user lock that serialises their checks."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from compression.errors import QuotaExceeded
from compression.models import CompressionJob, Upload

User = get_user_model()


def lock_user(user) -> None:
    """Serialise quota checks per user, inside a transaction (PostgreSQL row lock; SQLite
    serialises writers anyway). Also used by accounts for the token limit."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def jobs_today(user) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return CompressionJob.objects.filter(owner=user, created_at__gte=start).count()


def storage_bytes_for_user(user) -> int:
    """Bytes of the user's originals, results and thumbnails (the storage quota counts all three)."""
    uploads = Upload.objects.filter(owner=user).aggregate(total=Sum("size_bytes"))["total"] or 0
    jobs = CompressionJob.objects.filter(owner=user).aggregate(
        results=Sum("result_bytes"), thumbnails=Sum("thumbnail_bytes")
    )
    return uploads + (jobs["results"] or 0) + (jobs["thumbnails"] or 0)


def check_job_quota(user) -> None:
    quota = settings.QUOTA_JOBS_PER_DAY
    if quota and jobs_today(user) >= quota:
        raise QuotaExceeded(
            f"You have used your {quota} compression jobs for today; try again tomorrow.", kind="jobs_per_day"
        )


def check_storage_quota(user, *, extra_bytes: int) -> None:
    quota = settings.QUOTA_STORAGE_BYTES
    if not quota:
        return
    used = storage_bytes_for_user(user)
    if used + extra_bytes > quota:
        raise QuotaExceeded(
            f"Your storage is full ({filesizeformat(used)} of {filesizeformat(quota)} used); "
            "delete some uploads or jobs first.",
            kind="storage",
        )
