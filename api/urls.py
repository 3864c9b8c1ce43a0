"""Routes of the API, mounted at /api/ (compressor_site/urls.py). Namespace "api".

Classic paths (the original Flask compressor's) answer with and without a trailing slash; the
slash variants are hidden from the schema so each operation is documented once.
"""

from django.http import HttpResponse
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .views import classic, health, previews, resources, root, tokens
from .renderers import OpenApiHtmlRenderer, inline_style_csp

app_name = "api"


def _without_schema(view_class):
    """The same view under a second path, left out of the OpenAPI schema."""
    return type(f"{view_class.__name__}Alias", (view_class,), {"schema": None})


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML or JSON for tools, a readable page for a browser."""

    renderer_classes = [*SpectacularAPIView.renderer_classes, OpenApiHtmlRenderer]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI. The split view serves its start-up script as a second same-origin request
    (?script), so script-src stays 'self'; only its page's style-src is relaxed (its <style>).
    OPTIONS answers plainly (the HTML template renderer has nothing to show for it)."""

    authentication_classes = []
    permission_classes = []

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": "GET, HEAD, OPTIONS"})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_config = inline_style_csp()  # read by ContentSecurityPolicyMiddleware
        return response


def classic_paths(route: str, view_class, name: str):
    return [
        path(route, view_class.as_view(), name=name),
        path(f"{route}/", _without_schema(view_class).as_view(), name=f"{name}-slash"),
    ]


urlpatterns = [
    path("", root.ApiRootView.as_view(), name="root"),
    # Auth and tokens
    path("auth/token/", tokens.TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/tokens/", tokens.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<uuid:token_id>/", tokens.TokenDetailApi.as_view(), name="token-detail"),
    path("usage/", tokens.UsageApi.as_view(), name="usage"),
    # Uploads
    path("uploads/", resources.UploadListApi.as_view(), name="upload-list"),
    path("uploads/<uuid:upload_id>/", resources.UploadDetailApi.as_view(), name="upload-detail"),
    path("uploads/<uuid:upload_id>/download/", resources.UploadDownloadApi.as_view(), name="upload-download"),
    path("uploads/<uuid:upload_id>/preview/", previews.UploadPreviewApi.as_view(), name="upload-preview"),
    # Jobs
    path("jobs/", resources.JobListApi.as_view(), name="job-list"),
    path("jobs/batch/", resources.JobBatchApi.as_view(), name="job-batch"),
    path("jobs/zip/", resources.JobZipApi.as_view(), name="job-zip"),
    path("jobs/<uuid:job_id>/", resources.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel/", resources.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/rerun/", resources.JobRerunApi.as_view(), name="job-rerun"),
    path("jobs/<uuid:job_id>/download/", resources.JobDownloadApi.as_view(), name="job-download"),
    path("jobs/<uuid:job_id>/thumbnail/", resources.JobThumbnailApi.as_view(), name="job-thumbnail"),
    path("jobs/<uuid:job_id>/palette/", resources.JobPaletteApi.as_view(), name="job-palette"),
    re_path(
        r"^jobs/(?P<job_id>[0-9a-fA-F-]{36})/palette\.(?P<format>json|css|gpl)$",
        _without_schema(resources.JobPaletteApi).as_view(),
        name="job-palette-format",
    ),
    # Classic endpoints
    *classic_paths("health", health.HealthApi, "health"),
    *classic_paths("upload", classic.ClassicUploadApi, "classic-upload"),
    *classic_paths("compress", classic.ClassicCompressApi, "classic-compress"),
    *classic_paths("compress-advanced", classic.ClassicCompressAdvancedApi, "classic-compress-advanced"),
    *classic_paths("compress-direct", classic.ClassicCompressDirectApi, "classic-compress-direct"),
    *classic_paths("presets", classic.ClassicPresetsApi, "classic-presets"),
    *classic_paths("resize-modes", classic.ClassicResizeModesApi, "classic-resize-modes"),
    *classic_paths("dimension-presets", classic.ClassicDimensionPresetsApi, "classic-dimension-presets"),
    path("download/<uuid:job_id>", classic.ClassicDownloadApi.as_view(), name="classic-download"),
    path("download/<uuid:job_id>/", _without_schema(classic.ClassicDownloadApi).as_view(), name="classic-download-slash"),
    # Schema and docs (public; Swagger UI served from drf-spectacular-sidecar, no CDN. Redoc is left
    # out: its template loads Google Fonts)
    path("schema/", SchemaView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    # Last: every other path under /api/ is a JSON 404.
    re_path(r"^.*$", root.NotFoundView.as_view(), name="not-found"),
]
