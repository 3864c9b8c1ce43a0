"""Request and response serializers. Module level, uniquely named (they become schema components)."""

import json

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compression.engine import BOUNDS, InvalidOptions, parse_hex_colour
from compression.engine.presets import COLOR_SPACES, OUTPUT_FORMATS, RESIZE_MODE_KEYS


class AsciiNumberMixin:
    """Numbers written with ASCII digits only: Python's int() also reads "٣" as 3."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class IntegerField(AsciiNumberMixin, serializers.IntegerField):
    pass


class FloatField(AsciiNumberMixin, serializers.FloatField):
    pass


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string: DRF would also read the number 5 as a UUID (and answer 404)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def bounded(name: str, **kwargs) -> serializers.Field:
    """A number field whose range and message are the engine's (compression.engine.BOUNDS)."""
    bound = BOUNDS[name]
    field_class = IntegerField if bound.integer else FloatField
    message = bound.message.replace("%", "%%")  # the messages are %-formatted with the limit
    messages = {key: message for key in ("invalid", "min_value", "max_value", "max_string_length")}
    return field_class(min_value=bound.minimum, max_value=bound.maximum, error_messages=messages, **kwargs)


def _absolute(request, name: str, *args) -> str:
    url = reverse(name, args=args)
    return request.build_absolute_uri(url) if request is not None else url


# ---------------------------------------------------------------------------------------------
# Options


class CropBoxSerializer(serializers.Serializer):
    x = bounded("crop_x")
    y = bounded("crop_y")
    width = bounded("crop_width")
    height = bounded("crop_height")


@extend_schema_field(CropBoxSerializer)
class CropBoxField(serializers.Field):
    """A crop box as an object, or as the same object in a JSON string (multipart forms)."""

    default_error_messages = {
        "invalid": "Expected an object with x, y, width and height (or that object as a JSON string).",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not data.strip():
                return None
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        inner = CropBoxSerializer(data=data)
        if not inner.is_valid():
            raise serializers.ValidationError(inner.errors)
        return dict(inner.validated_data)

    def to_representation(self, value):
        return value


class JobOptionsSerializer(serializers.Serializer):
    """Every engine option. All optional: a missing one takes the platform default."""

    n_colors = bounded(
        "n_colors", required=False,
        help_text="K, the number of palette colours; the upper bound of a target search.",
    )
    color_space = serializers.ChoiceField(choices=COLOR_SPACES, required=False, help_text="Where K-Means measures distances.")
    dither = bounded("dither", required=False, help_text="Floyd-Steinberg strength, 0 (off) to 1.")
    max_iter = bounded("max_iter", required=False, help_text="Most Lloyd iterations.")
    seed = bounded("seed", required=False, help_text="Random seed (reproducible results).")
    resize_mode = serializers.ChoiceField(
        choices=[("", "none"), *[(key, key) for key in RESIZE_MODE_KEYS]], required=False, allow_blank=True,
        help_text="fit, fill, stretch or crop to width x height; empty keeps the aspect ratio with width and/or height.",
    )
    width = bounded("width", required=False, allow_null=True)
    height = bounded("height", required=False, allow_null=True)
    scale_percent = bounded("scale_percent", required=False, allow_null=True)
    crop = CropBoxField(required=False, allow_null=True, help_text="Crop box in pixels of the (orientation-corrected) original, applied first.")
    allow_upscale = serializers.BooleanField(required=False, help_text="Let resize enlarge the image.")
    background = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=7, help_text="#rrggbb padding colour for fit.")
    target_size_kb = bounded(
        "target_size_kb", required=False, allow_null=True,
        help_text="Search the K that fits this many kilobytes (1 KB = 1024 bytes).",
    )
    target_size_bytes = bounded("target_size_bytes", required=False, allow_null=True)
    target_psnr = bounded("target_psnr", required=False, allow_null=True, help_text="Search the smallest K reaching this PSNR (dB).")
    target_ssim = bounded("target_ssim", required=False, allow_null=True, help_text="Search the smallest K reaching this SSIM.")
    output_format = serializers.ChoiceField(choices=OUTPUT_FORMATS, required=False)
    png_optimize_level = bounded("png_optimize_level", required=False, allow_null=True, help_text="oxipng level (PNG only).")

    def validate_background(self, value):
        if value in (None, ""):
            return None
        try:
            return "#" + bytes(parse_hex_colour(value)).hex()
        except InvalidOptions as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs):
        # The only rule of the API's own fields; every other combination is the engine's to refuse.
        if attrs.get("target_size_kb") is not None and attrs.get("target_size_bytes") is not None:
            raise serializers.ValidationError({"target_size_kb": "Give target_size_kb or target_size_bytes, not both."})
        return attrs


