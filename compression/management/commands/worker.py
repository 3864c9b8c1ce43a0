"""`manage.py worker`: the task worker plus stale-job recovery, in one process.

django-tasks-db's `db_worker` runs tasks but never reclaims a task whose worker died. This command
runs `jobs_recover_stale()` once at start and then every `--recover-every` seconds in a small
background thread, and runs db_worker's loop (or `rqworker` when TASKS_BACKEND=rq) in the main
thread, which keeps its signal handling: SIGINT/SIGTERM finish the current job, then exit 0.

The database may go away under a running worker (a PostgreSQL restart or failover). db_worker
itself then exits: polling the queue raises, and so does recording the outcome of a task that
lost the database. Here the loop is re-entered instead, after closing every connection and a
bounded backoff, until the database is back. The job that was running stays `running` and
stale-job recovery re-queues it; a job whose task was taken from the queue but never claimed is
enqueued again (`job_requeue_lost`). The job rows decide what runs, so nothing runs twice to
completion.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection, connections
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from compression.services import DATABASE_ERRORS, job_requeue_lost, jobs_recover_stale

logger = logging.getLogger("compression.worker")

# Waits between reconnection attempts: doubling from the first to the cap, then staying there.
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0


class Command(BaseCommand):
    help = "Run a background worker for compression jobs (db_worker + stale-job recovery)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run the queued jobs, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between queue polls when idle.")
        parser.add_argument(
            "--recover-every",
            type=float,
            default=None,
            help="Seconds between stale-job checks (default: JOB_STALE_SECONDS / 2, at least 1).",
        )
        parser.add_argument("--worker-id", default=None, help="Unique id of this worker (default: random).")
        parser.add_argument("--max-tasks", type=int, default=None, help="Exit after this many tasks.")
        parser.add_argument("--no-startup-delay", action="store_false", dest="startup_delay")

    def handle(self, *args, batch, interval, recover_every, worker_id, max_tasks, startup_delay, verbosity, **options):
        every = recover_every or max(1.0, settings.JOB_STALE_SECONDS / 2)
        self._recover()
        stop = threading.Event()
        thread = threading.Thread(target=self._recover_loop, args=(stop, every), name="stale-recovery", daemon=True)
        thread.start()
        try:
            if settings.TASKS_BACKEND == "rq":
                # rqworker's own shutdown can wait a minute for its pubsub thread (see compression/rq_worker.py).
                rq_options = {"burst": batch, "worker_class": "compression.rq_worker.PromptShutdownWorker"}
                if max_tasks:
                    rq_options["max_jobs"] = max_tasks
                call_command("rqworker", "default", verbosity=verbosity, **rq_options)
            else:
                self._run_db_worker(
                    interval=interval, batch=batch, startup_delay=startup_delay, verbosity=verbosity,
                    worker_id=worker_id or get_random_string(32), max_tasks=max_tasks,
                )
        finally:
            stop.set()
            thread.join(timeout=5)

    def _run_db_worker(self, *, interval, batch, startup_delay, verbosity, worker_id, max_tasks) -> None:
        """db_worker's loop (its Worker), re-entered after the database went away."""
        DbWorkerCommand(stdout=self.stdout, stderr=self.stderr).configure_logging(verbosity)
        worker = _Worker(
            queue_names=["*"], interval=interval, batch=batch, backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=startup_delay, max_tasks=max_tasks, worker_id=worker_id, excluded_queue_names=[],
        )
        worker.configure_signals()
        delay = RECONNECT_FIRST_SECONDS
        while True:
            started = time.monotonic()
            try:
                worker.requeue_lost()
                worker.run()
                return  # batch done, --max-tasks reached, or SIGTERM/SIGINT after the current task
            except DATABASE_ERRORS as exc:
                if not worker.running:
                    return  # asked to stop: exit 0 as usual; recovery elsewhere re-queues the job
                if time.monotonic() - started > 2 * RECONNECT_MAX_SECONDS:
                    delay = RECONNECT_FIRST_SECONDS  # a new outage, not the same one still going on
                logger.warning(
                    "worker %s: the database is unavailable (%s: %s); reconnecting in %.1f s",
                    worker_id, type(exc).__name__, " ".join(str(exc).split())[:200], delay,
                )
                connections.close_all()
                worker.startup_delay = False
                # A signal here exits at once (0, or 1 for a second one): no task is running.
                time.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _recover(self) -> None:
        try:
            close_old_connections()  # this thread's connection may have died with a database restart
            changed = jobs_recover_stale()
            if changed:
                logger.warning("recovered %d stale job(s)", changed)
        except Exception as exc:
            logger.warning("stale-job recovery failed (%s: %s); will retry", type(exc).__name__, " ".join(str(exc).split()),
                           exc_info=not isinstance(exc, DATABASE_ERRORS))
            if isinstance(exc, DATABASE_ERRORS):
                connection.close()

    def _recover_loop(self, stop: threading.Event, every: float) -> None:
        try:
            while not stop.wait(every):
                self._recover()
        finally:
            connection.close()


class _Worker(Worker):
    """django-tasks-db's Worker that remembers the jobs whose task a database outage interrupted."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.interrupted: set[str] = set()

    def run_task(self, db_task_result) -> None:
        job_id = _job_id_of(db_task_result)
        if job_id:
            self.interrupted.add(job_id)
        # Raises a database error when even recording the outcome failed; handle() reconnects.
        super().run_task(db_task_result)
        if not _failed_for_lack_of_database(db_task_result):
            self.interrupted.discard(job_id)
        self.requeue_lost()

    def requeue_lost(self) -> None:
        """Give back the jobs of interrupted tasks that were never claimed (the rest is recovery's)."""
        for job_id in sorted(self.interrupted):
            if job_requeue_lost(job_id=job_id):
                logger.warning("job %s: its task was lost with the database; enqueued again", job_id)
            self.interrupted.discard(job_id)


def _job_id_of(db_task_result) -> str | None:
    from compression.tasks import run_compression_job

    if db_task_result.task_path != run_compression_job.module_path:
        return None
    args = (db_task_result.args_kwargs or {}).get("args") or []
    return str(args[0]) if args else None


def _failed_for_lack_of_database(db_task_result) -> bool:
    if db_task_result.status != "FAILED" or not db_task_result.exception_class_path:
        return False
    try:
        return issubclass(import_string(db_task_result.exception_class_path), DATABASE_ERRORS)
    except ImportError:
        return False
