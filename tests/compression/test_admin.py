import pytest
from django.urls import reverse

from compression import services
from compression.admin import CompressionJobAdmin
from compression.models import CompressionJob, JobStatus, Upload
from tests.helpers import stored_names

from .helpers import make_png

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client.force_login(admin_user)
    return client


@pytest.fixture
def finished_job(alice, alice_upload, run_on_commit):
    with run_on_commit():
        job = services.job_create(owner=alice, upload=alice_upload, options={"n_colors": 4})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return job


CHANGELIST = "admin:compression_compressionjob_changelist"


@pytest.mark.parametrize(
    "query",
    ["", "?status__exact=succeeded", "?output_format__exact=png", "?q=alice", "?q=holiday",
     "?status__exact=succeeded&q=alice", "?o=6"],
)
def test_job_changelist_with_filters_and_search(staff_client, finished_job, query):
    response = staff_client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    assert str(finished_job.id) in response.content.decode()


def test_job_search_by_id_and_owner_filter(staff_client, finished_job, alice):
    content = staff_client.get(reverse(CHANGELIST) + f"?q={finished_job.id}").content.decode()
    assert str(finished_job.id) in content
    response = staff_client.get(reverse(CHANGELIST) + f"?owner__id__exact={alice.pk}")
    assert response.status_code == 200 and str(finished_job.id) in response.content.decode()
    assert str(finished_job.id) not in staff_client.get(reverse(CHANGELIST) + "?q=nobody").content.decode()


def test_job_detail_shows_stats_palette_and_previews(staff_client, finished_job):
    response = staff_client.get(reverse("admin:compression_compressionjob_change", args=[finished_job.id]))
    assert response.status_code == 200
    content = response.content.decode()
    # The stored thumbnail, never a decoded original (tests/web/test_admin.py).
    assert f'src="{reverse("admin:compression_compressionjob_thumbnail", args=[finished_job.id])}"' in content
    assert finished_job.stats["palette"][0]["color"] in content
    assert "n_iter" in content and "unique_colors_before" in content
    assert "Save" not in content  # read-only


def test_rerun_cancel_and_delete_actions(staff_client, finished_job, alice, alice_upload, settings):
    url = reverse(CHANGELIST)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    response = staff_client.post(url, {"action": "rerun_jobs", "_selected_action": [finished_job.id]}, follow=True)
    assert response.status_code == 200
    rerun = CompressionJob.objects.get(rerun_of=finished_job)
    assert rerun.status == JobStatus.QUEUED

    staff_client.post(url, {"action": "cancel_jobs", "_selected_action": [rerun.id, finished_job.id]})
    rerun.refresh_from_db()
    assert rerun.status == JobStatus.CANCELLED
    assert CompressionJob.objects.get(id=finished_job.id).status == JobStatus.SUCCEEDED

    staff_client.post(url, {"action": "delete_jobs_with_files", "_selected_action": [rerun.id, finished_job.id]})
    assert not CompressionJob.objects.exists()
    assert stored_names() == [alice_upload.file.name]


def test_bulk_actions_on_hundreds_of_rows(staff_client, alice, alice_upload, dummy_tasks, django_assert_max_num_queries):
    CompressionJob.objects.bulk_create(CompressionJob(owner=alice, upload=alice_upload) for _ in range(300))
    ids = list(CompressionJob.objects.values_list("id", flat=True))
    with django_assert_max_num_queries(30):
        staff_client.post(reverse(CHANGELIST), {"action": "cancel_jobs", "_selected_action": ids})
    assert CompressionJob.objects.filter(status=JobStatus.CANCELLED).count() == 300
    with django_assert_max_num_queries(30):
        staff_client.post(reverse(CHANGELIST), {"action": "delete_jobs_with_files", "_selected_action": ids})
    assert not CompressionJob.objects.exists()


def test_default_delete_selected_is_not_offered(staff_client, finished_job):
    content = staff_client.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in content and "delete_jobs_with_files" in content


def test_upload_admin_pages_and_delete_action(staff_client, finished_job, alice_upload):
    changelist = reverse("admin:compression_upload_changelist")
    for query in ["", "?q=holiday", "?format__exact=png", f"?q={alice_upload.id}"]:
        response = staff_client.get(changelist + query)
        assert response.status_code == 200 and "holiday.png" in response.content.decode()
    detail = staff_client.get(reverse("admin:compression_upload_change", args=[alice_upload.id]))
    thumbnail = reverse("admin:compression_compressionjob_thumbnail", args=[finished_job.id])
    assert detail.status_code == 200 and f'src="{thumbnail}"' in detail.content.decode()
    staff_client.post(changelist, {"action": "delete_uploads_with_files", "_selected_action": [alice_upload.id]})
    assert not Upload.objects.exists() and not CompressionJob.objects.exists()
    assert stored_names() == []


def test_deleting_a_user_in_the_admin_deletes_their_files(staff_client, finished_job, alice, bob):
    bobs = services.upload_create(owner=bob, file=make_png(seed=21))
    response = staff_client.post(reverse("admin:auth_user_delete", args=[alice.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert stored_names() == [bobs.file.name]


def test_non_staff_cannot_open_the_job_admin(alice_client):
    response = alice_client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_job_changelist_sorts_by_every_column(staff_client, finished_job):
    for column in range(1, len(CompressionJobAdmin.list_display) + 1):
        for direction in ("", "-"):
            response = staff_client.get(reverse(CHANGELIST) + f"?o={direction}{column}")
            assert response.status_code == 200, column
