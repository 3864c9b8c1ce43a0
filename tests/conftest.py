"""Shared fixtures: users alice and bob, their clients, the test images and a private MEDIA_ROOT."""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls in browser tests
# are still synchronous and safe there (test-only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO_ROOT = Path(__file__).resolve().parent.parent
# The images the suite needs live in the repository (tests/images/README.md: sources, licences).
CORPUS = REPO_ROOT / "tests" / "images"
PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture
def corpus_image(corpus_dir):
    """corpus_image("photos/kodim23.png") -> Path, failing clearly when the file is missing."""

    def get(relative: str) -> Path:
        path = corpus_dir / relative
        assert path.is_file(), f"missing corpus file {path}"
        return path

    return get


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Fast hashing, plain static storage, private MEDIA_ROOT, tasks run immediately.

    Tests that need the real worker switch TASKS themselves; tests against S3 set STORAGES.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    # A private cache per test, so throttling and login-attempt counters never leak between tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}}
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}


@pytest.fixture
def alice_api(alice):
    """alice's API client (a token of hers)."""
    from tests.helpers import token_client

    return token_client(alice)


@pytest.fixture
def bob_api(bob):
    from tests.helpers import token_client

    return token_client(bob)


@pytest.fixture
def anon_api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(alice, bob):
    from django.test import Client

    other = Client()
    other.force_login(bob)
    return other


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, put the test database in a file so a worker subprocess can open it.

    pytest-django's default in-memory SQLite test database is invisible to other processes;
    the worker tests (tests/compression/test_worker.py) run the real `manage.py worker`.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _isolated_object_storage(settings):
    """On S3 (CI runs the suite with S3_BUCKET set), give each test its own key prefix.

    The local default gets a fresh MEDIA_ROOT per test; this is the same for the bucket, so
    tests that list storage see only their own objects. Worker subprocesses get the prefix
    through S3_LOCATION.
    """
    import uuid

    default = settings.STORAGES["default"]
    if "bucket_name" in default.get("OPTIONS", {}):
        options = {**default["OPTIONS"], "location": f"test-{uuid.uuid4().hex[:12]}"}
        settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}
