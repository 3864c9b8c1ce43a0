from django.conf import settings
from rest_framework.parsers import MultiPartParser

from .exceptions import PayloadTooLarge

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
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
            if length > limit:
                raise PayloadTooLarge(
                    f"The request is {length:,} bytes; uploads are limited to "
                    f"{settings.MAX_UPLOAD_BYTES:,} bytes."
                )
        return super().parse(stream, media_type, parser_context)
