"""Every URL pattern that takes an object id, walked from the URLconf: bob gets 404 on alice's
objects, an anonymous client 401 (API) or a redirect to the login page (dashboard, admin).

Routes are found by construction: every pattern with a kwarg is listed from
django.urls.get_resolver(), and each kwarg must be in KWARG_VALUES (or be an admin route, which
must be in ADMIN_OBJECTS). A new id-taking route with an unknown kwarg fails the completeness test.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from compression import services
from compression.models import CompressionJob, Upload
from tests.helpers import png_bytes, token_client

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "delete")
# kwarg -> which of alice's objects fills it (a key of the alice_objects fixture), or fixed values.
KWARG_VALUES = {
    "job_id": "job",
    "upload_id": "upload",
    "token_id": "token",
    "kind": ["original", "result"],  # /jobs/<id>/image/<kind>/
    "format": ["json", "css", "gpl"],  # /api/jobs/<id>/palette.<format>
}
# Admin routes (staff only): model path -> alice's object filling object_id (None: not user data).
ADMIN_OBJECTS = {
    "compression/compressionjob": "job",
    "compression/upload": "upload",
    "accounts/apitoken": "token",
    "auth/user": "user",
    "auth/group": None,
    "django_tasks_database/dbtaskresult": None,
}
# Endpoints that take alice's ids in the query or body rather than the path.
ID_IN_BODY = [
    ("get", "/api/jobs/zip/?ids={job}", None),
    ("post", "/api/jobs/zip/", {"ids": ["{job}"]}),
    ("post", "/api/jobs/batch/", {"upload_ids": ["{upload}"]}),
    ("post", "/api/jobs/", {"upload_id": "{upload}"}),
    ("post", "/api/compress", {"image_id": "{upload}"}),
    ("post", "/api/compress-advanced", {"image_id": "{upload}"}),
    ("get", "/api/jobs/?upload={upload}", None),
]


def walk(resolver=None, prefix="", namespace=""):
    """(route text, URLPattern, namespace) of every pattern, nested includes flattened."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def id_routes():
    return [(route, pattern, ns) for route, pattern, ns in walk() if pattern.pattern.regex.groupindex]


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


def admin_model(route: str) -> str | None:
    match = re.match(r"admin/(\w+/\w+)/", route)
    return match.group(1) if match else None


def user_routes():
    """Non-admin id-taking routes: (route, pattern, namespace)."""
    return [r for r in id_routes() if not is_admin(r[0])]


def fill_route(route: str, values: dict) -> str:
    """Put values into a route's converters or regex groups, by kwarg name."""

    def sub(match):
        return str(values[match.group("name")])

    text = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", sub, route)  # regex groups first
    text = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", sub, text)
    text = text.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + text


def urls_for(route: str, pattern, objects: dict) -> list[str]:
    kwargs = list(pattern.pattern.regex.groupindex)
    combos = [{}]
    for name in kwargs:
        source = KWARG_VALUES[name]
        options = source if isinstance(source, list) else [objects[source]]
        combos = [{**c, name: v} for c in combos for v in options]
    return [fill_route(route, combo) for combo in combos]


@pytest.fixture
def alice_objects(alice, settings):
    """Alice's upload, a succeeded job with a result, and an API token."""
    from accounts.tokens import token_create

    upload = services.upload_create(owner=alice, file=png_bytes(seed=21), original_name="alice.png")
    job = services.job_compress_now(owner=alice, upload=upload, options={"n_colors": 4})
    assert job.status == "succeeded" and job.result
    token = token_create(user=alice, name="alice-script").token
    return {"job": str(job.id), "upload": str(upload.id), "token": str(token.id), "user": str(alice.pk)}


def alice_untouched(objects):
    from accounts.models import ApiToken

    assert Upload.objects.filter(id=objects["upload"]).exists()
    job = CompressionJob.objects.get(id=objects["job"])
    assert job.status == "succeeded" and not job.cancel_requested
    assert CompressionJob.objects.count() == 1
    assert ApiToken.objects.filter(id=objects["token"]).exists()


def test_every_id_route_can_be_filled():
    """Fails when a route takes a kwarg this module cannot fill: add it to KWARG_VALUES/ADMIN_OBJECTS."""
    unknown = []
    for route, pattern, _ in id_routes():
        kwargs = set(pattern.pattern.regex.groupindex)
        if is_admin(route):
            model = admin_model(route)
            if model is None:
                assert kwargs <= {"app_label", "url", "content_type_id", "object_id"}, route
            elif model not in ADMIN_OBJECTS:
                unknown.append(f"{route}: admin model {model} not in ADMIN_OBJECTS")
            continue
        missing = kwargs - set(KWARG_VALUES)
        if missing:
            unknown.append(f"{route}: unknown kwarg(s) {sorted(missing)}")
    assert unknown == []
    assert len(user_routes()) >= 19  # 11 API + 8 dashboard today


