"""Issue 14's tuning screen in a real browser: choose three photos, tune K live (16 -> 4 -> 16),
the heat-map and cluster views, compress all, the batch summary and its ZIP; the job page's views;
the phone width. Every request goes to the live server (the preview endpoint included)."""

import io
import json
import re
import zipfile

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = ("photos/kodim23.png", "photos/kodim03.png", "photos/kodim15.png")
PREVIEW_TIMEOUT_MS = 30_000
JOB_TIMEOUT_MS = 120_000


def log_in(page, base):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.locator("#upload-form")).to_have_attribute("data-ready", "true")


class PreviewRequests(list):
    """The bodies of the preview requests the page sends, in order, and the most ever in flight."""

    def __init__(self, page):
        super().__init__()
        self.in_flight = self.most_in_flight = 0
        page.on("request", self.started)
        page.on("requestfinished", self.ended)
        page.on("requestfailed", self.ended)

    def started(self, request):
        if request.url.endswith("/preview/"):
            self.append(json.loads(request.post_data))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def ended(self, request):
        if request.url.endswith("/preview/"):
            self.in_flight -= 1


def settled(page):
    """Wait until no preview is in flight or pending; return what the screen shows."""
    tuning = page.locator("#tuning")
    expect(tuning).to_have_attribute("data-preview-state", "idle", timeout=PREVIEW_TIMEOUT_MS)
    return {
        "k": tuning.get_attribute("data-preview-k"),
        "src": page.locator("#tuning-after").get_attribute("src"),
        "psnr": page.locator("#fig-psnr").inner_text(),
        "bytes": page.locator("#fig-bytes").inner_text(),
        "k_used": page.locator("#fig-k").inner_text(),
        "swatches": page.locator("#preview-palette .swatch").count(),
    }


def press_repeatedly(locator, key, times):
    for _ in range(times):
        locator.press(key)  # each press is one input event, as a drag step is


