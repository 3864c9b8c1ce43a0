"""Every URL that takes an object id: bob gets 404 on alice's objects, anonymous gets 401.

The list of URLs is checked against the URLconf, so a new id-taking route must be added here.
"""

import pytest
from django.urls import get_resolver

from compression.models import CompressionJob, Upload

pytestmark = pytest.mark.django_db(transaction=True)

# (method, url template, body); {job}, {upload}, {token} are alice's ids.
ID_URLS = [
    ("get", "/api/uploads/{upload}/", None),
    ("delete", "/api/uploads/{upload}/", None),
    ("get", "/api/uploads/{upload}/download/", None),
    ("get", "/api/jobs/{job}/", None),
    ("delete", "/api/jobs/{job}/", None),
    ("post", "/api/jobs/{job}/cancel/", None),
    ("post", "/api/jobs/{job}/rerun/", {}),
    ("get", "/api/jobs/{job}/download/", None),
    ("get", "/api/jobs/{job}/thumbnail/", None),
    ("get", "/api/jobs/{job}/palette/", None),
    ("get", "/api/jobs/{job}/palette.json", None),
    ("get", "/api/jobs/{job}/palette.css", None),
    ("get", "/api/jobs/{job}/palette.gpl", None),
    ("get", "/api/jobs/zip/?ids={job}", None),
    ("post", "/api/jobs/zip/", {"ids": ["{job}"]}),
    ("post", "/api/jobs/batch/", {"upload_ids": ["{upload}"]}),
    ("post", "/api/jobs/", {"upload_id": "{upload}"}),
    ("get", "/api/download/{job}", None),
    ("get", "/api/download/{job}/", None),
    ("post", "/api/compress", {"image_id": "{upload}"}),
    ("post", "/api/compress-advanced", {"image_id": "{upload}"}),
    ("get", "/api/auth/tokens/{token}/", None),
    ("delete", "/api/auth/tokens/{token}/", None),
]


@pytest.fixture
def alice_objects(alice_api, alice_job):
    token = alice_api.get("/api/auth/tokens/").json()["results"][0]["id"]
    return {"job": alice_job["id"], "upload": alice_job["upload_id"], "token": token}


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(client, method, url, body, ids):
    url = _fill(url, ids)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, _fill(body, ids), format="json")


@pytest.mark.parametrize(("method", "url", "body"), ID_URLS, ids=[f"{m} {u}" for m, u, _ in ID_URLS])
def test_bob_gets_404_on_alices_objects(bob_api, alice_objects, method, url, body):
    response = _call(bob_api, method, url, body, alice_objects)
    assert response.status_code == 404, response.content
    # Nothing of alice's was touched, and bob got nothing made from it.
    assert Upload.objects.filter(id=alice_objects["upload"]).exists()
    assert CompressionJob.objects.filter(id=alice_objects["job"], status="succeeded").exists()
    assert CompressionJob.objects.count() == 1


@pytest.mark.parametrize(("method", "url", "body"), ID_URLS, ids=[f"{m} {u}" for m, u, _ in ID_URLS])
def test_anonymous_gets_401_on_alices_objects(anon_api, alice_objects, method, url, body):
    assert _call(anon_api, method, url, body, alice_objects).status_code == 401


def test_every_id_route_is_covered():
    covered = {url.split("?")[0] for _, url, _ in ID_URLS}
    patterns = []

    def walk(resolver, prefix=""):
        for entry in resolver.url_patterns:
            if hasattr(entry, "url_patterns"):
                walk(entry, prefix + str(entry.pattern))
            else:
                patterns.append(prefix + str(entry.pattern))

    walk(get_resolver())
    id_routes = [p for p in patterns if p.startswith("api/") and ("<uuid:" in p or "(?P<job_id>" in p)]
    assert id_routes
    for route in id_routes:
        normalised = (
            "/" + route.replace("<uuid:upload_id>", "{upload}").replace("<uuid:job_id>", "{job}").replace("<uuid:token_id>", "{token}")
        )
        if "(?P<job_id>" in normalised:  # palette.<format>
            assert {"/api/jobs/{job}/palette.json", "/api/jobs/{job}/palette.css", "/api/jobs/{job}/palette.gpl"} <= covered
            continue
        assert normalised in covered, f"{route} is not in ID_URLS"
