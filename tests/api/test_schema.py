"""The OpenAPI schema validates, the docs work offline, and a bounded schemathesis run finds no 5xx."""

import re
import time

import pytest
import schemathesis
from schemathesis import GenerationMode
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from accounts.tokens import token_create
from compression import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/jobs/", "/api/uploads/", "/api/compress-direct:", "/api/health:", "/api/jobs/zip/", "/api/auth/tokens/"):
        assert path in text


def test_schema_is_served_publicly(anon_api):
    response = anon_api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_every_operation_documents_the_503_of_a_database_outage(anon_api):
    schema = anon_api.get("/api/schema/?format=json").json()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) > 20
    for path, method, operation in operations:
        assert "503" in operation["responses"], (method, path)
    jobs_503 = schema["paths"]["/api/jobs/"]["post"]["responses"]["503"]
    assert "Retry-After" in jobs_503["headers"] and "database" in jobs_503["description"]
    # /api/health keeps its own 503 (the health report).
    assert "content" in schema["paths"]["/api/health"]["get"]["responses"]["503"]


@pytest.mark.parametrize("url", ["/api/docs/"])
def test_docs_load_no_asset_from_a_cdn(anon_api, url):
    html = anon_api.get(url).content.decode()
    assert "sidecar" in html
    external = [src for src in re.findall(r'(?:src|href)="([^"]+)"', html) if src.startswith(("http:", "https:", "//"))]
    assert external == []
    assert "cdn.jsdelivr" not in html


def test_browsable_api_renders_upload_forms(alice_client):
    for url in ("/api/uploads/", "/api/compress-direct", "/api/jobs/", "/api/upload"):
        response = alice_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 405), url
        html = response.content.decode()
        assert 'enctype="multipart/form-data"' in html, url
        assert 'type="file"' in html, url


# --- schemathesis: every operation, generated valid and invalid input, as alice --------------

FUZZ_EXAMPLES = 10  # per operation: ~40 operations, about 20-40 s on a 2-core machine
FUZZ_BUDGET_SECONDS = 55  # hard bound per generation mode: both runs together stay under 120 s
STATUS_SEEN: list = []  # (method, path, status) of the last run, for debugging


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_fuzz_finds_no_server_error(settings, alice, small_photo_bytes, mode):
    """POSITIVE: inputs the schema allows; NEGATIVE: inputs it forbids (wrong types, missing
    required fields, out-of-range values), which must be 4xx, never 5xx."""
    from hypothesis.errors import Unsatisfiable

    from compressor_site.wsgi import application

    # Throttles and ?wait must not dominate a fuzz run; everything else is as configured.
    rates = {key: "100000/minute" for key in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    settings.API_MAX_WAIT_SECONDS = 1
    token = token_create(user=alice, name="fuzz")
    headers = {"Authorization": f"Token {token.key}"}
    upload = services.upload_create(owner=alice, file=small_photo_bytes, original_name="fuzz.png")
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 8})
    real_ids = {"job_id": str(job.id), "upload_id": str(upload.id), "token_id": str(token.token.id)}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    deadline = time.monotonic() + FUZZ_BUDGET_SECONDS
    failures, operations, calls_made = [], 0, 0
    STATUS_SEEN.clear()

    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() > deadline:
            break
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=FUZZ_EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck), derandomize=True, database=None,
        )
        def run(case):
            # As generated (random ids: mostly 404), then with alice's real ids so that bodies and
            # query strings reach the code behind the lookup. DELETE keeps the random ids.
            calls = [None]
            if case.path_parameters and case.method != "DELETE":
                calls.append({**case.path_parameters, **{k: v for k, v in real_ids.items() if k in case.path_parameters}})
            for path_parameters in calls:
                if path_parameters is not None:
                    case.path_parameters = path_parameters
                response = case.call(headers=headers)
                STATUS_SEEN.append((case.method, case.path, response.status_code))
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

        try:
            run()
        except Unsatisfiable:
            continue  # NEGATIVE: nothing in this operation can be made invalid (e.g. no parameters)

    calls_made = len(STATUS_SEEN)
    assert operations >= 30
    assert calls_made >= operations  # the run really sent requests
    assert failures == [], "\n".join(failures[:20])
    if mode == GenerationMode.NEGATIVE:
        assert any(400 <= status < 500 and status not in (401, 404) for _, _, status in STATUS_SEEN)




def test_every_endpoint_renders_in_the_browsable_api_and_answers_options_and_head(alice_client, alice_job):
    from django.urls import get_resolver

    ids = {"job_id": alice_job["id"], "upload_id": alice_job["upload_id"]}
    urls = []
    for entry in get_resolver().url_patterns:
        if str(entry.pattern) == "api/":
            for route in entry.url_patterns:
                text = str(route.pattern)
                if text.startswith("^"):  # palette.<format> (rendered as files, not HTML)
                    continue
                urls.append("/api/" + text.replace("<uuid:job_id>", ids["job_id"]).replace("<uuid:upload_id>", ids["upload_id"]).replace("<uuid:token_id>", ids["job_id"]))
    assert len(urls) > 30
    for url in urls:
        response = alice_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code < 500, url
        if response.status_code in (200, 405) and response["Content-Type"].startswith("text/html") and "/download" not in url and "zip" not in url:
            assert "<html" in response.content.decode().lower(), url
        assert alice_client.options(url).status_code < 500, url
        assert alice_client.head(url).status_code < 500, url