def test_tune_compress_all_and_download_the_zip(page, live_server, alice, corpus_image, screenshot, csp_violations):
    base = live_server.url
    log_in(page, base)
    sent = PreviewRequests(page)

    page.set_input_files("#file-input", [str(corpus_image(p)) for p in PHOTOS])
    expect(page.locator("#file-list .file-item")).to_have_count(3)
    expect(page.locator("#tuning")).to_be_visible()
    expect(page.locator("#tuning-file")).to_have_text(re.compile(r"^kodim(23|03|15)\.png$"))
    shown = page.locator("#tuning-file").inner_text()  # the first upload to finish
    first = settled(page)
    assert first["k"] == "16" and first["src"].startswith("data:image/png;base64,")
    assert re.fullmatch(r"\d+ of 16", first["k_used"]) and first["swatches"] == int(first["k_used"].split()[0])
    assert re.search(r"\d+\.\d+ dB", first["psnr"]) and re.search(r"\d+(\.\d)? KB", first["bytes"])

    # A fast drag from 16 to 4: twelve input events in one burst make two requests, the first
    # value and the latest (one in flight plus the latest pending), and the last value wins.
    k_range = page.get_by_label("Colours (K) slider")
    before = len(sent)
    k_range.evaluate("""range => {
        for (let k = 15; k >= 4; k--) {
            range.value = k;
            range.dispatchEvent(new Event("input", { bubbles: true }));
        }
    }""")
    expect(page.get_by_role("spinbutton", name="Colours (K)")).to_have_value("4")
    at_4 = settled(page)
    assert [body["n_colors"] for body in sent[before:]] == [15, 4]
    assert at_4["k"] == "4" and re.fullmatch(r"[1-4] of 4", at_4["k_used"]) and at_4["swatches"] <= 4
    assert at_4["src"] != first["src"] and at_4["psnr"] != first["psnr"] and at_4["bytes"] != first["bytes"]

    # ... and back to 16 with the keyboard (one input event per step): never more than one
    # request in flight, the newest value last, the first preview's figures again.
    press_repeatedly(k_range, "ArrowRight", 12)
    back = settled(page)
    assert sent[-1]["n_colors"] == 16 and sent.most_in_flight == 1
    assert back["k"] == "16" and back["src"] != at_4["src"] and back["psnr"] != at_4["psnr"]
    assert back["k_used"] == first["k_used"]
    screenshot("tuning")

    # The error heat-map (with its legend) and the cluster map.
    page.get_by_role("radio", name="Error heat-map").check()
    expect(page.locator("#tuning")).to_have_attribute("data-view-shown", "heatmap", timeout=PREVIEW_TIMEOUT_MS)
    heat = settled(page)
    assert sent[-1]["views"] == ["heatmap"] and heat["src"] != back["src"]
    expect(page.locator("#heatmap-legend")).to_be_visible()
    expect(page.locator("#heatmap-max")).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    page.get_by_role("radio", name="Cluster map").check()
    expect(page.locator("#tuning")).to_have_attribute("data-view-shown", "clusters", timeout=PREVIEW_TIMEOUT_MS)
    clusters = settled(page)
    assert sent[-1]["views"] == ["clusters"] and clusters["src"] not in (heat["src"], back["src"])
    expect(page.locator("#heatmap-legend")).to_be_hidden()
    screenshot("tuning-clusters")

    # Another file from the list: its own preview, with the same options.
    another = "kodim15.png" if shown != "kodim15.png" else "kodim03.png"
    page.get_by_role("button", name=f"Tune {another}").click()
    expect(page.locator("#tuning-file")).to_have_text(another)
    other = settled(page)
    assert other["src"] != clusters["src"] and sent[-1]["n_colors"] == 16
    page.get_by_role("radio", name="Image", exact=True).check()
    settled(page)

    # At 375 px the tuning screen does not scroll sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1440, "height": 900})

    # Compress all three with these options: the batch summary and its totals.
    page.get_by_role("button", name="Compress all 3 images").click()
    summary = page.locator("#batch")
    expect(summary).to_be_visible()
    expect(page.locator("#tuning")).to_be_hidden()
    expect(summary).to_have_attribute("data-finished", "true", timeout=JOB_TIMEOUT_MS)
    rows = page.locator("#batch-rows tr")
    expect(rows).to_have_count(3)
    from compression.models import CompressionJob

    jobs = list(CompressionJob.objects.all())
    assert len(jobs) == 3 and {j.n_colors for j in jobs} == {16} and all(j.status == "succeeded" for j in jobs)
    before_total = sum(j.input_bytes for j in jobs)
    after_total = sum(j.output_bytes for j in jobs)
    pct = round(100 * (after_total - before_total) / before_total)
    totals = page.locator("#batch-totals").inner_text()
    assert totals.startswith("3 images, ") and "→" in totals, totals
    assert totals.endswith(("−" if pct < 0 else "+") + f"{abs(pct)} %"), (totals, pct)
    for job in jobs:
        row = page.locator(f'#batch-rows tr[data-job-id="{job.id}"]')
        expect(row).to_contain_text(job.upload.original_name)
        expect(row.locator("td").nth(4)).to_have_text(re.compile("Succeeded", re.I))
    screenshot("batch-summary")
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1440, "height": 900})

    # Download all: one palette PNG per file, each with at most K colours.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download all").click()
    archive = zipfile.ZipFile(info.value.path())
    names = archive.namelist()
    assert len(names) == 3 and all(n.endswith(".png") for n in names), names
    assert {n.split("-k")[0] for n in names} == {"kodim23", "kodim03", "kodim15"}
    for name in names:
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.format == "PNG" and image.mode == "P"
        assert len(image.getcolors(256)) <= 16

    # The job page shows the same two views of its own result.
    page.locator("#batch-rows a", has_text="kodim15.png").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    page.get_by_role("button", name="Error heat-map").click()
    views = page.locator("#result-views")
    expect(views.locator("img#result-view-image")).to_have_attribute("src", re.compile("^data:image/png;base64,"), timeout=PREVIEW_TIMEOUT_MS)
    expect(views.locator("#result-heatmap-legend")).to_be_visible()
    heat_src = views.locator("#result-view-image").get_attribute("src")
    page.get_by_role("button", name="Cluster map").click()
    expect(views).to_have_attribute("data-view", "clusters")
    expect(views.locator("#result-heatmap-legend")).to_be_hidden()
    assert views.locator("#result-view-image").get_attribute("src") != heat_src
    screenshot("job-detail-views")
    expect(page.locator("#size-curve svg")).to_have_count(2, timeout=30_000)  # no request left in flight
    assert csp_violations == []


