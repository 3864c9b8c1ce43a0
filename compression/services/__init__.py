"""All writes of the platform core, by subject: uploads, jobs, the queue, recovery, housekeeping and
quotas (accounts live in the accounts app; running a job is compression.runner's, which the task
calls; stored-file helpers are compression.stored_files).

Services take keyword-only arguments, are the only code that enqueues jobs, and raise the typed
errors of compression/errors.py (or the engine's InvalidOptions) with messages a person reads.
Callers use `from compression import services` and the names below.
"""

from compression.runner import (
    DATABASE_ERRORS,
    INTERNAL_ERROR_MESSAGE,
    STORAGE_READ_ERROR_MESSAGE,
    STORAGE_WRITE_ERROR_MESSAGE,
    job_run,
)

from .housekeeping import prune_old, storage_orphans_delete
from .jobs import (
    job_cancel,
    job_compress_now,
    job_create,
    job_create_from_file,
    job_delete,
    job_rerun,
    jobs_cancel,
    jobs_delete,
)
from .previews import preview_create
from .quotas import jobs_today, lock_user, storage_bytes_for_user
from .recovery import job_requeue_lost, jobs_recover_stale
from .sync_work import sync_work_slot
from .uploads import upload_create, upload_delete, upload_get_or_create

__all__ = [
    "DATABASE_ERRORS",
    "INTERNAL_ERROR_MESSAGE",
    "STORAGE_READ_ERROR_MESSAGE",
    "STORAGE_WRITE_ERROR_MESSAGE",
    "job_cancel",
    "job_compress_now",
    "job_create",
    "job_create_from_file",
    "job_delete",
    "job_requeue_lost",
    "job_rerun",
    "job_run",
    "jobs_cancel",
    "jobs_delete",
    "jobs_recover_stale",
    "jobs_today",
    "lock_user",
    "preview_create",
    "prune_old",
    "storage_bytes_for_user",
    "storage_orphans_delete",
    "sync_work_slot",
    "upload_create",
    "upload_delete",
    "upload_get_or_create",
]
