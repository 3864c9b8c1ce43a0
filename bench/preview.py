"""Previews: server time of POST /api/uploads/<id>/preview/ and the error of its size estimate.

    SECRET_KEY=x nice -n 10 .venv/bin/python bench/preview.py                 # both parts, tests/images
    SECRET_KEY=x nice -n 10 .venv/bin/python bench/preview.py --corpus        # the team's corpus (../shared/images)
    SECRET_KEY=x nice -n 10 .venv/bin/python bench/preview.py --estimates     # only the estimate table
    SECRET_KEY=x nice -n 10 .venv/bin/python bench/preview.py --latency       # only the server times

Estimate table: for each image, output format (png, webp, gif) and K (4, 16, 64), the preview's
`estimated_bytes` (`prepare_preview` + `render_preview`, default preview_pixels 500,000, no
geometry) against the bytes of the real `compress` with the same options; error = estimate /
real - 1. Images: tests/images photos (4 Kodak, 768×512) and alpha graphics (7 PNGs, 512² to
972×1296); with --corpus, all 24 Kodak photos, the alpha graphics and the three large/ photos
(12-24 MP; K 16 only, they take seconds per compress). Rows say how many estimates were exact (the
whole output encoded: outputs of at most 131,072 pixels).

Latency: the Django test client in this process (not a `manage.py serve`: no network or proxy
in the figures), a throw-away SQLite file database, token auth, the preview throttle lifted.
Uploads: a photo Lanczos-resized to 1 MP and to 24 MP, stored as PNG (tests/images: kodim23; with
--corpus: large/dennis-buchner... and large/rachel-hisko... at its own 6000×4000). Per size:
- cold: the first preview of an upload (decodes it under the caps and prepares the source),
  3 uploads; the process's preview cache is cleared before each;
- warm, one user: a K sweep 16, 12, 8, 6, 4, 6, 8, 12, 16, ... (36 calls) on a prepared source;
- warm, five users: five users (own upload, own prepared source) each run the same sweep in its
  own thread at once; figures over all their calls.
Times are the `server_ms` the endpoint reports (request parsed to answer built) and the wall
time of the test-client call; p50 and p95 (nearest rank).
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from corpus import require  # noqa: E402

FORMATS = ("png", "webp", "gif")
KS = (4, 16, 64)
SWEEP = (16, 12, 8, 6, 4, 6, 8, 12)
WARM_CALLS = 36
USERS = 5
COLD_UPLOADS = 3


def _repo_images(*patterns: str) -> list[Path]:
    return sorted(p for pattern in patterns for p in (REPO / "tests" / "images").glob(pattern))


def estimate_images(corpus: bool) -> list[tuple[Path, tuple[int, ...]]]:
    if not corpus:
        return [(p, KS) for p in _repo_images("photos/*.png", "alpha/*.png")]
    return [(p, KS) for p in require("photos/*.png", "alpha/*.png")] + [(p, (16,)) for p in require("large/*.jpg")]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


# --------------------------------------------------------------------------- estimates


def run_estimates(corpus: bool) -> None:
    from compression.engine import CompressOptions, compress, prepare_preview, render_preview

    rows = {fmt: [] for fmt in FORMATS}  # (name, k, estimate, real, exact)
    for path, ks in estimate_images(corpus):
        data = path.read_bytes()
        source = prepare_preview(data, CompressOptions())
        for fmt in FORMATS:
            for k in ks:
                options = CompressOptions(n_colors=k, output_format=fmt)
                estimate = render_preview(source, options)
                real = compress(data, options).stats.output_bytes
                rows[fmt].append((path.name, k, estimate.estimated_bytes, real, estimate.estimate_exact))
        print(f"  {path.name}: done", file=sys.stderr)

    print("\n| format | estimates (exact) | median abs error | p90 abs error | worst error | image, K of the worst |")
    print("|---|---|---|---|---|---|")
    everything = []
    for fmt in FORMATS:
        errors = [(est / real - 1, name, k) for name, k, est, real, _exact in rows[fmt]]
        everything += errors
        exact = sum(1 for row in rows[fmt] if row[4])
        worst = max(errors, key=lambda e: abs(e[0]))
        absolute = [abs(e[0]) for e in errors]
        print(f"| {fmt} | {len(errors)} ({exact}) | {statistics.median(absolute):.1%} | {percentile(absolute, 90):.1%} "
              f"| {worst[0]:+.1%} | {worst[1]}, K={worst[2]} |")
    absolute = [abs(e[0]) for e in everything]
    worst = max(everything, key=lambda e: abs(e[0]))
    print(f"| all | {len(everything)} | {statistics.median(absolute):.1%} | {percentile(absolute, 90):.1%} "
          f"| {worst[0]:+.1%} | {worst[1]}, K={worst[2]} |")


# --------------------------------------------------------------------------- latency


def latency_images(corpus: bool) -> dict[str, bytes]:
    from PIL import Image

    def png_at(path: Path, pixels: int | None) -> bytes:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if pixels is not None:
                scale = (pixels / (image.width * image.height)) ** 0.5
                image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    if corpus:
        one, big = require("large/dennis-buchner-WATeNJyEUkA-unsplash.jpg", "large/rachel-hisko-rEM3cK8F1pk-unsplash.jpg")
        return {"1 MP": png_at(one, 1_000_000), "24 MP": png_at(big, None)}
    photo = REPO / "tests" / "images" / "photos" / "kodim23.png"
    return {"1 MP": png_at(photo, 1_000_000), "24 MP": png_at(photo, 24_000_000)}


def django_setup():
    database = Path(tempfile.mkdtemp(prefix="bench-preview-")) / "db.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compressor_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "preview": "100000/second", "user": "100000/second"}
    override_settings(
        MEDIA_ROOT=str(database.parent / "media"),
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates},
    ).enable()
    call_command("migrate", verbosity=0)


def make_user(name: str, data: bytes):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.tokens import token_create
    from compression import services

    user = get_user_model().objects.create_user(name, f"{name}@example.com", "bench-password-123")
    upload = services.upload_create(owner=user, file=data, original_name=f"{name}.png")
    client = Client(HTTP_AUTHORIZATION=f"Token {token_create(user=user, name='bench').key}")
    return client, upload


def preview_call(client, upload, k: int) -> tuple[float, float, bool]:
    """(server_ms, wall_ms, source_cached) of one preview."""
    started = time.perf_counter()
    response = client.post(f"/api/uploads/{upload.id}/preview/", {"n_colors": k}, content_type="application/json")
    wall = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    return body["server_ms"], wall, body["source_cached"]


def sweep(client, upload, calls: int) -> list[tuple[float, float]]:
    out = []
    for i in range(calls):
        server, wall, cached = preview_call(client, upload, SWEEP[i % len(SWEEP)])
        assert cached
        out.append((server, wall))
    return out


def summary(label: str, times: list[tuple[float, float]]) -> str:
    server, wall = [t[0] for t in times], [t[1] for t in times]
    return (f"| {label} | {len(times)} | {percentile(server, 50):.0f} | {percentile(server, 95):.0f} "
            f"| {percentile(wall, 50):.0f} | {percentile(wall, 95):.0f} |")


def run_latency(corpus: bool) -> None:
    django_setup()
    from compression.previews import preview_cache

    print("\n| upload, case | calls | server p50 ms | server p95 ms | wall p50 ms | wall p95 ms |")
    print("|---|---|---|---|---|---|")
    for size, data in latency_images(corpus).items():
        cold = []
        for i in range(COLD_UPLOADS):
            client, upload = make_user(f"cold{size[:2].strip()}x{i}", _variant(data, i))
            preview_cache.clear()
            server, wall, cached = preview_call(client, upload, 16)
            assert not cached
            cold.append((server, wall))
        print(summary(f"{size}, cold (first call, decode)", cold))
        client, upload = make_user(f"warm{size[:2].strip()}", data)
        preview_call(client, upload, 16)
        print(summary(f"{size}, warm, one user", sweep(client, upload, WARM_CALLS)))
        users = [make_user(f"u{size[:2].strip()}x{i}", _variant(data, 100 + i)) for i in range(USERS)]
        for client, upload in users:
            preview_call(client, upload, 16)
        results: list[tuple[float, float]] = []
        lock = threading.Lock()

        def tune(client, upload):
            times = sweep(client, upload, WARM_CALLS)
            with lock:
                results.extend(times)

        threads = [threading.Thread(target=tune, args=user) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(summary(f"{size}, warm, {USERS} users at once", results))
        preview_cache.clear()


def _variant(data: bytes, index: int) -> bytes:
    """The same picture with one pixel changed: a distinct upload (the platform dedupes by hash)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.putpixel((0, 0), (index % 256, index // 256 % 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="store_true", help="the team's corpus (IMAGE_CORPUS, default ../shared/images)")
    parser.add_argument("--estimates", action="store_true", help="only the estimate-error table")
    parser.add_argument("--latency", action="store_true", help="only the server times")
    args = parser.parse_args()
    both = not (args.estimates or args.latency)
    if args.estimates or both:
        run_estimates(args.corpus)
    if args.latency or both:
        run_latency(args.corpus)


if __name__ == "__main__":
    main()
