"""Helpers of the platform-core tests (imported by conftest.py and the test modules)."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
S3_CONFIGURED = bool(os.environ.get("S3_BUCKET"))
needs_moto = pytest.mark.skipif(not MOTO_SERVER.exists(), reason="moto_server is not installed in the venv")


def make_png(width: int = 96, height: int = 64, *, seed: int = 0, mode: str = "RGB") -> bytes:
    """A small noisy gradient PNG (distinct bytes per seed)."""
    rng = np.random.default_rng(seed)
    x = np.broadcast_to(np.linspace(0, 255, width)[None, :, None], (height, width, 1))
    y = np.broadcast_to(np.linspace(0, 255, height)[:, None, None], (height, width, 1))
    base = np.concatenate([x, y, np.full((height, width, 1), 128.0)], axis=2)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def make_big_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP camera-sized JPEG: a Kodak photo enlarged with Lanczos plus sensor-like noise.

    Hundreds of thousands of distinct colours, like a real photo, so every stage takes its real
    time; made in memory, so the repository needs no large image.
    """
    from tests.conftest import CORPUS

    with Image.open(CORPUS / "photos" / "kodim23.png") as photo:
        big = np.asarray(photo.convert("RGB").resize((width, height), Image.Resampling.LANCZOS), dtype=np.int16)
    noise = np.random.default_rng(0).integers(-6, 7, size=big.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def task_statuses() -> list[str]:
    """Every task the queue holds or ran, as django.tasks statuses, sorted (db or RQ backend)."""
    from django.conf import settings

    if settings.TASKS_BACKEND != "rq":
        from django_tasks_db.models import DBTaskResult

        return sorted(DBTaskResult.objects.values_list("status", flat=True))
    import django_rq
    from django_tasks_rq import Job

    queue = django_rq.get_queue("default", job_class=Job)
    registries = (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                  queue.canceled_job_registry, queue.deferred_job_registry, queue.scheduled_job_registry)
    ids = set(queue.get_job_ids()).union(*(registry.get_job_ids() for registry in registries))
    jobs = Job.fetch_many(sorted(ids), connection=queue.connection)
    return sorted(job.task_result.status for job in jobs if job is not None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """A moto S3 server on a loopback port; stop()/start() simulate an outage (its state is lost)."""

    def __init__(self, port: int | None = None, bucket: str = "media"):
        self.port = port or free_port()
        self.bucket = bucket
        self.process = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _port_open(self.port), timeout=20, message="moto_server to listen")
        self.client().create_bucket(Bucket=self.bucket)  # state is in memory: after every start

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def storage_settings(self) -> dict:
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket, "endpoint_url": self.endpoint, "region_name": "us-east-1",
                "access_key": "testing", "secret_key": "testing", "addressing_style": "path",
                "signature_version": "s3v4", "file_overwrite": False, "default_acl": None,
                "querystring_auth": True, "querystring_expire": 300,
            },
        }

    def env(self) -> dict:
        return {
            "S3_BUCKET": self.bucket, "S3_ENDPOINT_URL": self.endpoint, "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing", "S3_ADDRESSING_STYLE": "path",
            "S3_LOCATION": "",
        }


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def database_url() -> str:
    """The URL of the test database this process uses, for a subprocess to open the same one."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:memorydb"):
            pytest.skip("the SQLite test database is in memory; a subprocess cannot see it")
        return f"sqlite:///{name}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def start_worker(env: dict, *extra: str, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "worker", "--no-startup-delay", "--interval", "0.2", *extra],
        cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )


def kill_process_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and every process under it, as when its machine dies (RQ runs each job
    in a forked "work-horse" child, which would otherwise finish the job on its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = [], [process.pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def wait_for(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
