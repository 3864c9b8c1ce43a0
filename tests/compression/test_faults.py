"""The database going away: jobs are left for recovery (never failed, never run twice), the
dashboard answers 503, and a real worker survives a PostgreSQL restart (issue 6, "Faults").

The fast tests simulate the outage by raising the error PostgreSQL's driver raises; the slow one
restarts the real cluster (`pg_ctlcluster 15 main restart`) under a real `manage.py worker`.
"""

import os
import shutil
import signal
import subprocess
from datetime import timedelta

import pytest
from django.db import InterfaceError, OperationalError, connections
from django.test import RequestFactory
from django.utils import timezone

from compression import services
from compression.middleware import DATABASE_UNAVAILABLE_MESSAGE, DatabaseUnavailableMiddleware
from compression.models import CompressionJob, JobStatus
from tests.helpers import stored_names

from .helpers import make_png, start_worker, wait_for

ADMIN_SHUTDOWN = "terminating connection due to administrator command"


@pytest.fixture
def progress_loses_the_database(monkeypatch):
    """The real engine runs, but its first progress write after "decode" fails as in a restart."""
    import compression.engine

    real = compression.engine.compress

    def wrapped(source, options, *, progress=None):
        def failing(stage, percent):
            if stage != "decode":
                raise OperationalError(ADMIN_SHUTDOWN)
            progress(stage, percent)

        return real(source, options, progress=failing)

    monkeypatch.setattr(compression.engine, "compress", wrapped)
    return lambda: monkeypatch.setattr(compression.engine, "compress", real)


def make_stale(job):
    old = timezone.now() - timedelta(minutes=10)
    CompressionJob.objects.filter(id=job.id).update(heartbeat_at=old, started_at=old)


class TestJobRunWithoutDatabase:
    def test_a_lost_progress_write_leaves_the_job_running_not_failed(
        self, alice, alice_upload, dummy_tasks, progress_loses_the_database
    ):
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        with pytest.raises(OperationalError, match="administrator command"):
            services.job_run(job_id=job.id)  # raised on, so the worker reconnects
        job.refresh_from_db()
        assert (job.status, job.attempts, job.error_message) == (JobStatus.RUNNING, 1, "")
        assert stored_names() == [alice_upload.file.name]  # nothing half-written

    def test_then_recovery_retries_it_and_it_succeeds_once(
        self, alice, alice_upload, dummy_tasks, progress_loses_the_database, settings, run_on_commit
    ):
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        with pytest.raises(OperationalError):
            services.job_run(job_id=job.id)
        progress_loses_the_database()  # the database is back
        make_stale(job)
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
        with run_on_commit():
            assert services.jobs_recover_stale() == 1
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), job.error_message
        assert services.job_run(job_id=job.id).status == JobStatus.SUCCEEDED  # a late duplicate task: no-op
        assert stored_names(f"users/{alice.pk}/results") == [job.result.name]

    def test_a_lost_final_write_keeps_no_result_file(self, alice, alice_upload, dummy_tasks, monkeypatch):
        from django.db.models.query import QuerySet

        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        real_update = QuerySet.update

        def update(queryset, **fields):  # the database is gone by the time the result is recorded
            if fields.get("status") == JobStatus.SUCCEEDED:
                raise InterfaceError("connection already closed")
            return real_update(queryset, **fields)

        monkeypatch.setattr(QuerySet, "update", update)
        with pytest.raises(InterfaceError):
            services.job_run(job_id=job.id)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING and not job.result
        assert stored_names() == [alice_upload.file.name]

    def test_other_errors_still_fail_the_job(self, alice, alice_upload, dummy_tasks, monkeypatch):
        import compression.engine

        def broken(source, options, *, progress=None):
            raise RuntimeError("a bug")

        monkeypatch.setattr(compression.engine, "compress", broken)
        job = services.job_create(owner=alice, upload=alice_upload)
        job = services.job_run(job_id=job.id)
        assert job.status == JobStatus.FAILED and job.error_message == services.INTERNAL_ERROR_MESSAGE


class TestRequeueLost:
    def test_a_queued_job_whose_task_was_lost_is_enqueued_again(
        self, alice, alice_upload, dummy_tasks, settings, run_on_commit
    ):
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
        with run_on_commit():
            assert services.job_requeue_lost(job_id=job.id) is True
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)

    def test_a_claimed_or_finished_job_is_left_alone(self, alice, alice_upload, dummy_tasks):
        job = services.job_create(owner=alice, upload=alice_upload)
        for status in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.CANCELLED):
            CompressionJob.objects.filter(id=job.id).update(status=status)
            assert services.job_requeue_lost(job_id=job.id) is False


