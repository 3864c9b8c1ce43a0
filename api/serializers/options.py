"""The options of a job and the requests that carry them (create, re-run, batch, ZIP, ?wait)."""

import json

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compression.engine import InvalidOptions, parse_hex_colour
from compression.engine.presets import COLOR_SPACES, INITS, OUTPUT_FORMATS, RESIZE_MODE_KEYS

from .fields import IntegerField, StrictUUIDField, bounded


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
    auto = serializers.BooleanField(
        required=False,
        help_text="The smallest file that looks the same: K (up to n_colors), dithering and PNG or lossless WebP "
                  "chosen to meet target_ssim (default 0.95).",
    )
    init = serializers.ChoiceField(choices=INITS, required=False, help_text="How K-Means picks its starting centres.")
    color_space = serializers.ChoiceField(choices=COLOR_SPACES, required=False, help_text="Where K-Means measures distances: rgb (RGB) or oklab (Perceptual (Oklab)).")
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
