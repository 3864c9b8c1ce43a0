"""`manage.py serve` (what `make run` starts): nginx -> gunicorn + one worker, stopped together.

nginx must stand between clients and gunicorn: slow clients then wait in nginx, and the gunicorn
threads only ever work (issue 13). The tests with nginx skip when it is not installed.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from compression.management.commands import serve as serve_command

from .helpers import REPO_ROOT, free_port, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
needs_nginx = pytest.mark.skipif(serve_command.find_nginx() is None,
                                 reason="nginx is not installed (make system-deps as root)")


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


def cmdline(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def http_get(url: str, timeout: float = 2) -> tuple[int | None, dict]:
    """Status and headers of GET url; (None, {}) when nothing answered in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)  # any HTTP answer means the stack serves the app
    except OSError:
        return None, {}


def http_status(url: str, timeout: float = 2) -> int | None:
    return http_get(url, timeout)[0]


@pytest.fixture
def run_dir():
    # Short: gunicorn's unix socket lives inside, and socket paths are limited to 107 bytes.
    with tempfile.TemporaryDirectory(prefix="serve-") as path:
        yield Path(path)


def start_serve(env: dict, port: int, *extra: str, run_dir: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "serve", "--port", str(port), "--web-workers", "1", *extra]
    if run_dir is not None:
        command += ["--run-dir", str(run_dir)]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_served(port: int) -> None:
    # 200, not any answer: nginx answers 502 while gunicorn is still starting.
    wait_for(lambda: http_status(f"http://127.0.0.1:{port}/api/health") == 200, timeout=30, message="the stack")


def stop_serve(serve: subprocess.Popen) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=40)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


@needs_nginx
def test_serve_runs_nginx_gunicorn_and_worker_and_ctrl_c_stops_all(worker_env, run_dir):
    port = free_port()
    serve = start_serve(worker_env, port, run_dir=run_dir)
    try:
        wait_served(port)
        wait_for(lambda: len(children_of(serve.pid)) == 3, timeout=10, message="three children")
        children = children_of(serve.pid)
        names = {pid: b" ".join(cmdline(pid)) for pid in children}
        assert sum(b"nginx" in line for line in names.values()) == 1
        status, headers = http_get(f"http://127.0.0.1:{port}/api/health")
        assert (status, headers.get("Server")) == (200, "nginx")  # answered through nginx
        # gunicorn is on the private socket only, so nothing reaches it except through nginx.
        gunicorn = next(line for line in names.values() if b"gunicorn" in line)
        assert f"unix:{run_dir}/gunicorn.sock".encode() in gunicorn
        gunicorn_pid = next(pid for pid, line in names.items() if b"gunicorn" in line)
        assert b"BEHIND_TLS_PROXY=true" in Path(f"/proc/{gunicorn_pid}/environ").read_bytes().split(b"\0")
        assert (run_dir / "gunicorn.sock").is_socket()
        assert os.stat(run_dir).st_mode & 0o077 == 0
        # nginx appends the real peer to a client-sent X-Forwarded-For; the app (BEHIND_TLS_PROXY,
        # set by serve) takes that last hop, and gunicorn's access log shows the whole header.
        spoofed = urllib.request.Request(f"http://127.0.0.1:{port}/api/health?spoofed",
                                         headers={"X-Forwarded-For": "198.51.100.7"})
        urllib.request.urlopen(spoofed, timeout=5).close()
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=40) == 0
        time.sleep(0.2)
        assert all(not Path(f"/proc/{pid}").exists() for pid in children)
        assert http_status(f"http://127.0.0.1:{port}/") is None
        log = serve.stdout.read().decode()
        assert re.search(r"^198\.51\.100\.7, 127\.0\.0\.1 .*GET /api/health\?spoofed", log, re.MULTILINE), log[-2000:]
    finally:
        stop_serve(serve)


@needs_nginx
@pytest.mark.parametrize("child", [b"worker", b"nginx"])
def test_serve_exits_nonzero_when_a_child_dies(worker_env, run_dir, child):
    port = free_port()
    serve = start_serve(worker_env, port, run_dir=run_dir)
    try:
        wait_served(port)
        victim = next(pid for pid in children_of(serve.pid) if any(child in part for part in cmdline(pid)))
        os.kill(victim, signal.SIGKILL)
        assert serve.wait(timeout=40) != 0
        assert http_status(f"http://127.0.0.1:{port}/") is None  # everything else was stopped too
    finally:
        stop_serve(serve)


