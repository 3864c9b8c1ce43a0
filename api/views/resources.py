"""The resource API: uploads and jobs (list, create, detail, cancel, re-run, files, palette, batch, ZIP)."""

import uuid

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from compression import selectors, services
from compression.downloads import content_type_for, download_filename, file_response, job_download_filename
from compression.engine import InvalidOptions
from compression.models import CompressionJob, JobStatus, Upload
from compression.storage_names import THUMBNAIL_FORMAT

from .. import serializers as s
from ..exceptions import Conflict
from ..filters import JobFilter, JobOrdering, UploadOrdering
from ..palettes import palette_data
from ..parsers import LimitedMultiPartParser
from ..renderers import CspBrowsableAPIRenderer, PaletteCSSRenderer, PaletteGPLRenderer
from ..throttling import CompressThrottle, UserThrottle
from ..zipstream import stream_zip
from .common import ERRORS, PARSERS, UPLOAD_ERRORS, WAIT_PARAMETER, download_name, job_created_response, job_get, result_response, upload_get, wait_for, wait_seconds


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
        return Response(s.UploadSerializer(upload_get(request, upload_id), context={"request": request}).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]})
    def delete(self, request, upload_id):
        """Delete the upload, its jobs and all their files."""
        services.upload_delete(upload=upload_get(request, upload_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request, upload_id):
        """The original file, as an attachment (named with the extension of its detected format)."""
        upload = upload_get(request, upload_id)
        name = download_filename(upload.original_name or str(upload.id), upload.format)
        return file_response(upload.file, filename=name, content_type=content_type_for(upload.format))


class UploadVerdictApi(GenericAPIView):
    parser_classes = PARSERS
    serializer_class = s.JobOptionsSerializer

    @extend_schema(
        request=s.JobOptionsSerializer,
        responses={200: s.VerdictSerializer, 400: ERRORS[400], 401: ERRORS[401], 404: ERRORS[404], 429: ERRORS[429]},
        operation_id="uploads_verdict",
    )
    def post(self, request, upload_id):
        """Before a job: is a palette the right format for this upload with these options, or would
        lossy WebP be N times smaller at the same SSIM? Measured on a preview-sized copy."""
        upload = upload_get(request, upload_id)
        data = s.JobOptionsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verdict = services.upload_verdict(owner=request.user, upload=upload, options=s.options_for_service(data.validated_data))
        if verdict is None:
            raise serializers.ValidationError({"detail": ["The image is too small to judge (under 7x7 pixels)."]})
        return Response(s.VerdictSerializer(verdict).data)


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
        wait_seconds(request)  # a bad ?wait= is a 400 before anything is stored
        options = s.options_for_service({k: v for k, v in data.validated_data.items() if k not in ("upload_id", "file")})
        if data.validated_data.get("upload_id"):
            upload = upload_get(request, data.validated_data["upload_id"])
            job = services.job_create(owner=request.user, upload=upload, options=options)
        else:
            file = data.validated_data["file"]
            job, _created = services.job_create_from_file(
                owner=request.user, file=file, original_name=getattr(file, "name", None), options=options
            )
        return job_created_response(request, job)


class JobDetailApi(APIView):
    @extend_schema(parameters=[WAIT_PARAMETER], responses={200: s.JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request, job_id):
        """A job with its status, progress, stats, palette, convergence history and links."""
        job = job_get(request, job_id)
        wait = wait_seconds(request)
        if wait:
            [job] = wait_for(request, [job], wait)
        return Response(s.JobDetailSerializer(job, context={"request": request}).data)

    @extend_schema(responses={204: None, 401: ERRORS[401], 404: ERRORS[404]})
    def delete(self, request, job_id):
        """Delete the job and its result file (a running job stops)."""
        services.job_delete(job=job_get(request, job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: s.JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="Already finished.")})
    def post(self, request, job_id):
        """Cancel a queued job at once, or ask a running one to stop."""
        job = services.job_cancel(job=job_get(request, job_id))
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
        job = job_get(request, job_id)
        data = s.JobRerunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wait_seconds(request)
        changes = s.options_for_service(data.validated_data)
        new_job = services.job_rerun(job=job, changes=changes)
        return job_created_response(request, new_job)


class JobDownloadApi(APIView):
    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY, 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="No result yet.")})
    def get(self, request, job_id):
        """The compressed image, as an attachment."""
        return result_response(job_get(request, job_id))


class JobThumbnailApi(APIView):
    @extend_schema(responses={(200, "image/webp"): OpenApiTypes.BINARY, 302: OpenApiResponse(description="Redirect to a presigned URL."), 401: ERRORS[401], 404: ERRORS[404], 409: OpenApiResponse(description="No thumbnail (not succeeded yet, or finished before thumbnails existed).")})
    def get(self, request, job_id):
        """A small WebP of the result (at most 256 px a side), inline, for lists and previews."""
        job = job_get(request, job_id)
        if job.status != JobStatus.SUCCEEDED or not job.thumbnail:
            raise Conflict(f"This job has no thumbnail (it is {job.status}); use the download link.")
        name = job_download_filename(job, fmt=THUMBNAIL_FORMAT, extra="-thumbnail")
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
        job = job_get(request, job_id)
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
        wait = wait_seconds(request)
        uploads = [upload_get(request, upload_id) for upload_id in data.validated_data["upload_ids"]]
        options = s.options_for_service({k: v for k, v in data.validated_data.items() if k != "upload_ids"})
        jobs = _create_all(request, uploads, options)
        jobs = wait_for(request, jobs, wait)
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
        jobs = [job_get(request, job_id) for job_id in data.validated_data["ids"]]
        not_ready = [str(job.id) for job in jobs if job.status != JobStatus.SUCCEEDED or not job.result]
        if not_ready:
            raise Conflict(f"These jobs have no result to download: {', '.join(not_ready)}.")
        names, members = set(), []
        for job in jobs:
            name = download_name(job)
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
