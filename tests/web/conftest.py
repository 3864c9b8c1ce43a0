"""Fixtures of the dashboard view tests: small images and finished jobs made through the services."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_bytes(width: int = 48, height: int = 32, *, seed: int = 0) -> bytes:
    """A small photo-like RGB PNG: a smooth gradient plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def png_file(name: str = "photo.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """`with run_jobs(): ...` runs the jobs enqueued inside (on commit, which a test never reaches)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def make_job(run_jobs):
    """make_job(owner, **options) -> a job run to completion by the immediate task backend."""
    from compression import services

    def make(owner, *, seed: int = 0, name: str = "photo.png", **options):
        upload = services.upload_create(owner=owner, file=png_bytes(seed=seed), original_name=name)
        with run_jobs():
            job = services.job_create(owner=owner, upload=upload, options={"n_colors": 4, **options})
        job.refresh_from_db()
        return job

    return make


@pytest.fixture
def alice_job(alice, make_job):
    return make_job(alice, name="alice-holiday.png")
