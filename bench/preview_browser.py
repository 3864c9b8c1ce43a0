"""End-to-end preview latency in the browser: from the K slider's input event to the new preview
painted, over 30 slider moves on a 1 MP photo (the browser part of bench/preview.py).

    SECRET_KEY=x .venv/bin/python bench/preview_browser.py               # starts gunicorn itself
    SECRET_KEY=x .venv/bin/python bench/preview_browser.py --moves 60 --web-workers 2

It starts the platform as bench/load.py does (scratch SQLite database and media, gunicorn on a
free loopback port, no job worker), makes one user, downscales the corpus photo
large/dennis-buchner-WATeNJyEUkA-unsplash.jpg to 1 MP, and drives Debian's chromium with
Playwright: log in, choose the photo on the dashboard, wait for its first preview (which decodes
and caches the upload), then move the K slider one step at a time with the keyboard (one input
event per move, as one step of a drag) and wait for each preview to be painted before the next
move. Each figure is measured by the page itself (static/js/dashboard.js): `event.timeStamp` of
the input event to the animation frame after the new image decoded; the server's own time
(`server_ms`) is reported beside it. Prints a markdown table; exit status 1 if a move got no
preview.

bench/preview.py imports `open_tuning`, `slider_latencies` and `summary` for its own runs.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from corpus import require  # noqa: E402  (bench/ is this script's folder)

PHOTO = "large/dennis-buchner-WATeNJyEUkA-unsplash.jpg"
ONE_MEGAPIXEL = 1_000_000
PREVIEW_TIMEOUT_MS = 30_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def one_megapixel_png(source: Path, target: Path) -> Path:
    """`source` scaled (Lanczos) to about 1 MP, keeping its aspect ratio, as a PNG at `target`."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(source)).convert("RGB")
    scale = (ONE_MEGAPIXEL / (image.width * image.height)) ** 0.5
    image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS).save(target)
    return target


def open_tuning(page, base_url: str, username: str, password: str, image: Path) -> None:
    """Log in, choose `image` on the dashboard and wait for its first preview."""
    page.goto(f"{base_url}/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.locator('button[type="submit"]').click()
    page.wait_for_url(f"{base_url}/dashboard/")
    page.wait_for_selector('#upload-form[data-ready="true"]', state="attached")
    page.set_input_files("#file-input", str(image))
    page.wait_for_function("() => (window.__previewLatencies || []).length >= 1", timeout=PREVIEW_TIMEOUT_MS)
    page.wait_for_selector('#tuning[data-preview-state="idle"]', state="attached", timeout=PREVIEW_TIMEOUT_MS)


def slider_latencies(page, moves: int = 30, span: int = 10) -> list[dict]:
    """Move K one step per move (down `span` steps, up `span`, ...), waiting for each preview.

    Returns one {"k", "ms", "server_ms"} per move, in order; raises if a move's preview is not
    the K it moved to (a stale answer shown, or none).
    """
    k_range = page.locator("#k-range")
    samples = []
    for move in range(moves):
        key = "ArrowLeft" if (move // span) % 2 == 0 else "ArrowRight"
        shown = page.evaluate("() => window.__previewLatencies.length")
        k_range.press(key)
        page.wait_for_function("n => window.__previewLatencies.length > n", arg=shown, timeout=PREVIEW_TIMEOUT_MS)
        page.wait_for_selector('#tuning[data-preview-state="idle"]', state="attached", timeout=PREVIEW_TIMEOUT_MS)
        sample = page.evaluate("() => window.__previewLatencies[window.__previewLatencies.length - 1]")
        k = int(page.locator("#id_n_colors").input_value())
        if sample["k"] != k:
            raise AssertionError(f"move {move + 1}: the slider is at K={k} but the preview painted is K={sample['k']}")
        samples.append(sample)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(samples: list[dict]) -> dict:
    browser = [s["ms"] for s in samples]
    server = [s["server_ms"] for s in samples]
    return {
        "moves": len(samples),
        "p50_ms": percentile(browser, 50), "p95_ms": percentile(browser, 95), "max_ms": max(browser),
        "server_p50_ms": percentile(server, 50), "server_p95_ms": percentile(server, 95),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("preview_browser.py: Debian's chromium is missing (apt-get install chromium).", file=sys.stderr)
        return 2
    (photo,) = require(PHOTO)

    from load import PASSWORD, Platform, make_users

    platform = Platform(argparse.Namespace(web_workers=args.web_workers, workers=0, throttle="100000/minute", keep=args.keep))
    try:
        platform.start()
        (user,) = make_users(platform, 1)
        image = one_megapixel_png(photo, Path(tempfile.mkdtemp(dir=platform.tmp)) / "photo-1mp.png")
        from PIL import Image

        width, height = Image.open(image).size
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            open_tuning(page, platform.url, user["username"], PASSWORD, image)
            result = summary(slider_latencies(page, args.moves))
            browser.close()
    finally:
        if not args.keep:
            platform.stop()
    print(f"End-to-end preview latency, {result['moves']} K-slider moves on {photo.name} at {width}x{height} "
          f"(gunicorn, {args.web_workers} web processes, headless chromium):\n")
    print("| figure | p50 | p95 | max |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| input event -> new preview painted (browser) | {result['p50_ms']:.0f} ms | {result['p95_ms']:.0f} ms | {result['max_ms']:.0f} ms |")
    print(f"| server_ms (the endpoint's own time) | {result['server_p50_ms']:.0f} ms | {result['server_p95_ms']:.0f} ms | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
