"""Web security: deploy checks, CSRF on session writes, CSP, safe downloads, login rate limiting,
client IPs, download names and the public health answer."""

import base64
import os
import re
import secrets
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from django.test import Client

from compression import services
from compression.models import CompressionJob, Upload
from tests.conftest import PASSWORD
from tests.helpers import fetch, named, png_bytes, token_client

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


# --- the fixes of issue 6's findings ---------------------------------------------------------------

STRICT = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"], "connect-src": ["'self'"], "object-src": ["'none'"],
    "base-uri": ["'self'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"],
}


def inline_scripts(html: str) -> list[str]:
    """Executable <script> elements without src (JSON data blocks are not executed)."""
    found = []
    for attrs in re.findall(r"<script\b([^>]*)>", html, flags=re.I):
        if "src=" in attrs:
            continue
        kind = re.search(r'type="([^"]+)"', attrs)
        if kind and kind.group(1) not in ("text/javascript", "module", "application/javascript"):
            continue
        found.append(attrs)
    return found


# --- Content-Security-Policy ---------------------------------------------------------------------


def test_dashboard_csp_is_exactly_the_strict_policy(alice_client):
    for url in ("/dashboard/", "/history/"):
        assert csp_directives(alice_client.get(url)["Content-Security-Policy"]) == STRICT
    assert csp_directives(Client().get("/login/")["Content-Security-Policy"]) == STRICT


