import pytest
from django.http import Http404

from compression import services
from compression.downloads import content_type_for, download_filename, file_response

from .helpers import make_png

pytestmark = pytest.mark.django_db


def test_file_is_streamed_as_an_attachment_with_nosniff(alice, alice_upload):
    response = file_response(alice_upload.file, filename="holiday.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;") and "holiday.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == make_png(seed=1)


def test_inline_preview_is_streamed_with_nosniff(alice, alice_upload):
    response = file_response(alice_upload.file, filename="holiday.png", as_attachment=False)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_missing_file_is_404(alice, alice_upload):
    alice_upload.file.storage.delete(alice_upload.file.name)
    with pytest.raises(Http404):
        file_response(alice_upload.file, filename="x.png")


def test_local_storage_streams(alice, alice_upload, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    upload = services.upload_create(owner=alice, file=make_png(seed=2))
    response = file_response(upload.file, filename="x.png")
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"


def test_content_types():
    assert content_type_for("webp") == "image/webp"
    assert content_type_for("users/1/results/x.gif") == "image/gif"
    assert content_type_for("jpeg") == "image/jpeg"


@pytest.mark.parametrize(("name", "fmt", "expected"), [
    ("evil.html", "png", "evil.png"),
    ("holiday.JPG", "jpeg", "holiday.jpg"),
    ("photo.tar.svg", "gif", "photo.tar.gif"),
    ("../../etc/passwd", "png", "passwd.png"),
    ("C:\\Users\\x\\shot.png", "webp", "shot.webp"),
    ("my holiday<script>.png", "png", "my_holidayscript.png"),
    ("", "png", "image.png"),
    ("..", "png", "image.png"),
    (None, "tiff", "image.tif"),
])
def test_download_names_keep_the_stem_and_take_the_detected_formats_extension(name, fmt, expected):
    assert download_filename(name, fmt) == expected


def test_download_names_are_bounded():
    assert download_filename("a" * 10_000 + ".png", "png", suffix="-k8") == "a" * 80 + "-k8.png"


def test_s3_downloads_stream_through_django_with_the_headers(alice, s3_storage):
    """No presigned redirect: the object store cannot add nosniff, so Django streams every file."""
    upload = services.upload_create(owner=alice, file=make_png(seed=4), original_name="sea.png")
    response = file_response(upload.file, filename="sea.png", content_type="image/png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment") and "sea.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == make_png(seed=4)
    upload.file.storage.delete(upload.file.name)
    with pytest.raises(Http404):
        file_response(upload.file, filename="sea.png")