def options_for_service(validated: dict) -> dict:
    """Validated API options -> the option dict of `job_create` / `job_rerun` (only given keys)."""
    options = {}
    for name, value in validated.items():
        if name == "crop":
            if value is None:
                options.update(crop_x=None, crop_y=None, crop_width=None, crop_height=None)
            else:
                options.update(crop_x=value["x"], crop_y=value["y"], crop_width=value["width"], crop_height=value["height"])
        elif name == "target_size_kb":
            if value is not None:
                options["target_size_bytes"] = round(value * 1024)
        elif name in JobOptionsSerializer._declared_fields:
            options[name] = value
    if "target_size_kb" in validated and validated["target_size_kb"] is None and "target_size_bytes" not in validated:
        options["target_size_bytes"] = None
    return options


class JobCreateRequestSerializer(JobOptionsSerializer):
    upload_id = StrictUUIDField(required=False, help_text="An upload of yours; or send `file` instead.")
    file = serializers.FileField(required=False, help_text="An image to upload and compress in one request.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        has_upload, has_file = attrs.get("upload_id") is not None, attrs.get("file") is not None
        if has_upload == has_file:
            raise serializers.ValidationError({"upload_id": "Give exactly one of upload_id or file."})
        return attrs


class JobRerunRequestSerializer(JobOptionsSerializer):
    """The options to change; anything not given keeps the original job's value."""


class JobBatchRequestSerializer(JobOptionsSerializer):
    upload_ids = serializers.ListField(
        child=StrictUUIDField(), min_length=1, max_length=100,
        help_text="Uploads of yours; one job each, all with the same options.",
    )

    def validate_upload_ids(self, value):
        if len(value) > settings.API_MAX_BATCH:
            raise serializers.ValidationError(f"At most {settings.API_MAX_BATCH} uploads per batch.")
        return list(dict.fromkeys(value))  # drop repeats, keep the order


class JobZipRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(child=StrictUUIDField(), min_length=1, max_length=100, help_text="Succeeded jobs of yours.")

    def validate_ids(self, value):
        if len(value) > settings.API_MAX_BATCH:
            raise serializers.ValidationError(f"At most {settings.API_MAX_BATCH} jobs per ZIP.")
        return list(dict.fromkeys(value))


class WaitQuerySerializer(serializers.Serializer):
    wait = IntegerField(
        required=False, min_value=0, max_value=60, default=0,
        help_text="Hold the answer until the job finishes or this many seconds pass (at most 60).",
    )


# ---------------------------------------------------------------------------------------------
# Uploads


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
            "self": _absolute(request, "api:upload-detail", upload.id),
            "download": _absolute(request, "api:upload-download", upload.id),
            "jobs": _absolute(request, "api:job-list") + f"?upload={upload.id}",
        }


# ---------------------------------------------------------------------------------------------
# Jobs


