"""The classic endpoints' requests and answers (drop-in for clients of the original Flask compressor)."""

from rest_framework import serializers

from compression.engine.presets import RESIZE_MODE_KEYS

from .fields import StrictUUIDField, bounded
from .options import CropBoxField


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
