"""`manage.py serve` (what `make run` starts): gunicorn + one worker, stopped together."""

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .helpers import REPO_ROOT, free_port, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code  # any HTTP answer means gunicorn serves the app
    except OSError:
        return None


def start_serve(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "serve", "--port", str(port), "--web-workers", "1"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(worker_env):
    port = free_port()
    serve = start_serve(worker_env, port)
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/admin/login/"), timeout=30, message="gunicorn")
        wait_for(lambda: len(children_of(serve.pid)) == 2, timeout=10, message="two children")
        children = children_of(serve.pid)
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=40) == 0
        time.sleep(0.2)
        assert all(not Path(f"/proc/{pid}").exists() for pid in children)
        assert http_status(f"http://127.0.0.1:{port}/") is None
    finally:
        if serve.poll() is None:
            serve.kill()


def test_serve_exits_nonzero_when_a_child_dies(worker_env):
    port = free_port()
    serve = start_serve(worker_env, port)
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/"), timeout=30, message="gunicorn")
        worker = next(pid for pid in children_of(serve.pid)
                      if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
        import os

        os.kill(worker, signal.SIGKILL)
        assert serve.wait(timeout=40) != 0
        assert http_status(f"http://127.0.0.1:{port}/") is None  # the web server was stopped too
    finally:
        if serve.poll() is None:
            serve.kill()


def test_a_request_stuck_in_the_web_server_does_not_block_other_pages(worker_env):
    """gthread: with ONE gunicorn worker process, a request that holds its thread (here a client
    that sends half a body; in real life a synchronous compress) leaves the other threads serving."""
    import socket

    port = free_port()
    serve = start_serve(worker_env, port)
    stuck = socket.socket()
    try:
        # Warm up the page first: a first request under a loaded machine may take seconds.
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/") == 200, timeout=30, message="gunicorn")
        stuck.connect(("127.0.0.1", port))
        # Django reads the form body (CSRF check) and waits for the promised bytes.
        stuck.sendall(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 100000\r\n\r\nusername=a")
        time.sleep(0.5)
        started = time.monotonic()
        assert http_status(f"http://127.0.0.1:{port}/") == 200
        assert time.monotonic() - started < 5
    finally:
        stuck.close()
        if serve.poll() is None:
            serve.send_signal(signal.SIGINT)
            try:
                serve.wait(timeout=40)
            except subprocess.TimeoutExpired:
                serve.kill()
