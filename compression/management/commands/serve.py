"""`manage.py serve`: gunicorn and one job worker together, for `make run` (one machine).

Both run as child processes in their own sessions, so a terminal Ctrl-C reaches only this
command, which then stops both with SIGTERM (gunicorn finishes requests, the worker finishes its
current job), waits, and exits 0. If either child dies on its own, the other is stopped too and
the command exits non-zero.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT_SECONDS = 30


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and one background worker until Ctrl-C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--web-threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")),
                            help="Threads per gunicorn worker process (gthread).")
        parser.add_argument("--no-worker", action="store_true", help="Run only the web server.")

    def handle(self, *args, host, port, web_workers, web_threads, no_worker, **options):
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        commands = {
            "web": [
                sys.executable, "-m", "gunicorn", "compressor_site.wsgi:application",
                "--bind", f"{host}:{port}",
                "--workers", str(web_workers),
                # Threads: a synchronous compress (or ?wait=N) request holds one thread, not a
                # whole worker process, so other pages keep answering meanwhile.
                "--worker-class", "gthread",
                "--threads", str(web_threads),
                "--timeout", "120",
                "--no-control-socket",  # STACK.md gotcha 22: a shared default socket path
                "--access-logfile", "-",
            ],
        }
        if not no_worker:
            commands["worker"] = [sys.executable, manage, "worker"]

        self._stopping = False
        received = []

        def on_signal(signum, frame):
            received.append(signum)
            self._stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        children = {}
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)
                self.stdout.write(f"serve: started {name} (pid {children[name].pid})")
            self.stdout.write(f"serve: http://{host}:{port}/  (Ctrl-C stops everything)")
            died = None
            while not self._stopping and died is None:
                time.sleep(0.5)
                for name, child in children.items():
                    if child.poll() is not None:
                        died = (name, child.returncode)
                        break
        finally:
            self._stop_all(children)

        if died is not None:
            raise CommandError(f"serve: {died[0]} exited with status {died[1]}; stopped everything")
        self.stdout.write(f"serve: stopped ({signal.strsignal(received[0]) if received else 'done'})")

    def _stop_all(self, children: dict) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"serve: {name} did not stop in {STOP_TIMEOUT_SECONDS}s; killing it")
                child.kill()
                child.wait()
