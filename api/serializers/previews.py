"""The preview request (a job's options with a fixed K, plus the preview's size and views) and answer."""

from rest_framework import serializers

from compression.engine.options import TARGET_FIELDS
from compression.engine.preview import DEFAULT_PREVIEW_PIXELS, ERROR_UNITS, FIXED_K_MESSAGE, VIEWS

from .fields import bounded
from .options import JobOptionsSerializer
from .resources import PaletteEntrySerializer

PREVIEW_TARGET_FIELDS = ("target_size_kb", *TARGET_FIELDS)


class PreviewRequestSerializer(JobOptionsSerializer):
    """The options of POST /api/jobs/ (targets refused: a preview takes a fixed K)."""

    preview_pixels = bounded(
        "preview_pixels", required=False, default=DEFAULT_PREVIEW_PIXELS,
        help_text="Largest preview, in pixels: the output is shrunk to fit (aspect kept).",
    )
    views = serializers.ListField(
        child=serializers.ChoiceField(choices=VIEWS), required=False, default=list, max_length=len(VIEWS),
        help_text="Extra images to return: an error heat-map, a cluster map.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        for name in PREVIEW_TARGET_FIELDS:
            if attrs.get(name) is not None:
                raise serializers.ValidationError({name: FIXED_K_MESSAGE})
        return attrs


_UNITS_TEXT = "; ".join(f"{space}: {units}" for space, units in ERROR_UNITS.items())


class PreviewSerializer(serializers.Serializer):
    image = serializers.CharField(help_text="The preview, a data:image/png;base64 URL (GIF output: 1-bit alpha shown).")
    width = serializers.IntegerField(help_text="Of the preview.")
    height = serializers.IntegerField(help_text="Of the preview.")
    n_colors_used = serializers.IntegerField()
    palette = PaletteEntrySerializer(many=True, help_text="Most used first; shares are of the preview's pixels.")
    psnr = serializers.FloatField(allow_null=True, help_text="dB, of the preview against its source (null: identical).")
    ssim = serializers.FloatField(allow_null=True, help_text="Of the preview (null: undefined for a tiny image).")
    estimated_bytes = serializers.IntegerField(help_text="Estimated size of the full-size output in the chosen format.")
    estimate_exact = serializers.BooleanField(help_text="True when the whole output was encoded: the size is exact.")
    estimated_ratio = serializers.FloatField(help_text="input_bytes / estimated_bytes.")
    input_bytes = serializers.IntegerField(help_text="Size of the upload.")
    output_width = serializers.IntegerField(help_text="Of the full-size output.")
    output_height = serializers.IntegerField(help_text="Of the full-size output.")
    not_worth_it = serializers.BooleanField(help_text="The output would be larger than the upload.")
    heatmap = serializers.CharField(required=False, help_text="With views=heatmap: per-pixel error as a viridis PNG data URL.")
    heatmap_max_error = serializers.FloatField(
        required=False,
        help_text=f"With views=heatmap: the error the brightest colour stands for (the legend runs from 0). {_UNITS_TEXT}.",
    )
    heatmap_units = serializers.CharField(required=False, help_text="With views=heatmap: the units of heatmap_max_error.")
    clusters = serializers.CharField(required=False, help_text="With views=clusters: each pixel painted by its cluster, a PNG data URL.")
    source_cached = serializers.BooleanField(help_text="The upload's decoded preview came from this server's cache.")
    server_ms = serializers.FloatField(help_text="Time spent in the server on this answer.")
