from django.urls import path

from . import views

urlpatterns = [
    path("", views.landing, name="landing"),
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
]
