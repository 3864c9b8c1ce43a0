"""Every page at 375 px (a small phone): nothing wider than the screen, nothing behind a sideways
scroll. The history table and the tokens table become stacked cards there (static/css/app.css)."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SMALL_PHONE = {"width": 375, "height": 740}

# Visible elements whose box ends past the viewport's right edge, or that scroll sideways
# (overflow auto/scroll with more content than width): what a person would have to swipe to see.
OVERFLOW_REPORT = """() => {
  const width = window.innerWidth, found = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) continue;  // hidden, or visually-hidden text
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    if (rect.right > width + 0.5) found.push(name(el) + " ends at " + Math.round(rect.right));
    if (/(auto|scroll)/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      found.push(name(el) + " scrolls sideways: " + el.scrollWidth + " > " + el.clientWidth);
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, found: found.slice(0, 12)};
}"""


def finished_jobs(owner, count):
    from compression import services
    from tests.helpers import png_bytes

    jobs = []
    for seed in range(count):
        upload = services.upload_create(owner=owner, file=png_bytes(seed=seed),
                                        original_name=f"a-rather-long-holiday-photo-name-{seed}.png")
        jobs.append(services.job_create(owner=owner, upload=upload, options={"n_colors": 4}))
    return jobs


def assert_fits(page, label):
    report = page.evaluate(OVERFLOW_REPORT)
    assert report["scrollWidth"] <= report["innerWidth"], (label, report)
    assert report["found"] == [], (label, report)


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('button[type="submit"]').first.click()
    expect(page).to_have_url(f"{base}/dashboard/")


def test_every_page_fits_a_375_px_screen(page, live_server, alice):
    from accounts.tokens import token_create

    base = live_server.url
    page.set_viewport_size(SMALL_PHONE)
    for path in ("/", "/login/", "/signup/", "/no-such-page/"):
        page.goto(base + path)
        assert_fits(page, path)

    jobs = finished_jobs(alice, 3)
    token_create(user=alice, name="deploy script on the build server")
    log_in(page, base, "alice")
    pages = ["/dashboard/", "/history/", "/tokens/", "/account/password/", f"/jobs/{jobs[0].id}/",
             "/history/?date_from=2026-11-30&date_to=2026-11-01"]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")  # the size-vs-K chart is drawn after a fetch
        assert_fits(page, path)

    # Stacked, the history rows still show what the table's columns say, within the screen.
    page.goto(base + "/history/")
    row = page.locator("table.data tbody tr").first
    for label in ("Status", "Size"):
        cell = row.locator(f'td[data-label="{label}"]')
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SMALL_PHONE["width"], label
    page.goto(base + "/tokens/")
    revoke = page.get_by_role("button", name="Revoke")
    expect(revoke).to_be_visible()
    box = revoke.bounding_box()
    assert box["x"] + box["width"] <= SMALL_PHONE["width"]

    # The pages as they answer a form: a new token's key, and a re-run refused beside its field
    # (the form posts as a plain form, script on, and comes back with what was typed).
    page.get_by_label("Name").fill("phone")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-key")).to_be_visible()
    assert_fits(page, "/tokens/ with a new key")
    page.goto(f"{base}/jobs/{jobs[0].id}/")
    page.get_by_label("Colours (K)").fill("300")
    page.get_by_role("button", name="Re-run").click()
    error = page.locator("#rerun_n_colors_error")
    expect(error).to_contain_text("Colours (K):")
    expect(page.get_by_label("Colours (K)")).to_have_value("300")
    assert_fits(page, "a job with a refused re-run")