def test_every_slider_move_paints_its_own_preview(page, live_server, alice, corpus_image, tmp_path, capsys):
    """30 moves on a 1 MP photo, one K step each, waiting for each paint (bench/preview_browser.py's
    measurement, against the test server): every move shows its own K; p50/p95 are printed."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import preview_browser

    source = corpus_image("formats/progressive_mike-castro-demaria-94BUerwdFP8-unsplash.jpg")
    image = preview_browser.one_megapixel_png(source, tmp_path / "photo-1mp.png")
    preview_browser.open_tuning(page, live_server.url, "alice", PASSWORD, image)
    samples = preview_browser.slider_latencies(page, moves=30, span=10)
    assert [s["k"] for s in samples] == [*range(15, 5, -1), *range(7, 17), *range(15, 5, -1)]
    assert all(s["ms"] > 0 and s["server_ms"] > 0 for s in samples)
    figures = preview_browser.summary(samples)
    with capsys.disabled():
        print(f"\npreview latency over 30 moves at {Image.open(image).size}: p50 {figures['p50_ms']:.0f} ms, "
              f"p95 {figures['p95_ms']:.0f} ms (server p50 {figures['server_p50_ms']:.0f} ms) [Django test server]")


def test_advice_and_geometry_follow_the_options(page, live_server, alice, corpus_image, screenshot, csp_violations):
    """A 5 MP camera JPEG at K=256 would grow: the advice says so before any job; scaled to 400 px
    wide at K=4 it shrinks, and the figures show the new output size."""
    log_in(page, live_server.url)
    page.set_input_files("#file-input", str(corpus_image("formats/progressive_mike-castro-demaria-94BUerwdFP8-unsplash.jpg")))
    expect(page.locator("#tuning")).to_be_visible()
    settled(page)
    page.get_by_role("radio", name=re.compile("Maximum quality")).check()
    expect(page.locator("#tuning")).to_have_attribute("data-preview-k", "256", timeout=PREVIEW_TIMEOUT_MS)
    settled(page)
    expect(page.locator("#preview-advice")).to_be_visible()
    expect(page.locator("#preview-advice")).to_contain_text("larger than the original")
    expect(page.locator("#fig-size")).to_have_text("1944×2592")

    page.get_by_role("radio", name=re.compile("Maximum compression")).check()
    page.locator("summary", has_text="Dimensions").click()
    page.locator("#id_width").fill("400")
    expect(page.locator("#fig-size")).to_have_text("400×533", timeout=PREVIEW_TIMEOUT_MS)
    settled(page)
    expect(page.locator("#tuning")).to_have_attribute("data-preview-k", "4")
    expect(page.locator("#preview-advice")).to_be_hidden()
    assert page.locator("#preview-palette .swatch").count() <= 4

    # Fit into 400x400 padded with a colour: the output is the whole box.
    page.select_option("#id_resize_mode", "fit")
    page.locator("#id_height").fill("400")
    expect(page.locator("#fig-size")).to_have_text("300×400", timeout=PREVIEW_TIMEOUT_MS)
    page.get_by_label("Pad “fit” to the box with").check()
    expect(page.locator("#fig-size")).to_have_text("400×400", timeout=PREVIEW_TIMEOUT_MS)
    settled(page)
    screenshot("tuning-fit-padded")
    assert csp_violations == []


def test_transparent_palette_entries_show_a_checkerboard(page, live_server, alice, corpus_image):
    log_in(page, live_server.url)
    page.set_input_files("#file-input", str(corpus_image("alpha/noto_emoji_u1f600_grinning_face.png")))
    expect(page.locator("#tuning")).to_be_visible()
    settled(page)
    codes = page.locator("#preview-palette code").all_inner_texts()
    clear = [i for i, code in enumerate(codes) if code.lower().endswith("00") and len(code) == 9]
    assert clear, codes  # the emoji's background
    swatch = page.locator("#preview-palette .swatch svg").nth(clear[0])
    assert swatch.locator("rect").count() == 3  # the checkerboard alone: nothing drawn over it
    opaque = [i for i, code in enumerate(codes) if len(code) == 7 or code.lower().endswith("ff")]
    assert page.locator("#preview-palette .swatch svg").nth(opaque[0]).locator("rect").count() == 1
