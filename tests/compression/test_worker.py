"""The real worker process (`manage.py worker` → django-tasks-db's db_worker) end to end.

The same tests run on RQ (`manage.py worker` → rqworker, tasks in Redis) when the run has
TASKS_BACKEND=rq and REDIS_URL (.ci/run's RQ step).

These tests commit (transaction=True) so a subprocess sees the rows. On SQLite the test database
is a file (tests/conftest.py), on PostgreSQL it is the usual test_<name> database; either way the
subprocess gets its URL from `database_url()`, and the same MEDIA_ROOT or S3 bucket.
"""

import signal
import subprocess
import sys

import pytest

from compression import services
from compression.models import CompressionJob, JobStatus
from tests.helpers import stored_names

from .helpers import (
    REPO_ROOT, MotoServer, kill_process_tree, make_big_photo, make_png, needs_moto, start_worker, task_statuses, wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Full Floyd-Steinberg dithering at K=256: the slowest options, 4-5 s of work on a 12 MP photo here
# (quantizing alone takes well under a second), so each attempt spans several heartbeats.
SLOW_OPTIONS = {"n_colors": 256, "dither": 1.0}


def job_state(job_id):
    return CompressionJob.objects.values("status", "stage", "attempts").get(id=job_id)


def stop(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)


def test_real_worker_runs_the_queued_jobs_once(alice, worker_env):
    uploads = [services.upload_create(owner=alice, file=make_png(seed=40 + i)) for i in range(3)]
    jobs = [services.job_create(owner=alice, upload=upload, options={"n_colors": 4}) for upload in uploads]
    assert task_statuses() == ["READY"] * 3  # enqueued on commit, in the queue the worker reads

    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "worker", "--batch", "--no-startup-delay"],
        cwd=REPO_ROOT, env=worker_env, capture_output=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts, job.progress) == (JobStatus.SUCCEEDED, 1, 100), job.error_message
        assert job.result.name in stored_names()
    assert task_statuses() == ["SUCCESSFUL"] * 3


def test_worker_survives_a_bad_job(alice, worker_env):
    good = services.upload_create(owner=alice, file=make_png(seed=50))
    bad = services.upload_create(owner=alice, file=make_png(seed=51))
    storage = bad.file.storage
    storage.delete(bad.file.name)
    storage.save(bad.file.name, __import__("io").BytesIO(b"GIF89a but not really"))
    bad_job = services.job_create(owner=alice, upload=bad)
    good_job = services.job_create(owner=alice, upload=good, options={"n_colors": 4})
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "worker", "--batch", "--no-startup-delay"],
        cwd=REPO_ROOT, env=worker_env, capture_output=True, timeout=120,
    )
    assert run.returncode == 0
    bad_job.refresh_from_db()
    good_job.refresh_from_db()
    assert bad_job.status == JobStatus.FAILED and bad_job.error_message
    assert good_job.status == JobStatus.SUCCEEDED


@pytest.mark.slow
def test_sigkilled_worker_job_is_recovered_and_runs_to_completion_once(alice, worker_env, tmp_path):
    """SIGKILL mid-job → stale heartbeat → re-queued → succeeds once, attempts == 2.

    With SLOW_OPTIONS one attempt outlives JOB_STALE_SECONDS (3 s here) while the second worker
    checks for stale jobs every second: only the heartbeat thread keeps the live attempt from
    being re-queued as well.
    """
    upload = services.upload_create(owner=alice, file=make_big_photo())
    job = services.job_create(owner=alice, upload=upload, options=SLOW_OPTIONS)
    log = tmp_path / "worker.log"
    first = start_worker(worker_env, log=log)
    try:
        # Mid-job: decoded, now quantizing.
        wait_for(lambda: job_state(job.id)["stage"] == "geometry", timeout=60, interval=0.05, message="the quantize stage")
        kill_process_tree(first)  # SIGKILL: no cleanup at all
    finally:
        if first.poll() is None:
            first.kill()
    assert job_state(job.id)["status"] == JobStatus.RUNNING  # stuck until its heartbeat goes stale

    second = start_worker(worker_env, "--recover-every", "1", log=log)
    beats = set()

    def finished():
        row = CompressionJob.objects.values("status", "stage", "attempts", "heartbeat_at").get(id=job.id)
        if row["attempts"] == 2 and row["status"] == "running":
            beats.add(row["heartbeat_at"])
        return row["status"] in ("succeeded", "failed")

    try:
        wait_for(finished, timeout=180, interval=0.2, message="the recovered job to finish")
    finally:
        assert stop(second) == 0
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), job.error_message + log.read_text()
    assert len(beats) >= 2, "the heartbeat did not advance while the job ran"
    assert stored_names(f"users/{alice.pk}/results") == [job.result.name]
    # The killed attempt's task never completed; only the re-enqueued one did.
    assert task_statuses() == ["RUNNING", "SUCCESSFUL"]


@pytest.mark.slow
@needs_moto
def test_object_store_outage_fails_the_job_clearly_then_a_rerun_succeeds(
    alice, worker_env, settings, tmp_path
):
    server = MotoServer(bucket="outage")
    server.start()
    worker = None
    try:
        settings.STORAGES = {**settings.STORAGES, "default": server.storage_settings()}
        worker_env.update(server.env())
        original = make_big_photo()
        upload = services.upload_create(owner=alice, file=original)
        job = services.job_create(owner=alice, upload=upload, options=SLOW_OPTIONS)
        worker = start_worker(worker_env, log=tmp_path / "worker.log")
        wait_for(lambda: job_state(job.id)["stage"] == "geometry", timeout=60, interval=0.05, message="the quantize stage")
        server.stop()  # the store goes away while the job runs, seconds before it writes its result
        wait_for(lambda: job_state(job.id)["status"] != "running", timeout=120, interval=0.2, message="the job to end")
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
        assert job.error_message == services.STORAGE_WRITE_ERROR_MESSAGE
        assert not job.result

        # The store comes back (moto keeps state in memory: recreate the bucket, restore the original).
        server.start()
        server.client().put_object(Bucket=server.bucket, Key=upload.file.name, Body=original)
        rerun = services.job_rerun(job=job, changes={"resize_mode": "fit", "width": 800, "height": 800})
        wait_for(lambda: job_state(rerun.id)["status"] != "queued" and job_state(rerun.id)["status"] != "running",
                 timeout=120, interval=0.2, message="the re-run to end")
        rerun.refresh_from_db()
        assert rerun.status == JobStatus.SUCCEEDED, rerun.error_message
        keys = [o["Key"] for o in server.client().list_objects_v2(Bucket=server.bucket).get("Contents", [])]
        # Nothing half-written remains: the original and the re-run's result and thumbnail.
        assert sorted(keys) == sorted([upload.file.name, rerun.result.name, rerun.thumbnail.name])
    finally:
        if worker is not None:
            stop(worker)
        server.stop()


def test_an_idle_worker_stops_within_seconds_on_sigterm(alice, worker_env):
    """SIGTERM (a deploy, `docker compose stop`) on a worker that just finished a job. On RQ the
    shutdown used to wait up to 60 s for rq's pubsub thread in about one run in five
    (compression/rq_worker.py), so the stop is tried several times."""
    upload = services.upload_create(owner=alice, file=make_png(seed=60))
    for attempt in range(4):
        job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4, "seed": attempt})
        worker = start_worker(worker_env)
        try:
            wait_for(lambda: job_state(job.id)["status"] == JobStatus.SUCCEEDED, timeout=60, interval=0.1,
                     message="the job")
            assert stop(worker, timeout=10) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
