"""The API's overhead: `POST /api/compress-direct` for a 1 MP photo at K=16 against the engine alone.

    SECRET_KEY=x .venv/bin/python bench/bench_api.py                 # in-process (Django test client)
    SECRET_KEY=x .venv/bin/python bench/bench_api.py --repeat 9
    SECRET_KEY=x .venv/bin/python bench/bench_api.py --url http://127.0.0.1:8000 --token <key>   # a running server

The photo: `large/dennis-buchner-WATeNJyEUkA-unsplash.jpg` resized with Lanczos to 1 MP (aspect
ratio kept), saved as PNG. Each API request sends a copy with one pixel changed, so every request
is a new upload (hashed, inspected, stored) rather than the platform's same-bytes shortcut.

- engine: `compression.engine.compress(bytes, CompressOptions(n_colors=16))` wall time, in this
  process, the same bytes.
- api: wall time of the whole request as the client sees it: multipart parsing, authentication
  (token), throttling, upload_create (decode check, sha256, storage write), job row, job_run in
  process (the same engine call, heartbeat thread, result write, stats row), JSON answer.

In-process runs use a throw-away SQLite database (in memory), a temporary MEDIA_ROOT and the
immediate task backend. Engine and API runs alternate; medians over --repeat pairs after one
warm-up pair; the figures depend on the
machine (2 shared cores here).
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from corpus import require  # noqa: E402  (bench/ is this script's folder)

SOURCE_NAME = "large/dennis-buchner-WATeNJyEUkA-unsplash.jpg"


def one_megapixel_png() -> tuple[bytes, tuple[int, int]]:
    from PIL import Image

    [source] = require(SOURCE_NAME)
    with Image.open(source) as image:
        image = image.convert("RGB")
        scale = (1_000_000 / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        small = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue(), size


def variants(data: bytes, count: int) -> list[bytes]:
    """Copies that differ in one pixel, so the platform stores each as a new upload."""
    from PIL import Image

    base = Image.open(io.BytesIO(data)).convert("RGB")
    out = []
    for index in range(count):
        copy = base.copy()
        copy.putpixel((index % copy.width, 0), (index % 256, 7, 11))
        buffer = io.BytesIO()
        copy.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def engine_once(data: bytes) -> tuple[float, float]:
    """(wall seconds, the engine's own pipeline total in seconds) of one compress()."""
    from compression.engine import CompressOptions, compress

    started = time.perf_counter()
    result = compress(io.BytesIO(data), CompressOptions(n_colors=16))
    return time.perf_counter() - started, result.stats.timings_ms["total"] / 1000


def _measure(post, index: int, data: bytes) -> dict:
    started = time.perf_counter()
    body = post(index, data)
    wall = time.perf_counter() - started
    return {"wall": wall, "processing_time": body["processing_time"], "engine_ms": body["stats"]["processing_time_ms"], "ratio": body["compression_ratio"]}


def in_process_client():
    """A function (index, bytes) -> JSON body posting to compress-direct through the test client."""
    import django
    from django.test.utils import override_settings, setup_test_environment

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compressor_site.settings")
    django.setup()
    setup_test_environment()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    media = tempfile.mkdtemp(prefix="bench-api-media-")
    tasks = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    rates = {"user": "100000/minute", "anon": "100000/minute", "compress": "100000/minute", "auth": "100000/minute"}
    from django.conf import settings

    override_settings(MEDIA_ROOT=media, TASKS=tasks, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}).enable()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.tokens import token_create

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-123")
    client = Client(HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='bench').key}")

    def post(index: int, data: bytes) -> dict:
        upload = io.BytesIO(data)
        upload.name = f"photo-{index}.png"
        response = client.post("/api/compress-direct", {"image": upload, "n_colors": "16"})
        assert response.status_code == 200, response.content[:500]
        return response.json()

    return post


def live_client(url: str, token: str):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"

    def post(index: int, data: bytes) -> dict:
        response = session.post(f"{url.rstrip('/')}/api/compress-direct", files={"image": (f"photo-{index}.png", data, "image/png")}, data={"n_colors": 16}, timeout=300)
        response.raise_for_status()
        return response.json()

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="a running server (default: in-process test client)")
    parser.add_argument("--token", help="API token for --url")
    args = parser.parse_args()

    data, size = one_megapixel_png()
    print(f"photo: {Path(SOURCE_NAME).name} -> {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.2f} MP), PNG {len(data):,} bytes; K=16; repeat={args.repeat}")
    payloads = variants(data, args.repeat + 1)
    if args.url:
        post, where = live_client(args.url, args.token), f"live server {args.url} (requests)"
    else:
        post, where = in_process_client(), "in-process (Django test client, SQLite in memory, local files)"
    # Engine and API runs alternate so that a busy machine slows both alike; run 0 is a warm-up.
    engine_wall, engine_pipeline, api = [], [], []
    for index, payload in enumerate(payloads):
        wall, pipeline = engine_once(data)
        measured = _measure(post, index, payload)
        if index:
            engine_wall.append(wall)
            engine_pipeline.append(pipeline)
            api.append(measured)

    med = statistics.median
    engine_s, pipeline_s = med(engine_wall), med(engine_pipeline)
    api_s = med(r["wall"] for r in api)
    view_s = med(r["processing_time"] for r in api)
    job_engine_s = med(r["engine_ms"] for r in api) / 1000
    print(f"API measured {where}")
    print(f"{'':34}{'median s':>10}{'min s':>9}{'max s':>9}")
    rows = [
        ("engine compress() wall", engine_wall),
        ("engine pipeline (timings total)", engine_pipeline),
        ("API request wall (client)", [r["wall"] for r in api]),
        ("API processing_time (view)", [r["processing_time"] for r in api]),
        ("engine inside the API job", [r["engine_ms"] / 1000 for r in api]),
    ]
    for label, values in rows:
        print(f"{label:34}{med(values):10.3f}{min(values):9.3f}{max(values):9.3f}")
    paired = [r["wall"] - e for r, e in zip(api, engine_wall, strict=True)]
    print(f"API overhead over the engine's compress(): {api_s - engine_s:+.3f} s ({(api_s / engine_s - 1) * 100:+.0f} %); "
          f"median of the paired differences {med(paired):+.3f} s")
    print(f"  of which outside the view (parsing the multipart, auth, response): {api_s - view_s:+.3f} s")
    print(f"  engine in the job vs engine alone: {job_engine_s - pipeline_s:+.3f} s")
    print(f"compression ratio (PNG bytes / result bytes): {med(r['ratio'] for r in api):.2f}")


if __name__ == "__main__":
    main()
