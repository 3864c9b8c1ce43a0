"""`manage.py worker`: the task worker plus stale-job recovery, in one process.

django-tasks-db's `db_worker` runs tasks but never reclaims a task whose worker died. This command
runs `jobs_recover_stale()` once at start and then every `--recover-every` seconds in a small
background thread, and runs `db_worker` (or `rqworker` when TASKS_BACKEND=rq) in the main thread,
which keeps its signal handling: SIGINT/SIGTERM finish the current job, then exit 0.
"""

import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from compression.services import jobs_recover_stale

logger = logging.getLogger("compression.worker")


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
                rq_options = {"burst": batch}
                if max_tasks:
                    rq_options["max_jobs"] = max_tasks
                call_command("rqworker", "default", verbosity=verbosity, **rq_options)
            else:
                db_options = {
                    "queue_name": "*",
                    "interval": interval,
                    "batch": batch,
                    "reload": False,
                    "startup_delay": startup_delay,
                    "verbosity": verbosity,
                }
                if worker_id:
                    db_options["worker_id"] = worker_id
                if max_tasks:
                    db_options["max_tasks"] = max_tasks
                call_command("db_worker", **db_options)
        finally:
            stop.set()
            thread.join(timeout=5)

    def _recover(self) -> None:
        try:
            changed = jobs_recover_stale()
            if changed:
                logger.warning("recovered %d stale job(s)", changed)
        except Exception:
            logger.exception("stale-job recovery failed; will retry")

    def _recover_loop(self, stop: threading.Event, every: float) -> None:
        try:
            while not stop.wait(every):
                self._recover()
        finally:
            connection.close()
