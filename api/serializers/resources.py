"""Uploads, jobs, palettes, tokens and usage: the resource API's requests and answers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .fields import absolute_url
from .options import CropBoxSerializer


class UploadCreateRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The image (PNG, JPEG, WebP, GIF, BMP, TIFF, ...).")


class UploadLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    download = serializers.URLField()
    jobs = serializers.URLField()


class UploadSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    original_name = serializers.CharField(read_only=True)
    format = serializers.CharField(read_only=True)
    width = serializers.IntegerField(read_only=True)
    height = serializers.IntegerField(read_only=True)
    bytes = serializers.IntegerField(source="size_bytes", read_only=True)
    sha256 = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    links = serializers.SerializerMethodField()

    @extend_schema_field(UploadLinksSerializer)
    def get_links(self, upload) -> dict:
        request = self.context.get("request")
        return {
            "self": absolute_url(request, "api:upload-detail", upload.id),
            "download": absolute_url(request, "api:upload-download", upload.id),
            "jobs": absolute_url(request, "api:job-list") + f"?upload={upload.id}",
        }


# ---------------------------------------------------------------------------------------------
# Jobs


class JobOptionsOutputSerializer(serializers.Serializer):
    n_colors = serializers.IntegerField()
    auto = serializers.BooleanField()
    init = serializers.CharField()
    color_space = serializers.CharField()
    dither = serializers.FloatField()
    max_iter = serializers.IntegerField()
    seed = serializers.IntegerField()
    resize_mode = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    scale_percent = serializers.FloatField(allow_null=True)
    crop = CropBoxSerializer(allow_null=True)
    allow_upscale = serializers.BooleanField()
    background = serializers.CharField(allow_null=True)
    target_size_bytes = serializers.IntegerField(allow_null=True)
    target_psnr = serializers.FloatField(allow_null=True)
    target_ssim = serializers.FloatField(allow_null=True)
    output_format = serializers.CharField()
    png_optimize_level = serializers.IntegerField(allow_null=True)


class JobResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    bytes = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class VerdictSerializer(serializers.Serializer):
    """Palette PNG or lossy WebP? Measured on a preview-sized copy (compression.engine.verdict)."""

    kind = serializers.ChoiceField(choices=["photo", "graphic"])
    webp_quality = serializers.IntegerField(allow_null=True)
    webp_bytes_ratio = serializers.FloatField(allow_null=True, help_text="Palette bytes / WebP bytes at the same SSIM.")
    message = serializers.CharField()


class JobStatsSerializer(serializers.Serializer):
    input_bytes = serializers.IntegerField(allow_null=True)
    output_bytes = serializers.IntegerField(allow_null=True)
    ratio = serializers.FloatField(allow_null=True, help_text="Input bytes / output bytes.")
    bytes_saved = serializers.IntegerField(allow_null=True, help_text="Negative when the output is larger.")
    psnr = serializers.FloatField(allow_null=True, help_text="dB; null when identical.")
    ssim = serializers.FloatField(allow_null=True)
    n_colors_used = serializers.IntegerField(allow_null=True)
    n_iter = serializers.IntegerField(allow_null=True)
    converged = serializers.BooleanField(allow_null=True)
    processing_ms = serializers.FloatField(allow_null=True)
    theoretical_ratio = serializers.FloatField(allow_null=True)
    unique_colors_before = serializers.IntegerField(allow_null=True)
    target_met = serializers.BooleanField(allow_null=True)
    silhouette = serializers.FloatField(allow_null=True, help_text="Mean silhouette (-1 to 1) on a sample of pixels.")
    psnr_over_black = serializers.FloatField(allow_null=True, help_text="Alpha images: PSNR composited over black.")
    psnr_over_white = serializers.FloatField(allow_null=True)
    ssim_over_black = serializers.FloatField(allow_null=True)
    ssim_over_white = serializers.FloatField(allow_null=True)
    lossless_webp_bytes = serializers.IntegerField(allow_null=True, help_text="The palette image as lossless WebP.")
    verdict = VerdictSerializer(allow_null=True)


class PaletteEntrySerializer(serializers.Serializer):
    color = serializers.CharField(help_text='"#rrggbb" (or "#rrggbbaa" with alpha).')
    share = serializers.FloatField(help_text="Fraction of the output pixels, 0-1.")


class PaletteLinksSerializer(serializers.Serializer):
    json = serializers.URLField()
    css = serializers.URLField()
    gpl = serializers.URLField()


class JobLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    upload = serializers.URLField()
    download = serializers.URLField(allow_null=True, help_text="Null until the job succeeded.")
    thumbnail = serializers.URLField(allow_null=True, help_text="A WebP of at most 256 px a side; null when there is none.")
    cancel = serializers.URLField()
    rerun = serializers.URLField()
    palette = PaletteLinksSerializer(allow_null=True)


class JobSerializer(serializers.Serializer):
    """A job in a list: state, options, result and the queryable figures."""

    id = serializers.UUIDField(read_only=True)
    status = serializers.CharField(read_only=True)
    progress = serializers.IntegerField(read_only=True)
    stage = serializers.CharField(read_only=True)
    error_message = serializers.CharField(read_only=True)
    upload_id = serializers.UUIDField(read_only=True)
    original_name = serializers.CharField(source="upload.original_name", read_only=True)
    rerun_of = serializers.UUIDField(source="rerun_of_id", read_only=True, allow_null=True)
    options = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField(
        help_text="A small WebP of the result (at most 256 px a side) for lists; null until the job succeeded, "
        "and for jobs that finished before thumbnails existed (use links.download)."
    )
    stats = serializers.SerializerMethodField()
    palette = serializers.SerializerMethodField()
    engine_version = serializers.CharField(read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    links = serializers.SerializerMethodField()

    @extend_schema_field(JobOptionsOutputSerializer)
    def get_options(self, job) -> dict:
        data = {name: getattr(job, name) for name in JobOptionsOutputSerializer._declared_fields if name != "crop"}
        data["crop"] = None
        if job.crop_width is not None and job.crop_height is not None:
            data["crop"] = {"x": job.crop_x or 0, "y": job.crop_y or 0, "width": job.crop_width, "height": job.crop_height}
        return data

    @extend_schema_field(JobResultSerializer(allow_null=True))
    def get_result(self, job):
        if not job.result:
            return None
        return {"format": job.result_format, "bytes": job.result_bytes, "width": job.result_width, "height": job.result_height}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, job):
        if job.status != "succeeded" or not job.thumbnail:
            return None
        return absolute_url(self.context.get("request"), "api:job-thumbnail", job.id)

    @extend_schema_field(JobStatsSerializer(allow_null=True))
    def get_stats(self, job):
        if job.output_bytes is None and not job.stats:
            return None
        extra = job.stats or {}
        return {
            "input_bytes": job.input_bytes,
            "output_bytes": job.output_bytes,
            "ratio": job.ratio,
            "bytes_saved": extra.get("bytes_saved"),
            "psnr": job.psnr,
            "ssim": job.ssim,
            "n_colors_used": job.n_colors_used,
            "n_iter": job.n_iter,
            "converged": extra.get("converged"),
            "processing_ms": job.processing_ms,
            "theoretical_ratio": extra.get("theoretical_ratio"),
            "unique_colors_before": extra.get("unique_colors_before"),
            "target_met": extra.get("target_met"),
            **{name: extra.get(name) for name in (
                "silhouette", "psnr_over_black", "psnr_over_white", "ssim_over_black", "ssim_over_white",
                "lossless_webp_bytes",
            )},
            "verdict": _verdict(extra.get("verdict")),
        }

    @extend_schema_field(PaletteEntrySerializer(many=True))
    def get_palette(self, job) -> list:
        return [{"color": entry["color"], "share": entry["share"]} for entry in (job.stats or {}).get("palette") or []]

    @extend_schema_field(JobLinksSerializer)
    def get_links(self, job) -> dict:
        request = self.context.get("request")
        succeeded = job.status == "succeeded"
        return {
            "self": absolute_url(request, "api:job-detail", job.id),
            "upload": absolute_url(request, "api:upload-detail", job.upload_id),
            "download": absolute_url(request, "api:job-download", job.id) if succeeded else None,
            "thumbnail": self.get_thumbnail_url(job),
            "cancel": absolute_url(request, "api:job-cancel", job.id),
            "rerun": absolute_url(request, "api:job-rerun", job.id),
            "palette": {
                fmt: absolute_url(request, "api:job-palette-format", job.id, fmt) for fmt in ("json", "css", "gpl")
            } if succeeded else None,
        }


class SearchAttemptSerializer(serializers.Serializer):
    n_colors = serializers.IntegerField()
    scale_percent = serializers.FloatField()
    output_bytes = serializers.IntegerField()
    psnr = serializers.FloatField(allow_null=True)
    ssim = serializers.FloatField(allow_null=True)


class JobDetailSerializer(JobSerializer):
    """One job with everything the engine reported: convergence history, timings, operations."""

    history = serializers.SerializerMethodField(help_text="K-Means inertia per Lloyd iteration (the convergence chart).")
    timings_ms = serializers.SerializerMethodField()
    operations = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    search_attempts = serializers.SerializerMethodField(help_text="The Ks tried by a target size/quality search.")

    def _extra(self, job, key, default):
        return (job.stats or {}).get(key) or default

    @extend_schema_field(serializers.ListField(child=serializers.FloatField()))
    def get_history(self, job):
        return self._extra(job, "history", [])

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_timings_ms(self, job):
        return self._extra(job, "timings_ms", {})

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_operations(self, job):
        return self._extra(job, "operations", [])

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, job):
        return self._extra(job, "warnings", [])

    @extend_schema_field(SearchAttemptSerializer(many=True))
    def get_search_attempts(self, job):
        return self._extra(job, "attempts", [])


class PaletteColorSerializer(serializers.Serializer):
    color = serializers.CharField()
    rgb = serializers.ListField(child=serializers.IntegerField())
    alpha = serializers.IntegerField(allow_null=True)
    share = serializers.FloatField()


class PaletteExportSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    n_colors = serializers.IntegerField()
    colors = PaletteColorSerializer(many=True)


# ---------------------------------------------------------------------------------------------
# Auth and tokens


class TokenObtainRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="api", help_text="A name to recognise the token by.")


class TokenObtainResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown only once.")
    id = serializers.UUIDField()
    name = serializers.CharField()


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=100)
    prefix = serializers.CharField(read_only=True, help_text="The first characters of the key.")
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="The token itself: shown only in this answer.")


class UsageSerializer(serializers.Serializer):
    jobs_today = serializers.IntegerField()
    jobs_per_day_quota = serializers.IntegerField(help_text="0 = unlimited.")
    jobs_today_remaining = serializers.IntegerField(allow_null=True, help_text="Null = unlimited.")
    storage_bytes = serializers.IntegerField()
    storage_quota_bytes = serializers.IntegerField(help_text="0 = unlimited.")
    storage_remaining_bytes = serializers.IntegerField(allow_null=True, help_text="Null = unlimited.")
    uploads = serializers.IntegerField()
    jobs = serializers.IntegerField()
    day_started_at = serializers.DateTimeField(help_text="Start of the quota day (UTC).")


def _verdict(data) -> dict | None:
    if not data:
        return None
    return {name: data.get(name) for name in ("kind", "webp_quality", "webp_bytes_ratio", "message")}
