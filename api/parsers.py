from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser

from .exceptions import PayloadTooLarge

# A JSON request body carries options and ids, never an image: a megabyte is plenty.
MAX_JSON_BYTES = 1024 * 1024

# Room for the multipart boundaries and the small option fields around one file.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


class LimitedMultiPartParser(MultiPartParser):
    """Refuses a multipart body larger than MAX_UPLOAD_BYTES (+ overhead) before reading it.

    Django limits only the non-file fields (DATA_UPLOAD_MAX_MEMORY_SIZE); without this a 2 GB
    upload would be spooled to disk before the platform's size check saw it.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None:
            length = _content_length(request)
            limit = settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
            if length > limit:
                raise PayloadTooLarge(
                    f"The request is {length:,} bytes; uploads are limited to "
                    f"{settings.MAX_UPLOAD_BYTES:,} bytes."
                )
        return super().parse(stream, media_type, parser_context)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class LimitedJSONParser(JSONParser):
    """JSON bodies of at most MAX_JSON_BYTES; nesting too deep for the parser is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None and _content_length(request) > MAX_JSON_BYTES:
            raise PayloadTooLarge(f"JSON bodies are limited to {MAX_JSON_BYTES:,} bytes.")
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
