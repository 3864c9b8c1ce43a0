"""Thin DRF views: validate with a serializer, call a service or selector, serialize, set the status.

Resource API (uploads, jobs, tokens) first, then the classic endpoints of the original Flask
compressor (flat paths, `{"success": false, "error": ...}` errors), then health and presets.
"""

import json
import logging
import threading
import time
import uuid
from dataclasses import asdict

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from compression import selectors, services
from compression.downloads import content_type_for, download_filename, file_response, job_download_filename
from compression.engine import ENGINE_VERSION, InvalidOptions
from compression.engine.presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES
from compression.models import CompressionJob, JobStatus, Upload
from compression.storage_names import THUMBNAIL_FORMAT

from . import serializers as s
from .authentication import raise_if_locked
from .exceptions import Conflict, JobFailed
from .filters import JobFilter, JobOrdering, UploadOrdering
from .palettes import palette_data
from .parsers import LimitedMultiPartParser
from .renderers import CspBrowsableAPIRenderer, ImageFileRenderer, PaletteCSSRenderer, PaletteGPLRenderer
from .throttling import AuthThrottle, CompressThrottle, UserThrottle
from .zipstream import stream_zip

logger = logging.getLogger(__name__)

WAIT_POLL_SECONDS = 0.25
PARSERS = [JSONParser, LimitedMultiPartParser, FormParser]
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


# ---------------------------------------------------------------------------------------------
# Helpers


def _job_get(request, job_id) -> CompressionJob:
    return selectors.job_get_for_user(user=request.user, job_id=job_id)


def _upload_get(request, upload_id) -> Upload:
    return selectors.upload_get_for_user(user=request.user, upload_id=upload_id)


def _wait_seconds(request) -> int:
    query = s.WaitQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return min(query.validated_data["wait"], settings.API_MAX_WAIT_SECONDS)


def _wait_for(request, jobs: list[CompressionJob], seconds: int) -> list[CompressionJob]:
    """Re-read the jobs until all are finished or `seconds` pass (polling: any worker backend)."""
    deadline = time.monotonic() + seconds
    ids = [job.id for job in jobs]
    while True:
        current = {job.id: job for job in selectors.job_list_for_user(user=request.user).filter(id__in=ids)}
        jobs = [current.get(job_id, job) for job_id, job in zip(ids, jobs, strict=True)]
        if all(job.is_finished for job in jobs) or time.monotonic() >= deadline:
            return jobs
        time.sleep(WAIT_POLL_SECONDS)


def _download_name(job: CompressionJob) -> str:
    return job_download_filename(job, with_id=True)


def _result_response(job: CompressionJob, *, as_attachment: bool = True):
    if job.status != JobStatus.SUCCEEDED or not job.result:
        raise Conflict(f"This job has no result to download (it is {job.status}).")
    return file_response(
        job.result, filename=_download_name(job), content_type=content_type_for(job.result_format),
        as_attachment=as_attachment,
    )


def _job_created_response(request, job: CompressionJob) -> Response:
    # Re-read: the task may already have run (immediate backend, or a fast worker).
    [job] = _wait_for(request, [job], _wait_seconds(request))
    data = s.JobDetailSerializer(job, context={"request": request}).data
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["links"]["self"]})


# ---------------------------------------------------------------------------------------------
# Auth and tokens


