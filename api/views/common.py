"""What the API views share: error docs for the schema, owner-scoped gets, ?wait, result files."""

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from compression import selectors, services
from compression.downloads import content_type_for, file_response, job_download_filename
from compression.models import CompressionJob, JobStatus, Upload

from .. import serializers as s
from ..exceptions import Conflict
from ..parsers import LimitedJSONParser, LimitedMultiPartParser


WAIT_POLL_SECONDS = 0.25
PARSERS = [LimitedJSONParser, LimitedMultiPartParser, FormParser]
ERRORS = {
    400: OpenApiResponse(description="Invalid parameters: field errors."),
    401: OpenApiResponse(description="Not authenticated."),
    404: OpenApiResponse(description="Not found (or not yours)."),
    429: OpenApiResponse(description="Throttled, or the daily jobs quota is used up."),
}
UPLOAD_ERRORS = {
    **ERRORS,
    413: OpenApiResponse(description="The file (bytes or pixels) or your storage quota is too large."),
    415: OpenApiResponse(description="Not an image format we read."),
}


def job_get(request, job_id) -> CompressionJob:
    return selectors.job_get_for_user(user=request.user, job_id=job_id)


def upload_get(request, upload_id) -> Upload:
    return selectors.upload_get_for_user(user=request.user, upload_id=upload_id)


def wait_seconds(request) -> int:
    query = s.WaitQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return min(query.validated_data["wait"], settings.API_MAX_WAIT_SECONDS)


def wait_for(request, jobs: list[CompressionJob], seconds: int) -> list[CompressionJob]:
    """Re-read the jobs until all are finished or `seconds` pass (polling: any worker backend).

    A wait holds a web thread: it takes one of the user's synchronous-work slots."""
    if seconds <= 0:
        return _reread(request, jobs)
    with services.sync_work_slot(request.user, kind="wait"):
        return _poll(request, jobs, seconds)


def _reread(request, jobs):
    ids = [job.id for job in jobs]
    current = {job.id: job for job in selectors.job_list_for_user(user=request.user).filter(id__in=ids)}
    return [current.get(job_id, job) for job_id, job in zip(ids, jobs, strict=True)]


def _poll(request, jobs, seconds):
    deadline = time.monotonic() + seconds
    while True:
        jobs = _reread(request, jobs)
        if all(job.is_finished for job in jobs) or time.monotonic() >= deadline:
            return jobs
        time.sleep(WAIT_POLL_SECONDS)


def download_name(job: CompressionJob) -> str:
    return job_download_filename(job, with_id=True)


def result_response(job: CompressionJob, *, as_attachment: bool = True):
    if job.status != JobStatus.SUCCEEDED or not job.result:
        raise Conflict(f"This job has no result to download (it is {job.status}).")
    return file_response(
        job.result, filename=download_name(job), content_type=content_type_for(job.result_format),
        as_attachment=as_attachment,
    )


def job_created_response(request, job: CompressionJob) -> Response:
    # Re-read: the task may already have run (immediate backend, or a fast worker).
    [job] = wait_for(request, [job], wait_seconds(request))
    data = s.JobDetailSerializer(job, context={"request": request}).data
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["links"]["self"]})


WAIT_PARAMETER = OpenApiParameter(
    "wait", int, description="Wait up to this many seconds (0-60) for the job to finish before answering."
)
