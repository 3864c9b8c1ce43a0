from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

urlpatterns = [
    # Before admin.site.urls: the admin login, rate-limited (accounts/login_guard.py).
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("accounts.urls")),
    path("", include("dashboard.urls")),
]
