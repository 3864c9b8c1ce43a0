"""History: the file-name search (dashboard ?q= and the API's ?q=) and an inverted date range."""

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def named_jobs(alice, bob, make_job):
    make_job(bob, name="Holiday-bob.png")  # another user's match never shows
    return {name: make_job(alice, seed=i, name=name)
            for i, name in enumerate(["Holiday-beach.png", "holiday-hills.png", "receipt.png"])}


def test_history_searches_file_names_ignoring_case(alice_client, named_jobs):
    response = alice_client.get(reverse("history"), {"q": "HOLIDAY"})
    assert response.status_code == 200
    found = {job.upload.original_name for job in response.context["page"].object_list}
    assert found == {"Holiday-beach.png", "holiday-hills.png"}
    body = response.content.decode()
    assert 'type="search"' in body and 'name="q"' in body and 'value="HOLIDAY"' in body
    assert "receipt.png" not in body and "Holiday-bob.png" not in body


def test_api_job_list_takes_the_same_search(alice_client, named_jobs):
    response = alice_client.get("/api/jobs/", {"q": "holiday"}, headers={"accept": "application/json"})
    assert response.status_code == 200
    data = response.json()
    results = data["results"] if isinstance(data, dict) else data
    assert {job["id"] for job in results} == {str(named_jobs["Holiday-beach.png"].id), str(named_jobs["holiday-hills.png"].id)}


def test_an_inverted_date_range_is_a_form_error_not_an_empty_list(alice_client, alice_job):
    response = alice_client.get(reverse("history"), {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert response.status_code == 200
    assert response.context["form"].errors["date_to"] == ["“To” (2026-11-01) is before “From” (2026-11-30): swap them."]
    body = response.content.decode()
    assert 'id="id_date_to_error"' in body and "swap them" in body
    assert "Fix the filters above" in body and "No jobs match" not in body


def test_a_same_day_range_is_fine(alice_client, alice_job):
    day = timezone.localdate(alice_job.created_at).isoformat()
    response = alice_client.get(reverse("history"), {"date_from": day, "date_to": day})
    assert not response.context["form"].errors
    assert [job.id for job in response.context["page"].object_list] == [alice_job.id]
