"""One table maps domain and engine errors to HTTP statuses (compression.errors.STATUS_TABLE):
the dashboard and the API answer the same status, with the error's own message, for each."""

import pytest
from django.urls import reverse

from compression import services
from compression.engine import errors as engine_errors
from compression.errors import STATUS_TABLE, SyncWorkLimit, http_status
from tests.helpers import png_file

MESSAGE = "A message written for the person who sees it."


def _instance(error_class, kind):
    if error_class is SyncWorkLimit:
        return error_class(MESSAGE, retry_after=7)
    if kind is not None:
        return error_class(MESSAGE, kind=kind)
    return error_class(MESSAGE)


CASES = [(error_class, kind, status) for error_class, kind, status in STATUS_TABLE]
IDS = [f"{error_class.__name__}-{kind or 'any'}" for error_class, kind, _ in CASES]


@pytest.fixture
def service_raises(monkeypatch):
    """Make the one service both faces call to create a job from a file raise `error`."""

    def install(error):
        def refuse(**kwargs):
            raise error

        monkeypatch.setattr(services, "job_create_from_file", refuse)

    return install


@pytest.mark.parametrize("error_class, kind, status", CASES, ids=IDS)
def test_the_table_gives_each_error_its_status(error_class, kind, status):
    assert http_status(_instance(error_class, kind)) == status


@pytest.mark.parametrize("error_class, kind, status", CASES, ids=IDS)
def test_dashboard_and_api_answer_the_same_status_and_message(
    error_class, kind, status, service_raises, alice_client, alice_api
):
    service_raises(_instance(error_class, kind))
    dashboard = alice_client.post(reverse("upload"), {"file": png_file(), "n_colors": "8"})
    api = alice_api.post("/api/jobs/", {"file": png_file(), "n_colors": 8}, format="multipart")
    assert dashboard.status_code == api.status_code == status
    assert dashboard.json()["error"] == MESSAGE
    assert MESSAGE in str(api.json())


def test_an_unknown_error_is_not_in_the_table():
    assert http_status(RuntimeError("a bug")) is None
    assert http_status(ValueError("not ours")) is None


def test_subclasses_come_before_their_bases():
    """The first match wins: a base class listed before its subclass would shadow it."""
    classes = [error_class for error_class, _, _ in STATUS_TABLE]
    for i, earlier in enumerate(classes):
        for later in classes[i + 1:]:
            assert not (issubclass(later, earlier) and later is not earlier), (earlier, later)
    assert classes[-1] is engine_errors.EngineError
