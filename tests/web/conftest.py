"""Fixtures of the dashboard view tests: small images and finished jobs made through the services."""

import pytest

from tests.helpers import png_bytes


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """`with run_jobs(): ...` runs the jobs enqueued inside (on commit, which a test never reaches)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def make_job(run_jobs):
    """make_job(owner, **options) -> a job run to completion by the immediate task backend.

    The image is png_bytes(seed=seed) unless `image` (encoded bytes) is given.
    """
    from compression import services

    def make(owner, *, seed: int = 0, name: str = "photo.png", image: bytes | None = None, **options):
        data = png_bytes(seed=seed) if image is None else image
        upload = services.upload_create(owner=owner, file=data, original_name=name)
        with run_jobs():
            job = services.job_create(owner=owner, upload=upload, options={"n_colors": 4, **options})
        job.refresh_from_db()
        return job

    return make


@pytest.fixture
def alice_job(alice, make_job):
    return make_job(alice, name="alice-holiday.png")
