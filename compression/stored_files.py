"""Stored files of users and jobs: the names a user's rows reference, deletion that never raises, walking a prefix."""

import logging

from django.core.files.storage import default_storage

from compression.models import CompressionJob, Upload

logger = logging.getLogger(__name__)


def user_file_names(user) -> list[str]:
    names = list(Upload.objects.filter(owner=user).values_list("file", flat=True))
    names += job_file_names(CompressionJob.objects.filter(owner=user))
    return [name for name in names if name]


def job_file_names(jobs) -> list[str]:
    """The stored files (results and thumbnails) of a queryset of jobs."""
    names = []
    for result, thumbnail in jobs.values_list("result", "thumbnail"):
        names += [name for name in (result, thumbnail) if name]
    return names


def delete_files(names) -> None:
    """Delete stored files; a storage fault is logged, not raised (prune --orphans sweeps later)."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except Exception:
            logger.warning("could not delete stored file %s", name, exc_info=True)


def walk(storage, prefix: str):
    try:
        dirs, files = storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for name in dirs:
        yield from walk(storage, f"{prefix}/{name}")


def delete_prefix(prefix: str) -> None:
    try:
        delete_files(list(walk(default_storage, prefix.rstrip("/"))))
    except Exception:
        logger.warning("could not list %s for deletion", prefix, exc_info=True)