class TokenObtainApi(GenericAPIView):
    """Exchange a username and password for a new named API token (shown once)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]
    parser_classes = [JSONParser, FormParser]
    serializer_class = s.TokenObtainRequestSerializer

    @extend_schema(
        request=s.TokenObtainRequestSerializer,
        responses={200: s.TokenObtainResponseSerializer, 400: ERRORS[400], 429: ERRORS[429]},
        auth=[],
        operation_id="auth_token_obtain",
    )
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        raise_if_locked(username=username, request=request)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise_if_locked(username=username, request=request)  # this failure reached the limit
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with the provided credentials."]})
        new = tokens.token_create(user=user, name=data.validated_data["name"])
        return Response({"token": new.key, "id": new.token.id, "name": new.token.name}, status=status.HTTP_200_OK)


class TokenListApi(GenericAPIView):
    """Your API tokens (never the keys), and creating a named one."""

    serializer_class = s.ApiTokenSerializer
    parser_classes = [JSONParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return tokens.ApiToken.objects.none()
        return tokens.token_list_for_user(user=self.request.user)

    @extend_schema(responses={200: s.ApiTokenSerializer(many=True), 401: ERRORS[401]}, operation_id="auth_tokens_list")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ApiTokenSerializer(page, many=True).data)

    @extend_schema(
        request=s.ApiTokenSerializer, responses={201: s.ApiTokenCreatedSerializer, 400: ERRORS[400], 401: ERRORS[401]},
        operation_id="auth_tokens_create",
    )
    def post(self, request):
        data = s.ApiTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = tokens.token_create(user=request.user, name=data.validated_data["name"])
        out = s.ApiTokenCreatedSerializer(new.token).data
        out["key"] = new.key
        url = request.build_absolute_uri(reverse("api:token-detail", args=[new.token.id]))
        return Response(out, status=status.HTTP_201_CREATED, headers={"Location": url})


class TokenDetailApi(APIView):
    @extend_schema(responses={200: s.ApiTokenSerializer, 401: ERRORS[401], 404: ERRORS[404]}, operation_id="auth_tokens_retrieve")
    def get(self, request, token_id):
        return Response(s.ApiTokenSerializer(tokens.token_get_for_user(user=request.user, token_id=token_id)).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]}, operation_id="auth_tokens_revoke")
    def delete(self, request, token_id):
        tokens.token_revoke(token=tokens.token_get_for_user(user=request.user, token_id=token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsageApi(APIView):
    @extend_schema(responses={200: s.UsageSerializer, 401: ERRORS[401]})
    def get(self, request):
        """Jobs today and stored bytes against your quotas."""
        return Response(s.UsageSerializer(selectors.usage_for_user(user=request.user)).data)


# ---------------------------------------------------------------------------------------------
# Uploads


class UploadListApi(GenericAPIView):
    parser_classes = [LimitedMultiPartParser, FormParser]
    filter_backends = [UploadOrdering]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Upload.objects.none()
        return selectors.upload_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        return s.UploadCreateRequestSerializer if self.request.method == "POST" else s.UploadSerializer

    @extend_schema(responses={200: s.UploadSerializer(many=True), 401: ERRORS[401]})
    def get(self, request):
        """Your uploads, newest first."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.UploadSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request={"multipart/form-data": s.UploadCreateRequestSerializer}, responses={201: s.UploadSerializer, 200: s.UploadSerializer, **UPLOAD_ERRORS})
    def post(self, request):
        """Upload an image (multipart field `file`): 201; the same bytes again: 200 with that upload."""
        data = s.UploadCreateRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        file = data.validated_data["file"]
        upload, created = services.upload_get_or_create(
            owner=request.user, file=file, original_name=getattr(file, "name", None)
        )
        out = s.UploadSerializer(upload, context={"request": request}).data
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(out, status=code, headers={"Location": out["links"]["self"]})