def test_admin_renders_under_the_strict_policy_with_no_inline_script(alice, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    login = client.get("/admin/login/")
    assert login.status_code == 200 and csp_directives(login["Content-Security-Policy"]) == STRICT
    assert inline_scripts(login.content.decode()) == []
    client.force_login(admin_user)
    for url in ("/admin/", "/admin/compression/compressionjob/", "/admin/auth/user/", f"/admin/auth/user/{alice.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert csp_directives(response["Content-Security-Policy"]) == STRICT, url
        assert inline_scripts(response.content.decode()) == [], url


def test_browsable_api_has_no_inline_script_and_only_its_styles_are_relaxed(alice_client):
    for url in ("/api/jobs/", "/api/uploads/", "/api/usage/", "/api/compress-direct", f"/api/jobs/{'0' * 8}-0000-0000-0000-{'0' * 12}/palette/"):
        response = alice_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 404, 405), url
        assert csp_directives(response["Content-Security-Policy"]) == {**STRICT, "style-src": ["'self'", "'unsafe-inline'"]}, url
        assert inline_scripts(response.content.decode()) == [], url
    # The JSON answers of the same views keep the strict policy.
    assert csp_directives(alice_client.get("/api/jobs/")["Content-Security-Policy"]) == STRICT


def test_swagger_ui_has_no_inline_script_and_only_its_styles_are_relaxed():
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    policy = csp_directives(page["Content-Security-Policy"])
    assert policy == {**STRICT, "style-src": ["'self'", "'unsafe-inline'"]}
    html = page.content.decode()
    assert inline_scripts(html) == []
    # Its start-up script is a same-origin request of its own (drf-spectacular's split view).
    script_url = re.search(r'<script src="([^"]*\?[^"]*script[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


# --- login rate limiting ---------------------------------------------------------------------------


@pytest.fixture
def limits(settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return settings


def test_dashboard_lockout_says_when_to_retry_and_refuses_the_right_password(alice, limits):
    client = Client()
    codes = [client.post("/login/", {"username": "alice", "password": f"guess{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts; try again in 10 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_from_any_ip(alice, limits):
    for i in range(3):
        Client(REMOTE_ADDR=f"192.0.2.{i}").post("/login/", {"username": "alice", "password": f"guess{i}"})
    assert Client(REMOTE_ADDR="192.0.2.99").post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429


def test_lockout_is_per_ip_for_any_username(alice, bob, limits):
    client = Client(REMOTE_ADDR="192.0.2.7")
    for i in range(3):
        client.post("/login/", {"username": f"nobody{i}", "password": "x"})
    assert client.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 429
    # Another client IP is not affected.
    other = Client(REMOTE_ADDR="192.0.2.8")
    assert other.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_a_success_clears_the_usernames_failures(alice, limits):
    client = Client()
    for i in range(2):
        client.post("/login/", {"username": "alice", "password": f"guess{i}"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    # Two more failures from elsewhere: the count started again, so no lockout yet.
    for i in range(2):
        Client(REMOTE_ADDR="192.0.2.50").post("/login/", {"username": "alice", "password": f"again{i}"})
    assert Client(REMOTE_ADDR="192.0.2.51").post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_the_lockout_ends_after_the_window(alice, limits, monkeypatch):
    import time as real_time

    from accounts import login_guard

    client = Client()
    for i in range(3):
        client.post("/login/", {"username": "alice", "password": f"guess{i}"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    later = real_time.time() + 601
    monkeypatch.setattr(login_guard.time, "time", lambda: later)
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_x_forwarded_for_is_ignored_unless_behind_the_proxy(alice, limits):
    for i in range(3):  # a client rotating X-Forwarded-For is still one IP
        Client().post("/login/", {"username": f"nobody{i}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="198.51.100.200").status_code == 429


def test_behind_the_proxy_the_last_forwarded_hop_is_the_client(alice, limits):
    from accounts.login_guard import client_ip

    limits.BEHIND_TLS_PROXY = True
    for i in range(3):  # the client's own (spoofable) entries come first; the proxy appends the real one
        Client().post("/login/", {"username": f"nobody{i}", "password": "x"},
                      HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.5")
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302

    class Request:
        META = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2"}

    assert client_ip(Request) == "2.2.2.2"
    limits.BEHIND_TLS_PROXY = False
    assert client_ip(Request) == "127.0.0.1"


def test_admin_login_answers_429_while_locked(alice, limits):
    client = Client()
    codes = [client.post("/admin/login/", {"username": "alice", "password": f"guess{i}"}).status_code for i in range(4)]
    assert codes[-1] == 429 and b"Too many failed attempts" in client.post(
        "/admin/login/", {"username": "alice", "password": PASSWORD}).content


def test_http_basic_lockout_is_429_with_retry_after_and_right_password_refused(alice, limits):
    def basic(password):
        credentials = base64.b64encode(f"alice:{password}".encode()).decode()
        return Client().get("/api/usage/", HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert basic(PASSWORD).status_code == 200
    codes = [basic(f"guess{i}").status_code for i in range(3)]
    assert codes == [401, 401, 429]
    locked = basic(PASSWORD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 500
    assert "Too many failed attempts" in locked.json()["detail"]


def test_token_endpoint_shares_the_lockout(alice, limits):
    for i in range(3):
        credentials = base64.b64encode(f"alice:guess{i}".encode()).decode()
        Client().get("/api/usage/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    response = Client().post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert response.status_code == 429


def test_login_limits_come_from_the_environment():
    run = manage("shell", "-c", "from django.conf import settings as s; print(s.LOGIN_MAX_FAILURES, s.LOGIN_LOCKOUT_SECONDS)",
                 env={"SECRET_KEY": "x" * 60, "LOGIN_MAX_FAILURES": "4", "LOGIN_LOCKOUT_SECONDS": "120"})
    assert run.stdout.strip().splitlines()[-1].split() == ["4", "120"], run.stdout + run.stderr


# --- client IP of the DRF throttles ------------------------------------------------------------------


@pytest.mark.parametrize(("behind", "expected"), [("false", "0"), ("true", "1")])
def test_drf_trusts_x_forwarded_for_only_behind_the_proxy(behind, expected):
    run = manage("shell", "-c", "from django.conf import settings as s; print(s.REST_FRAMEWORK['NUM_PROXIES'])",
                 env={"SECRET_KEY": "x" * 60, "BEHIND_TLS_PROXY": behind})
    assert run.stdout.strip().splitlines()[-1] == expected, run.stdout + run.stderr


# --- download names ----------------------------------------------------------------------------------


def test_every_download_is_named_with_the_detected_formats_extension(alice, alice_client):
    api = token_client(alice)
    response = api.post("/api/uploads/", {"file": named(png_bytes(seed=41), "evil.html")}, format="multipart")
    assert response.status_code == 201
    upload = Upload.objects.get()
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 4, "output_format": "gif"})
    names = {}
    for label, client, url in [
        ("upload", api, f"/api/uploads/{upload.id}/download/"),
        ("api job", api, f"/api/jobs/{job.id}/download/"),
        ("classic", api, f"/api/download/{job.id}"),
        ("dashboard", alice_client, f"/jobs/{job.id}/download/"),
        ("preview", alice_client, f"/jobs/{job.id}/image/original/"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, label
        names[label] = re.search(r'filename="([^"]+)"', response["Content-Disposition"]).group(1)
    assert names["upload"] == "evil.png"
    assert names["api job"] == f"evil-k4-{str(job.id)[:8]}.gif" and names["classic"] == names["api job"]
    assert names["dashboard"] == "evil-k4.gif"
    assert names["preview"] == "evil-k4.png"
    archive = api.get(f"/api/jobs/zip/?ids={job.id}")
    entries = zipfile.ZipFile(BytesIO(b"".join(archive.streaming_content))).namelist()
    assert entries == [names["api job"]]


# --- public health answer --------------------------------------------------------------------------------


def test_health_hides_internal_error_text(settings, tmp_path, caplog):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the media directory should be")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(blocked)}}}
    response = Client().get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["error"] == "storage unreachable"
    assert str(tmp_path) not in response.content.decode()
    assert any("storage" in record.getMessage() and record.exc_info for record in caplog.records)  # details: in the log


def test_health_probes_storage_at_most_once_per_few_seconds(settings, monkeypatch):
    from compression import health

    probes = []
    original = health.check_storage
    monkeypatch.setattr(health, "check_storage", lambda: probes.append(1) or original())
    monkeypatch.setattr(health, "_storage_probe_cache", {})
    first = Client().get("/api/health").json()["checks"]["storage"]
    second = Client().get("/api/health").json()["checks"]["storage"]
    assert len(probes) == 1
    assert first["ok"] and second["ok"] and second["cached"] is True
    monkeypatch.setattr(health, "HEALTH_STORAGE_CACHE_SECONDS", 0)
    Client().get("/api/health")
    assert len(probes) == 2


# --- request bodies before parsing ---------------------------------------------------------------------


def test_oversized_upload_is_413_before_csrf_reads_the_body(alice, settings, monkeypatch):
    """In production CsrfViewMiddleware reads the form body before any view: the limit comes first."""
    from django.http import multipartparser

    settings.MAX_UPLOAD_BYTES = 1000
    parsed = []
    original = multipartparser.MultiPartParser.parse
    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", lambda self: parsed.append(1) or original(self))
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url in ("/dashboard/upload/", "/tokens/"):
        response = client.post(url, {"file": named(b"\0" * 1_200_000, "huge.png"), "n_colors": "8"})
        assert response.status_code == 413, url
        assert "too large" in response.json()["error"]
    assert parsed == []


def test_unreadable_dashboard_upload_is_json_400_even_with_csrf_enforced(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/dashboard/upload/", {"file": named(png_bytes(seed=42), "A" * 10_000 + ".png"), "n_colors": "4"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json" and "could not be read" in response.json()["error"]


# --- security counters that cannot be evicted (issue 13) -------------------------------------------


def test_the_lockout_survives_a_cache_filled_and_flushed_by_others(alice, limits):
    from django.core.cache import cache

    for i in range(3):
        Client().post("/login/", {"username": "alice", "password": f"guess{i}"})
    for i in range(2_000):  # what another account's uploads and pages do to a shared cache
        cache.set(f"filler:{i}", i)
    cache.clear()
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429


def test_the_old_password_check_is_locked_out_like_a_login(alice, limits):
    client = Client()
    client.force_login(alice)
    new = {"new_password1": "a-new-long-passphrase-7", "new_password2": "a-new-long-passphrase-7"}
    for i in range(3):
        response = client.post("/account/password/", {"old_password": f"guess{i}", **new})
        assert response.status_code == 200 and "old_password" in response.context["form"].errors
    locked = client.post("/account/password/", {"old_password": PASSWORD, **new})
    assert locked.status_code == 429 and "Too many failed attempts" in locked.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # not changed while locked
    # The same counters as the log-in: the lockout holds there too.
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429


def test_signup_is_throttled_per_client_address(settings, django_user_model):
    settings.SIGNUP_MAX_PER_IP = 2

    def sign_up(name, address):
        data = {"username": name, "email": f"{name}@example.com",
                "password1": "a-long-unusual-passphrase-9", "password2": "a-long-unusual-passphrase-9"}
        return Client(REMOTE_ADDR=address).post("/signup/", data)

    assert sign_up("carol", "192.0.2.7").status_code == 302
    assert sign_up("dave", "192.0.2.7").status_code == 302
    refused = sign_up("erin", "192.0.2.7")
    assert refused.status_code == 429 and "Too many new accounts" in refused.content.decode()
    assert not django_user_model.objects.filter(username="erin").exists()
    assert sign_up("erin", "192.0.2.8").status_code == 302  # another address is not affected
