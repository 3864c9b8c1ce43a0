"""Classic endpoints: the original Flask compressor's paths and shapes, with authentication added."""

import time
from dataclasses import asdict

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from compression import services
from compression.engine.presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES
from compression.models import CompressionJob, JobStatus

from .. import serializers as s
from ..exceptions import JobFailed
from ..parsers import LimitedMultiPartParser
from ..renderers import CspBrowsableAPIRenderer, ImageFileRenderer
from ..throttling import CompressThrottle, UserThrottle
from .common import PARSERS, job_get, result_response, upload_get


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
        upload = upload_get(request, data.validated_data["image_id"])
        options = s.classic_options(data.validated_data)
        with services.sync_work_slot(request.user, kind="compress"):
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
        with services.sync_work_slot(request.user, kind="compress-direct"):
            job, _created = services.job_create_from_file(
                owner=request.user, file=image, original_name=getattr(image, "name", None), options=options, run_now=True
            )
        elapsed = time.perf_counter() - started
        if request.accepted_renderer.format == "file":
            if job.status == JobStatus.SUCCEEDED:
                response = result_response(job)
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
        return result_response(job_get(request, job_id), as_attachment=not inline)


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