class UploadDetailApi(APIView):
    @extend_schema(responses={200: s.UploadSerializer, 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request, upload_id):
        return Response(s.UploadSerializer(_upload_get(request, upload_id), context={"request": request}).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]})
    def delete(self, request, upload_id):
        """Delete the upload, its jobs and all their files."""
        services.upload_delete(upload=_upload_get(request, upload_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request, upload_id):
        """The original file, as an attachment (named with the extension of its detected format)."""
        upload = _upload_get(request, upload_id)
        name = download_filename(upload.original_name or str(upload.id), upload.format)
        return file_response(upload.file, filename=name, content_type=content_type_for(upload.format))


# ---------------------------------------------------------------------------------------------
# Jobs


WAIT_PARAMETER = OpenApiParameter(
    "wait", int, description="Wait up to this many seconds (0-60) for the job to finish before answering."
)


class JobListApi(GenericAPIView):
    parser_classes = PARSERS
    filter_backends = [DjangoFilterBackend, JobOrdering]
    filterset_class = JobFilter
    ordering = ["-created_at"]
    throttle_classes = [UserThrottle, CompressThrottle]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CompressionJob.objects.none()
        return selectors.job_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        return s.JobCreateRequestSerializer if self.request.method == "POST" else s.JobSerializer

    @extend_schema(responses={200: s.JobSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]})
    def get(self, request):
        """Your job history, newest first; filter by status, dates, format, K; sort with ?ordering=."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.JobSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        request={"application/json": s.JobCreateRequestSerializer, "multipart/form-data": s.JobCreateRequestSerializer},
        parameters=[WAIT_PARAMETER],
        responses={201: s.JobDetailSerializer, **UPLOAD_ERRORS},
    )
    def post(self, request):
        """Create a job from one of your uploads (`upload_id`) or from a `file` sent in this request."""
        data = s.JobCreateRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _wait_seconds(request)  # a bad ?wait= is a 400 before anything is stored
        options = s.options_for_service({k: v for k, v in data.validated_data.items() if k not in ("upload_id", "file")})
        if data.validated_data.get("upload_id"):
            upload = _upload_get(request, data.validated_data["upload_id"])
            job = services.job_create(owner=request.user, upload=upload, options=options)
        else:
            file = data.validated_data["file"]
            job, _created = services.job_create_from_file(
                owner=request.user, file=file, original_name=getattr(file, "name", None), options=options
            )
        return _job_created_response(request, job)


class JobDetailApi(APIView):
    @extend_schema(parameters=[WAIT_PARAMETER], responses={200: s.JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request, job_id):
        """A job with its status, progress, stats, palette, convergence history and links."""
        job = _job_get(request, job_id)
        wait = _wait_seconds(request)
        if wait:
            [job] = _wait_for(request, [job], wait)
        return Response(s.JobDetailSerializer(job, context={"request": request}).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]})
    def delete(self, request, job_id):
        """Delete the job and its result file (a running job stops)."""
        services.job_delete(job=_job_get(request, job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: s.JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="Already finished.")})
    def post(self, request, job_id):
        """Cancel a queued job at once, or ask a running one to stop."""
        job = services.job_cancel(job=_job_get(request, job_id))
        return Response(s.JobDetailSerializer(job, context={"request": request}).data)


class JobRerunApi(GenericAPIView):
    parser_classes = PARSERS
    serializer_class = s.JobRerunRequestSerializer
    throttle_classes = [UserThrottle, CompressThrottle]

    @extend_schema(
        request=s.JobRerunRequestSerializer, parameters=[WAIT_PARAMETER],
        responses={201: s.JobDetailSerializer, **ERRORS, 409: OpenApiResponse(description="The job has not finished.")},
    )
    def post(self, request, job_id):
        """A new job on the same upload: the same options, with the ones given here changed."""
        job = _job_get(request, job_id)
        data = s.JobRerunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _wait_seconds(request)
        changes = s.options_for_service(data.validated_data)
        new_job = services.job_rerun(job=job, changes=changes)
        return _job_created_response(request, new_job)


class JobDownloadApi(APIView):
    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY, 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="No result yet.")})
    def get(self, request, job_id):
        """The compressed image, as an attachment."""
        return _result_response(_job_get(request, job_id))


class JobThumbnailApi(APIView):
    @extend_schema(responses={(200, "image/webp"): OpenApiTypes.BINARY, 302: OpenApiResponse(description="Redirect to a presigned URL."), 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="No thumbnail (not succeeded yet, or finished before thumbnails existed).")})
    def get(self, request, job_id):
        """A small WebP of the result (at most 256 px a side), inline, for lists and previews."""
        job = _job_get(request, job_id)
        if job.status != JobStatus.SUCCEEDED or not job.thumbnail:
            raise Conflict(f"This job has no thumbnail (it is {job.status}); use the download link.")
        name = download_filename(job.upload.original_name, THUMBNAIL_FORMAT, suffix=f"-k{job.n_colors}-thumbnail")
        return file_response(job.thumbnail, filename=name, content_type=content_type_for(THUMBNAIL_FORMAT), as_attachment=False)


class JobPaletteApi(APIView):
    """The palette as JSON, CSS custom properties or a GIMP palette: palette.<json|css|gpl> or ?format=."""

    renderer_classes = [JSONRenderer, PaletteCSSRenderer, PaletteGPLRenderer, CspBrowsableAPIRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "css", "gpl"], description="Export format (or use the path suffix).")],
        responses={(200, "application/json"): s.PaletteExportSerializer, (200, "text/css"): OpenApiTypes.STR, (200, "text/x-gimp-gpl"): OpenApiTypes.STR, 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="No result yet.")},
        operation_id="jobs_palette",
    )
    def get(self, request, job_id, format=None):
        job = _job_get(request, job_id)
        if job.status != JobStatus.SUCCEEDED:
            raise Conflict(f"This job has no palette yet (it is {job.status}).")
        response = Response(palette_data(job))
        if request.accepted_renderer.format in ("css", "gpl"):
            response["Content-Disposition"] = f'attachment; filename="palette-{str(job.id)[:8]}.{request.accepted_renderer.format}"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None) and request.accepted_renderer.format in ("css", "gpl"):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class JobBatchApi(GenericAPIView):
    parser_classes = PARSERS
    serializer_class = s.JobBatchRequestSerializer
    throttle_classes = [UserThrottle, CompressThrottle]

    @extend_schema(
        request=s.JobBatchRequestSerializer, parameters=[WAIT_PARAMETER],
        responses={201: s.JobSerializer(many=True), **ERRORS},
    )
    def post(self, request):
        """One job per upload, all with the same options. Any upload that is not yours: 404, no job."""
        data = s.JobBatchRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wait = _wait_seconds(request)
        uploads = [_upload_get(request, upload_id) for upload_id in data.validated_data["upload_ids"]]
        options = s.options_for_service({k: v for k, v in data.validated_data.items() if k != "upload_ids"})
        jobs = _create_all(request, uploads, options)
        jobs = _wait_for(request, jobs, wait)
        return Response(s.JobSerializer(jobs, many=True, context={"request": request}).data, status=status.HTTP_201_CREATED)


def _create_all(request, uploads, options) -> list[CompressionJob]:
    # All or nothing for the rows; each job is enqueued when the transaction commits.
    from django.db import transaction

    with transaction.atomic():
        jobs = []
        for upload in uploads:
            try:
                jobs.append(services.job_create(owner=request.user, upload=upload, options=options))
            except InvalidOptions as exc:  # e.g. a crop box outside this one of the images
                raise InvalidOptions(f"upload {upload.id}: {exc}", field=exc.field) from exc
        return jobs


IDS_PARAMETER = OpenApiParameter(
    "ids", OpenApiTypes.UUID, many=True, explode=False, style="form",
    description="Comma-separated job ids (or repeat ?ids=).",
)


class JobZipApi(GenericAPIView):
    parser_classes = PARSERS
    serializer_class = s.JobZipRequestSerializer

    @extend_schema(parameters=[IDS_PARAMETER], responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS, 409: OpenApiResponse(description="A job has no result.")}, operation_id="jobs_zip_retrieve")
    def get(self, request):
        """The results of several of your succeeded jobs as one ZIP (streamed)."""
        ids = [part for value in request.query_params.getlist("ids") for part in value.split(",") if part.strip()]
        return self._zip(request, {"ids": ids})

    @extend_schema(request=s.JobZipRequestSerializer, responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS, 409: OpenApiResponse(description="A job has no result.")}, operation_id="jobs_zip_create")
    def post(self, request):
        ids = request.data.getlist("ids") if hasattr(request.data, "getlist") else request.data.get("ids")
        if isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], str) and "," in ids[0]:
            ids = ids[0].split(",")
        return self._zip(request, {"ids": ids})

    def _zip(self, request, raw):
        data = s.JobZipRequestSerializer(data=raw)
        data.is_valid(raise_exception=True)
        jobs = [_job_get(request, job_id) for job_id in data.validated_data["ids"]]
        not_ready = [str(job.id) for job in jobs if job.status != JobStatus.SUCCEEDED or not job.result]
        if not_ready:
            raise Conflict(f"These jobs have no result to download: {', '.join(not_ready)}.")
        names, members = set(), []
        for job in jobs:
            name = _download_name(job)
            while name in names:
                name = f"{uuid.uuid4().hex[:6]}-{name}"
            names.add(name)
            members.append((name, job.result))
        response = StreamingHttpResponse(stream_zip(members), content_type="application/zip")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="compressed-{stamp}.zip"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


# ---------------------------------------------------------------------------------------------
# Classic endpoints: the original Flask compressor's paths and shapes, with authentication added


class ClassicApiView(GenericAPIView):
    """Errors as {"success": false, "error": "..."} (see api.exception_handler)."""

    classic_errors = True
    parser_classes = PARSERS


def _classic_response_for_job(request, job: CompressionJob, *, advanced: bool) -> dict:
    if job.status != JobStatus.SUCCEEDED:
        if job.error_message in (services.STORAGE_READ_ERROR_MESSAGE, services.STORAGE_WRITE_ERROR_MESSAGE):
            error = JobFailed(job.error_message)
            error.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            raise error
        raise JobFailed(job.error_message or f"The compression ended {job.status}.")
    download = reverse("api:classic-download", args=[job.id])
    return {
        "success": True,
        "compressed_id": job.id,
        "download_url": request.build_absolute_uri(download),
        "preview_url": request.build_absolute_uri(download) + "?inline=1",
        "stats": s.classic_stats(job, advanced=advanced),
    }


CLASSIC_ERRORS = {
    code: OpenApiResponse(s.ClassicErrorSerializer, description=text)
    for code, text in {
        400: "Invalid parameters.", 401: "Not authenticated.", 404: "Not found (or not yours).",
        413: "Too large.", 415: "Not an image we read.", 422: "The compression failed.", 429: "Throttled or quota used up.",
    }.items()
}


class ClassicUploadApi(ClassicApiView):
    parser_classes = [LimitedMultiPartParser, FormParser]
    serializer_class = s.ClassicUploadRequestSerializer

    @extend_schema(request={"multipart/form-data": s.ClassicUploadRequestSerializer}, responses={200: s.ClassicUploadResponseSerializer, **CLASSIC_ERRORS}, operation_id="classic_upload")
    def post(self, request):
        """Upload an image (multipart field `image`)."""
        data = s.ClassicUploadRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = services.upload_create(owner=request.user, file=data.validated_data["image"])
        preview = reverse("api:upload-download", args=[upload.id])
        return Response({
            "success": True,
            "image_id": upload.id,
            "preview_url": request.build_absolute_uri(preview),
            "dimensions": {"width": upload.width, "height": upload.height},
            "format": upload.format,
            "file_size": upload.size_bytes,
        })


class ClassicCompressApi(ClassicApiView):
    serializer_class = s.ClassicCompressRequestSerializer
    throttle_classes = [UserThrottle, CompressThrottle]
    advanced = False

    @extend_schema(request=s.ClassicCompressRequestSerializer, responses={200: s.ClassicCompressResponseSerializer, **CLASSIC_ERRORS}, operation_id="classic_compress")
    def post(self, request):
        """Compress one of your uploads (`image_id`) with K = `n_colors`; answers when done."""
        return self._compress(request)

    def _compress(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = _upload_get(request, data.validated_data["image_id"])
        options = s.classic_options(data.validated_data)
        job = services.job_compress_now(owner=request.user, upload=upload, options=options)
        return Response(_classic_response_for_job(request, job, advanced=self.advanced))


class ClassicCompressAdvancedApi(ClassicCompressApi):
    serializer_class = s.ClassicCompressAdvancedRequestSerializer
    advanced = True

    @extend_schema(request=s.ClassicCompressAdvancedRequestSerializer, responses={200: s.ClassicCompressAdvancedResponseSerializer, **CLASSIC_ERRORS}, operation_id="classic_compress_advanced")
    def post(self, request):
        """Compress with resizing, cropping and a target size; answers when done."""
        return self._compress(request)


class ClassicCompressDirectApi(ClassicApiView):
    parser_classes = [LimitedMultiPartParser, FormParser]
    serializer_class = s.ClassicCompressDirectRequestSerializer
    throttle_classes = [UserThrottle, CompressThrottle]
    renderer_classes = [JSONRenderer, CspBrowsableAPIRenderer, ImageFileRenderer]

    @extend_schema(
        request={"multipart/form-data": s.ClassicCompressDirectRequestSerializer},
        parameters=[OpenApiParameter("format", str, enum=["json", "file"], description="`file` answers the compressed image itself (as does `Accept: image/png`).")],
        responses={(200, "application/json"): s.ClassicCompressDirectResponseSerializer, (200, "image/*"): OpenApiTypes.BINARY, **CLASSIC_ERRORS},
        operation_id="classic_compress_direct",
    )
    def post(self, request):
        """Upload and compress in one request; JSON with the stats, or the file itself."""
        data = s.ClassicCompressDirectRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = s.classic_options(data.validated_data)
        started = time.perf_counter()
        image = data.validated_data["image"]
        job, _created = services.job_create_from_file(
            owner=request.user, file=image, original_name=getattr(image, "name", None), options=options, run_now=True
        )
        elapsed = time.perf_counter() - started
        if request.accepted_renderer.format == "file":
            if job.status == JobStatus.SUCCEEDED:
                response = _result_response(job)
                response["X-Compression-Ratio"] = f"{job.ratio:.4f}"
                response["X-Job-Id"] = str(job.id)
                return response
        body = _classic_response_for_job(request, job, advanced=True)
        body.update(
            image_id=job.upload_id,
            compression_ratio=round(job.ratio, 4),
            processing_time=round(elapsed, 4),
        )
        return Response(body)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and getattr(request, "accepted_renderer", None) and request.accepted_renderer.format == "file":
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class ClassicDownloadApi(ClassicApiView):
    @extend_schema(
        parameters=[OpenApiParameter("inline", bool, description="Display instead of download (previews).")],
        responses={(200, "image/*"): OpenApiTypes.BINARY, **CLASSIC_ERRORS},
        operation_id="classic_download",
    )
    def get(self, request, job_id):
        """The compressed image of a job (`compressed_id`)."""
        inline = request.query_params.get("inline") in ("1", "true", "yes")
        return _result_response(_job_get(request, job_id), as_attachment=not inline)


class ClassicPresetsApi(ClassicApiView):
    @extend_schema(responses={200: s.PresetListSerializer, 401: CLASSIC_ERRORS[401]}, operation_id="classic_presets")
    def get(self, request):
        """The compression presets (K per preset)."""
        return Response({"success": True, "presets": [asdict(p) for p in COMPRESSION_PRESETS]})


class ClassicResizeModesApi(ClassicApiView):
    @extend_schema(responses={200: s.ResizeModeListSerializer, 401: CLASSIC_ERRORS[401]}, operation_id="classic_resize_modes")
    def get(self, request):
        """The resize modes: fit, fill, stretch, crop."""
        return Response({"success": True, "resize_modes": [asdict(m) for m in RESIZE_MODES]})


class ClassicDimensionPresetsApi(ClassicApiView):
    @extend_schema(responses={200: s.DimensionPresetListSerializer, 401: CLASSIC_ERRORS[401]}, operation_id="classic_dimension_presets")
    def get(self, request):
        """Common output dimensions (HD, Instagram post, favicon, ...)."""
        return Response({"success": True, "dimension_presets": [asdict(d) for d in DIMENSION_PRESETS]})


class HealthApi(APIView):
    """Public: the database, the file store, the job queue and the engine, each really exercised."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # load balancers and container health checks poll it
    classic_errors = True

    @extend_schema(responses={200: s.HealthSerializer, 503: s.HealthSerializer}, auth=[], operation_id="health")
    def get(self, request):
        checks = {
            "database": _check("database", _check_database),
            "storage": _storage_check_cached(),
            "queue": _check("queue", _check_queue),
            "engine": _check("engine", _check_engine),
        }
        healthy = all(check["ok"] for check in checks.values())
        body = {
            "success": healthy,
            "status": "ok" if healthy else "error",
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "engine_version": ENGINE_VERSION,
            "checks": checks,
        }
        response = Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Cache-Control"] = "no-store"
        return response


