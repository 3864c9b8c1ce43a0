"""Fault run: PostgreSQL restarted under a live web server and live workers; nothing accepted is lost.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test SECRET_KEY=x .venv/bin/python bench/faults.py
    ... bench/faults.py --restarts 2 --idle-restarts 1 --workers 2 --timeout 300

Needs root (or the postgres user) on the machine that runs cluster 15/main, because it calls
`pg_ctlcluster 15 main restart` (PostgreSQL is down for a second or a few each time; the cluster
is always started again, also when this script fails). Everything else runs in a scratch database
beside the one DATABASE_URL names (dropped at the end) and a temporary MEDIA_ROOT.

1. gunicorn (`--web-workers`) and `--workers` `manage.py worker` processes start on the scratch
   database (JOB_HEARTBEAT_SECONDS=1, JOB_STALE_SECONDS=4 so stale-job recovery acts within the run).
2. Busy restarts (`--restarts`): jobs are submitted through the API before the restart
   (`--jobs-before`, Kodak photos, plus one 12 MP photo so a job is mid-run when the database goes
   away), continuously during it (a client posts a job every 0.25 s, and a logged-in browser
   session loads the history page every 0.25 s, from 1 s before until `--during-seconds` after
   the restart) and after it (`--jobs-after`).
3. Idle restarts (`--idle-restarts`): once every job has finished, PostgreSQL is restarted with
   nothing running, then `--jobs-after-idle` more jobs are submitted.
4. Checks: the web server and every worker are still the same processes (no restart of their
   own); every job the API accepted (201) ends `succeeded` within `--timeout`; no job completed
   twice (at most one successful task reported it succeeded, and it has exactly one result file);
   the web server answered no 500 (gunicorn's access log: requests refused while the database
   was down must be 503). If a worker died, the script reports it, starts a replacement (so that
   the "nothing lost" check is still answered) and fails.

Prints a markdown table; exit status 1 if a check fails.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (the Platform class: scratch database, gunicorn, workers)

LARGE_12MP = load.CORPUS / "large" / "seondol-son-skcD9ONunJw-unsplash.jpg"
load.require(str(LARGE_12MP.relative_to(load.CORPUS)))
CLUSTER = ("15", "main")


def pg(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pg_ctlcluster", *CLUSTER, action], capture_output=True, text=True, timeout=120)


def pg_online() -> bool:
    run = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, timeout=30)
    return any(line.split()[:2] == list(CLUSTER) and "online" in line for line in run.stdout.splitlines())


class Submitter:
    def __init__(self, url: str, token: str, k: int):
        import httpx

        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"})
        self.k = k
        self.accepted: list[tuple[str, str]] = []  # (phase, job id)
        self.refused = Counter()  # (phase, status or exception) -> count
        self.lock = threading.Lock()
        self.count = 0

    def submit(self, phase: str, path: Path | None = None, k: int | None = None) -> None:
        with self.lock:
            self.count += 1
            n = self.count
        photo = path or load.PHOTOS[n % len(load.PHOTOS)]
        data = photo.read_bytes()
        if path is None:
            data = data + n.to_bytes(4, "big")  # trailing bytes: a new upload each time (no dedupe)
        try:
            response = self.client.post(
                "/api/jobs/", files={"file": (photo.name, data, "image/png")},
                data={"n_colors": str(k or self.k), "seed": str(n)}, timeout=60,
            )
        except Exception as exc:
            with self.lock:
                self.refused[(phase, type(exc).__name__)] += 1
            return
        with self.lock:
            if response.status_code == 201:
                self.accepted.append((phase, response.json()["id"]))
            else:
                self.refused[(phase, f"HTTP {response.status_code}")] += 1

    def states(self) -> dict:
        out = {}
        for _, job_id in self.accepted:
            try:
                response = self.client.get(f"/api/jobs/{job_id}/", timeout=30)
                out[job_id] = response.json() if response.status_code == 200 else {"status": f"HTTP {response.status_code}"}
            except Exception as exc:
                out[job_id] = {"status": type(exc).__name__}
        return out


class PagePoller:
    """A logged-in browser session loading the history page (the dashboard's 503 path)."""

    def __init__(self, platform, username: str):
        self.client = load.login(platform, username)
        self.statuses = Counter()

    def poll(self) -> None:
        try:
            self.statuses[f"HTTP {self.client.get('/history/', timeout=30).status_code}"] += 1
        except Exception as exc:
            self.statuses[type(exc).__name__] += 1


def wait_finished(sub: "Submitter", timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = sub.states()
        if all(s.get("status") in ("succeeded", "failed", "cancelled") for s in states.values()):
            break
        time.sleep(1.0)
    return states


def restart_postgresql(sub: "Submitter", label: str, notes: list, failures: list) -> None:
    started = time.monotonic()
    run = pg("restart")
    took = time.monotonic() - started
    if run.returncode != 0:
        failures.append(f"pg_ctlcluster restart ({label}) exited {run.returncode}: {run.stderr[-300:]}")
    # First successful request after the restart.
    first_ok = None
    probe_deadline = time.monotonic() + 30
    while time.monotonic() < probe_deadline:
        try:
            if sub.client.get("/api/jobs/", timeout=5).status_code == 200:
                first_ok = time.monotonic() - started - took
                break
        except Exception:
            pass
        time.sleep(0.1)
    notes.append(f"{label}: pg_ctlcluster took {took:.1f} s; first successful API request "
                 f"{'%.2f s after it returned' % first_ok if first_ok is not None else 'never (30 s)'}")


def access_log_statuses(platform) -> Counter:
    """Status codes gunicorn answered (its access log: `... "METHOD /path HTTP/1.1" 503 ...`)."""
    out = Counter()
    try:
        text = (platform.tmp / "access.log").read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split('" ')
        if len(parts) > 1 and parts[1][:3].isdigit():
            out[int(parts[1][:3])] += 1
    return out


def completed_twice(platform, job_ids: list[str]) -> list[str]:
    """Jobs that more than one task reported as succeeded, or with other than one result file."""
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    connections.close_all()  # the connection of make_users died with the restarts
    reported = Counter()
    for row in DBTaskResult.objects.filter(status="SUCCESSFUL").values_list("return_value", flat=True):
        if isinstance(row, dict) and row.get("status") == "succeeded":
            reported[row.get("job")] += 1
    connections.close_all()
    files = Counter(path.name.split(".")[0].split("_")[0] for path in (platform.tmp / "media").glob("users/*/results/*"))
    return [f"{job_id}: {reported[job_id]} successful task(s), {files[job_id]} result file(s)"
            for job_id in job_ids if reported[job_id] > 1 or files[job_id] != 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs-before", type=int, default=6)
    parser.add_argument("--jobs-after", type=int, default=6)
    parser.add_argument("--jobs-after-idle", type=int, default=3)
    parser.add_argument("--during-seconds", type=float, default=4.0)
    parser.add_argument("--restarts", type=int, default=1, help="restarts while jobs run and requests arrive")
    parser.add_argument("--idle-restarts", type=int, default=1, help="restarts with nothing running")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for all accepted jobs to finish")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("bench/faults.py needs DATABASE_URL=postgres://... (it restarts that PostgreSQL)")
        return 2
    if not pg_online():
        print("cluster 15/main is not online; start it first (pg_ctlcluster 15 main start)")
        return 2

    load_args = argparse.Namespace(web_workers=args.web_workers, workers=args.workers, throttle="100000/minute",
                                   keep=args.keep)
    platform = load.Platform(load_args)
    platform.env.update(JOB_HEARTBEAT_SECONDS="1", JOB_STALE_SECONDS="4", DATABASE_CONN_MAX_AGE="60")
    failures, notes, replacements = [], [], []
    states, sub, pages, http, twice = {}, None, None, Counter(), []
    try:
        platform.start()
        pids_before = {name: proc.pid for name, proc in platform.procs.items()}
        [user] = load.make_users(platform, 1)
        sub = Submitter(platform.url, user["token"], args.k)
        pages = PagePoller(platform, user["username"])

        for _ in range(args.jobs_before):
            sub.submit("before")
        sub.submit("before", LARGE_12MP, k=16)  # mid-run when the database goes away
        time.sleep(1.0)

        for r in range(args.restarts):
            stop_during = threading.Event()

            def keep_submitting(phase=f"during restart {r + 1}"):
                while not stop_during.is_set():
                    sub.submit(phase)
                    time.sleep(0.25)

            def keep_loading_pages():
                while not stop_during.is_set():
                    pages.poll()
                    time.sleep(0.25)

            threads = [threading.Thread(target=keep_submitting), threading.Thread(target=keep_loading_pages)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            restart_postgresql(sub, f"busy restart {r + 1}", notes, failures)
            time.sleep(args.during_seconds)
            stop_during.set()
            for thread in threads:
                thread.join(timeout=120)
            time.sleep(2.0)

        for _ in range(args.jobs_after):
            sub.submit("after")

        if args.idle_restarts:
            states = wait_finished(sub, args.timeout)
            running = [j for j, st in states.items() if st.get("status") not in ("succeeded", "failed", "cancelled")]
            notes.append(f"before the idle restart(s): {len(running)} job(s) not finished")
            for r in range(args.idle_restarts):
                time.sleep(2.0)  # idle workers polling the queue
                restart_postgresql(sub, f"idle restart {r + 1}", notes, failures)
            time.sleep(2.0)
            for _ in range(args.jobs_after_idle):
                sub.submit("after-idle")

        # Did anyone restart or die?
        for name, proc in platform.procs.items():
            if proc.poll() is not None:
                failures.append(f"{name} (pid {proc.pid}) exited with {proc.returncode} after the database restart: "
                                f"{platform.log_tail(name, 12)[-1500:]}")
        dead_workers = [n for n, p in platform.procs.items() if n.startswith("worker") and p.poll() is not None]
        if platform.procs["web"].poll() is not None:
            raise RuntimeError("the web server died; nothing more to measure")
        if len(dead_workers) == args.workers:
            # Start a replacement so that "is any accepted job lost?" is still answered.
            platform._spawn("worker-replacement", [sys.executable, "manage.py", "worker", "--no-startup-delay",
                                                   "--interval", "0.2", "--worker-id", "replacement"])
            replacements.append("worker-replacement")

        states = wait_finished(sub, args.timeout)
        web_changed = [name for name, pid in pids_before.items()
                       if name == "web" and (platform.procs[name].pid != pid or platform.procs[name].poll() is not None)]
        if web_changed:
            failures.append("the web server was restarted or died")
        twice = completed_twice(platform, [job_id for _, job_id in sub.accepted])
        if twice:
            failures.append(f"{len(twice)} job(s) completed twice or have a wrong number of result files: {twice[:5]}")
    except Exception as exc:
        failures.append(f"run aborted: {type(exc).__name__}: {exc}")
    finally:
        exit_codes = {name: proc.poll() for name, proc in platform.procs.items()}  # None = still running
        if not pg_online():
            started = pg("start")
            notes.append(f"cluster was not online at the end; `pg_ctlcluster 15 main start` -> {started.returncode}")
        rss = platform.peak_rss() if platform.procs else {}
        http = access_log_statuses(platform)
        platform.stop()

    outcomes = Counter()
    lost = []
    retried = 0
    if sub is not None:
        for phase, job_id in sub.accepted:
            state = states.get(job_id, {})
            status = state.get("status", "?")
            outcomes[status] += 1
            if status != "succeeded":
                lost.append(f"{phase} {job_id}: {status} {state.get('error_message', '')[:160]}")
        retried = sum(1 for st in states.values() if (st.get("attempts") or 0) > 1)
    if lost:
        failures.append(f"{len(lost)} accepted job(s) did not succeed: {lost[:5]}")
    if http[500]:
        failures.append(f"the web server answered {http[500]} request(s) with 500")

    print(f"## Fault run: PostgreSQL restarted {args.restarts}x busy + {args.idle_restarts}x idle under gunicorn "
          f"({args.web_workers} workers) and {args.workers} job worker(s)\n")
    print("| figure | value |\n|---|---:|")
    if sub is not None:
        phases = ("before", "during", "after", "after-idle")
        counts = [sum(1 for p, _ in sub.accepted if p.split(" ")[0] == phase) for phase in phases]
        print(f"| jobs accepted (201) before / during / after / after the idle restart | "
              f"{' / '.join(str(c) for c in counts)} |")
        print(f"| accepted jobs succeeded | {outcomes['succeeded']} / {len(sub.accepted)} |")
        print(f"| accepted jobs that needed a retry (attempts > 1) | {retried} |")
        print(f"| jobs completed twice (tasks reporting success > 1, or result files != 1) | {len(twice)} |")
        refused = Counter()
        for (_, what), count in sub.refused.items():
            refused[what] += count
        print(f"| job submissions refused while the database was down | "
              f"{sum(refused.values())} ({', '.join(f'{k} x{v}' for k, v in sorted(refused.items())) or 'none'}) |")
    if pages is not None:
        print(f"| history page loads during the busy restart(s) | "
              f"{', '.join(f'{k} x{v}' for k, v in sorted(pages.statuses.items())) or 'none'} |")
    print(f"| web responses 500 / 503 (whole run, access log) | {http[500]} / {http[503]} |")
    for name in sorted(exit_codes):
        code = exit_codes[name]
        state = "started after the fault (replacement)" if name in replacements else \
            "ran through (same process)" if code is None else f"died (exit {code})"
        print(f"| process {name} | {state} |")
    if rss:
        print(f"| peak RSS web / worker | {rss['web']['max_mb']:.0f} MB / {rss['worker']['max_mb']:.0f} MB |")
    print()
    for line in notes:
        print(f"- {line}")
    if failures:
        print("\nCHECKS FAILED:\n- " + "\n- ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
