"""Throughput of the job queue with one and with two real workers, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/workers.py [--jobs 40]
    DATABASE_URL=… REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/workers.py --backend rq

With `--backend rq` the tasks go through Redis (django-tasks-rq, requirements-rq.txt) and the
workers run rqworker; the job rows stay in PostgreSQL, and only this run's tasks are counted.

Creates a scratch database beside the one DATABASE_URL names (dropped at the end), migrates it,
makes N uploads of ~1 MP photos (crops of the corpus's large photos), then:

1. one `manage.py worker --batch` drains N jobs;   2. two of them drain N more jobs in parallel;
3. an idle long-running worker gets jobs one at a time: time from enqueue to start.

It checks that every job succeeded, ran exactly once (attempts == 1, one task result each) and,
with two workers, that both took part; then prints the figures. Exit status 1 if a check fails.
Files go to a temporary MEDIA_ROOT (S3_* variables are ignored here).
"""

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from corpus import require  # noqa: E402  (bench/ is this script's folder)

REPO = Path(__file__).resolve().parent.parent
CROP = (1155, 866)  # 1.0 MP


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--backend", choices=["db", "rq"], default="db", help="the task queue (TASKS_BACKEND)")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--latency-samples", type=int, default=8)
    parser.add_argument("--threads-per-worker", type=int, default=1,
                        help="BLAS/OpenMP threads per worker process (default 1: one core per worker)")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        print("bench/workers.py needs DATABASE_URL=postgres://… (several workers share a PostgreSQL queue)")
        return 2
    scratch = f"bench_workers_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(base_url)
    url = urlunsplit(parts._replace(path="/" + scratch))
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
    if args.backend == "rq" and not os.environ.get("REDIS_URL"):
        print("bench/workers.py --backend rq needs REDIS_URL=redis://host:port/db")
        return 2
    env.update(DATABASE_URL=url, MEDIA_ROOT=media, TASKS_BACKEND=args.backend, LOG_LEVEL="WARNING",
               SECRET_KEY=os.environ.get("SECRET_KEY", "insecure-bench-key"))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(args.threads_per_worker)
    os.environ.clear()
    os.environ.update(env)

    import psycopg

    admin_conn = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_conn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        return run(args, env)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_conn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def photos_1mp(count: int) -> list[bytes]:
    from PIL import Image

    photos = require("large/*.jpg")
    images = []
    for i in range(count):
        with Image.open(photos[i % len(photos)]) as photo:
            photo = photo.convert("RGB")
            w, h = photo.size
            step = i // len(photos)
            x = (step * 397) % (w - CROP[0])
            y = (step * 263) % (h - CROP[1])
            buffer = io.BytesIO()
            photo.crop((x, y, x + CROP[0], y + CROP[1])).save(buffer, format="JPEG", quality=90)
            images.append(buffer.getvalue())
    return images


