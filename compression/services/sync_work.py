"""Per-user bounds on synchronous work: at most SYNC_WORK_PER_USER requests of one user may hold
a web thread for long work (waiting for a job, compress-direct, a preview, the verdict, a size
curve) at once."""

from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compression.errors import SyncWorkLimit
from compression.models import SyncWorkSlot

from .quotas import lock_user


@contextmanager
def sync_work_slot(user, *, kind: str):
    """Hold one of the user's synchronous-work slots for the `with` block; SyncWorkLimit (429 with
    Retry-After) when all are taken."""
    now = timezone.now()
    with transaction.atomic():
        lock_user(user)  # two requests cannot both take the last slot
        held = SyncWorkSlot.objects.filter(owner=user, expires_at__gt=now)
        if held.count() >= settings.SYNC_WORK_PER_USER:
            raise SyncWorkLimit(
                f"You already have {settings.SYNC_WORK_PER_USER} long requests running (waiting for jobs, "
                "direct compressions, previews, advice or size curves); wait for one to finish, or create "
                "jobs without ?wait and poll them.",
                retry_after=settings.SYNC_WORK_RETRY_SECONDS,
            )
        SyncWorkSlot.objects.filter(owner=user, expires_at__lte=now).delete()
        slot = SyncWorkSlot.objects.create(
            owner=user, kind=kind, expires_at=now + timedelta(seconds=settings.SYNC_WORK_MAX_SECONDS)
        )
    try:
        yield
    finally:
        SyncWorkSlot.objects.filter(pk=slot.pk).delete()
