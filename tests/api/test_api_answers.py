"""What a new user of the API meets: a browsable root, JSON 404s, and a 400 naming the field for
unknown sort keys and formats, conflicting options, ids of the wrong type, non-ASCII digits and
JSON too deep or too large to parse."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_root_lists_the_endpoints_and_is_browsable(anon_api, client):
    body = anon_api.get("/api/").json()
    for name in ("jobs", "uploads", "health", "schema", "docs", "compress_direct", "presets"):
        assert body[name].startswith("http://testserver/api/"), name
    page = client.get("/api/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/jobs/not-a-uuid/", "/api/uploads/123/", "/api/nothing-here", "/api/jobs/zip/x/y"])
def test_unknown_api_paths_are_a_json_404(alice_api, path):
    response = alice_api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "/api/" in response.json()["detail"]


def test_a_missing_trailing_slash_keeps_the_method(alice_api):
    response = alice_api.post("/api/jobs?wait=0", {}, format="json")
    assert response.status_code == 308 and response["Location"] == "/api/jobs/?wait=0"


@pytest.mark.parametrize("url, field", [
    ("/api/jobs/?ordering=bogus", "ordering"),
    ("/api/jobs/?ordering=-created_at,owner__password", "ordering"),
    ("/api/uploads/?ordering=sha256", "ordering"),
    ("/api/jobs/?format=xml", "format"),
])
def test_unknown_sort_keys_and_formats_are_a_400_naming_the_field(alice_api, url, field):
    response = alice_api.get(url)
    assert response.status_code == 400 and field in response.json(), response.content


def test_an_unknown_palette_format_is_a_400(alice_api, alice_job):
    response = alice_api.get(f"/api/jobs/{alice_job['id']}/palette/?format=xml")
    assert response.status_code == 400 and "css" in response.json()["format"][0]


@pytest.mark.parametrize("body, field", [
    ({"upload_id": 5}, "upload_id"),
    ({"upload_id": ["x"]}, "upload_id"),
    ({"scale_percent": 50, "width": 100}, "scale_percent"),
    ({"n_colors": "٣"}, "n_colors"),
    ({"n_colors": "１６"}, "n_colors"),
    ({"width": "1٠٠"}, "width"),
])
def test_wrong_types_and_conflicts_are_a_400_naming_the_field(alice_api, alice_upload, body, field):
    data = {"upload_id": alice_upload["id"], **body}
    response = alice_api.post("/api/jobs/", data, format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_classic_ids_of_the_wrong_type_are_a_400(alice_api):
    response = alice_api.post("/api/compress", {"image_id": 5}, format="json")
    assert response.status_code == 400 and "image_id" in response.json()["errors"]


def test_deeply_nested_json_is_a_400_not_a_500(anon_api):
    anon_api.raise_request_exception = False
    depth = 200_000
    response = anon_api.post("/api/auth/token/", data="[" * depth + "]" * depth, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_huge_json_is_a_413(alice_api):
    response = alice_api.post("/api/jobs/", data='{"x": "' + "a" * (2 * 1024 * 1024) + '"}', content_type="application/json")
    assert response.status_code == 413


def test_the_schema_reads_in_a_browser_and_downloads_for_tools(client):
    page = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "openapi: 3." in page.content.decode() and "<script" not in page.content.decode()
    tool = client.get("/api/schema/", HTTP_ACCEPT="*/*")
    assert tool["Content-Type"].startswith("application/vnd.oai.openapi")


def test_an_inverted_time_window_is_a_400(alice_api):
    response = alice_api.get("/api/jobs/?created_after=2026-12-02T00:00:00Z&created_before=2026-12-01T00:00:00Z")
    assert response.status_code == 400 and "created_before" in response.json()
    assert alice_api.get("/api/jobs/?created_after=2026-12-01T00:00:00Z&created_before=2026-12-02T00:00:00Z").status_code == 200
