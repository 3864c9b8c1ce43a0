"""The fixes of issue 6's web-security findings: CSP, login lockout, client IPs, download names,
the public health answer."""

import base64
import re
import zipfile
from io import BytesIO

import pytest
from django.test import Client

from compression import services
from compression.models import Upload

from .conftest import PASSWORD, named, png_bytes, token_client
from .test_web_security import csp_directives, manage

pytestmark = pytest.mark.django_db

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
