"""Background tasks (django.tasks). Only services enqueue them (services/queue.py), after the
transaction commits."""

from django.tasks import task

from compression.runner import job_run
from compression.size_curves import size_curve_store


@task
def run_compression_job(job_id: str) -> dict | None:
    """Claim and run one compression job, then store its size-vs-K curve; the job row records the
    outcome, not this result."""
    job = job_run(job_id=job_id)
    if job is None:
        return None
    size_curve_store(job)
    return {"job": str(job.id), "status": job.status, "attempt": job.attempts}