def worker(env, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-startup-delay", "--interval", "0.2", *extra],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )


def task_runs(job_ids: list[str]) -> dict[str, list[list[str]]]:
    """For each job, the tasks the queue ran for it (each as its worker ids)."""
    from django.conf import settings

    runs: dict[str, list[list[str]]] = {}
    if settings.TASKS_BACKEND == "rq":
        import django_rq
        from django_tasks_rq import Job

        queue = django_rq.get_queue("default", job_class=Job)
        registries = (queue.started_job_registry, queue.finished_job_registry, queue.failed_job_registry)
        ids = set(queue.get_job_ids()).union(*(registry.get_job_ids() for registry in registries))
        for job in Job.fetch_many(sorted(ids), connection=queue.connection):
            if job is not None and job.args and job.args[0] in job_ids:
                runs.setdefault(job.args[0], []).append(job.task_result.worker_ids)
        return runs
    from django_tasks_db.models import DBTaskResult

    for task in DBTaskResult.objects.filter(args_kwargs__args__0__in=job_ids):
        runs.setdefault(task.args_kwargs["args"][0], []).append(task.worker_ids)
    return runs


def run(args, env) -> int:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "compressor_site.settings"
    sys.path.insert(0, str(REPO))
    django.setup()
    from django.contrib.auth import get_user_model

    from compression import services
    from compression.models import CompressionJob, JobStatus

    user = get_user_model().objects.create_user("bench", password=uuid.uuid4().hex)
    uploads = [services.upload_create(owner=user, file=data, original_name=f"photo{i}.jpg")
               for i, data in enumerate(photos_1mp(args.jobs))]
    print(f"{args.backend} queue; {len(uploads)} uploads of {CROP[0]}x{CROP[1]} JPEG photos, K={args.k}, "
          f"{args.threads_per_worker} BLAS thread(s) per worker, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    failures = []

    def batch(n_workers: int, seed: int) -> dict:
        jobs = [services.job_create(owner=user, upload=u, options={"n_colors": args.k, "seed": seed}) for u in uploads]
        ids = [j.id for j in jobs]
        started = time.perf_counter()
        procs = [worker(env, "--batch", "--worker-id", f"bench-{seed}-{i}") for i in range(n_workers)]
        codes = [p.wait(timeout=1800) for p in procs]
        elapsed = time.perf_counter() - started
        rows = list(CompressionJob.objects.filter(id__in=ids))
        bad = [r for r in rows if r.status != JobStatus.SUCCEEDED or r.attempts != 1]
        runs = task_runs([str(i) for i in ids])
        per_job = {job_id: len(tasks) for job_id, tasks in runs.items()}
        worker_ids = {}
        for tasks in runs.values():
            for task_worker_ids in tasks:
                for wid in task_worker_ids:
                    worker_ids[wid] = worker_ids.get(wid, 0) + 1
        if codes != [0] * n_workers:
            failures.append(f"{n_workers} worker(s): exit codes {codes}")
        if bad:
            failures.append(f"{n_workers} worker(s): {len(bad)} job(s) not succeeded once: "
                            f"{[(str(r.id), r.status, r.attempts, r.error_message) for r in bad[:3]]}")
        if len(per_job) != len(ids) or any(count != 1 for count in per_job.values()):
            failures.append(f"{n_workers} worker(s): task results per job {sorted(set(per_job.values()))}")
        if n_workers > 1 and len(worker_ids) < n_workers:
            failures.append(f"{n_workers} workers: only {len(worker_ids)} took jobs ({worker_ids})")
        engine_ms = statistics.median(r.processing_ms for r in rows if r.processing_ms)
        return {"elapsed": elapsed, "rate": len(ids) / elapsed, "split": sorted(worker_ids.values()),
                "engine_ms": engine_ms}

    one = batch(1, seed=1)
    print(f"1 worker : {args.jobs} jobs in {one['elapsed']:.1f} s = {one['rate']:.2f} jobs/s "
          f"(median engine time {one['engine_ms']:.0f} ms/job)")
    two = batch(2, seed=2)
    print(f"2 workers: {args.jobs} jobs in {two['elapsed']:.1f} s = {two['rate']:.2f} jobs/s "
          f"(split {two['split']}, speed-up x{two['rate'] / one['rate']:.2f})")

    # Enqueue -> start with an idle worker polling every 0.2 s (the `worker` default is 1 s).
    idle = worker(env)
    try:
        time.sleep(3)
        latencies = []
        for i in range(args.latency_samples):
            job = services.job_create(owner=user, upload=uploads[i], options={"n_colors": 4, "seed": 100 + i})
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.05)
            if job.status != JobStatus.SUCCEEDED:
                failures.append(f"latency job {job.id}: {job.status}")
                continue
            latencies.append((job.started_at - job.created_at).total_seconds() * 1000)
            time.sleep(0.3)
    finally:
        idle.terminate()
        idle.wait(timeout=60)
    if latencies:
        print(f"enqueue -> start (idle worker, --interval 0.2): median {statistics.median(latencies):.0f} ms, "
              f"max {max(latencies):.0f} ms over {len(latencies)} jobs")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("OK: every job succeeded and ran exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
