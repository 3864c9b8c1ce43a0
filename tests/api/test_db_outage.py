"""The database unreachable (e.g. PostgreSQL restarting): 503 + Retry-After with a clear message, not 500.

The outage is simulated where it surfaces: the selector or service call raises the error the
PostgreSQL driver raises (django.db.OperationalError / InterfaceError).
"""

import uuid

import pytest
from django.db import InterfaceError, OperationalError

from compression import selectors, services
from compression.middleware import DATABASE_UNAVAILABLE_MESSAGE


def _raise(exc):
    def down(*args, **kwargs):
        raise exc

    return down


@pytest.mark.parametrize("error", [
    OperationalError("connection failed: Connection refused"),
    InterfaceError("connection already closed"),
])
def test_job_list_answers_503_json_while_the_database_is_down(alice_api, monkeypatch, error):
    monkeypatch.setattr(selectors, "job_list_for_user", _raise(error))
    response = alice_api.get("/api/jobs/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"detail": DATABASE_UNAVAILABLE_MESSAGE}


def test_job_creation_answers_503_while_the_database_is_down(alice_api, monkeypatch, small_photo):
    monkeypatch.setattr(services, "job_create_from_file", _raise(OperationalError("the database system is shutting down")))
    response = alice_api.post("/api/jobs/", {"file": small_photo(), "n_colors": 4}, format="multipart")
    assert response.status_code == 503
    assert response.json()["detail"] == DATABASE_UNAVAILABLE_MESSAGE


def test_classic_endpoints_keep_their_error_shape(alice_api, monkeypatch):
    monkeypatch.setattr(selectors, "job_get_for_user", _raise(OperationalError("server closed the connection")))
    response = alice_api.get(f"/api/download/{uuid.uuid4()}")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"success": False, "error": DATABASE_UNAVAILABLE_MESSAGE}


def test_other_database_errors_are_still_bugs(alice_api, monkeypatch):
    """Only "cannot reach the database" is temporary; e.g. a ProgrammingError stays a 500."""
    from django.db import ProgrammingError

    monkeypatch.setattr(selectors, "job_list_for_user", _raise(ProgrammingError("no such column")))
    alice_api.raise_request_exception = False
    assert alice_api.get("/api/jobs/").status_code == 500
