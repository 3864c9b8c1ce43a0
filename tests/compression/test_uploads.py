import re

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from compression import services
from compression.errors import InvalidUpload, QuotaExceeded, UploadTooLarge
from compression.models import Upload
from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


def test_upload_records_detected_format_size_and_hash(alice):
    data = make_png(120, 80, seed=3)
    upload = services.upload_create(owner=alice, file=data, original_name="cat.png")
    assert (upload.format, upload.width, upload.height, upload.size_bytes) == ("png", 120, 80, len(data))
    assert len(upload.sha256) == 64
    with upload.file.open("rb") as handle:
        assert handle.read() == data


def test_storage_name_is_per_user_and_ignores_the_client_name(alice):
    upload = services.upload_create(owner=alice, file=make_png(), original_name="../../etc/passwd\x00.jpg")
    assert re.fullmatch(rf"users/{alice.pk}/uploads/{upload.id}\.png", upload.file.name)
    assert upload.original_name == "passwd.jpg"  # display only, control characters removed
    assert stored_names() == [upload.file.name]


def test_uploaded_file_name_is_used_for_display(alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = services.upload_create(owner=alice, file=SimpleUploadedFile("C:\\pics\\sun.png", make_png()))
    assert upload.original_name == "sun.png"


def test_same_bytes_twice_reuse_the_stored_file(alice, bob):
    data = make_png(seed=7)
    first = services.upload_create(owner=alice, file=data)
    second = services.upload_create(owner=alice, file=data, original_name="again.png")
    assert second.id == first.id
    other = services.upload_create(owner=bob, file=data)  # never shared between users
    assert other.id != first.id
    assert len(stored_names()) == 2


def test_rejects_more_bytes_than_the_limit(alice, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    with pytest.raises(UploadTooLarge) as exc:
        services.upload_create(owner=alice, file=make_png(200, 200))
    assert exc.value.kind == "file_too_large"
    assert "limit" in str(exc.value)
    assert stored_names() == []


def test_rejects_too_many_pixels_from_the_header(alice, settings, corpus_image):
    settings.MAX_IMAGE_PIXELS = 100 * 100
    with pytest.raises(InvalidUpload) as exc:
        services.upload_create(owner=alice, file=make_png(200, 100))
    assert exc.value.kind == "image_too_large"
    settings.MAX_IMAGE_PIXELS = 50_000_000
    with pytest.raises(InvalidUpload) as exc:
        services.upload_create(owner=alice, file=corpus_image("bad/bomb_65536x65536.png").read_bytes())
    assert exc.value.kind == "image_too_large"
    assert stored_names() == [] and not Upload.objects.exists()


@pytest.mark.parametrize(
    "name, kind",
    [
        ("bad/vector_noto_emoji_u1f600.svg", "unsupported_format"),
        ("bad/document_ISO_12233-reschart.pdf", "unsupported_format"),
        ("bad/text_named.png", "invalid_image"),
        ("bad/empty.png", "invalid_image"),
        ("bad/truncated_half_kodim01.png", "invalid_image"),
    ],
)
def test_rejects_files_that_are_not_usable_images(alice, corpus_image, name, kind):
    with pytest.raises(InvalidUpload) as exc:
        services.upload_create(owner=alice, file=corpus_image(name).read_bytes(), original_name=name)
    assert exc.value.kind == kind
    assert str(exc.value)
    assert stored_names() == []


def test_exif_rotated_photo_records_the_displayed_size(alice, corpus_image):
    upload = services.upload_create(owner=alice, file=corpus_image("formats/exif_orientation_6.jpg").read_bytes())
    from PIL import Image

    with Image.open(corpus_image("formats/exif_orientation_6.jpg")) as image:
        stored_w, stored_h = image.size
    assert (upload.width, upload.height) == (stored_h, stored_w)


def test_storage_quota_refuses_an_upload_that_does_not_fit(alice, settings):
    first = make_png(seed=1)
    settings.QUOTA_STORAGE_BYTES = len(first) + 100
    services.upload_create(owner=alice, file=first)
    with pytest.raises(QuotaExceeded) as exc:
        services.upload_create(owner=alice, file=make_png(seed=2))
    assert exc.value.kind == "storage"
    assert len(stored_names()) == 1


def test_upload_delete_removes_its_jobs_and_every_file(alice, alice_upload, run_on_commit):
    with run_on_commit():
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    job.refresh_from_db()
    assert job.result and job.thumbnail
    assert stored_names() == sorted([alice_upload.file.name, job.result.name, job.thumbnail.name])
    services.upload_delete(upload=alice_upload)
    assert stored_names() == []
    assert not Upload.objects.exists()


def test_user_create_validates_the_password(db):
    with pytest.raises(ValidationError) as exc:
        account_services.user_create(username="carol", email="carol@example.com", password="123")
    assert "password" in exc.value.message_dict
    user = account_services.user_create(username="carol", email="carol@example.com", password="a-long-unusual-passphrase-9")
    assert user.check_password("a-long-unusual-passphrase-9")
    with pytest.raises(ValidationError) as exc:
        account_services.user_create(username="carol", email="c2@example.com", password="a-long-unusual-passphrase-9")
    assert "username" in exc.value.message_dict


def test_user_delete_removes_all_their_files(alice, bob, run_on_commit):
    upload = services.upload_create(owner=alice, file=make_png(seed=5))
    with run_on_commit():
        services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    bobs = services.upload_create(owner=bob, file=make_png(seed=6))
    assert len(stored_names()) == 4  # alice's upload, result and thumbnail; bob's upload
    account_services.user_delete(user=alice)
    assert stored_names() == [bobs.file.name]
