from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from compression import services
from compression.downloads import content_type_for, file_response

from .helpers import make_png

pytestmark = pytest.mark.django_db


def test_file_is_streamed_as_an_attachment_with_nosniff(alice, alice_upload):
    response = file_response(alice_upload.file, filename="holiday.png", allow_redirect=False)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;") and "holiday.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == make_png(seed=1)


def test_missing_file_is_404(alice, alice_upload):
    from django.http import Http404

    alice_upload.file.storage.delete(alice_upload.file.name)
    with pytest.raises(Http404):
        file_response(alice_upload.file, filename="x.png")
    with pytest.raises(Http404):
        file_response(alice_upload.file, filename="x.png", allow_redirect=False)


def test_local_storage_streams_rather_than_redirects(alice, alice_upload, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    upload = services.upload_create(owner=alice, file=make_png(seed=2))
    response = file_response(upload.file, filename="x.png")
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"


def test_content_types():
    assert content_type_for("webp") == "image/webp"
    assert content_type_for("users/1/results/x.gif") == "image/gif"
    assert content_type_for("jpeg") == "image/jpeg"


def test_s3_download_redirects_to_a_short_lived_presigned_url(alice, s3_storage):
    upload = services.upload_create(owner=alice, file=make_png(seed=4), original_name="sea.png")
    response = file_response(upload.file, filename="sea.png")
    assert response.status_code == 302
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == make_png(seed=4)
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["Content-Disposition"].startswith("attachment")
    streamed = file_response(upload.file, filename="sea.png", allow_redirect=False)
    assert b"".join(streamed.streaming_content) == make_png(seed=4)
    upload.file.storage.delete(upload.file.name)
    from django.http import Http404

    for allow_redirect in (True, False):
        with pytest.raises(Http404):
            file_response(upload.file, filename="sea.png", allow_redirect=allow_redirect)
