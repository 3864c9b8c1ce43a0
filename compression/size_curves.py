"""The size-vs-K curve of a job (the job page's chart): output size and error at each K of
SIZE_CURVE_KS for the job's image and options. The worker computes it right after the job and
stores it on the row; jobs without one (older jobs, the classic synchronous endpoints) get it
computed when their page first asks (dashboard/views.py, cached)."""

import logging

from compression.decoding import decode_limits
from compression.models import CompressionJob, JobStatus

logger = logging.getLogger(__name__)

SIZE_CURVE_KS = (2, 4, 8, 16, 32, 64, 128, 256)


def size_curve_compute(job: CompressionJob) -> dict:
    """The curve of `job` (1-4 s on a 2-core machine); the upload is decoded under the decode caps."""
    from compression.engine import decode_capped
    from compression.engine.curves import size_curve

    with job.upload.file.open("rb") as handle:
        data = handle.read()
    pixels = decode_capped(data, decode_limits())
    return size_curve(pixels, SIZE_CURVE_KS, options=job.to_compress_options()).to_dict()


def size_curve_store(job: CompressionJob) -> None:
    """Compute and store the curve of a succeeded job; a failure is logged (the page falls back)."""
    if job.status != JobStatus.SUCCEEDED:
        return
    try:
        curve = size_curve_compute(job)
    except Exception:
        logger.exception("job %s: the size curve could not be computed", job.id)
        return
    CompressionJob.objects.filter(id=job.id).update(size_curve=curve)
