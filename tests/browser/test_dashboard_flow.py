"""Issue 5's flow in a real browser: sign up, upload, K=8, live status, compare, download, history,
and another user who sees none of it. Screenshots of the main pages go to test-artifacts/."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from tests.helpers import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_MS = 90_000


def sign_up(page, base, username):
    page.goto(f"{base}/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.locator("#upload-form")).to_have_attribute("data-ready", "true")


def test_upload_compare_download_history_isolation(page, live_server, corpus_image, bob, screenshot, settings,
                                                   csp_violations):
    from compression import services
    from compression.models import CompressionJob

    # Jobs wait in the queue until this test runs them, as a worker would: the list must pick
    # up the change by polling.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    base = live_server.url
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("colours")
    screenshot("landing")
    page.goto(f"{base}/login/")
    screenshot("login")
    page.goto(f"{base}/signup/")
    screenshot("signup")

    sign_up(page, base, "erin")
    expect(page.locator("#jobs-empty")).to_be_visible()

    # Upload kodim23 with K=8; the page must not reload while the job runs.
    page.evaluate("window.__sameDocument = true")
    page.set_input_files("#file-input", str(corpus_image("photos/kodim23.png")))
    expect(page.locator("#file-list .file-item")).to_contain_text("kodim23.png")
    page.get_by_role("spinbutton", name="Colours (K)").fill("8")
    expect(page.locator('input[name="preset"][value="high_compression"]')).to_be_checked()
    page.get_by_role("button", name="Compress").click()
    row = page.locator("#job-list .job").first
    expect(row).to_contain_text("kodim23.png")
    expect(row.locator(".badge")).to_have_text(re.compile("Queued", re.I))
    expect(row.locator("progress")).to_be_visible()
    job = CompressionJob.objects.get(upload__original_name="kodim23.png")
    assert job.n_colors == 8
    services.job_run(job_id=job.id)
    expect(row.locator(".badge")).to_have_text(re.compile("Succeeded", re.I), timeout=JOB_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#file-list")).to_contain_text("Job created")
    screenshot("dashboard")

    # Re-run from the list with another K, then cancel the new (queued) job from the list.
    row.get_by_role("link", name="Re-run…").click()
    dialog = page.get_by_role("dialog", name="Re-run with changes")
    expect(dialog.get_by_label("Colours (K)")).to_have_value("8")
    dialog.get_by_label("Colours (K)").fill("4")
    dialog.get_by_role("button", name="Re-run").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#job-list .job")).to_have_count(2)
    rerun = page.locator("#job-list .job").first
    expect(rerun).to_contain_text("K=4")
    expect(rerun.locator(".badge")).to_have_text(re.compile("Queued", re.I))
    rerun.get_by_role("button", name="Cancel").click()
    expect(rerun.locator(".badge")).to_have_text(re.compile("Cancelled", re.I))
    assert CompressionJob.objects.get(n_colors=4).rerun_of_id == job.id
    assert page.evaluate("window.__sameDocument") is True
    row = page.locator("#job-list .job").nth(1)

    # Result view: drag the comparison divider, then nudge it with the keyboard.
    row.get_by_role("link", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job_url = page.url
    expect(page.locator("#compare")).to_have_attribute("data-ready", "true")
    handle = page.get_by_role("slider", name=re.compile("divider"))
    expect(handle).to_have_attribute("aria-valuenow", "50")
    compare = page.locator("#compare").bounding_box()
    start = handle.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(compare["x"] + compare["width"] * 0.2, start["y"] + start["height"] / 2, steps=8)
    page.mouse.up()
    dragged = int(handle.get_attribute("aria-valuenow"))
    assert 15 <= dragged <= 25, dragged
    handle.press("ArrowRight")
    assert int(handle.get_attribute("aria-valuenow")) == dragged + 1
    page.select_option("#zoom", "4")
    stages = page.locator(".compare-stage")
    assert "scale(4)" in stages.nth(0).get_attribute("style")
    assert stages.nth(0).get_attribute("style") == stages.nth(1).get_attribute("style")  # one zoom for both
    page.select_option("#zoom", "1")
    # Size vs K: the size and error charts, drawn by job_detail.js from size-curve.json.
    expect(page.locator("#size-curve svg")).to_have_count(2, timeout=30_000)
    expect(page.locator("#size-curve svg").first.locator("circle.dot")).to_have_count(9)  # 8 K + this job
    expect(page.locator("#size-curve svg").first.locator("circle.dot--current")).to_have_count(1)
    expect(page.locator("#size-curve-note")).to_contain_text("-px sample")  # 768x512 > the 512x512 preview
    expect(page.locator(".palette .swatch")).to_have_count(8)
    screenshot("job-detail")

    # Download: a palette PNG with at most 8 colours.
    with page.expect_download() as info:
        page.locator("#download-result").click()
    data = open(info.value.path(), "rb").read()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.mode == "P"
    assert len(image.getcolors(256)) <= 8

    # History after a reload.
    page.goto(f"{base}/history/")
    page.reload()
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    expect(page.locator("table.data")).to_contain_text("kodim23.png")
    thumb = page.locator("table.data img").first
    expect(thumb).to_have_attribute("src", re.compile(r"/jobs/[0-9a-f-]+/thumbnail/$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") == 256
    screenshot("history")
    page.locator('input[name="ids"]').nth(0).check()  # the cancelled re-run: left out of the ZIP
    page.locator('input[name="ids"]').nth(1).check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download selected as ZIP").click()
    import zipfile

    assert len(zipfile.ZipFile(info.value.path()).namelist()) == 1
    page.goto(f"{base}/tokens/")
    page.get_by_label("Name").fill("ci script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-key")).to_contain_text("kmc_")
    screenshot("tokens")

    # Another user sees none of it.
    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.locator("#upload-form")).to_have_attribute("data-ready", "true")
    expect(page.locator("#jobs-empty")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("kodim23")
    page.goto(f"{base}/history/")
    expect(page.locator("body")).not_to_contain_text("kodim23")
    response = page.goto(job_url)
    assert response.status == 404
    assert csp_violations == []


def test_client_side_checks_and_keyboard_crop(page, live_server, alice, tmp_path, screenshot, csp_violations):
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.locator("#upload-form")).to_have_attribute("data-ready", "true")

    # A non-image is refused before any upload.
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    page.set_input_files("#file-input", str(text))
    expect(page.locator("#file-list")).to_contain_text("Not an image")
    expect(page.get_by_role("button", name="Compress")).to_be_disabled()

    # Several images: one job each; a crop box is only offered for a single image.
    (tmp_path / "a.png").write_bytes(png_bytes(40, 30, seed=1))
    (tmp_path / "b.png").write_bytes(png_bytes(40, 30, seed=2))
    page.set_input_files("#file-input", [str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    expect(page.get_by_role("button", name="Compress all 2 images")).to_be_enabled()
    expect(page.locator("#crop-enabled")).to_be_disabled()

    # One image: the crop frame moves with the keyboard and the numbers follow.
    image = tmp_path / "small.png"
    image.write_bytes(png_bytes(200, 100))
    page.set_input_files("#file-input", str(image))
    expect(page.locator("#file-list .file-item")).to_have_count(1)  # the refused file is replaced
    page.get_by_label(re.compile("Crop")).check()
    box = page.locator("#crop-box")
    expect(box).to_be_visible()
    expect(page.locator("#id_crop_width")).to_have_value("160")
    x0 = int(page.locator("#id_crop_x").input_value())
    box.focus()
    box.press("ArrowLeft")
    assert int(page.locator("#id_crop_x").input_value()) == x0 - 2
    box.press("Shift+ArrowLeft")
    expect(page.locator("#id_crop_width")).to_have_value("158")

    # An invalid combination is explained before submission.
    page.locator("summary", has_text="Dimensions").click()
    page.select_option("#id_resize_mode", "fill")
    page.locator("#id_width").fill("100")
    page.get_by_role("button", name="Compress").click()
    expect(page.locator("#form-errors")).to_contain_text("needs both a width and a height")
    expect(page.locator("#id_height")).to_have_attribute("aria-invalid", "true")
    screenshot("dashboard-crop-and-errors")
    expect(page.locator("#job-list .job")).to_have_count(0)

    # Fixed, it goes through, and the comparison shows the cropped region of the original.
    page.select_option("#id_resize_mode", "")
    page.locator("#id_width").fill("")
    page.get_by_role("button", name="Compress").click()
    row = page.locator("#job-list .job").first
    expect(row.locator(".badge")).to_have_text(re.compile("Succeeded", re.I), timeout=JOB_TIMEOUT_MS)
    from compression.models import CompressionJob

    job = CompressionJob.objects.get()
    assert (job.crop_x, job.crop_width, job.crop_height) == (x0 - 2, 158, 80)
    row.get_by_role("link", name="Compare").click()
    expect(page.locator("#compare")).to_have_attribute("data-before", re.compile(r"^-\d"))
    screenshot("job-detail-cropped")
    assert csp_violations == []

    # The phone menu opens from its button.
    page.set_viewport_size({"width": 390, "height": 844})
    history = page.locator("#nav-list").get_by_role("link", name="History", exact=True)
    expect(history).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(history).to_be_visible()
