"""Hostile parameters: every option of every endpoint that creates a job, bodies, content types, names.

Out-of-range, wrong-type, huge, negative and non-finite values must all be a 4xx with a clear
message, never a 500, and leave no job behind. File names are only ever displayed, sanitised and
bounded; stored objects are named by the platform.
"""

import re

import pytest
from django.utils import timezone

from compression import services
from compression.models import CompressionJob, JobStatus, Upload
from tests.helpers import active_jobs, error_text, fetch, named, png_bytes, stored_names

pytestmark = pytest.mark.django_db

HUGE = 10**30

# Option -> values that must be refused, for the resource API (JSON bodies).
JOB_BAD = {
    "n_colors": [1, 0, -1, 257, HUGE, "abc", 3.5, None, [], {}, True],
    "color_space": ["xyz", "", 5, [], None],
    "dither": [-0.1, 1.5, "abc", "NaN", "Infinity", 1e308, []],
    "max_iter": [0, -1, 1001, HUGE, "x", 2.5],
    "seed": [-1, 2**32, 2**64, "x", 1.5],
    "resize_mode": ["zoom", 5, "../fit", "FIT"],
    "width": [0, -1, 20001, HUGE, "x", 1.5],
    "height": [0, -1, 20001, HUGE, "x", 1.5],
    "scale_percent": [0, -5, 1001, "NaN", "Infinity", "-Infinity", "x", 1e308],
    "crop": [
        {"x": -1, "y": 0, "width": 10, "height": 10},
        {"x": 0, "y": 0, "width": 0, "height": 1},
        {"x": 0, "y": 0, "width": 10**9, "height": 10},
        {"x": 40, "y": 0, "width": 20, "height": 10},  # outside the 48x32 image
        {"x": 0},
        "not json",
        [1, 2, 3, 4],
        5,
    ],
    "allow_upscale": ["maybe", 5, []],
    "background": ["red", "#12345", "#gggggg", "#1234567", 123, "#12345\x00"],
    "target_size_kb": [0, -1, 0.01, 10**9, "x", "NaN", "Infinity"],
    "target_size_bytes": [0, 99, -1, 2**40, "x", 1.5],
    "target_psnr": [0, -1, 101, "NaN", "Infinity", "x"],
    "target_ssim": [-0.1, 1.1, 0, "NaN", "x"],
    "output_format": ["jpeg", "PNG", "", "../png", 1, None],
    "png_optimize_level": [-1, 7, "x", 1.5, HUGE],
}
JOB_BAD_CASES = [(name, value) for name, values in JOB_BAD.items() for value in values]
# Combinations that are each fine alone.
JOB_BAD_COMBOS = [
    {"target_size_kb": 10, "target_psnr": 30},
    {"target_psnr": 30, "target_ssim": 0.9},
    {"target_size_kb": 10, "target_size_bytes": 10240},
    {"resize_mode": "fit", "width": 10},
    {"width": 20000, "height": 20000, "allow_upscale": True},  # 400 MP: the engine's geometry check
    {"png_optimize_level": 3, "output_format": "gif"},
    {"scale_percent": 1000, "allow_upscale": True, "width": 20000, "height": 20000, "resize_mode": "fit"},
]
# The classic endpoints' own names.
CLASSIC_BAD = {
    "n_colors": [1, 0, -1, 257, HUGE, "abc", 3.5, None],
    "max_iters": [0, -1, 1001, HUGE, "x"],
    "target_width": [0, -1, 20001, HUGE, "x"],
    "target_height": [0, -1, 20001, HUGE, "x"],
    "resize_mode": ["zoom", 5],
    "target_size_kb": [0, -1, 10**9, "NaN", "Infinity", "x"],
    "crop_data": [{"x": -1, "y": 0, "width": 1, "height": 1}, {"x": 40, "y": 0, "width": 20, "height": 10}, "{bad", [1]],
}
CLASSIC_BAD_CASES = [(name, value) for name, values in CLASSIC_BAD.items() for value in values]
CLASSIC_BAD_COMBOS = [{"resize_mode": "fit", "target_width": 10}]
# compress-direct is multipart: every value arrives as a string.
DIRECT_BAD = [
    ("n_colors", v) for v in ["1", "257", "abc", "-5", "1e3", "99999999999999999999999", " ", "NaN"]
] + [
    ("max_iters", v) for v in ["0", "1001", "-1", "x"]
] + [
    ("target_width", v) for v in ["0", "-1", "20001", "1e9", "x"]
] + [
    ("target_size_kb", v) for v in ["0", "-1", "NaN", "inf", "-inf", "x"]
] + [
    ("crop_data", v) for v in ["{bad json", '{"x": -1, "y": 0, "width": 1, "height": 1}', "[]", '{"x": 40, "y": 0, "width": 20, "height": 10}', "null" * 3000]
] + [
    ("resize_mode", v) for v in ["zoom", "fit"]  # "fit" without target_width/target_height
]
# The dashboard's upload form (its own field names; dither in percent).
DASHBOARD_BAD = [
    ("n_colors", "1"), ("n_colors", "abc"), ("n_colors", ""), ("n_colors", "9" * 50),
    ("dither", "101"), ("dither", "-1"), ("color_space", "xyz"), ("output_format", "jpeg"),
    ("resize_mode", "zoom"), ("width", "0"), ("width", "20001"), ("crop_x", "-1"),
    ("target_size_kb", "0"), ("target_quality", "NaN"), ("target_quality", "inf"),
]
DASHBOARD_BAD_COMBOS = [
    {"target": "size"},
    {"target": "quality", "quality_metric": "ssim", "target_quality": "3"},
    {"resize_mode": "fit", "width": "10"},
    {"crop_x": "40", "crop_y": "0", "crop_width": "20", "crop_height": "10"},  # outside the image
    {"target": "size", "target_size_kb": str(10**12)},
]


