"""Filtering and ordering of the job history (django-filter), on top of the owner-scoped selector."""

import django_filters
from rest_framework.filters import OrderingFilter

from compression.models import CompressionJob, JobStatus, OutputFormat


class JobFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=JobStatus.choices, help_text="Repeat for several: ?status=queued&status=running."
    )
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 date-time, inclusive."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601 date-time, exclusive."
    )
    created_date = django_filters.DateFromToRangeFilter(
        field_name="created_at", help_text="Whole days: ?created_date_after=2026-11-01&created_date_before=2026-11-30."
    )
    output_format = django_filters.ChoiceFilter(choices=OutputFormat.choices)
    n_colors = django_filters.NumberFilter(field_name="n_colors", help_text="K requested.")
    n_colors_min = django_filters.NumberFilter(field_name="n_colors", lookup_expr="gte")
    n_colors_max = django_filters.NumberFilter(field_name="n_colors", lookup_expr="lte")
    upload = django_filters.UUIDFilter(field_name="upload_id", help_text="Jobs of one upload.")

    class Meta:
        model = CompressionJob
        fields = ["status", "output_format", "n_colors", "upload"]


class JobOrdering(OrderingFilter):
    ordering_fields = ["created_at", "finished_at", "n_colors", "ratio", "output_bytes", "input_bytes", "psnr", "ssim", "processing_ms", "status"]
    ordering_description = "Sort by one or more of: created_at, finished_at, n_colors, ratio, output_bytes, input_bytes, psnr, ssim, processing_ms, status; prefix '-' for descending."


class UploadOrdering(OrderingFilter):
    ordering_fields = ["created_at", "size_bytes", "width", "height", "original_name"]
