from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password_change_done")),
        name="password_change",
    ),
    path("account/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/upload/", views.upload, name="upload"),
    path("dashboard/jobs/status/", views.jobs_status, name="jobs_status"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/image/<str:kind>/", views.job_image, name="job_image"),
    path("jobs/<uuid:job_id>/thumbnail/", views.job_thumbnail, name="job_thumbnail"),
    path("jobs/<uuid:job_id>/download/", views.job_download, name="job_download"),
    path("jobs/<uuid:job_id>/size-curve.json", views.job_size_curve, name="job_size_curve"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/rerun/", views.job_rerun, name="job_rerun"),
    path("jobs/<uuid:job_id>/delete/", views.job_delete, name="job_delete"),
    path("history/", views.history, name="history"),
    path("history/bulk/", views.history_bulk, name="history_bulk"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