class TestLostEnqueue:
    """The database goes away after a job is saved but before its task is sent (the client got a
    503): the job stays queued without a task until stale recovery sends it."""

    def age(self, job, minutes=10):
        CompressionJob.objects.filter(id=job.id).update(created_at=timezone.now() - timedelta(minutes=minutes))

    def test_sending_a_task_marks_the_job(self, alice, alice_upload, dummy_tasks, run_on_commit):
        with run_on_commit():
            job = services.job_create(owner=alice, upload=alice_upload)
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED and job.enqueued_at is not None

    def test_a_job_whose_task_was_never_sent_is_sent_by_recovery_and_runs(
        self, alice, alice_upload, dummy_tasks, settings, run_on_commit, monkeypatch
    ):
        import types

        from compression.services import queue

        def database_gone(*args, **kwargs):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(queue, "run_compression_job", types.SimpleNamespace(enqueue=database_gone))
        with pytest.raises(OperationalError), run_on_commit():
            job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
        monkeypatch.undo()
        job = CompressionJob.objects.get(owner=alice)
        assert job.status == JobStatus.QUEUED and job.enqueued_at is None
        assert services.jobs_recover_stale() == 0  # a fresh job may still be on its way
        self.age(job)
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
        with run_on_commit():
            assert services.jobs_recover_stale() == 1
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1) and job.enqueued_at is not None

    def test_a_long_backlog_of_sent_jobs_is_not_sent_again(self, alice, alice_upload, dummy_tasks, run_on_commit):
        with run_on_commit():
            jobs = [services.job_create(owner=alice, upload=alice_upload) for _ in range(3)]
        for job in jobs:
            self.age(job, minutes=60)
        assert services.jobs_recover_stale() == 0
        assert CompressionJob.objects.filter(status=JobStatus.QUEUED).count() == 3


class TestDashboardDuringAnOutage:
    @pytest.fixture
    def history_loses_the_database(self, monkeypatch):
        from dashboard import views

        def down(**kwargs):
            raise OperationalError("connection failed: Connection refused")

        monkeypatch.setattr(views.selectors, "job_list_for_user", down)

    def test_pages_answer_a_friendly_503(self, alice_client, history_loses_the_database):
        response = alice_client.get("/history/")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response["Content-Type"].startswith("text/html")
        body = response.content.decode()
        assert "Back in a moment" in body and DATABASE_UNAVAILABLE_MESSAGE in body
        assert 'href="/history/"' in body  # try again: the same page
        assert "css/app.css" in body and "site-header" in body  # the site's look

    def test_fetch_calls_get_json(self, alice_client, history_loses_the_database):
        response = alice_client.get("/history/", HTTP_ACCEPT="application/json")
        assert response.status_code == 503
        assert response.json() == {"error": DATABASE_UNAVAILABLE_MESSAGE}
        assert response["Retry-After"] == "5"

    def test_the_page_needs_no_database(self):
        """No user, session, messages or CSRF lookups: without the django_db mark any query would raise."""
        request = RequestFactory().post("/dashboard/upload/")  # no user or session attached at all
        middleware = DatabaseUnavailableMiddleware(lambda r: None)
        response = middleware.process_exception(request, InterfaceError("connection already closed"))
        assert response.status_code == 503
        assert 'href="/"' in response.content.decode()  # a POST is not repeated by a link

    def test_other_exceptions_are_not_its_business(self):
        request = RequestFactory().get("/")
        middleware = DatabaseUnavailableMiddleware(lambda r: None)
        assert middleware.process_exception(request, RuntimeError("a bug")) is None


# --------------------------------------------------------------------------------------------
# A real PostgreSQL restart under a real worker


def _cluster_online() -> bool:
    run = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, timeout=30)
    return any(line.split()[:2] == ["15", "main"] and "online" in line for line in run.stdout.splitlines())


def _can_restart_postgresql() -> bool:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return False
    if not (shutil.which("pg_ctlcluster") and shutil.which("pg_lsclusters")) or os.geteuid() != 0:
        return False
    return _cluster_online()


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not _can_restart_postgresql(),
                    reason="needs DATABASE_URL on PostgreSQL cluster 15/main and root to restart it")
def test_worker_survives_a_postgresql_restart(alice, worker_env, tmp_path):
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env, "--recover-every", "1", log=log)
    try:
        upload = services.upload_create(owner=alice, file=make_png(seed=70))
        before = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
        wait_for(lambda: CompressionJob.objects.get(id=before.id).status == JobStatus.SUCCEEDED,
                 timeout=60, interval=0.2, message="the job before the restart")

        # Stopped, not restarted: a quick restart can fall between two polls, and a dead connection
        # is then replaced without the worker ever seeing the outage.
        try:
            stop = subprocess.run(["pg_ctlcluster", "15", "main", "stop"], capture_output=True, text=True, timeout=120)
            assert stop.returncode == 0, stop.stderr
            # The idle worker polls the queue every 0.2 s: db_worker alone exits here; ours logs the
            # outage, waits and reconnects.
            wait_for(lambda: "the database is unavailable" in log.read_text(), timeout=10, message="the outage in the log")
            assert worker.poll() is None, log.read_text()
        finally:
            if not _cluster_online():  # never leave the shared cluster down
                subprocess.run(["pg_ctlcluster", "15", "main", "start"], capture_output=True, timeout=120)
        assert _cluster_online()
        connections.close_all()  # this test's own connection died with the server
        upload = services.upload_create(owner=alice, file=make_png(seed=71))
        after = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
        wait_for(lambda: CompressionJob.objects.get(id=after.id).status == JobStatus.SUCCEEDED,
                 timeout=60, interval=0.2, message=f"the job after the restart; worker log:\n{log.read_text()}")
        assert CompressionJob.objects.get(id=after.id).attempts == 1
        assert worker.poll() is None, "the worker exited after the restart"
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0, log.read_text()  # SIGTERM still means: finish, then exit 0
