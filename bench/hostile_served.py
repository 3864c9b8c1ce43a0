"""Hostile inputs against the served platform (gunicorn + a real worker on loopback): every class of
issue 13, each recording status, time and the peak memory of the web and worker processes (and
their decoding children), while /api/health is polled throughout.

    SECRET_KEY=x .venv/bin/python bench/hostile_served.py            # every case (about 3 minutes)
    SECRET_KEY=x .venv/bin/python bench/hostile_served.py --quick    # small versions of the files

Files are made in code (bench/hostile.py). Each is sent as a job (`POST /api/jobs/` with the file,
so the web process checks it and, if accepted, the worker decodes it), the job is followed to its
end; geometry escapes and a 200,000-deep JSON body are sent as requests. Goals (issue 13): every
case a 4xx or a success within 30 s, no process growing by more than 1 GB over its memory at the
start, /api/health answering within 2 s throughout. Exit status 1 if a goal is missed. Prints a
markdown table (docs/hardening.md).
"""

import argparse
import io
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

import hostile
from load import Platform, children_of, make_users

GOAL_SECONDS = 30.0
GOAL_GROWTH_MB = 1024.0
GOAL_HEALTH_SECONDS = 2.0


def vm_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler:
    """Samples the resident memory of the web and worker processes and all their descendants
    every 20 ms; `peaks()` gives, per role, the largest any one process reached since `reset()`."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.roots = {"web": [platform.procs["web"].pid],
                      "worker": [p.pid for name, p in platform.procs.items() if name.startswith("worker")]}
        self.baseline = self._sample()
        self._peaks = dict.fromkeys(self.roots, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> dict:
        out = {}
        for role, roots in self.roots.items():
            values = [vm_rss_mb(pid) for root in roots for pid in [root, *children_of(root)]]
            out[role] = max((v for v in values if v is not None), default=0.0)
        return out

    def _run(self):
        while not self._stop.wait(0.02):
            for role, value in self._sample().items():
                self._peaks[role] = max(self._peaks[role], value)

    def reset(self):
        self._peaks = dict.fromkeys(self.roots, 0.0)

    def peaks(self) -> dict:
        return dict(self._peaks)

    def stop(self):
        self._stop.set()
        self._thread.join()


class HealthPoller:
    def __init__(self, url: str):
        self.url = url
        self.seconds: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        with httpx.Client(timeout=10) as client:
            while not self._stop.wait(0.5):
                started = time.monotonic()
                try:
                    ok = client.get(self.url + "/api/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.seconds.append(time.monotonic() - started)
                self.failures += not ok

    def stop(self):
        self._stop.set()
        self._thread.join()


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def file_cases(quick: bool) -> dict:
    if quick:
        return {
            "tiff_tile_4096": lambda: hostile.tiff_tiled(tile=4096),
            "tiff_2000_pages": lambda: hostile.tiff_many_pages(2_000),
            "jpeg_1000_scans": lambda: hostile.jpeg_many_scans(1_000, 256),
            "ico_png_13000": lambda: hostile.ico_with_png(13000, 13000),
            "gif_20000_frames": lambda: hostile.gif_many_frames(20_000),
            "png_bomb_20000": lambda: hostile.png_bomb(20000),
            "honest_jpeg_1mp": lambda: hostile.honest_jpeg(1000, "RGB"),
        }
    return {**{name: make for name, make in hostile.CASES.items() if not name.startswith("honest")},
            "honest_jpeg_12mp": lambda: hostile.honest_jpeg(3464, "RGB")}


def follow(client: httpx.Client, job: dict, deadline: float) -> dict:
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{job['id']}/").json()
    return job


def run(args) -> int:
    platform = Platform(argparse.Namespace(web_workers=2, workers=1, throttle="100000/minute", keep=args.keep))
    rows, failed = [], []
    try:
        platform.start()
        [user] = make_users(platform, 1)
        headers = {"Authorization": f"Token {user['token']}"}
        memory = MemorySampler(platform)
        health = HealthPoller(platform.url)
        with httpx.Client(base_url=platform.url, headers=headers, timeout=120) as client:

            def record(name, outcome, seconds):
                peaks = memory.peaks()
                growth = {role: peaks[role] - memory.baseline[role] for role in peaks}
                rows.append((name, outcome, seconds, peaks["web"], peaks["worker"]))
                ok = seconds <= GOAL_SECONDS and max(growth.values()) <= GOAL_GROWTH_MB and not outcome.startswith("5")
                if not ok:
                    failed.append(name)
                memory.reset()

            for name, make in file_cases(args.quick).items():
                data = make()
                started = time.monotonic()
                response = client.post("/api/jobs/", files={"file": (f"{name}.bin", data)}, data={"n_colors": "16"})
                outcome = str(response.status_code)
                if response.status_code == 201:
                    job = follow(client, response.json(), started + 120)
                    outcome = f"201, job {job['status']}" + (f": {job['error_message'][:60]}" if job["error_message"] else "")
                elif response.status_code >= 400:
                    outcome += f": {str(response.json())[:60]}"
                record(f"{name} ({len(data) / 1e6:.2f} MB)", outcome, time.monotonic() - started)
                if name.startswith("honest") and "succeeded" not in outcome:
                    failed.append(name)  # the caps must let honest files through

            # Geometry that escaped the output-size check before issue 13.
            strip = client.post("/api/uploads/", files={"file": ("strip.png", png(1, 5000))}).json()["id"]
            square = client.post("/api/uploads/", files={"file": ("square.png", png(100, 100))}).json()["id"]
            geometry = [
                ("fill + upscale, 1x5000 -> 7000x7000", {"upload_id": strip, "resize_mode": "fill", "width": 7000,
                                                          "height": 7000, "allow_upscale": True}),
                ("fit + padding, 100x100 -> 2500x20000", {"upload_id": square, "resize_mode": "fit", "width": 2500,
                                                           "height": 20000, "background": "#000000"}),
            ]
            accepted = None
            for name, body in geometry:
                started = time.monotonic()
                response = client.post("/api/jobs/", json=body)
                if response.status_code == 201:  # at the limit (50 MP): allowed, and run to its end
                    accepted = follow(client, response.json(), started + 120)
                    result = accepted.get("result") or {}
                    outcome = f"201, job {accepted['status']} ({result.get('width')}x{result.get('height')})"
                else:
                    outcome = f"{response.status_code}: {str(response.json())[:60]}"
                record(name, outcome, time.monotonic() - started)
                if accepted is not None and accepted["status"] != "succeeded":
                    failed.append(name)
            if accepted is not None:
                started = time.monotonic()
                response = client.post(f"/api/jobs/{accepted['id']}/rerun/", json={"width": 20000})
                record("its re-run with width 20000 (400 MP)", f"{response.status_code}: {str(response.json())[:60]}",
                       time.monotonic() - started)

            started = time.monotonic()
            response = httpx.post(platform.url + "/api/auth/token/", content="[" * 200_000 + "]" * 200_000,
                                  headers={"Content-Type": "application/json"}, timeout=60)
            record("200,000-deep JSON to /api/auth/token/", f"{response.status_code}: {response.text[:60]}",
                   time.monotonic() - started)
        health.stop()
        memory.stop()
    finally:
        platform.stop()

    print("| case | answer | seconds | web peak MB | worker peak MB |")
    print("|---|---|---:|---:|---:|")
    for name, outcome, seconds, web, worker in rows:
        print(f"| {name} | {outcome.replace('|', '/')} | {seconds:.2f} | {web:.0f} | {worker:.0f} |")
    print(f"\nbaseline RSS: web {memory.baseline['web']:.0f} MB, worker {memory.baseline['worker']:.0f} MB (largest process)")
    p95 = statistics.quantiles(health.seconds, n=20)[-1] if len(health.seconds) >= 20 else max(health.seconds, default=0)
    print(f"/api/health during the run: {len(health.seconds)} polls, {health.failures} failed, "
          f"p95 {p95 * 1000:.0f} ms, max {max(health.seconds, default=0) * 1000:.0f} ms")
    if health.failures or max(health.seconds, default=0) > GOAL_HEALTH_SECONDS:
        failed.append("health")
    if failed:
        print("GOALS MISSED: " + ", ".join(failed))
        return 1
    print("all goals met: every case a 4xx or a success within 30 s, no process grew by more than 1 GB, health within 2 s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small versions of the hostile files")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
