"""The pages the dashboard's browser tests do not cover, under the policy the server itself sends
(no route overlay): the admin (strict policy), DRF's browsable API and the Swagger UI (both relax
only style-src, to allow their inline styles). Any CSP violation shows in the browser console."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_csp(page):
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    return refused


def log_in(page, base, path, username):
    page.goto(f"{base}{path}")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('input[type="submit"], button[type="submit"]').first.click()


def test_swagger_ui_works_under_its_policy(page, live_server, console_csp):
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)  # the operations rendered
    page.locator(".opblock-summary").first.click()  # expand one operation
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert console_csp == []


def test_admin_works_under_the_strict_policy(page, live_server, django_user_model, alice, console_csp):
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    log_in(page, live_server.url, "/admin/login/", "root")
    expect(page.locator("#site-name")).to_be_visible()
    for path in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{alice.pk}/change/", "/admin/compression/compressionjob/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self';" in response.headers["content-security-policy"]
    assert console_csp == []


def finished_job(owner, **options):
    """A job run to completion by the immediate task backend (the transactional test commits)."""
    from compression import services
    from tests.helpers import png_bytes

    upload = services.upload_create(owner=owner, file=png_bytes(), original_name="alice-holiday.png")
    job = services.job_create(owner=owner, upload=upload, options={"n_colors": 4, **options})
    job.refresh_from_db()
    assert job.status == "succeeded" and job.thumbnail
    return job


def test_admin_job_and_upload_pages_show_palette_and_thumbnail_under_the_strict_policy(
    page, live_server, django_user_model, alice, console_csp, screenshot
):
    job = finished_job(alice)
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    log_in(page, live_server.url, "/admin/login/", "root")
    expect(page.locator("#site-name")).to_be_visible()
    pages = {
        "job list": "/admin/compression/compressionjob/",
        "job": f"/admin/compression/compressionjob/{job.pk}/change/",
        "upload list": "/admin/compression/upload/",
        "upload": f"/admin/compression/upload/{job.upload_id}/change/",
    }
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, name
        assert "style-src 'self';" in response.headers["content-security-policy"], name
        if name == "job list":
            expect(page.locator("td.field-file_name")).to_have_text("alice-holiday.png")
            assert page.locator("th.field-short_id").inner_text() == str(job.pk)[:8]
        if name == "job":
            swatches = page.locator(".kmc-palette .kmc-swatch")
            expect(swatches).to_have_count(job.n_colors_used)
            box = swatches.first.bounding_box()
            assert box and box["width"] >= 20 and box["height"] >= 20  # sized by admin.css, not an inline style
        if name != "upload list":  # every other page shows the stored thumbnail, and it loads
            image = page.locator("img.kmc-thumb, img.kmc-preview").first
            image.scroll_into_view_if_needed()  # loading="lazy"
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        screenshot("admin-" + name.replace(" ", "-"))
    favicon = page.goto(f"{live_server.url}/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert console_csp == []


def test_browsable_api_works_under_its_policy(page, live_server, alice, console_csp):
    log_in(page, live_server.url, "/login/", "alice")
    response = page.goto(f"{live_server.url}/api/jobs/")
    assert response.status == 200 and "script-src 'self';" in response.headers["content-security-policy"]
    expect(page.locator(".response-info")).to_be_visible()
    page.goto(f"{live_server.url}/api/uploads/")
    expect(page.locator('input[type="file"]').first).to_be_attached()
    assert console_csp == []