@pytest.fixture(autouse=True)
def _jobs_never_run(settings):
    """Accepted jobs stay queued (nothing heavy runs if a bad value slips through)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


@pytest.fixture
def upload(alice):
    return services.upload_create(owner=alice, file=png_bytes(), original_name="small.png")


@pytest.fixture
def finished_job(alice, upload):
    """A job that has ended, without running the engine: a re-run only needs its options and state."""
    job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    CompressionJob.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def assert_refused(response, jobs_before: int = 0):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:400])
    error_text(response)
    assert CompressionJob.objects.count() == jobs_before


def _id(value) -> str:
    text = repr(value)
    return text if len(text) < 30 else text[:27] + "..."


@pytest.mark.parametrize("option,value", JOB_BAD_CASES, ids=[f"{n}={_id(v)}" for n, v in JOB_BAD_CASES])
def test_job_create_refuses(alice_api, upload, option, value):
    response = alice_api.post("/api/jobs/", {"upload_id": str(upload.id), option: value}, format="json")
    assert_refused(response)


@pytest.mark.parametrize("combo", JOB_BAD_COMBOS, ids=[_id(c) for c in JOB_BAD_COMBOS])
def test_job_create_refuses_combinations(alice_api, upload, combo):
    assert_refused(alice_api.post("/api/jobs/", {"upload_id": str(upload.id), **combo}, format="json"))


@pytest.mark.parametrize("option,value", JOB_BAD_CASES, ids=[f"{n}={_id(v)}" for n, v in JOB_BAD_CASES])
def test_job_rerun_refuses(alice_api, finished_job, option, value):
    response = alice_api.post(f"/api/jobs/{finished_job.id}/rerun/", {option: value}, format="json")
    assert_refused(response, jobs_before=1)


@pytest.mark.parametrize("option,value", [c for c in JOB_BAD_CASES if c[0] in ("n_colors", "crop", "scale_percent", "target_size_kb")])
def test_job_batch_refuses(alice_api, upload, option, value):
    response = alice_api.post("/api/jobs/batch/", {"upload_ids": [str(upload.id)], option: value}, format="json")
    assert_refused(response)


@pytest.mark.parametrize("ids", [[], ["not-a-uuid"], ["00000000-0000-0000-0000-000000000000"] * 101, "x", None, [1]])
def test_job_batch_refuses_bad_id_lists(alice_api, ids):
    response = alice_api.post("/api/jobs/batch/", {"upload_ids": ids}, format="json")
    assert_refused(response)


@pytest.mark.parametrize("wait", ["-1", "61", "abc", "1e3", str(HUGE), "NaN"])
def test_wait_query_refuses(alice_api, upload, wait):
    response = alice_api.post(f"/api/jobs/?wait={wait}", {"upload_id": str(upload.id)}, format="json")
    assert_refused(response)


CLASSIC_ENDPOINT_CASES = [
    (endpoint, name, value)
    for endpoint in ("/api/compress", "/api/compress-advanced")
    for name, value in CLASSIC_BAD_CASES
    if endpoint == "/api/compress-advanced" or name in ("n_colors", "max_iters")
]


@pytest.mark.parametrize(
    "endpoint,option,value", CLASSIC_ENDPOINT_CASES, ids=[f"{e}-{n}={_id(v)}" for e, n, v in CLASSIC_ENDPOINT_CASES]
)
def test_classic_compress_refuses(alice_api, upload, endpoint, option, value):
    response = alice_api.post(endpoint, {"image_id": str(upload.id), option: value}, format="json")
    assert_refused(response)
    assert response.json()["success"] is False


@pytest.mark.parametrize("combo", CLASSIC_BAD_COMBOS, ids=[_id(c) for c in CLASSIC_BAD_COMBOS])
def test_classic_advanced_refuses_combinations(alice_api, upload, combo):
    assert_refused(alice_api.post("/api/compress-advanced", {"image_id": str(upload.id), **combo}, format="json"))


@pytest.mark.parametrize("image_id", ["", "x", "1", "00000000-0000-0000-0000-000000000000", None, HUGE])
def test_classic_compress_refuses_bad_image_ids(alice_api, image_id):
    response = alice_api.post("/api/compress", {"image_id": image_id}, format="json")
    assert response.status_code in (400, 404)
    error_text(response)


@pytest.mark.parametrize("option,value", DIRECT_BAD, ids=[f"{n}={_id(v)}" for n, v in DIRECT_BAD])
def test_compress_direct_refuses(alice_api, settings, option, value):
    response = alice_api.post(
        "/api/compress-direct", {"image": named(png_bytes(), "p.png"), option: value}, format="multipart"
    )
    assert_refused(response)
    assert response.json()["success"] is False
    assert stored_names() == [] and Upload.objects.count() == 0


@pytest.mark.parametrize("option,value", DASHBOARD_BAD, ids=[f"{n}={_id(v)}" for n, v in DASHBOARD_BAD])
def test_dashboard_upload_refuses(alice_client, settings, option, value):
    data = {"file": named(png_bytes(), "p.png"), "n_colors": "8", option: value}
    response = alice_client.post("/dashboard/upload/", data, HTTP_ACCEPT="application/json")
    assert_refused(response)
    assert stored_names() == []


@pytest.mark.parametrize("combo", DASHBOARD_BAD_COMBOS, ids=[_id(c) for c in DASHBOARD_BAD_COMBOS])
def test_dashboard_upload_refuses_combinations(alice_client, settings, combo):
    data = {"file": named(png_bytes(), "p.png"), "n_colors": "8", **combo}
    response = alice_client.post("/dashboard/upload/", data, HTTP_ACCEPT="application/json")
    assert_refused(response)
    assert stored_names() == [] and Upload.objects.count() == 0


# --- bodies and content types -------------------------------------------------------------------

UPLOAD_ENDPOINTS = [("/api/uploads/", "file"), ("/api/upload", "image"), ("/api/compress-direct", "image"), ("/api/jobs/", "file")]


@pytest.mark.parametrize("path,field", UPLOAD_ENDPOINTS)
def test_file_over_the_limit_is_413(alice_api, settings, path, field):
    settings.MAX_UPLOAD_BYTES = 20_000
    data = png_bytes(200, 200, seed=3)  # ~120 KB of noise
    assert len(data) > 20_000
    response = alice_api.post(path, {field: named(data, "big.png")}, format="multipart")
    assert response.status_code == 413, response.content[:300]
    error_text(response)
    assert stored_names() == [] and active_jobs() == 0


@pytest.mark.parametrize("path,field", UPLOAD_ENDPOINTS)
def test_body_over_the_limit_is_refused_before_parsing(alice_api, settings, path, field, monkeypatch):
    """A body bigger than MAX_UPLOAD_BYTES + the multipart allowance is refused from Content-Length."""
    from django.http import multipartparser

    settings.MAX_UPLOAD_BYTES = 1000
    parsed = []
    original = multipartparser.MultiPartParser.parse
    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", lambda self: parsed.append(1) or original(self))
    response = alice_api.post(path, {field: named(b"\x89PNG" + b"\0" * 1_200_000, "huge.png")}, format="multipart")
    assert response.status_code == 413, response.content[:300]
    assert "limited to 1,000 bytes" in error_text(response)
    assert parsed == []
    assert stored_names() == []


def test_dashboard_upload_over_the_limit_is_413(alice_client, settings):
    settings.MAX_UPLOAD_BYTES = 20_000
    response = alice_client.post(
        "/dashboard/upload/", {"file": named(png_bytes(200, 200, seed=4), "big.png"), "n_colors": "8"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 413
    assert stored_names() == []


def test_dashboard_upload_body_over_the_limit_is_refused_before_parsing(alice_client, settings, monkeypatch):
    from django.http import multipartparser

    settings.MAX_UPLOAD_BYTES = 1000
    parsed = []
    original = multipartparser.MultiPartParser.parse
    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", lambda self: parsed.append(1) or original(self))
    response = alice_client.post("/dashboard/upload/", {"file": named(b"\0" * 3_000_000, "huge.png"), "n_colors": "8"})
    assert response.status_code == 413
    assert parsed == []


@pytest.mark.parametrize(
    "path,content_type,body",
    [
        ("/api/uploads/", "application/json", b'{"file": "aGVsbG8="}'),
        ("/api/upload", "application/json", b'{"image": "aGVsbG8="}'),
        ("/api/compress-direct", "application/json", b'{"image": "aGVsbG8=", "n_colors": 8}'),
        ("/api/uploads/", "text/plain", b"hello"),
        ("/api/jobs/", "text/plain", b"upload_id=x"),
        ("/api/jobs/", "application/json", b'{"upload_id": '),
        ("/api/jobs/", "application/json", b"[1, 2, 3]"),
        ("/api/jobs/", "application/json", b'{"n_colors": NaN}'),
        ("/api/jobs/", "application/json", b"\xff\xfe\x00garbage"),
        ("/api/compress", "application/xml", b"<a/>"),
        ("/api/uploads/", "multipart/form-data", b"--x\r\nno boundary declared\r\n"),
        ("/api/uploads/", "multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ntruncated"),
        ("/api/jobs/zip/", "application/json", b'{"ids": "nope"}'),
        ("/api/auth/token/", "application/json", b'{"username": ["a"], "password": {}}'),
        ("/api/auth/tokens/", "application/json", b'{"name": ""}'),
    ],
)
def test_wrong_or_broken_content_is_4xx(alice_api, settings, path, content_type, body):
    response = alice_api.generic("POST", path, body, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    error_text(response)
    assert stored_names() == [] and active_jobs() == 0


def test_too_many_fields_is_400(alice_api, upload):
    body = "&".join(f"f{i}=1" for i in range(5000)) + f"&upload_id={upload.id}"
    response = alice_api.generic("POST", "/api/jobs/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content[:300]
    error_text(response)
    assert CompressionJob.objects.count() == 0


def test_dashboard_refuses_a_request_without_a_file(alice_client):
    response = alice_client.post("/dashboard/upload/", {"n_colors": "8"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    error_text(response)


# --- file names ----------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.png",
    "a/b\\c.png",
    "..\\..\\windows\\win.ini.png",
    "/absolute/path.png",
    "nul\x00byte.png",
    "crlf\r\nX-Injected: 1.png",
    "A" * 10_000 + ".png",
    "é" * 5_000 + ".png",
    "<script>alert(1)</script>.png",
    '"; filename="evil.html',
    "..",
    ".png",
    "\u202egnp.exe",  # right-to-left override
]


@pytest.mark.parametrize("path,field", UPLOAD_ENDPOINTS)
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[_id(n) for n in HOSTILE_NAMES])
def test_hostile_file_names_are_never_stored_as_given(alice, alice_api, settings, path, field, name):
    response = alice_api.post(path, {field: named(png_bytes(seed=7), name)}, format="multipart")
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        error_text(response)
        assert stored_names() == []
        return
    upload = Upload.objects.get()
    assert re.fullmatch(rf"users/{alice.pk}/uploads/{upload.id}\.png", upload.file.name), upload.file.name
    for stored in stored_names():
        assert re.fullmatch(rf"users/{alice.pk}/(uploads|results|thumbnails)/[0-9a-f-]{{36}}\.\w+", stored), stored
    shown = upload.original_name
    assert not any(ch in shown for ch in "/\\\x00\r\n\u202e"), repr(shown)
    assert len(shown) <= 255
    # The names the platform hands back out: API fields and the download header.
    listed = alice_api.get(f"/api/uploads/{upload.id}/").json()["original_name"]
    assert listed == shown
    download = fetch(alice_api, f"/api/uploads/{upload.id}/download/")
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert not any(ch in disposition for ch in "/\\\x00\r\n"), disposition
    assert len(disposition) < 1200, len(disposition)


@pytest.mark.parametrize("name", HOSTILE_NAMES[:7], ids=[_id(n) for n in HOSTILE_NAMES[:7]])
def test_hostile_file_names_through_the_dashboard(alice, alice_client, settings, name):
    response = alice_client.post("/dashboard/upload/", {"file": named(png_bytes(seed=8), name), "n_colors": "4"},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code < 500
    if response.status_code >= 400:
        error_text(response)
        return
    upload = Upload.objects.get()
    assert not any(ch in upload.original_name for ch in "/\\\x00\r\n")
    for stored in stored_names():
        assert re.fullmatch(rf"users/{alice.pk}/(uploads|results|thumbnails)/[0-9a-f-]{{36}}\.\w+", stored), stored


def test_token_names_are_bounded(alice_api):
    response = alice_api.post("/api/auth/tokens/", {"name": "x" * 10_000}, format="json")
    assert response.status_code == 400
    response = alice_api.post("/api/auth/tokens/", {"name": "a\x00b"}, format="json")
    assert response.status_code == 400, response.content