class JobOptionsOutputSerializer(serializers.Serializer):
    n_colors = serializers.IntegerField()
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
        return _absolute(self.context.get("request"), "api:job-thumbnail", job.id)

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
        }

    @extend_schema_field(PaletteEntrySerializer(many=True))
    def get_palette(self, job) -> list:
        return [{"color": entry["color"], "share": entry["share"]} for entry in (job.stats or {}).get("palette") or []]

    @extend_schema_field(JobLinksSerializer)
    def get_links(self, job) -> dict:
        request = self.context.get("request")
        succeeded = job.status == "succeeded"
        return {
            "self": _absolute(request, "api:job-detail", job.id),
            "upload": _absolute(request, "api:upload-detail", job.upload_id),
            "download": _absolute(request, "api:job-download", job.id) if succeeded else None,
            "thumbnail": self.get_thumbnail_url(job),
            "cancel": _absolute(request, "api:job-cancel", job.id),
            "rerun": _absolute(request, "api:job-rerun", job.id),
            "palette": {
                fmt: _absolute(request, "api:job-palette-format", job.id, fmt) for fmt in ("json", "css", "gpl")
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


# ---------------------------------------------------------------------------------------------
# Classic endpoints (drop-in for clients of the original Flask compressor)


class ClassicErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = serializers.CharField()


class DimensionsSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ClassicUploadRequestSerializer(serializers.Serializer):
    image = serializers.FileField()


class ClassicUploadResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    image_id = StrictUUIDField()
    preview_url = serializers.CharField()
    dimensions = DimensionsSerializer()
    format = serializers.CharField()
    file_size = serializers.IntegerField()


class ClassicCompressOptionsSerializer(serializers.Serializer):
    n_colors = bounded("n_colors", required=False, default=16)
    max_iters = bounded("max_iter", required=False, default=100)


class ClassicCompressRequestSerializer(ClassicCompressOptionsSerializer):
    image_id = StrictUUIDField()


class ClassicAdvancedOptionsSerializer(ClassicCompressOptionsSerializer):
    target_width = bounded("width", required=False, allow_null=True)
    target_height = bounded("height", required=False, allow_null=True)
    resize_mode = serializers.ChoiceField(choices=[("", "none"), *[(key, key) for key in RESIZE_MODE_KEYS]], required=False, allow_blank=True)
    target_size_kb = bounded("target_size_kb", required=False, allow_null=True)
    crop_data = CropBoxField(required=False, allow_null=True)


class ClassicCompressAdvancedRequestSerializer(ClassicAdvancedOptionsSerializer):
    image_id = StrictUUIDField()


class ClassicCompressDirectRequestSerializer(ClassicAdvancedOptionsSerializer):
    image = serializers.FileField()


def classic_options(validated: dict) -> dict:
    """Classic parameter names -> the platform's option dict."""
    options = {"n_colors": validated["n_colors"], "max_iter": validated["max_iters"]}
    if validated.get("target_width"):
        options["width"] = validated["target_width"]
    if validated.get("target_height"):
        options["height"] = validated["target_height"]
    if validated.get("resize_mode"):
        options["resize_mode"] = validated["resize_mode"]
    if validated.get("target_size_kb"):
        options["target_size_bytes"] = round(validated["target_size_kb"] * 1024)
    crop = validated.get("crop_data")
    if crop:
        options.update(crop_x=crop["x"], crop_y=crop["y"], crop_width=crop["width"], crop_height=crop["height"])
    return options


class ClassicStatsSerializer(serializers.Serializer):
    original_file_size = serializers.IntegerField()
    compressed_file_size = serializers.IntegerField()
    file_compression_ratio = serializers.FloatField()
    theoretical_compression_ratio = serializers.FloatField(allow_null=True)
    original_colors = serializers.IntegerField(allow_null=True)
    reduced_colors = serializers.IntegerField(allow_null=True)
    iterations = serializers.IntegerField(allow_null=True)
    processing_time_ms = serializers.FloatField(allow_null=True)


class ClassicAdvancedStatsSerializer(ClassicStatsSerializer):
    original_dimensions = DimensionsSerializer()
    final_dimensions = DimensionsSerializer()
    operations = serializers.ListField(child=serializers.CharField())
    colors_used = serializers.IntegerField(allow_null=True)
    target_size_met = serializers.BooleanField(allow_null=True)
    achieved_size_kb = serializers.FloatField()


class ClassicCompressResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    compressed_id = serializers.UUIDField()
    download_url = serializers.CharField()
    preview_url = serializers.CharField()
    stats = ClassicStatsSerializer()


class ClassicCompressAdvancedResponseSerializer(ClassicCompressResponseSerializer):
    stats = ClassicAdvancedStatsSerializer()


class ClassicCompressDirectResponseSerializer(ClassicCompressAdvancedResponseSerializer):
    compression_ratio = serializers.FloatField(help_text="Original file bytes / compressed file bytes.")
    processing_time = serializers.FloatField(help_text="Seconds.")
    image_id = StrictUUIDField()


def classic_stats(job, *, advanced: bool) -> dict:
    extra = job.stats or {}
    stats = {
        "original_file_size": job.input_bytes,
        "compressed_file_size": job.output_bytes,
        "file_compression_ratio": round(job.ratio, 4) if job.ratio is not None else None,
        "theoretical_compression_ratio": extra.get("theoretical_ratio"),
        "original_colors": extra.get("unique_colors_before"),
        "reduced_colors": job.n_colors_used,
        "iterations": job.n_iter,
        "processing_time_ms": job.processing_ms,
    }
    if advanced:
        stats.update(
            original_dimensions={"width": extra.get("original_width", job.upload.width), "height": extra.get("original_height", job.upload.height)},
            final_dimensions={"width": job.result_width, "height": job.result_height},
            operations=extra.get("operations", []),
            colors_used=job.n_colors_used,
            target_size_met=extra.get("target_met"),
            achieved_size_kb=round((job.output_bytes or 0) / 1024, 2),
        )
    return stats


class PresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    n_colors = serializers.IntegerField()
    description = serializers.CharField()


class ResizeModeSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class DimensionPresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PresetListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    presets = PresetSerializer(many=True)


class ResizeModeListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    resize_modes = ResizeModeSerializer(many=True)


class DimensionPresetListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    dimension_presets = DimensionPresetSerializer(many=True)


class HealthCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    ms = serializers.FloatField()
    error = serializers.CharField(required=False, help_text="Which dependency failed (details are in the server log).")
    cached = serializers.BooleanField(required=False, help_text="The result of a probe made in the last few seconds.")


class HealthQueueSerializer(HealthCheckSerializer):
    queued = serializers.IntegerField(required=False)
    running = serializers.IntegerField(required=False)
    oldest_queued_age_seconds = serializers.FloatField(required=False, allow_null=True)


class HealthEngineSerializer(HealthCheckSerializer):
    build = serializers.CharField(required=False, help_text="The build id of the engine's compiled loops.")


class HealthChecksSerializer(serializers.Serializer):
    database = HealthCheckSerializer()
    storage = HealthCheckSerializer()
    queue = HealthQueueSerializer()
    engine = HealthEngineSerializer()


class HealthSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["ok", "error"])
    version = serializers.CharField()
    engine_version = serializers.CharField()
    checks = HealthChecksSerializer()

