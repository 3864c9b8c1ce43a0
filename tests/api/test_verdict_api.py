"""Advice before a job: POST /api/uploads/<id>/verdict/ says whether a palette suits the upload,
decoding it under the caps, owner only, and every job's stats carry the same verdict."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(client, data: bytes, name: str) -> str:
    handle = io.BytesIO(data)
    handle.name = name
    response = client.post("/api/uploads/", {"file": handle}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _flat_graphic() -> bytes:
    image = np.full((300, 400, 3), 245, np.uint8)
    image[40:120, 30:200] = (200, 30, 40)
    image[150:260, 220:380] = (20, 90, 160)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_photo_is_advised_webp_and_a_graphic_a_palette(alice_api):
    photo = _upload(alice_api, (CORPUS / "photos" / "kodim05.png").read_bytes(), "kodim05.png")
    graphic = _upload(alice_api, _flat_graphic(), "chart.png")
    advice = alice_api.post(f"/api/uploads/{photo}/verdict/", {"n_colors": 32}, format="json")
    assert advice.status_code == 200, advice.content
    assert advice.json()["kind"] == "photo" and advice.json()["webp_bytes_ratio"] > 1
    assert "WebP at quality" in advice.json()["message"]
    advice = alice_api.post(f"/api/uploads/{graphic}/verdict/", {"n_colors": 8}, format="json")
    assert advice.status_code == 200 and advice.json()["kind"] == "graphic"
    assert "Palette PNG is the right format" in advice.json()["message"]


def test_the_verdict_is_owner_only_and_checks_its_options(alice_api, bob_api):
    graphic = _upload(alice_api, _flat_graphic(), "chart.png")
    assert bob_api.post(f"/api/uploads/{graphic}/verdict/", {}, format="json").status_code == 404
    bad = alice_api.post(f"/api/uploads/{graphic}/verdict/", {"n_colors": 999}, format="json")
    assert bad.status_code == 400 and "n_colors" in bad.json()


def test_every_job_carries_the_verdict_and_the_new_stats(alice_api):
    graphic = _upload(alice_api, _flat_graphic(), "chart.png")
    job = alice_api.post("/api/jobs/", {"upload_id": graphic, "n_colors": 8, "init": "random"}, format="json").json()
    assert job["status"] == "succeeded", job
    stats = job["stats"]
    assert stats["verdict"]["kind"] == "graphic" and stats["verdict"]["message"]
    assert -1 <= stats["silhouette"] <= 1
    assert job["options"]["init"] == "random" and job["options"]["auto"] is False


def test_auto_finds_a_file_meeting_the_quality_target(alice_api):
    photo = _upload(alice_api, (CORPUS / "photos" / "kodim05.png").read_bytes(), "kodim05.png")
    job = alice_api.post("/api/jobs/", {"upload_id": photo, "auto": True, "target_ssim": 0.9}, format="json").json()
    assert job["status"] == "succeeded", job
    assert job["stats"]["ssim"] >= 0.9 and job["stats"]["target_met"] is True
    assert job["options"]["auto"] is True
