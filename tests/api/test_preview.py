"""POST /api/uploads/<id>/preview/: the contract the tuning screen is built on, owner-only, no job or
file made, the engine's 400s, throttled and slot-bounded 429s, its cache, and the schema."""

import base64
import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from compression import services
from compression.engine import sandbox
from compression.models import CompressionJob, SyncWorkSlot, Upload
from compression.previews import MIB, preview_cache

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "image", "width", "height", "n_colors_used", "palette", "psnr", "ssim", "estimated_bytes", "estimated_ratio",
    "input_bytes", "output_width", "output_height", "not_worth_it", "server_ms",
}


@pytest.fixture(autouse=True)
def _empty_preview_cache():
    preview_cache.clear()
    yield
    preview_cache.clear()


def _url(upload_id) -> str:
    return reverse("api:upload-preview", args=[upload_id])


def _png(data_url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix):])))
    image.load()
    return image


def _media_files(settings) -> set:
    root = settings.MEDIA_ROOT
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_the_answer_has_every_contract_field_and_describes_the_preview(alice_api, alice_upload):
    response = alice_api.post(_url(alice_upload["id"]), {"n_colors": 6, "views": ["heatmap", "clusters"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert CONTRACT_FIELDS | {"heatmap", "heatmap_max_error", "clusters"} <= set(body)
    image = _png(body["image"])
    assert image.size == (body["width"], body["height"]) == (96, 64)  # under preview_pixels: full size
    assert (body["output_width"], body["output_height"]) == (96, 64)
    assert len(image.convert("RGB").getcolors()) <= 6 == body["n_colors_used"]
    shares = [entry["share"] for entry in body["palette"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1)
    assert all(len(entry["color"]) == 7 and entry["color"].startswith("#") for entry in body["palette"])
    assert body["input_bytes"] == alice_upload["bytes"]
    assert body["estimated_ratio"] == pytest.approx(body["input_bytes"] / body["estimated_bytes"])
    assert body["not_worth_it"] is (body["estimated_bytes"] > body["input_bytes"])
    assert 10 < body["psnr"] < 60 and 0 < body["ssim"] <= 1
    assert _png(body["heatmap"]).size == _png(body["clusters"]).size == image.size
    assert body["heatmap_max_error"] > 0 and "sRGB" in body["heatmap_units"]
    assert len(_png(body["clusters"]).convert("RGB").getcolors()) == body["n_colors_used"]
    assert body["server_ms"] > 0


def test_views_are_left_out_unless_asked(alice_api, alice_upload):
    body = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json").json()
    assert not {"heatmap", "heatmap_max_error", "clusters"} & set(body)


def test_a_small_output_is_estimated_exactly_as_the_real_job(alice, alice_api, alice_upload):
    options = {"n_colors": 8, "output_format": "webp"}
    preview = alice_api.post(_url(alice_upload["id"]), options, format="json").json()
    upload = Upload.objects.get(id=alice_upload["id"])
    job = services.job_compress_now(owner=alice, upload=upload, options=options)
    assert preview["estimate_exact"] is True
    assert preview["estimated_bytes"] == job.output_bytes


def test_form_bodies_work_too(alice_api, alice_upload):
    response = alice_api.post(_url(alice_upload["id"]), {"n_colors": "5", "views": "clusters"}, format="multipart")
    assert response.status_code == 200, response.content
    assert "clusters" in response.json() and response.json()["n_colors_used"] <= 5


def test_another_users_upload_is_a_404(bob_api, alice_upload):
    response = bob_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json")
    assert response.status_code == 404


def test_no_job_and_no_file_is_created(alice_api, alice_upload, settings):
    files = _media_files(settings)
    assert alice_api.post(_url(alice_upload["id"]), {"n_colors": 4, "views": ["heatmap"]}, format="json").status_code == 200
    assert not CompressionJob.objects.exists()
    assert _media_files(settings) == files
    assert not SyncWorkSlot.objects.exists()  # the slot was given back


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"n_colors": 1}, "n_colors", "K (the number of colours)"),
        ({"target_size_kb": 20}, "target_size_kb", "fixed K"),
        ({"target_psnr": 30}, "target_psnr", "fixed K"),
        ({"preview_pixels": 1000}, "preview_pixels", "The preview size must be"),
        ({"views": ["histogram"]}, "views", "not a valid choice"),
        ({"crop": {"x": 90, "y": 0, "width": 50, "height": 10}}, "crop", "crop"),
        ({"resize_mode": "fit", "width": 50}, "resize_mode", "needs both a width and a height"),
        ({"png_optimize_level": 2, "output_format": "gif"}, "png_optimize_level", "PNG"),
    ],
)
def test_bad_options_are_a_400_naming_the_field(alice_api, alice_upload, body, field, text):
    response = alice_api.post(_url(alice_upload["id"]), body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert text.lower() in str(errors[field]).lower()


def test_the_geometry_check_of_jobs_applies(alice_api, alice_upload, settings):
    settings.MAX_IMAGE_PIXELS = 100_000
    body = {"scale_percent": 1000, "allow_upscale": True}
    response = alice_api.post(_url(alice_upload["id"]), body, format="json")
    assert response.status_code == 400 and "scale_percent" in response.json()


def test_the_preview_rate_answers_429_with_retry_after(alice_api, bob_api, alice_upload, bob, small_photo, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "preview": "2/minute"},
    }
    codes = [alice_api.post(_url(alice_upload["id"]), {"n_colors": k}, format="json").status_code for k in (2, 3, 4)]
    assert codes == [200, 200, 429]
    throttled = alice_api.post(_url(alice_upload["id"]), {"n_colors": 5}, format="json")
    assert int(throttled["Retry-After"]) > 0
    bob_upload = services.upload_create(owner=bob, file=small_photo(), original_name="b.png")
    assert bob_api.post(_url(bob_upload.id), {"n_colors": 4}, format="json").status_code == 200


