"""Load test of the whole platform on loopback: gunicorn + real job workers, many users at once.

    SECRET_KEY=x .venv/bin/python bench/load.py                                   # 20 users x 10 photos
    SECRET_KEY=x .venv/bin/python bench/load.py --users 5 --images 4 --direct 1   # a quick smoke run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test SECRET_KEY=x .venv/bin/python bench/load.py --workers 2

It starts the platform itself in a temporary directory: a fresh database (a temporary SQLite file,
or a scratch PostgreSQL database beside the one DATABASE_URL names, dropped at the end), a
temporary MEDIA_ROOT, gunicorn (`--web-workers` processes) on a free loopback port and
`--workers` `manage.py worker` processes (the database queue). Then:

Phase 1: `--users` users, each with an API token, run at once (one thread each): every user
uploads `--images` Kodak photos (corpus photos/, 768x512) as jobs (`POST /api/jobs/` with the
file and n_colors), polls their job list until all are finished, and makes `--direct`
`POST /api/compress-direct` calls. Reported: errors (any unexpected status or exception; must be
0), jobs succeeded (must be all), p50/p95/max latency per endpoint, throughput (images per second
over the phase's wall time) and the peak RSS (VmHWM) of the web and worker processes.

Phase 2: one job on the 24 MP photo (large/rachel-hisko-...jpg, fully dithered); while it runs,
a logged-in session fetches the history page and a token client the API job list, alternately;
p95 of each (goal: under 200 ms).

Phase 3 (`--phase3-direct N`): N concurrent `compress-direct` calls on the 24 MP photo while the
same pages are sampled. Reported, not a goal: those calls run the engine in the web processes.

Everything is bounded: `--duration-limit` seconds for the whole run (unfinished jobs then count
as failures) and every request has a timeout. Exit status 1 if a check fails. Prints a markdown
table. Processes started here are stopped here (SIGTERM, then SIGKILL after 30 s).
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from corpus import CORPUS, require  # noqa: E402  (bench/ is this script's folder)

REPO = Path(__file__).resolve().parent.parent
PHOTOS = sorted((CORPUS / "photos").glob("kodim*.png"))
LARGE = CORPUS / "large" / "rachel-hisko-rEM3cK8F1pk-unsplash.jpg"
PASSWORD = "load-test-Passw0rd-" + uuid.uuid4().hex[:8]
REQUEST_TIMEOUT = 120.0
POLL_SECONDS = 1.0


# --------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """All descendants of pid (from /proc/*/stat)."""
    parents = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents[ppid].append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def vm_hwm_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else None


class Platform:
    """gunicorn + N workers on a scratch database and media directory."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="load-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.scratch_db = None
        base = os.environ.get("DATABASE_URL", "")
        env = {k: v for k, v in os.environ.items() if not k.startswith("S3_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        if base.startswith(("postgres://", "postgresql://")):
            self.scratch_db = f"bench_load_{uuid.uuid4().hex[:8]}"
            parts = urlsplit(base)
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))
            database_url = urlunsplit(parts._replace(path="/" + self.scratch_db))
        else:
            database_url = f"sqlite:///{self.tmp / 'load.sqlite3'}"
        env.update(
            DATABASE_URL=database_url, MEDIA_ROOT=str(self.tmp / "media"), TASKS_BACKEND="db",
            SECRET_KEY=os.environ.get("SECRET_KEY") or "load-test-" + uuid.uuid4().hex,
            DEBUG="false", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
        )
        for name, rate in (("USER", args.throttle), ("COMPRESS", args.throttle)):
            if rate:
                env[f"API_THROTTLE_{name}"] = rate
        self.env = env

    def start(self) -> None:
        if self.scratch_db:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.scratch_db}"')
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=self.env, check=True, timeout=300)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO,
                       env={**self.env, "STATIC_ROOT": str(self.tmp / "static")}, check=True, timeout=300)
        self._spawn("web", [
            sys.executable, "-m", "gunicorn", "compressor_site.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.args.web_workers), "--timeout", "120", "--no-control-socket",
            "--access-logfile", str(self.tmp / "access.log"),
        ])
        for i in range(self.args.workers):
            self._spawn(f"worker{i}", [sys.executable, "manage.py", "worker", "--no-startup-delay", "--interval", "0.2",
                                       "--worker-id", f"load-{i}"])
        deadline = time.monotonic() + 60
        import httpx

        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            self.check_alive()
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /api/health within 60 s")

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join((self.tmp / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def peak_rss(self) -> dict:
        """Peak RSS (VmHWM) in MB: per role, the largest process and the sum over its processes."""
        out = {}
        for role, names in (("web", ["web"]), ("worker", [n for n in self.procs if n.startswith("worker")])):
            values = []
            for name in names:
                pid = self.procs[name].pid
                for p in [pid, *children_of(pid)]:
                    value = vm_hwm_mb(p)
                    if value is not None:
                        values.append(value)
            out[role] = {"max_mb": max(values, default=0.0), "sum_mb": sum(values), "processes": len(values)}
        return out

    def django_setup(self):
        os.environ.update(self.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "compressor_site.settings"
        sys.path.insert(0, str(REPO))
        import django

        django.setup()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.scratch_db:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:
                pass
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.scratch_db}" WITH (FORCE)')
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Measuring


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = defaultdict(list)  # endpoint -> [seconds]
        self.errors: list[str] = []

    def call(self, client, endpoint: str, method: str, url: str, expect=(200,), **kwargs):
        started = time.perf_counter()
        try:
            response = client.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
        except Exception as exc:  # a refused or dropped connection is an error of the run
            with self.lock:
                self.errors.append(f"{endpoint}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.samples[endpoint].append(elapsed)
            if response.status_code not in expect:
                self.errors.append(f"{endpoint}: HTTP {response.status_code} {response.text[:200]}")
        return response


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_users(platform: Platform, count: int) -> list[dict]:
    platform.django_setup()
    from django.contrib.auth import get_user_model

    from accounts.tokens import token_create

    users = []
    for i in range(count):
        user = get_user_model().objects.create_user(f"load{i:03d}", f"load{i}@example.com", PASSWORD)
        users.append({"username": user.username, "token": token_create(user=user, name="load").key})
    from django.db import connections

    connections.close_all()
    return users


def user_session(args, platform, recorder, user, index, deadline, results):
    import httpx

    headers = {"Authorization": f"Token {user['token']}"}
    with httpx.Client(base_url=platform.url, headers=headers) as client:
        job_ids = []
        for j in range(args.images):
            photo = PHOTOS[(index * args.images + j) % len(PHOTOS)]
            response = recorder.call(
                client, "POST /api/jobs/ (file)", "POST", "/api/jobs/", expect=(201,),
                files={"file": (photo.name, photo.read_bytes(), "image/png")}, data={"n_colors": str(args.k)},
            )
            if response is not None and response.status_code == 201:
                job_ids.append(response.json()["id"])
        for j in range(args.direct):
            photo = PHOTOS[(index * 7 + j) % len(PHOTOS)]
            response = recorder.call(
                client, "POST /api/compress-direct", "POST", "/api/compress-direct",
                files={"image": (photo.name, photo.read_bytes(), "image/png")}, data={"n_colors": str(args.k)},
            )
            with recorder.lock:
                results["direct_ok" if response is not None and response.status_code == 200 else "direct_failed"] += 1
        pending = set(job_ids)
        statuses = {}
        while pending and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            response = recorder.call(client, "GET /api/jobs/ (poll)", "GET", "/api/jobs/", params={"page_size": 100})
            if response is None or response.status_code != 200:
                continue
            for job in response.json()["results"]:
                if job["id"] in pending and job["status"] in ("succeeded", "failed", "cancelled"):
                    statuses[job["id"]] = (job["status"], job["error_message"])
                    pending.discard(job["id"])
        with recorder.lock:
            results["submitted"] += args.images
            results["accepted"] += len(job_ids)
            results["succeeded"] += sum(1 for s, _ in statuses.values() if s == "succeeded")
            results["unfinished"] += len(pending)
            for job_id, (status, message) in statuses.items():
                if status != "succeeded":
                    results["failed_jobs"].append(f"{job_id}: {status} {message}")


def phase1(args, platform, users, deadline) -> dict:
    recorder = Recorder()
    results = defaultdict(int)
    results["failed_jobs"] = []
    threads = [threading.Thread(target=user_session, args=(args, platform, recorder, user, i, deadline, results))
               for i, user in enumerate(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1, deadline - time.monotonic()) + REQUEST_TIMEOUT)
    elapsed = time.perf_counter() - started
    images = results["succeeded"] + results["direct_ok"]
    return {"recorder": recorder, "results": results, "elapsed": elapsed, "images_per_s": images / elapsed if elapsed else 0}


def login(platform, username):
    import httpx

    client = httpx.Client(base_url=platform.url, follow_redirects=False)
    client.get("/login/", timeout=30)
    token = client.cookies.get("csrftoken")
    response = client.post("/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                           headers={"Referer": platform.url + "/login/"}, timeout=30)
    if response.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {response.status_code}")
    return client


def phase2(args, platform, user, deadline) -> dict:
    import httpx

    recorder = Recorder()
    api = httpx.Client(base_url=platform.url, headers={"Authorization": f"Token {user['token']}"})
    session = login(platform, user["username"])
    # Full dithering: the slowest options a user can pick (several seconds on 24 MP), so the pages
    # are sampled through a long job, not one that ends after a handful of samples.
    response = api.post("/api/jobs/", files={"file": (LARGE.name, LARGE.read_bytes(), "image/jpeg")},
                        data={"n_colors": str(args.k), "dither": "1"}, timeout=REQUEST_TIMEOUT)
    if response.status_code != 201:
        raise RuntimeError(f"24 MP upload: HTTP {response.status_code} {response.text[:300]}")
    job_id = response.json()["id"]
    upload_seconds = response.elapsed.total_seconds()

    def state():
        return api.get(f"/api/jobs/{job_id}/", timeout=30).json()

    while state()["status"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
    samples = 0
    running_samples = 0
    while samples < args.phase2_samples and time.monotonic() < deadline:
        job = state()
        if job["status"] != "running":
            break
        running_samples += 1
        recorder.call(session, "GET /history/ (24 MP job running)", "GET", "/history/")
        recorder.call(api, "GET /api/jobs/ (24 MP job running)", "GET", "/api/jobs/")
        samples += 1
        time.sleep(0.1)
    while state()["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    final = state()
    api.close()
    session.close()
    return {"recorder": recorder, "job": final, "samples": samples, "upload_seconds": upload_seconds}


def phase3(args, platform, user, deadline) -> dict:
    """`--phase3-direct` concurrent compress-direct calls of the 24 MP photo (the engine runs inside
    the gunicorn workers for the classic endpoints); meanwhile the same pages as phase 2."""
    import httpx

    recorder = Recorder()
    api = httpx.Client(base_url=platform.url, headers={"Authorization": f"Token {user['token']}"})
    session = login(platform, user["username"])
    data = LARGE.read_bytes()
    outcomes = []

    def direct(i):
        with httpx.Client(base_url=platform.url, headers={"Authorization": f"Token {user['token']}"}) as client:
            response = recorder.call(client, "POST /api/compress-direct (24 MP)", "POST", "/api/compress-direct",
                                     files={"image": (LARGE.name, data + bytes([i]), "image/jpeg")},
                                     data={"n_colors": str(args.k)})
            outcomes.append(None if response is None else response.status_code)

    threads = [threading.Thread(target=direct, args=(i,)) for i in range(args.phase3_direct)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the uploads are on their way
    samples = 0
    while any(t.is_alive() for t in threads) and samples < args.phase2_samples and time.monotonic() < deadline:
        recorder.call(session, "GET /history/ (24 MP compress-direct running)", "GET", "/history/")
        recorder.call(api, "GET /api/jobs/ (24 MP compress-direct running)", "GET", "/api/jobs/")
        samples += 1
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=max(1, deadline - time.monotonic()) + REQUEST_TIMEOUT)
    api.close()
    session.close()
    return {"recorder": recorder, "outcomes": outcomes, "samples": samples}


# --------------------------------------------------------------------------------------------


def table(recorders) -> list[str]:
    lines = ["| endpoint | requests | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for recorder in recorders:
        for endpoint, values in recorder.samples.items():
            lines.append(f"| {endpoint} | {len(values)} | {percentile(values, 50) * 1000:.0f} | "
                         f"{percentile(values, 95) * 1000:.0f} | {max(values) * 1000:.0f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--images", type=int, default=10, help="photos per user, uploaded as jobs")
    parser.add_argument("--direct", type=int, default=1, help="compress-direct calls per user")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="job worker processes")
    parser.add_argument("--duration-limit", type=float, default=600, help="seconds for the whole run")
    parser.add_argument("--phase2-samples", type=int, default=40, help="history + job-list pairs while the 24 MP job runs")
    parser.add_argument("--skip-phase2", action="store_true")
    parser.add_argument("--phase3-direct", type=int, default=0,
                        help="phase 3: this many concurrent 24 MP compress-direct calls (engine in the web workers)")
    parser.add_argument("--throttle", default="", help="override API_THROTTLE_USER/COMPRESS (e.g. 10000/minute)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    args = parser.parse_args()
    require("photos/kodim01.png", "photos/kodim02.png", "large/rachel-hisko-rEM3cK8F1pk-unsplash.jpg")

    started = time.monotonic()
    deadline = started + args.duration_limit
    platform = Platform(args)
    failures = []
    try:
        platform.start()
        users = make_users(platform, args.users + 1)
        load_avg = os.getloadavg()[0]
        one = phase1(args, platform, users[:-1], deadline)
        platform.check_alive()
        rss1 = platform.peak_rss()
        two = None if args.skip_phase2 else phase2(args, platform, users[-1], deadline)
        platform.check_alive()
        rss2 = platform.peak_rss()
        three = phase3(args, platform, users[-1], deadline) if args.phase3_direct else None
        platform.check_alive()
        rss3 = platform.peak_rss()
    except Exception as exc:
        print(f"load run aborted: {type(exc).__name__}: {exc}")
        for name in platform.procs:
            print(f"--- {name} log tail ---\n{platform.log_tail(name)}")
        platform.stop()
        return 1
    platform.stop()

    r = one["results"]
    errors = one["recorder"].errors + (two["recorder"].errors if two else []) + (three["recorder"].errors if three else [])
    expected = args.users * args.images
    if errors:
        failures.append(f"{len(errors)} request errors, e.g. {errors[:3]}")
    if r["succeeded"] != expected:
        failures.append(f"{r['succeeded']} of {expected} jobs succeeded ({r['unfinished']} unfinished, failed: {r['failed_jobs'][:3]})")
    if r["direct_failed"]:
        failures.append(f"{r['direct_failed']} compress-direct calls failed")

    print(f"## Load run: {args.users} users x {args.images} photos (+{args.direct} compress-direct each), K={args.k}, "
          f"{args.web_workers} gunicorn workers, {args.workers} job worker(s), "
          f"{'PostgreSQL' if platform.scratch_db else 'SQLite'}, {os.cpu_count()} CPUs, load average {load_avg:.1f} at start\n")
    print("| figure | value |\n|---|---:|")
    print(f"| request errors | {len(errors)} |")
    print(f"| jobs succeeded | {r['succeeded']} / {expected} |")
    print(f"| compress-direct succeeded | {r['direct_ok']} / {args.users * args.direct} |")
    print(f"| phase 1 wall time | {one['elapsed']:.1f} s |")
    print(f"| throughput (jobs + direct, images/s) | {one['images_per_s']:.2f} |")
    print(f"| peak RSS web (largest process / all {rss1['web']['processes']}) | {rss1['web']['max_mb']:.0f} MB / {rss1['web']['sum_mb']:.0f} MB |")
    print(f"| peak RSS worker, phase 1 (largest / all {rss1['worker']['processes']}) | {rss1['worker']['max_mb']:.0f} MB / {rss1['worker']['sum_mb']:.0f} MB |")
    if two:
        job = two["job"]
        print(f"| 24 MP job | {job['status']}, {job.get('stats', {}) and (job['stats'] or {}).get('processing_ms', 0) / 1000:.1f} s engine time, "
              f"upload request {two['upload_seconds'] * 1000:.0f} ms |")
        print(f"| peak RSS worker incl. the 24 MP job | {rss2['worker']['max_mb']:.0f} MB |")
        print(f"| peak RSS web after phase 2 | {rss2['web']['max_mb']:.0f} MB |")
        if job["status"] != "succeeded":
            failures.append(f"24 MP job ended {job['status']}: {job['error_message']}")
        for endpoint, values in two["recorder"].samples.items():
            if percentile(values, 95) > 0.2:
                failures.append(f"{endpoint}: p95 {percentile(values, 95) * 1000:.0f} ms > 200 ms (goal)")
        if two["samples"] < 5:
            failures.append(f"only {two['samples']} samples while the 24 MP job ran")
    if three:
        print(f"| phase 3: {args.phase3_direct} concurrent 24 MP compress-direct | statuses {three['outcomes']}, "
              f"{three['samples']} page samples meanwhile |")
        print(f"| peak RSS web after phase 3 | {rss3['web']['max_mb']:.0f} MB |")
        if any(status != 200 for status in three["outcomes"]):
            failures.append(f"phase 3 compress-direct statuses {three['outcomes']}")
        # Reported, not a pass/fail goal: synchronous compress-direct runs the engine inside the web
        # processes, so two 24 MP calls at once compete with pages for both cores (docs/hardening.md).
    print()
    print("\n".join(table([one["recorder"]] + ([two["recorder"]] if two else []) + ([three["recorder"]] if three else []))))
    print()
    print(f"total wall time {time.monotonic() - started:.0f} s")
    if failures:
        print("\nCHECKS FAILED:\n- " + "\n- ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
