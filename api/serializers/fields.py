"""Fields the request serializers share: ASCII-only numbers, UUIDs as strings, the engine's bounds."""

from django.urls import reverse
from rest_framework import serializers

from compression.engine import BOUNDS


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


def absolute_url(request, name: str, *args) -> str:
    url = reverse(name, args=args)
    return request.build_absolute_uri(url) if request is not None else url
