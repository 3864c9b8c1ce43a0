"""Admin: read-only job and upload management. Every write goes through services."""

import base64
import io
import logging

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join

from . import services
from .errors import CompressionError
from .models import CompressionJob, Upload

logger = logging.getLogger(__name__)

PREVIEW_SIZE = (240, 240)


def _thumbnail_data_url(field_file) -> str | None:
    """A small PNG thumbnail as a data: URL (read from storage, works on every backend)."""
    from PIL import Image

    if not field_file:
        return None
    try:
        with field_file.storage.open(field_file.name, "rb") as handle:
            with Image.open(handle) as image:
                image.draft("RGB", (PREVIEW_SIZE[0] * 2, PREVIEW_SIZE[1] * 2))
                image.thumbnail(PREVIEW_SIZE)
                if image.mode not in ("RGB", "RGBA"):
                    image = image.convert("RGBA")
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
    except Exception:
        logger.warning("admin preview failed for %s", field_file.name, exc_info=True)
        return None
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _preview(field_file):
    url = _thumbnail_data_url(field_file)
    if url is None:
        return "—"
    return format_html('<img src="{}" alt="preview" style="max-width:240px;max-height:240px;border:1px solid #ccc">', url)


def _human_bytes(value):
    if value is None:
        return "—"
    return filesizeformat(value)


@admin.register(CompressionJob)
class CompressionJobAdmin(admin.ModelAdmin):
    list_display = (
        "id", "owner", "status", "n_colors", "input_size", "output_size", "ratio_display",
        "psnr_display", "duration_display", "created_at",
    )
    list_filter = ("status", "output_format", "created_at", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "owner__username", "upload__original_name")
    list_select_related = ("owner", "upload")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_per_page = 100
    actions = ("rerun_jobs", "cancel_jobs", "delete_jobs_with_files")
    fieldsets = (
        (None, {"fields": ("id", "owner", "upload_link", "rerun_of", "status", "progress", "stage",
                           "error_message", "attempts", "cancel_requested")}),
        ("Options", {"fields": ("n_colors", "color_space", "dither", "max_iter", "seed", "resize_mode",
                                "width", "height", "scale_percent", "crop_x", "crop_y", "crop_width",
                                "crop_height", "allow_upscale", "background", "target_size_bytes",
                                "target_psnr", "target_ssim", "output_format", "png_optimize_level")}),
        ("Result", {"fields": ("previews", "palette_swatches", "result", "result_format", "result_bytes",
                               "result_width", "result_height", "thumbnail")}),
        ("Statistics", {"fields": ("input_bytes", "output_bytes", "ratio", "psnr", "ssim", "n_colors_used",
                                   "n_iter", "processing_ms", "stats_table", "engine_version")}),
        ("Times", {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at", "duration_display")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [
            "upload_link", "previews", "palette_swatches", "stats_table", "duration_display",
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # it would delete rows but leave their files
        return actions

    def delete_model(self, request, obj):
        services.job_delete(job=obj)

    def delete_queryset(self, request, queryset):
        services.jobs_delete(jobs=queryset)

    # Columns

    @admin.display(description="input", ordering="input_bytes")
    def input_size(self, obj):
        return _human_bytes(obj.input_bytes if obj.input_bytes is not None else obj.upload.size_bytes)

    @admin.display(description="output", ordering="output_bytes")
    def output_size(self, obj):
        return _human_bytes(obj.output_bytes)

    @admin.display(description="ratio", ordering="ratio")
    def ratio_display(self, obj):
        return "—" if obj.ratio is None else f"{obj.ratio:.2f}×"

    @admin.display(description="PSNR", ordering="psnr")
    def psnr_display(self, obj):
        return "—" if obj.psnr is None else f"{obj.psnr:.1f} dB"

    @admin.display(description="duration", ordering=F("finished_at") - F("started_at"))
    def duration_display(self, obj):
        ms = obj.duration_ms
        return "—" if ms is None else f"{ms / 1000:.2f} s"

    # Detail

    @admin.display(description="upload")
    def upload_link(self, obj):
        from django.urls import reverse

        url = reverse("admin:compression_upload_change", args=[obj.upload_id])
        return format_html('<a href="{}">{}</a>', url, obj.upload)

    @admin.display(description="input / output")
    def previews(self, obj):
        return format_html(
            '<div style="display:flex;gap:1em"><figure>{}<figcaption>input</figcaption></figure>'
            "<figure>{}<figcaption>output</figcaption></figure></div>",
            # The stored thumbnail is already small; older jobs fall back to shrinking the result.
            _preview(obj.upload.file), _preview(obj.thumbnail or obj.result),
        )

    @admin.display(description="palette")
    def palette_swatches(self, obj):
        palette = (obj.stats or {}).get("palette") or []
        if not palette:
            return "—"
        return format_html(
            '<div style="display:flex;flex-wrap:wrap;gap:4px">{}</div>',
            format_html_join(
                "",
                '<span title="{} ({}%)" style="display:inline-block;width:28px;height:28px;'
                'background:{};border:1px solid #888"></span>',
                ((entry.get("color"), f"{100 * float(entry.get('share', 0)):.1f}", entry.get("color"))
                 for entry in palette),
            ),
        )

    @admin.display(description="all statistics")
    def stats_table(self, obj):
        stats = obj.stats or {}
        rows = [(key, value) for key, value in stats.items() if key not in ("palette", "history", "attempts")]
        if not rows:
            return "—"
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    # Actions (through services; cheap per row)

    @admin.action(description="Re-run selected finished jobs")
    def rerun_jobs(self, request, queryset):
        created, skipped = 0, 0
        for job in queryset.select_related("owner", "upload").iterator():
            try:
                services.job_rerun(job=job)
                created += 1
            except (CompressionError, ValueError) as exc:
                skipped += 1
                logger.info("admin re-run of %s skipped: %s", job.id, exc)
        self.message_user(request, f"{created} job(s) re-queued, {skipped} skipped (not finished or invalid).")

    @admin.action(description="Cancel selected queued or running jobs")
    def cancel_jobs(self, request, queryset):
        count = services.jobs_cancel(jobs=queryset)
        self.message_user(request, f"{count} job(s) cancelled or asked to stop.")

    @admin.action(description="Delete selected jobs and their result files", permissions=["delete"])
    def delete_jobs_with_files(self, request, queryset):
        count = services.jobs_delete(jobs=queryset)
        self.message_user(request, f"{count} job(s) and their files deleted.", messages.SUCCESS)


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "original_name", "format", "dimensions", "size", "job_count", "created_at")
    list_filter = ("format", "created_at", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "owner__username", "original_name", "=sha256")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_per_page = 100
    actions = ("delete_uploads_with_files",)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_job_count=Count("jobs"))

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["preview", "job_count"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.upload_delete(upload=obj)

    def delete_queryset(self, request, queryset):
        for upload in queryset:
            services.upload_delete(upload=upload)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj):
        return _human_bytes(obj.size_bytes)

    @admin.display(description="dimensions")
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description="jobs", ordering="_job_count")
    def job_count(self, obj):
        return getattr(obj, "_job_count", None) if hasattr(obj, "_job_count") else obj.jobs.count()

    @admin.display(description="preview")
    def preview(self, obj):
        return _preview(obj.file)

    @admin.action(description="Delete selected uploads, their jobs and all their files", permissions=["delete"])
    def delete_uploads_with_files(self, request, queryset):
        count = 0
        for upload in queryset.iterator():
            services.upload_delete(upload=upload)
            count += 1
        self.message_user(request, f"{count} upload(s) deleted with their jobs and files.", messages.SUCCESS)
