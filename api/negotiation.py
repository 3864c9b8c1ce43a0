from django.http import Http404
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class LenientContentNegotiation(DefaultContentNegotiation):
    """Answer in the view's first renderer instead of 406 when the Accept header names nothing we
    render (scripts sending `Accept: image/png` to a file download get the file); a ?format= we
    do not render is the client's mistake, so a 400 that lists the formats there are."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            if asked:
                formats = ", ".join(sorted({renderer.format for renderer in renderers}))
                raise ValidationError({"format": [f"Unknown format {asked!r}; use one of: {formats}."]})
            return renderers[0], renderers[0].media_type