def test_a_preview_takes_a_sync_work_slot(alice, alice_api, alice_upload, settings):
    settings.SYNC_WORK_PER_USER = 1
    settings.SYNC_WORK_RETRY_SECONDS = 7
    with services.sync_work_slot(alice, kind="another request"):
        busy = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json")
    assert busy.status_code == 429 and busy["Retry-After"] == "7"
    assert alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json").status_code == 200


def test_an_upload_that_no_longer_decodes_is_a_415(alice_api, alice_upload):
    # The stored bytes replaced behind the row's back: the decode runs (and fails) at preview time.
    row = Upload.objects.get(id=alice_upload["id"])
    with row.file.open("wb") as handle:
        handle.write(b"not an image at all")
    response = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json")
    assert response.status_code == 415, response.content


def test_a_second_preview_does_not_decode_again(alice_api, alice_upload, monkeypatch):
    decodes = []
    real_decode = sandbox.decode_capped

    def counting_decode(*args, **kwargs):
        decodes.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr("compression.services.previews.decode_capped", counting_decode)
    first = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json").json()
    second = alice_api.post(_url(alice_upload["id"]), {"n_colors": 12, "dither": 0.5, "color_space": "oklab"}, format="json").json()
    assert (first["source_cached"], second["source_cached"]) == (False, True)
    assert len(decodes) == 1
    # Another geometry is another source.
    third = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4, "width": 48}, format="json").json()
    assert third["source_cached"] is False and third["output_width"] == 48 and len(decodes) == 2


def test_the_cache_bound_evicts_the_least_recently_used(alice_api, alice_upload, settings):
    settings.PREVIEW_CACHE_MB = 1
    # Each geometry is its own source; at about 150x100 one holds some 0.4 MB: two fit in 1 MB, three do not.
    widths = (150, 152, 154)

    def preview(width):
        body = {"n_colors": 4, "width": width, "allow_upscale": True}
        response = alice_api.post(_url(alice_upload["id"]), body, format="json")
        assert response.status_code == 200, response.content
        return response.json()["source_cached"]

    assert [preview(width) for width in widths] == [False, False, False]
    assert len(preview_cache) == 2 and preview_cache.nbytes <= MIB
    assert preview(widths[0]) is False  # the least recently used was evicted (and is built again)
    assert preview(widths[2]) is True  # the newest stayed
    assert preview(widths[1]) is False  # rebuilding the first evicted the next oldest


def test_entries_expire(alice_api, alice_upload, settings):
    settings.PREVIEW_CACHE_SECONDS = 0
    alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json")
    again = alice_api.post(_url(alice_upload["id"]), {"n_colors": 4}, format="json").json()
    assert again["source_cached"] is False


def test_the_preview_downscales_to_preview_pixels(alice_api, alice_upload):
    body = alice_api.post(
        _url(alice_upload["id"]), {"n_colors": 4, "width": 960, "allow_upscale": True, "preview_pixels": 20_000},
        format="json",
    ).json()
    assert body["width"] * body["height"] <= 20_000
    assert (body["output_width"], body["output_height"]) == (960, 640)
    assert body["estimate_exact"] is False
    pixels = np.asarray(_png(body["image"]).convert("RGB"))
    assert pixels.shape[:2] == (body["height"], body["width"])


def test_the_schema_has_the_path(anon_api):
    schema = anon_api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/uploads/{upload_id}/preview/"]["post"]
    assert {"200", "400", "404", "429"} <= set(operation["responses"])
    assert "heatmap_max_error" in schema["components"]["schemas"]["Preview"]["properties"]