USER_ROUTES = [(route, pattern) for route, pattern, _ in user_routes()]


@pytest.mark.parametrize("route,pattern", USER_ROUTES, ids=[r for r, _ in USER_ROUTES])
def test_bob_gets_404_on_alices_objects_at_every_id_route(alice_objects, bob, route, pattern):
    """API routes with bob's token and with bob's session; dashboard routes with bob's session."""
    from django.test import Client

    session = Client()
    session.force_login(bob)
    clients = [session] + ([token_client(bob)] if route.startswith("api/") else [])
    for url in urls_for(route, pattern, alice_objects):
        found_404 = False
        for client in clients:
            for method in METHODS:
                response = getattr(client, method)(url)
                assert response.status_code in (404, 405), (method, url, response.status_code, response.content[:200])
                found_404 |= response.status_code == 404
        assert found_404, f"no method of {url} reached the ownership check"
    alice_untouched(alice_objects)


@pytest.mark.parametrize("route,pattern", USER_ROUTES, ids=[r for r, _ in USER_ROUTES])
def test_anonymous_gets_401_or_login_redirect_at_every_id_route(alice_objects, client, route, pattern):
    for url in urls_for(route, pattern, alice_objects):
        for method in METHODS:
            response = getattr(client, method)(url)
            if route.startswith("api/"):
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.has_header("WWW-Authenticate")
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response["Location"].startswith("/login/?next="), response["Location"]
    alice_untouched(alice_objects)


@pytest.mark.parametrize("route,pattern", USER_ROUTES, ids=[r for r, _ in USER_ROUTES])
def test_alice_reaches_her_own_objects_at_every_id_route(alice_objects, alice, route, pattern):
    """The positive control: the same URLs are not 404 for their owner (so bob's 404 means something)."""
    from django.test import Client

    owner = Client()
    owner.force_login(alice)
    for url in urls_for(route, pattern, alice_objects):
        response = owner.get(url)
        assert response.status_code in (200, 302, 405), (url, response.status_code, response.content[:200])


@pytest.mark.parametrize("method,url,body", ID_IN_BODY, ids=[f"{m} {u}" for m, u, _ in ID_IN_BODY])
def test_bob_cannot_use_alices_ids_in_bodies_or_queries(alice_objects, bob, method, url, body):
    api = token_client(bob)

    def fill(value):
        if isinstance(value, str):
            return value.format(**alice_objects)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    response = getattr(api, method)(fill(url)) if body is None else getattr(api, method)(fill(url), fill(body), format="json")
    if "?upload=" in url:  # a filter: bob sees an empty list, not alice's jobs
        assert response.status_code == 200 and response.json()["results"] == []
    else:
        assert response.status_code == 404, response.content[:300]
    alice_untouched(alice_objects)


def test_dashboard_status_poll_and_bulk_delete_ignore_alices_ids(alice_objects, bob_client):
    response = bob_client.get(f"/dashboard/jobs/status/?id={alice_objects['job']}")
    assert response.status_code == 200 and response.json() == {"jobs": []}
    response = bob_client.post("/history/bulk/", {"ids": [alice_objects["job"]]}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    alice_untouched(alice_objects)


def test_bobs_lists_show_nothing_of_alices(alice_objects, bob, bob_client):
    api = token_client(bob)
    for url in ("/api/uploads/", "/api/jobs/", "/api/auth/tokens/"):
        results = api.get(url).json()["results"]
        assert all(item["id"] not in alice_objects.values() for item in results), (url, results)
    for url in ("/dashboard/", "/history/", "/tokens/"):
        html = bob_client.get(url).content.decode()
        assert alice_objects["job"] not in html and alice_objects["token"] not in html and "alice.png" not in html


def test_stored_files_are_not_served_from_media_url(alice_objects, alice, client, bob_client):
    """Files are reachable only through the ownership-checked views, never by their storage path."""
    upload = Upload.objects.get(id=alice_objects["upload"])
    job = CompressionJob.objects.get(id=alice_objects["job"])
    for name in (upload.file.name, job.result.name):
        for c in (client, bob_client):
            assert c.get(f"/media/{name}").status_code == 404


ADMIN_ROUTES = [(route, pattern) for route, pattern, _ in id_routes() if admin_model(route) in ADMIN_OBJECTS]


@pytest.mark.parametrize("route,pattern", ADMIN_ROUTES, ids=[r for r, _ in ADMIN_ROUTES])
def test_admin_object_routes_need_staff(alice_objects, client, bob_client, route, pattern):
    source = ADMIN_OBJECTS[admin_model(route)]
    object_id = alice_objects[source] if source else "1"
    url = fill_route(route, {"object_id": object_id, "id": object_id, "job_id": object_id})
    for c in (client, bob_client):
        for method in ("get", "post"):
            response = getattr(c, method)(url)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/admin/login/"), response["Location"]
    alice_untouched(alice_objects)
