"""The admin's job and upload pages: no inline styles (the CSP blocks them), thumbnails, not decoded originals."""

import re

import pytest
from django.urls import reverse

from compression.models import CompressionJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    from tests.conftest import PASSWORD

    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.login(username="root", password=PASSWORD)
    return client


def admin_pages(job):
    return [
        reverse("admin:compression_compressionjob_changelist"),
        reverse("admin:compression_compressionjob_change", args=[job.pk]),
        reverse("admin:compression_upload_changelist"),
        reverse("admin:compression_upload_change", args=[job.upload_id]),
    ]


def test_admin_job_and_upload_pages_have_no_inline_styles(staff_client, alice_job):
    for url in admin_pages(alice_job):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert not re.search(r"\sstyle\s*=", body), url
        assert "<style" not in body, url
        assert "/static/css/admin.css" in body, url


def test_admin_job_list_shows_short_ids_file_names_and_thumbnails(staff_client, alice_job):
    body = staff_client.get(reverse("admin:compression_compressionjob_changelist")).content.decode()
    row = re.search(r'<tr>\s*<td class="action-checkbox">.*?</tr>', body, re.S).group(0)
    assert f'<code title="{alice_job.pk}">{str(alice_job.pk)[:8]}</code>' in row
    assert str(alice_job.pk) not in re.sub(r"<[^>]+>", "", row)  # the visible text has the short id only
    assert "alice-holiday.png" in row
    thumbnail = reverse("admin:compression_compressionjob_thumbnail", args=[alice_job.pk])
    assert f'src="{thumbnail}"' in row


def test_admin_previews_are_stored_thumbnails_never_the_original(staff_client, alice_job, monkeypatch):
    from PIL import Image

    def no_decoding(*args, **kwargs):
        raise AssertionError("the admin decoded an image in the web process")

    monkeypatch.setattr(Image, "open", no_decoding)
    thumbnail = reverse("admin:compression_compressionjob_thumbnail", args=[alice_job.pk])
    for url in admin_pages(alice_job)[1::2]:  # the change pages show the preview
        body = staff_client.get(url).content.decode()
        assert f'src="{thumbnail}"' in body, url
        assert "data:image" not in body and "/image/original/" not in body, url
    response = staff_client.get(thumbnail)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    stored = alice_job.thumbnail.open("rb").read()
    assert b"".join(response.streaming_content) == stored


def test_admin_palette_is_drawn_with_svg_fills(staff_client, alice_job):
    body = staff_client.get(reverse("admin:compression_compressionjob_change", args=[alice_job.pk])).content.decode()
    fills = re.findall(r'<svg class="kmc-swatch"[^>]*>.*?fill="(#[0-9a-f]{6})"', body)
    assert sorted(fills) == sorted(entry["color"][:7] for entry in alice_job.stats["palette"])


def test_a_job_without_thumbnail_shows_none_and_its_url_is_404(staff_client, alice_job):
    CompressionJob.objects.filter(pk=alice_job.pk).update(thumbnail="")
    body = staff_client.get(reverse("admin:compression_compressionjob_change", args=[alice_job.pk])).content.decode()
    assert "kmc-preview" not in body
    assert staff_client.get(reverse("admin:compression_compressionjob_thumbnail", args=[alice_job.pk])).status_code == 404


def test_the_admin_thumbnail_is_for_staff_only(alice_client, alice_job):
    response = alice_client.get(reverse("admin:compression_compressionjob_thumbnail", args=[alice_job.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
