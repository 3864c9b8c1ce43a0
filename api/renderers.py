"""Renderers for the non-JSON answers: palette exports and the compressed file itself."""

from rest_framework.renderers import BaseRenderer

from .palettes import palette_css, palette_gpl


class PaletteCSSRenderer(BaseRenderer):
    media_type = "text/css"
    format = "css"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return palette_css(data).encode("utf-8")


class PaletteGPLRenderer(BaseRenderer):
    media_type = "text/x-gimp-gpl"
    format = "gpl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return palette_gpl(data).encode("utf-8")


class ImageFileRenderer(BaseRenderer):
    """Selected by `Accept: image/...` or `?format=file`; the view then answers the file itself."""

    media_type = "image/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover
        raise AssertionError("views answer files directly; errors are rendered as JSON")
