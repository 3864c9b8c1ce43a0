"""Web security: deploy checks, CSRF on session writes, CSP, safe downloads, login rate limiting."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from compression import services
from compression.models import CompressionJob, Upload

from .conftest import PASSWORD, fetch, named, png_bytes, token_client

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]

# The production environment of docs/deploy.md ("For production on one machine ... Then check").
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "img.example.com",
    "BEHIND_TLS_PROXY": "true",
    "SECURE_COOKIES": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
}


def manage(*args, env):
    # tests/conftest.py sets DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests; production does not.
    skip = {*PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY_FILE", "DATABASE_URL", "S3_BUCKET"}
    clean = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_environment():
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


@pytest.mark.parametrize("secret", ["", "short", "django-insecure-" + "x" * 60])
def test_a_real_secret_key_is_required(secret):
    run = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "SECRET_KEY": secret})
    assert run.returncode != 0, run.stdout
    assert "SECRET_KEY" in run.stdout + run.stderr


@pytest.mark.parametrize("missing", ["SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"])
def test_check_deploy_notices_a_missing_production_setting(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert run.returncode != 0, f"{missing} unset and check --deploy is still clean"


# --- CSRF on session-authenticated writes -------------------------------------------------------


@pytest.fixture
def objects(alice):
    upload = services.upload_create(owner=alice, file=png_bytes(seed=31), original_name="csrf.png")
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 4})
    from accounts.tokens import token_create

    token = token_create(user=alice, name="csrf").token
    return {"job": job.id, "upload": upload.id, "token": token.id}


@pytest.fixture
def csrf_alice(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def session_writes(o):
    """(method, url, data, multipart) of every session-authenticated write, API and dashboard."""
    return [
        ("post", "/api/uploads/", {"file": named(png_bytes(seed=32), "x.png")}, True),
        ("post", "/api/upload", {"image": named(png_bytes(seed=33), "x.png")}, True),
        ("post", "/api/compress-direct", {"image": named(png_bytes(seed=34), "x.png")}, True),
        ("post", "/api/jobs/", {"upload_id": str(o["upload"])}, False),
        ("post", "/api/jobs/batch/", {"upload_ids": [str(o["upload"])]}, False),
        ("post", "/api/jobs/zip/", {"ids": [str(o["job"])]}, False),
        ("post", "/api/compress", {"image_id": str(o["upload"])}, False),
        ("post", "/api/compress-advanced", {"image_id": str(o["upload"])}, False),
        ("post", f"/api/jobs/{o['job']}/rerun/", {}, False),
        ("post", f"/api/jobs/{o['job']}/cancel/", {}, False),
        ("delete", f"/api/jobs/{o['job']}/", None, False),
        ("delete", f"/api/uploads/{o['upload']}/", None, False),
        ("post", "/api/auth/tokens/", {"name": "x"}, False),
        ("delete", f"/api/auth/tokens/{o['token']}/", None, False),
        ("post", "/dashboard/upload/", {"file": named(png_bytes(seed=35), "x.png"), "n_colors": "4"}, True),
        ("post", f"/jobs/{o['job']}/cancel/", {}, True),
        ("post", f"/jobs/{o['job']}/rerun/", {"n_colors": "8"}, True),
        ("post", f"/jobs/{o['job']}/delete/", {}, True),
        ("post", "/history/bulk/", {"ids": [str(o["job"])]}, True),
        ("post", "/tokens/", {"name": "x"}, True),
        ("post", f"/tokens/{o['token']}/revoke/", {}, True),
        ("post", "/account/password/", {"old_password": PASSWORD, "new_password1": "n3w-Passw0rd-long", "new_password2": "n3w-Passw0rd-long"}, True),
        ("post", "/logout/", {}, True),
    ]


def test_every_session_write_needs_the_csrf_token(csrf_alice, objects, alice):
    from accounts.models import ApiToken

    for method, url, data, multipart in session_writes(objects):
        if data is None:
            response = getattr(csrf_alice, method)(url)
        elif multipart:
            response = getattr(csrf_alice, method)(url, data)
        else:
            response = getattr(csrf_alice, method)(url, data, content_type="application/json")
        assert response.status_code == 403, (method, url, response.status_code)
        assert b"CSRF" in response.content, (url, response.content[:200])
    # Nothing changed.
    assert Upload.objects.count() == 1 and CompressionJob.objects.count() == 1
    assert CompressionJob.objects.get().status == "succeeded"
    assert ApiToken.objects.filter(user=alice).count() == 1
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_write_with_the_csrf_token_goes_through(csrf_alice, objects):
    """Control: the 403s above are CSRF, not something else."""
    csrf_alice.get("/dashboard/")
    token = csrf_alice.cookies["csrftoken"].value
    response = csrf_alice.post("/api/auth/tokens/", {"name": "with-token"}, content_type="application/json",
                               HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_token_clients_need_no_csrf_token(alice, objects):
    api = token_client(alice)
    api.enforce_csrf_checks = True
    assert api.post("/api/auth/tokens/", {"name": "script"}, format="json").status_code == 201


def test_login_form_needs_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


# --- Content-Security-Policy ---------------------------------------------------------------------

DASHBOARD_PAGES = ["/", "/login/", "/signup/", "/dashboard/", "/history/", "/tokens/", "/account/password/"]


def csp_directives(header: str) -> dict:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def test_dashboard_pages_send_a_strict_csp(alice_client, objects):
    pages = DASHBOARD_PAGES + [f"/jobs/{objects['job']}/"]
    for url in pages:
        # The login and signup pages redirect a signed-in user to the dashboard: fetch them anonymously.
        response = (Client() if url in ("/login/", "/signup/") else alice_client).get(url)
        assert response.status_code == 200, url
        header = response.get("Content-Security-Policy", "")
        assert header, f"{url}: no Content-Security-Policy"
        directives = csp_directives(header)
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts is not None, header
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts, header
        assert directives.get("object-src") == ["'none'"] or directives.get("default-src") == ["'none'"], header
        assert "frame-ancestors" in directives, header
        assert directives.get("base-uri") in (["'none'"], ["'self'"]), header


def test_dashboard_templates_have_no_inline_script_or_handlers(alice_client, objects):
    """What a strict CSP will need: every script is an external file; no on*= handlers."""
    import re

    for url in DASHBOARD_PAGES + [f"/jobs/{objects['job']}/"]:
        html = alice_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url


# --- downloads --------------------------------------------------------------------------------------


def test_downloads_are_attachments_with_nosniff(alice, alice_client, objects):
    api = token_client(alice)
    for client, url in [
        (api, f"/api/jobs/{objects['job']}/download/"),
        (api, f"/api/download/{objects['job']}"),
        (api, f"/api/uploads/{objects['upload']}/download/"),
        (api, f"/api/jobs/zip/?ids={objects['job']}"),
        (api, f"/api/jobs/{objects['job']}/palette.css"),
        (api, f"/api/jobs/{objects['job']}/palette.gpl"),
        (alice_client, f"/jobs/{objects['job']}/download/"),
    ]:
        response = fetch(client, url)
        assert response.status_code == 200, url
        assert response["Content-Disposition"].startswith("attachment"), (url, response.get("Content-Disposition"))
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert not response["Content-Type"].startswith(("text/html", "application/xhtml", "image/svg")), url


def test_inline_previews_are_images_with_nosniff(alice, alice_client, objects):
    api = token_client(alice)
    for client, url in [
        (alice_client, f"/jobs/{objects['job']}/image/original/"),
        (alice_client, f"/jobs/{objects['job']}/image/result/"),
        (api, f"/api/download/{objects['job']}?inline=1"),
    ]:
        response = fetch(client, url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("image/"), (url, response["Content-Type"])
        assert response["X-Content-Type-Options"] == "nosniff", url


def test_html_page_named_jpg_is_never_stored_or_served_as_html(alice, alice_client, corpus_image, settings):
    html = corpus_image("bad/html_named.jpg").read_bytes()
    api = token_client(alice)
    for path, field in [("/api/uploads/", "file"), ("/api/upload", "image"), ("/api/compress-direct", "image"), ("/api/jobs/", "file")]:
        response = api.post(path, {field: named(html, "html_named.jpg")}, format="multipart")
        assert response.status_code in (400, 415)
        assert not response["Content-Type"].startswith("text/html")
    response = alice_client.post("/dashboard/upload/", {"file": named(html, "html_named.jpg"), "n_colors": "4"})
    assert response.status_code == 415  # as the API: a file we cannot decode
    assert Upload.objects.count() == 0


def test_a_polyglot_image_with_html_is_served_as_an_image(alice, alice_client):
    """A real PNG with an HTML page appended is accepted (it is an image), but only ever served as
    image/png with nosniff, named by the platform (.png), never as text/html."""
    polyglot = png_bytes(seed=36) + b"<html><script>alert(document.cookie)</script></html>"
    api = token_client(alice)
    response = api.post("/api/uploads/", {"file": named(polyglot, "evil.html")}, format="multipart")
    assert response.status_code == 201
    upload = Upload.objects.get()
    assert upload.file.name.endswith(".png")
    for client, url in [(api, f"/api/uploads/{upload.id}/download/")]:
        response = fetch(client, url)
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert ".html" not in response["Content-Disposition"], response["Content-Disposition"]


# --- password guessing -----------------------------------------------------------------------------

GUESSES = 30


def test_api_token_endpoint_is_throttled_against_password_guessing(alice):
    client = Client()
    codes = [client.post("/api/auth/token/", {"username": "alice", "password": f"guess{i}"},
                         content_type="application/json").status_code for i in range(GUESSES)]
    assert 429 in codes, codes
    assert codes.index(429) <= 11, codes
    # Not even the right password gets through while throttled.
    right = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert right.status_code == 429


def test_dashboard_login_is_rate_limited(alice):
    client = Client()
    codes, locked = [], False
    for i in range(GUESSES):
        response = client.post("/login/", {"username": "alice", "password": f"guess{i}"})
        codes.append(response.status_code)
        if response.status_code == 429 or b"too many" in response.content.lower():
            locked = True
            break
    assert locked, codes
    right = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert right.status_code in (200, 429) and "_auth_user_id" not in client.session


def test_http_basic_is_rate_limited_against_password_guessing(alice):
    import base64

    client = Client()
    codes = []
    for i in range(GUESSES):
        credentials = base64.b64encode(f"alice:guess{i}".encode()).decode()
        codes.append(client.get("/api/usage/", HTTP_AUTHORIZATION=f"Basic {credentials}").status_code)
    assert 429 in codes, codes


def test_admin_login_is_rate_limited(alice):
    client = Client()
    codes = []
    for i in range(GUESSES):
        response = client.post("/admin/login/", {"username": "alice", "password": f"guess{i}"})
        codes.append(response.status_code)
        if response.status_code == 429 or b"too many" in response.content.lower():
            break
    assert 429 in codes or len(codes) < GUESSES, codes


def test_token_endpoint_throttle_cannot_be_bypassed_with_x_forwarded_for(alice):
    """The client chooses X-Forwarded-For; it must not choose its throttle bucket (DRF NUM_PROXIES)."""
    client = Client()
    codes = [
        client.post("/api/auth/token/", {"username": "alice", "password": f"guess{i}"}, content_type="application/json",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(GUESSES)
    ]
    assert 429 in codes, codes


def test_anonymous_throttle_cannot_be_bypassed_with_x_forwarded_for(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = Client()
    codes = [client.get("/api/docs/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(12)]
    control = [Client().get("/api/docs/").status_code for _ in range(8)]
    assert 429 in control, control  
    assert 429 in codes, codes
