"""The classic flow exactly as a script does it: `requests` against a live server."""

import io

import pytest
import requests
from PIL import Image

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_script_gets_a_token_compresses_directly_and_downloads_a_16_colour_png(live_server, alice, corpus_image):
    session = requests.Session()
    token = session.post(f"{live_server.url}/api/auth/token/", json={"username": "alice", "password": PASSWORD}, timeout=30)
    assert token.status_code == 200
    session.headers["Authorization"] = f"Token {token.json()['token']}"

    with corpus_image("photos/kodim23.png").open("rb") as image:
        response = session.post(f"{live_server.url}/api/compress-direct", files={"image": ("kodim23.png", image, "image/png")}, data={"n_colors": 16}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    compression_ratio, processing_time = body["compression_ratio"], body["processing_time"]
    assert compression_ratio > 1 and 0 < processing_time < 120
    assert body["stats"]["reduced_colors"] <= 16
    assert body["download_url"].startswith(live_server.url + "/api/download/")

    download = session.get(body["download_url"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/png"
    assert len(download.content) == body["stats"]["compressed_file_size"]
    assert compression_ratio == pytest.approx(corpus_image("photos/kodim23.png").stat().st_size / len(download.content), rel=1e-3)
    image = Image.open(io.BytesIO(download.content))
    assert image.format == "PNG" and image.mode == "P"
    assert image.size == (768, 512)
    assert len(image.getcolors()) <= 16

    # Without the token the same URL is refused, as is another user's token.
    assert requests.get(body["download_url"], timeout=30).status_code == 401
