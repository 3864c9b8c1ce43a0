"""Renderers for the non-JSON answers: palette exports and the compressed file itself."""

from django.conf import settings
from django.utils.csp import CSP
from django.utils.html import escape
from drf_spectacular.renderers import OpenApiYamlRenderer
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer

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


class OpenApiHtmlRenderer(BaseRenderer):
    """The schema for a browser (Accept: text/html): its YAML on a plain page, not a download."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        yaml = OpenApiYamlRenderer().render(data, renderer_context=renderer_context).decode("utf-8")
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OpenAPI schema</title></head>'
            '<body><p><a href="?format=yaml">YAML</a> · <a href="?format=json">JSON</a> · '
            '<a href="../docs/">Interactive docs</a></p><pre>{}</pre></body></html>'
        )
        return page.format(escape(yaml)).encode("utf-8")


class ImageFileRenderer(BaseRenderer):
    """Selected by `Accept: image/...` or `?format=file`; the view then answers the file itself."""

    media_type = "image/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover
        raise AssertionError("views answer files directly; errors are rendered as JSON")


def inline_style_csp() -> dict:
    """The site's policy (SECURE_CSP) with inline styles allowed, for the two third-party HTML pages
    that use them: DRF's browsable API (style="" attributes, a <style> for code) and the Swagger UI
    page. Scripts stay 'self' only."""
    return {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}


class CspBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's browsable API, answered with inline_style_csp() (ContentSecurityPolicyMiddleware reads
    the response's `_csp_config`)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_config = inline_style_csp()
        return super().render(data, accepted_media_type, renderer_context)
