"""Handing jobs to the task queue: after the transaction commits, and marked as sent."""

from functools import partial

from django.db import transaction
from django.utils import timezone

from compression.models import CompressionJob
from compression.tasks import run_compression_job


def enqueue_job(job_id) -> None:
    """Send the job's task once the current transaction commits."""
    transaction.on_commit(partial(send_job_task, job_id))


def send_job_task(job_id) -> None:
    """Hand the job's task to the queue, then mark the job as sent (see `jobs_recover_stale`)."""
    run_compression_job.enqueue(str(job_id))
    CompressionJob.objects.filter(id=job_id).update(enqueued_at=timezone.now())
