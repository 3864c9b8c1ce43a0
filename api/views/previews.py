"""POST /api/uploads/<id>/preview/: what a job with these options would make of the upload, at preview size."""

import base64
import math
import time

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from compression import services
from compression.engine.preview import ERROR_UNITS

from .. import serializers as s
from ..throttling import PreviewThrottle
from .common import ERRORS, PARSERS, upload_get


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class UploadPreviewApi(APIView):
    parser_classes = PARSERS
    # Only the preview scope: a K slider sends many requests a second, which the general per-user
    # rate would soon refuse (the work itself is bounded by the sync-work slots).
    throttle_classes = [PreviewThrottle]

    @extend_schema(
        request={"application/json": s.PreviewRequestSerializer, "multipart/form-data": s.PreviewRequestSerializer},
        responses={
            200: s.PreviewSerializer,
            **ERRORS,
            413: OpenApiResponse(description="The upload has too many pixels to decode."),
            415: OpenApiResponse(description="The upload is not an image we read."),
            422: OpenApiResponse(description="The upload would cost too much to decode."),
            429: OpenApiResponse(description="Throttled, or your synchronous-work slots are all taken (Retry-After)."),
        },
    )
    def post(self, request, upload_id):
        """Preview a job's options on a downscaled copy of the upload: no job, no stored file.

        Takes the options of POST /api/jobs/ with a fixed K (no targets), `preview_pixels` and
        `views`. The upload's decoded preview is cached on the server, so after the first call
        each one only clusters, remaps and encodes."""
        started = time.perf_counter()
        upload = upload_get(request, upload_id)
        data = s.PreviewRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        validated = dict(data.validated_data)
        preview_pixels, views = validated.pop("preview_pixels"), validated.pop("views")
        preview = services.preview_create(
            owner=request.user, upload=upload, options=s.options_for_service(validated),
            preview_pixels=preview_pixels, views=views,
        )
        r = preview.result
        body = {
            "image": _data_url(r.image_png),
            "width": r.width,
            "height": r.height,
            "n_colors_used": r.n_colors_used,
            "palette": [{"color": entry.color, "share": entry.share} for entry in r.palette],
            "psnr": _finite(r.psnr),
            "ssim": _finite(r.ssim),
            "estimated_bytes": r.estimated_bytes,
            "estimate_exact": r.estimate_exact,
            "estimated_ratio": r.estimated_ratio,
            "input_bytes": r.input_bytes,
            "output_width": r.output_width,
            "output_height": r.output_height,
            "not_worth_it": r.not_worth_it,
            "source_cached": preview.source_cached,
        }
        if r.heatmap_png is not None:
            body.update(
                heatmap=_data_url(r.heatmap_png), heatmap_max_error=r.heatmap_max_error,
                heatmap_units=ERROR_UNITS[validated.get("color_space", "rgb")],
            )
        if r.clusters_png is not None:
            body["clusters"] = _data_url(r.clusters_png)
        body["server_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return Response(body)
