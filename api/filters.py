"""Filtering and ordering of the job history (django-filter), on top of the owner-scoped selector."""

import datetime

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from compression.models import CompressionJob, JobStatus, OutputFormat, Upload


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC before it reaches the database.

    PostgreSQL refuses offsets beyond ±15:59 that Python accepts (up to ±23:59), and a date near
    year 1 or 9999 may not survive the shift: both are the client's mistake, so they are a 400.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError("The date-time is out of range once converted to UTC.", code="invalid")


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class JobFilterForm(forms.Form):
    """The job-history query: a time window that ends before it starts is the client's mistake."""

    def clean(self):
        cleaned = super().clean()
        after, before = cleaned.get("created_after"), cleaned.get("created_before")
        if after is not None and before is not None and after >= before:
            self.add_error("created_before", "created_before must be later than created_after.")
        return cleaned


class JobFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=JobStatus.choices, help_text="Repeat for several: ?status=queued&status=running."
    )
    created_after = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 date-time, inclusive."
    )
    created_before = UtcIsoDateTimeFilter(
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
    q = django_filters.CharFilter(
        field_name="upload__original_name", lookup_expr="icontains", max_length=Upload._meta.get_field("original_name").max_length,
        help_text="Part of the file name, ignoring case (as the dashboard's history search).",
    )

    class Meta:
        model = CompressionJob
        form = JobFilterForm
        fields = ["status", "output_format", "n_colors", "upload"]


class StrictOrderingFilter(OrderingFilter):
    """?ordering= with a field we cannot sort by is a 400 naming the fields there are (DRF drops it)."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len([field for field in fields if field]):
            unknown = [field for field in fields if field and field not in valid]
            raise ValidationError({
                "ordering": [f"Cannot sort by {', '.join(unknown)}; use: {', '.join(self.ordering_fields)} (prefix '-' for descending)."]
            })
        return valid


class JobOrdering(StrictOrderingFilter):
    ordering_fields = ["created_at", "finished_at", "n_colors", "ratio", "output_bytes", "input_bytes", "psnr", "ssim", "processing_ms", "status"]
    ordering_description = "Sort by one or more of: created_at, finished_at, n_colors, ratio, output_bytes, input_bytes, psnr, ssim, processing_ms, status; prefix '-' for descending."


class UploadOrdering(StrictOrderingFilter):
    ordering_fields = ["created_at", "size_bytes", "width", "height", "original_name"]
