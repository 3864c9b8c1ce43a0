"""Slow clients against the served stack, with and without nginx in front (issue 13, item 1).

    SECRET_KEY=x .venv/bin/python bench/slow_clients.py [--connections 200] [--duration 30]

Starts `manage.py serve` (nginx -> gunicorn 2 processes x 4 threads -> one worker, as `make run`)
on a free loopback port with a scratch SQLite database and MEDIA_ROOT, then holds --connections
slow connections open for --duration seconds while one client polls GET /api/health every
--poll seconds (each poll a new connection, --health-timeout seconds at most):

- half send a request header line every 2 s and never end the header;
- half send a complete header promising a 1 MB form body (POST /login/) and then 64 bytes every
  2 s.

A slow connection the server closes (nginx's client_header_timeout answers 408 after 10 s) is
opened again at once, as an attacker would. Then the same run against the baseline: the same
command with `--no-proxy`, gunicorn straight on the port. Prints a markdown table: health p50,
p95 and max (a poll that timed out counts as --health-timeout), failed polls, the slow
connections open at the end, and the ratio of the baseline's p95 to the proxy's. Exit status 1
if the proxy misses the goal (p95 < 1 s, no failed poll). Processes started here are stopped here.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_P95_SECONDS = 1.0
LINE_INTERVAL_SECONDS = 2.0
BODY_BYTES = 1024 * 1024
BODY_CHUNK = b"x" * 64


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """`manage.py serve` on a free port (optionally --no-proxy); stopped with SIGINT like Ctrl-C."""

    def __init__(self, env: dict, tmp: Path, *, proxy: bool):
        self.port = free_port()
        self.run_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=tmp))
        command = [sys.executable, str(REPO / "manage.py"), "serve", "--port", str(self.port),
                   "--web-workers", "2", "--web-threads", "4", "--run-dir", str(self.run_dir)]
        if not proxy:
            command.append("--no-proxy")
        self.log = open(tmp / f"serve-{'proxy' if proxy else 'direct'}.log", "wb")
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


async def health_once(port: int, timeout: float) -> tuple[float, int | None]:
    """Seconds until GET /api/health was answered in full, and its status (None: no answer)."""
    started = time.monotonic()
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await writer.drain()
            answer = await reader.read()  # until the server closes
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
        return time.monotonic() - started, status
    except (TimeoutError, OSError, ValueError, IndexError):
        return timeout, None
    finally:
        if writer is not None:
            writer.close()


async def slow_connection(port: int, kind: str, stop: asyncio.Event, stats: dict) -> None:
    """One slow client, reconnecting whenever the server drops it, until stop is set."""
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stats["open"] += 1
            try:
                if kind == "header":
                    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                else:
                    writer.write(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                                 b"Content-Length: %d\r\n\r\n" % BODY_BYTES)
                await writer.drain()
                line = 0
                while not stop.is_set():
                    # A server that answers or closes ends this connection: read() returns.
                    try:
                        async with asyncio.timeout(LINE_INTERVAL_SECONDS):
                            if await reader.read(65536) == b"":
                                break
                            continue
                    except TimeoutError:
                        pass
                    line += 1
                    writer.write(b"X-Slow-%d: still-sending\r\n" % line if kind == "header" else BODY_CHUNK)
                    await writer.drain()
            finally:
                stats["open"] -= 1
            if not stop.is_set():
                stats["dropped"] += 1
        except OSError:
            stats["errors"] += 1
            await asyncio.sleep(0.2)
        finally:
            if writer is not None:
                writer.close()


async def measure(port: int, args) -> dict:
    stop = asyncio.Event()
    stats = {"open": 0, "dropped": 0, "errors": 0}
    slow = [asyncio.create_task(slow_connection(port, "header" if i % 2 == 0 else "body", stop, stats))
            for i in range(args.connections)]
    await asyncio.sleep(2 * LINE_INTERVAL_SECONDS)  # every slow client connected and sending
    opened = stats["open"]
    samples, failed = [], 0
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        seconds, status = await health_once(port, args.health_timeout)
        samples.append(seconds)
        failed += status != 200
        await asyncio.sleep(max(0.0, args.poll - seconds))
    still_open = stats["open"]
    stop.set()
    await asyncio.gather(*slow, return_exceptions=True)
    samples.sort()
    return {
        "samples": len(samples), "failed": failed,
        "p50": statistics.median(samples), "p95": samples[max(0, round(0.95 * len(samples)) - 1)],
        "max": samples[-1], "opened": opened, "still_open": still_open, "dropped": stats["dropped"],
    }


def wait_healthy(served: Served, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:  # e.g. nginx is not installed: serve says so
            served.log.flush()
            raise SystemExit(f"manage.py serve exited ({served.process.returncode}):\n"
                             + Path(served.log.name).read_text()[-2000:])
        _, status = asyncio.run(health_once(served.port, 2))
        if status == 200:
            return
        time.sleep(0.3)
    raise SystemExit(f"the server on port {served.port} did not answer /api/health with 200 in {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30, help="seconds of health polls per set-up")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between health polls")
    parser.add_argument("--health-timeout", type=float, default=5.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3_") and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}", MEDIA_ROOT=str(tmp / "media"), TASKS_BACKEND="db",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "slow-clients-" + uuid.uuid4().hex,
        DEBUG="false", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )
    results = {}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        for name, proxy in (("nginx -> gunicorn (manage.py serve)", True),
                            ("baseline: gunicorn direct (serve --no-proxy)", False)):
            served = Served(env, tmp, proxy=proxy)
            try:
                wait_healthy(served)
                print(f"{name}: {args.connections} slow connections for {args.duration:.0f} s ...", flush=True)
                results[name] = asyncio.run(measure(served.port, args))
            finally:
                served.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.connections} slow connections (half headers, half bodies, one write per "
          f"{LINE_INTERVAL_SECONDS:.0f} s); GET /api/health every {args.poll} s, timeout {args.health_timeout:.0f} s\n")
    print("| set-up | health p50 | health p95 | health max | failed polls | slow connections open (start / end) "
          "| dropped by the server |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['p50'] * 1000:.0f} ms | {r['p95'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms | "
              f"{r['failed']}/{r['samples']} | {r['opened']} / {r['still_open']} | {r['dropped']} |")
    proxied, direct = results.values()
    print(f"\nhealth p95, baseline / nginx: x{direct['p95'] / proxied['p95']:.0f} "
          f"(a timed-out poll counts as {args.health_timeout:.0f} s, so the baseline's figure is a floor)")
    met = proxied["p95"] < GOAL_P95_SECONDS and proxied["failed"] == 0
    print(f"goal (through nginx: p95 < {GOAL_P95_SECONDS:.0f} s, no failed poll): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