def test_serve_refuses_to_start_without_nginx_and_names_the_way_out(worker_env, run_dir):
    env = {**worker_env, "NGINX": str(run_dir / "no-nginx-here")}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "serve", "--port", str(free_port()), "--run-dir", str(run_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "NGINX=" in result.stderr and "is not an executable file" in result.stderr
    assert not (run_dir / "gunicorn.sock").exists()  # nothing was started


def test_without_nginx_on_the_machine_the_message_says_how_to_install_it_or_opt_out(monkeypatch):
    monkeypatch.delenv("NGINX", raising=False)
    monkeypatch.setattr(serve_command, "NGINX_SEARCH_PATH", "/nonexistent")
    with pytest.raises(CommandError) as error:
        serve_command.Command().handle(
            host="127.0.0.1", port=free_port(), web_workers=None, web_threads=None, max_requests=None,
            max_requests_jitter=None, run_dir=None, no_worker=True, no_proxy=False)
    assert "apt-get install nginx" in str(error.value) and "--no-proxy" in str(error.value)


def open_slow_clients(port: int, count: int) -> list[socket.socket]:
    """Half stop in the middle of their header, half in the middle of a promised body."""
    clients = []
    for i in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            client.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        else:
            client.sendall(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername=a")
        clients.append(client)
    return clients


@pytest.mark.slow
@needs_nginx
def test_slow_clients_hold_gunicorn_threads_only_without_nginx(worker_env, run_dir):
    """1 gunicorn process x 2 threads: 12 stalled requests stop it when it faces them itself,
    and change nothing behind nginx, which holds them until they are complete."""
    answered = {}
    for proxy in (True, False):
        port = free_port()
        extra = ["--web-threads", "2", "--no-worker"] + ([] if proxy else ["--no-proxy"])
        serve = start_serve(worker_env, port, *extra, run_dir=run_dir)
        clients = []
        try:
            wait_served(port)
            clients = open_slow_clients(port, 12)
            time.sleep(0.5)
            started = time.monotonic()
            status = http_status(f"http://127.0.0.1:{port}/api/health", timeout=3)
            answered[proxy] = (status, time.monotonic() - started)
        finally:
            for client in clients:
                client.close()
            stop_serve(serve)
    assert answered[True][0] == 200 and answered[True][1] < 2, answered
    assert answered[False][0] is None, answered  # the baseline: every thread waits for a slow client


@needs_nginx
def test_nginx_refuses_a_body_over_the_upload_limit_with_json(worker_env, run_dir):
    port = free_port()
    serve = start_serve(worker_env, port, "--no-worker", run_dir=run_dir)
    try:
        wait_served(port)
        limit = int(worker_env.get("MAX_UPLOAD_BYTES", 25 * 2**20)) + serve_command.BODY_ALLOWANCE_BYTES
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            # Only the header: nginx answers from Content-Length before any body byte arrives.
            client.sendall(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                           b"boundary=x\r\nContent-Length: %d\r\n\r\n" % (limit + 1))
            answer = client.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413")
        assert b"Content-Type: application/json" in head
        assert b"too large" in body
    finally:
        stop_serve(serve)


def gunicorn_worker_pids(serve_pid: int) -> set[int]:
    master = next(pid for pid in children_of(serve_pid) if any(b"gunicorn" in part for part in cmdline(pid)))
    return set(children_of(master))


@needs_nginx
def test_gunicorn_replaces_a_worker_process_after_max_requests(worker_env, run_dir):
    port = free_port()
    env = {**worker_env, "WEB_MAX_REQUESTS": "5", "WEB_MAX_REQUESTS_JITTER": "0"}
    serve = start_serve(env, port, "--no-worker", run_dir=run_dir)
    try:
        wait_served(port)
        first = wait_for(lambda: gunicorn_worker_pids(serve.pid), timeout=10, message="a gunicorn worker")
        for _ in range(8):
            assert http_status(f"http://127.0.0.1:{port}/api/health", timeout=10) == 200
        later = wait_for(lambda: gunicorn_worker_pids(serve.pid) - first, timeout=20, message="a new worker")
        assert later and not (first & gunicorn_worker_pids(serve.pid))
    finally:
        stop_serve(serve)


def test_the_nginx_template_fills_every_name_and_refuses_unknown_ones():
    template = serve_command.SITE_TEMPLATE.read_text()
    names = set(serve_command.PLACEHOLDER.findall(template))
    assert names == {"COMPRESSOR_LISTEN", "COMPRESSOR_UPSTREAM", "COMPRESSOR_MAX_BODY_SIZE"}
    rendered = serve_command.render_site_config(template, {name: "X" for name in names})
    assert "${COMPRESSOR_" not in rendered and "$proxy_add_x_forwarded_for" in rendered
    with pytest.raises(CommandError, match="COMPRESSOR_NEW"):
        serve_command.render_site_config(template + "${COMPRESSOR_NEW}", {name: "X" for name in names})


def test_compose_gives_nginx_the_same_body_limit_as_serve(settings):
    settings.MAX_UPLOAD_BYTES = 25 * 2**20  # the default, which docker-compose.yml assumes
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    assert re.search(r"COMPRESSOR_MAX_BODY_SIZE: *\"?(\w+)", compose).group(1) == serve_command.nginx_body_limit()


@needs_nginx
def test_nginx_accepts_the_template_as_compose_fills_it_in(run_dir):
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    values = dict(re.findall(r"(COMPRESSOR_[A-Z_]+): *\"([^\"]*)\"", compose))
    values["COMPRESSOR_UPSTREAM"] = "127.0.0.1:8000"  # "web" resolves only inside compose's network
    site = run_dir / "site.conf"
    site.write_text(serve_command.render_site_config(serve_command.SITE_TEMPLATE.read_text(), values))
    config = run_dir / "nginx.conf"
    config.write_text(serve_command.nginx_main_config(run_dir, site))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / "temp" / kind).mkdir(parents=True)
    check = subprocess.run(serve_command.nginx_command(serve_command.find_nginx(), run_dir, config, "-t"),
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_request_stuck_in_the_web_server_does_not_block_other_pages(worker_env):
    """gthread: with ONE gunicorn worker process, a request that holds its thread (here a client
    that sends half a body; in real life a synchronous compress) leaves the other threads serving."""
    port = free_port()
    serve = start_serve(worker_env, port, "--no-proxy")  # gunicorn itself, not nginx, is under test
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
        stop_serve(serve)
