"""Django without the engine's compiled loops: everything that does not compress works, and what
does compress says which library is missing and how to build it."""

import os
import subprocess
import sys

import pytest
from django.core import checks

from compression import services
from compression.engine import native
from compression.models import JobStatus

from .helpers import REPO_ROOT, make_png

pytestmark = pytest.mark.django_db

MISSING = "The engine's compiled library (compression.engine.native._native) is missing"
# In a fresh interpreter: the compiled module cannot be imported, as when it was never built.
BLOCK_LIBRARY = "import sys; sys.modules['compression.engine.native._native'] = None; "


@pytest.fixture
def library_missing(monkeypatch):
    """The real loader, facing an import of the compiled module that fails."""
    monkeypatch.setitem(sys.modules, "compression.engine.native._native", None)
    monkeypatch.setattr(native, "_status", None)
    monkeypatch.setattr(native, "_loaded", None)


def test_the_system_check_names_the_library_and_the_build_command(library_missing):
    [warning] = [m for m in checks.run_checks() if m.id == "compression.W001"]
    assert MISSING in warning.msg and "pip install -e ." in warning.msg


def test_no_warning_when_the_library_is_built():
    assert not [m for m in checks.run_checks() if m.id == "compression.W001"]


def test_health_reports_the_missing_library(library_missing, client):
    response = client.get("/api/health")
    assert response.status_code == 503
    engine = response.json()["checks"]["engine"]
    assert engine["ok"] is False and MISSING in engine["error"] and "pip install -e ." in engine["error"]


def test_health_names_the_build_when_it_is_there(client):
    assert client.get("/api/health").json()["checks"]["engine"]["build"] == native.status().build_id


def test_a_job_fails_with_the_message_and_pages_still_work(
    library_missing, alice, alice_client, admin_client, run_on_commit
):
    upload = services.upload_create(owner=alice, file=make_png())  # decoding needs no C loops
    with run_on_commit():
        job = services.job_create(owner=alice, upload=upload, options={"n_colors": 4})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert MISSING in job.error_message and "pip install -e ." in job.error_message
    for url in ("/dashboard/", "/history/", f"/jobs/{job.id}/", "/tokens/"):
        assert alice_client.get(url).status_code == 200, url
    for url in ("/admin/", "/admin/compression/compressionjob/", f"/admin/compression/compressionjob/{job.id}/change/"):
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.slow
def test_migrate_and_check_run_without_the_library(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SECRET_KEY": "test"}
    env.pop("S3_BUCKET", None)
    for command in (["migrate", "--noinput"], ["check"]):
        code = BLOCK_LIBRARY + (
            "from django.core.management import execute_from_command_line; "
            f"execute_from_command_line(['manage.py', *{command!r}])"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert completed.returncode == 0, completed.stderr
    assert "compression.W001" in completed.stderr and MISSING in completed.stderr