# The endpoint is public: it says which dependency failed, never how (paths, hosts, driver
# messages go to the log). HealthProblem messages are ours and safe to show.
HEALTH_PUBLIC_ERRORS = {
    "database": "database unreachable",
    "storage": "storage unreachable",
    "queue": "queue check failed",
    "engine": "engine check failed",
}
# The storage probe writes, reads and deletes an object: at most once per this many seconds per
# process (load balancers poll every few seconds), whatever the answer was.
HEALTH_STORAGE_CACHE_SECONDS = 10
_storage_probe_lock = threading.Lock()
_storage_probe_cache: dict = {}  # {"key": the storage settings, "at": monotonic, "result": dict}


class HealthProblem(Exception):
    """A failed check whose message is written for the public health answer."""


def _check(name: str, probe) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **(probe() or {})}
    except HealthProblem as exc:
        result = {"ok": False, "error": str(exc)}
    except Exception:  # a failing dependency is the answer, not an error of this view
        logger.warning("health check %r failed", name, exc_info=True)
        result = {"ok": False, "error": HEALTH_PUBLIC_ERRORS[name]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _storage_check_cached() -> dict:
    key = json.dumps(settings.STORAGES["default"], sort_keys=True, default=str)
    with _storage_probe_lock:
        cached = _storage_probe_cache
        if cached.get("key") == key and time.monotonic() - cached["at"] < HEALTH_STORAGE_CACHE_SECONDS:
            return {**cached["result"], "cached": True}
        result = _check("storage", _check_storage)
        _storage_probe_cache.update(key=key, at=time.monotonic(), result=result)
        return result


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 did not return 1")


def _check_storage():
    from django.core.files.base import ContentFile

    payload = uuid.uuid4().hex.encode()
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(payload))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != payload:
                raise RuntimeError("read back different bytes")
    finally:
        default_storage.delete(name)


def _check_engine() -> dict:
    from compression.engine import native

    state = native.status()
    if not state.ok:
        raise HealthProblem(state.message)
    return {"build": state.build_id}


def _check_queue() -> dict:
    # Platform-wide counts, no user data (the one unscoped read of the API; a selector is requested).
    queued = CompressionJob.objects.filter(status=JobStatus.QUEUED)
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    age = round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
    stats = {
        "queued": queued.count(),
        "running": CompressionJob.objects.filter(status=JobStatus.RUNNING).count(),
        "oldest_queued_age_seconds": age,
    }
    limit = settings.API_HEALTH_MAX_QUEUE_AGE
    if limit and age is not None and age > limit:
        raise HealthProblem(f"the oldest queued job has waited {age:.0f} s (limit {limit} s): is a worker running?")
    return stats
