from django.contrib import admin
from django.urls import include, path

from compression import views as compression_views

urlpatterns = [
    # Before admin.site.urls: the admin login, rate-limited (compression/login_guard.py).
    path("admin/login/", compression_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("compression.urls")),
]
