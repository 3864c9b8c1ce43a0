from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views as account_views


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on pages naming no icon (the admin, DRF's pages).

    static/img/favicon.ico is favicon.svg's brand mark at 16, 32 and 48 px. Not permanent: the
    static URL carries a content hash that changes with the file.
    """

    def get_redirect_url(self, *args, **kwargs):
        return static("img/favicon.ico")


urlpatterns = [
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    # Before admin.site.urls: the admin login, rate-limited (accounts/login_guard.py).
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("accounts.urls")),
    path("", include("dashboard.urls")),
]
