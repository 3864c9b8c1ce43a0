"""Fixtures of the platform-core tests: uploads, task backends, S3 on moto, worker environments."""

import os

import pytest

from .helpers import MOTO_SERVER, MotoServer, database_url, make_png


@pytest.fixture
def alice_upload(alice):
    from compression.services import upload_create

    return upload_create(owner=alice, file=make_png(seed=1), original_name="holiday.png")


@pytest.fixture
def dummy_tasks(settings):
    """Tasks are accepted but never run: jobs stay queued."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queue_tasks(settings):
    """Enqueue into the queue a real worker reads, as production does: the database queue, or
    Redis when this run has TASKS_BACKEND=rq (.ci/run's RQ step). Redis is emptied before and
    after each test: a task left there would run later against another test's rows (STACK.md 13)."""
    if settings.TASKS_BACKEND != "rq":
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
        yield
        return
    import django_rq

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    redis = django_rq.get_connection("default")
    redis.flushdb()
    yield
    redis.flushdb()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """`with run_on_commit(): job_create(...)` runs the enqueued task at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(scope="session")
def moto_session():
    if not MOTO_SERVER.exists():
        pytest.skip("moto_server is not installed in the venv")
    server = MotoServer(bucket="session-media")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(settings, moto_session):
    """Switch default_storage to S3 on a moto server, whatever this run's own backend is."""
    import uuid

    storage = moto_session.storage_settings()
    storage["OPTIONS"]["location"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    return moto_session


@pytest.fixture
def worker_env(settings, queue_tasks):
    """Environment of a `manage.py worker` subprocess sharing this test's database and media."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        TASKS_BACKEND=settings.TASKS_BACKEND,  # "db", or "rq" with this run's REDIS_URL
        SECRET_KEY=os.environ.get("SECRET_KEY", "insecure-test-key"),
        JOB_HEARTBEAT_SECONDS="1",
        JOB_STALE_SECONDS="3",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    options = settings.STORAGES["default"].get("OPTIONS", {})
    if "bucket_name" in options:  # the subprocess must use the same bucket and key prefix
        env["S3_LOCATION"] = options.get("location", "")
    return env
