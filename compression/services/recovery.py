"""Recovery of jobs a worker lost: stale heartbeats, tasks that never reached the queue."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compression.models import CompressionJob, JobStatus
from compression.runner import delete_leftover_result

from .queue import enqueue_job, send_job_task

logger = logging.getLogger(__name__)


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
                    enqueue_job(job.id)
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
                delete_leftover_result(job)
    lost = CompressionJob.objects.filter(status=JobStatus.QUEUED, enqueued_at__isnull=True, created_at__lt=cutoff)
    for job_id in lost.values_list("id", flat=True):
        send_job_task(job_id)  # outside any transaction here: send at once, no on_commit detour
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
        enqueue_job(job_id)
    return True
