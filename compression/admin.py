"""Admin: read-only job and upload management. Every write goes through services.

Pictures are the jobs' stored thumbnails (small WebP files made by the worker), served by an admin
view: the web process never decodes a user's image. The site's CSP forbids inline styles, so the
layout is classes in static/css/admin.css and colours are SVG fill attributes.
"""

import logging

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import F
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from . import services
from .downloads import content_type_for, file_response, job_download_filename
from .errors import CompressionError
from .models import CompressionJob, Upload
from .storage_names import THUMBNAIL_FORMAT

logger = logging.getLogger(__name__)

SHORT_ID_CHARS = 8  # enough to tell jobs apart on a page; search takes the full id
# Behind a (partly) transparent palette colour, as on the job page.
CHECKERBOARD = mark_safe('<rect width="10" height="10" fill="#ffffff"/><rect width="5" height="5" fill="#c4c8d4"/>'
                         '<rect x="5" y="5" width="5" height="5" fill="#c4c8d4"/>')


class AdminStyles:
    css = {"all": ["css/admin.css"]}


def _thumbnail(job, *, css_class: str = "kmc-thumb"):
    """The job's stored thumbnail, or a dash when it has none (not run yet, failed, older jobs)."""
    if job is None or not job.thumbnail:
        return "—"
    url = reverse("admin:compression_compressionjob_thumbnail", args=[job.pk])
    name = job.upload.original_name or "the image"
    return format_html('<img src="{}" alt="Result of {}" class="{}" loading="lazy" decoding="async">', url, name, css_class)


def _short_id(obj) -> str:
    return str(obj.pk)[:SHORT_ID_CHARS]


def _human_bytes(value):
    if value is None:
        return "—"
    return filesizeformat(value)


def _swatch(color: str):
    """One palette colour as an SVG square (fill is an attribute, which the CSP allows)."""
    opacity = int(color[7:9], 16) / 255 if len(color) == 9 else 1.0
    return format_html(
        '<svg class="kmc-swatch" viewBox="0 0 10 10" aria-hidden="true">{}<rect width="10" height="10" fill="{}" fill-opacity="{}"/></svg>',
        CHECKERBOARD if opacity < 1 else "", color[:7], f"{opacity:.3f}",
    )


@admin.register(CompressionJob)
class CompressionJobAdmin(admin.ModelAdmin):
    Media = AdminStyles
    # What fits a laptop screen beside the admin's sidebar; input size and duration are on the job's page.
    list_display = (
        "short_id", "thumbnail_column", "file_name", "owner", "status", "k_display", "output_size",
        "ratio_display", "psnr_display", "created_display",
    )
    list_display_links = ("short_id", "file_name")
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
        ("Result", {"fields": ("preview", "palette_swatches", "result", "result_format", "result_bytes",
                               "result_width", "result_height", "thumbnail")}),
        ("Statistics", {"fields": ("input_bytes", "output_bytes", "ratio", "psnr", "ssim", "n_colors_used",
                                   "n_iter", "processing_ms", "stats_table", "engine_version")}),
        ("Times", {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at", "duration_display")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [
            "upload_link", "preview", "palette_swatches", "stats_table", "duration_display",
        ]

    def get_urls(self):
        thumbnail = path("<uuid:job_id>/thumbnail/", self.admin_site.admin_view(self.thumbnail_view),
                         name="compression_compressionjob_thumbnail")
        return [thumbnail, *super().get_urls()]

    def thumbnail_view(self, request, job_id):
        """The stored thumbnail, streamed as stored (never decoded here), to staff who may view jobs."""
        if not self.has_view_permission(request):
            raise Http404("No thumbnail.")
        job = CompressionJob.objects.select_related("upload").filter(pk=job_id).first()
        if job is None or not job.thumbnail:
            raise Http404("This job has no thumbnail.")
        name = job_download_filename(job, fmt=THUMBNAIL_FORMAT, extra="-thumbnail")
        return file_response(job.thumbnail, filename=name, content_type=content_type_for(THUMBNAIL_FORMAT),
                             as_attachment=False)

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

    @admin.display(description="id", ordering="id")
    def short_id(self, obj):
        return format_html('<code title="{}">{}</code>', obj.pk, _short_id(obj))

    @admin.display(description="result")
    def thumbnail_column(self, obj):
        return _thumbnail(obj)

    @admin.display(description="file", ordering="upload__original_name")
    def file_name(self, obj):
        return obj.upload.original_name or "—"

    @admin.display(description="K", ordering="n_colors")
    def k_display(self, obj):
        return obj.n_colors

    @admin.display(description="created", ordering="created_at")
    def created_display(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")

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

    @admin.display(description="result")
    def preview(self, obj):
        return _thumbnail(obj, css_class="kmc-preview")

    @admin.display(description="palette")
    def palette_swatches(self, obj):
        palette = (obj.stats or {}).get("palette") or []
        if not palette:
            return "—"
        return format_html(
            '<ul class="kmc-palette">{}</ul>',
            format_html_join(
                "",
                '<li title="{} ({}%)">{}<code>{}</code></li>',
                ((entry["color"], f"{100 * float(entry.get('share', 0)):.1f}", _swatch(entry["color"]), entry["color"])
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
    Media = AdminStyles
    list_display = ("short_id", "original_name", "owner", "format", "dimensions", "size", "job_count", "created_at")
    list_display_links = ("short_id", "original_name")
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

    @admin.display(description="id", ordering="id")
    def short_id(self, obj):
        return format_html('<code title="{}">{}</code>', obj.pk, _short_id(obj))

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
        """The newest thumbnail among the upload's jobs: the original itself is never decoded here."""
        job = obj.jobs.select_related("upload").exclude(thumbnail="").order_by("-created_at").first()
        return _thumbnail(job, css_class="kmc-preview")

    @admin.action(description="Delete selected uploads, their jobs and all their files", permissions=["delete"])
    def delete_uploads_with_files(self, request, queryset):
        count = 0
        for upload in queryset.iterator():
            services.upload_delete(upload=upload)
            count += 1
        self.message_user(request, f"{count} upload(s) deleted with their jobs and files.", messages.SUCCESS)
