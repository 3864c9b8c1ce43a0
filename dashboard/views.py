"""The dashboard: thin views over the services and selectors (writes and reads live there).

Cancel, re-run and delete are plain HTML forms that work without JavaScript; the dashboard's JS
submits the same forms with `Accept: application/json` and gets JSON back (with the job's row
re-rendered by the same template), so each action has one view. Uploads and the live status poll
answer JSON only. The ZIP of several results and the palette exports are the REST API's.
"""

import datetime
import hashlib
import json
import logging
import uuid
from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from compression import selectors, services
from compression.downloads import content_type_for, file_response, job_download_filename
from compression.engine import BOUNDS
from compression.engine.errors import EngineError
from compression.engine.presets import COMPRESSION_PRESETS, DIMENSION_PRESETS, RESIZE_MODES
from compression.errors import CompressionError, SyncWorkLimit, http_status
from compression.models import JobStatus
from compression.size_curves import size_curve_compute
from compression.storage_names import THUMBNAIL_FORMAT

from .charts import line_chart
from .forms import HistoryFilterForm, JobOptionsForm

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
DASHBOARD_JOBS = 20
HISTORY_PAGE_SIZE = 20
# The size-vs-K chart of jobs without a stored curve: computed on demand and cached; a curve
# depends on the upload and the options except K and the targets.
SIZE_CURVE_CACHE_SECONDS = 7 * 24 * 3600
SIZE_CURVE_IGNORED_OPTIONS = ("n_colors", "target_size_bytes", "target_psnr", "target_ssim")
# What the services and the engine refuse with a message (statuses: compression.errors.http_status).
REFUSALS = (CompressionError, EngineError)
RERUN_AUTO_ID = "rerun_%s"  # the job page's re-run fields, apart from any other form on the page
RERUN_FIELDS = ("n_colors", "color_space", "dither", "output_format", "resize_mode", "width", "height")


# --------------------------------------------------------------------------------------------
# Helpers


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _next_url(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


def _error(request, message: str, *, status: int, redirect_to: str):
    """One error for both kinds of caller: JSON for the dashboard's JS, a message + redirect otherwise."""
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    messages.error(request, message)
    return redirect(redirect_to)


def _job_row(request, job) -> str:
    # Rows rendered for the JS come back to the dashboard when a form is posted without JS.
    context = {"job": job, "back_url": reverse("dashboard")}
    return render_to_string("dashboard/_job_row.html", context, request=request)


def _job_json(request, job) -> dict:
    return {
        "id": str(job.id),
        "status": job.status,
        "progress": job.progress,
        "finished": job.is_finished,
        "status_display": job.get_status_display(),
        "url": reverse("job_detail", args=[job.id]),
        "name": job.upload.original_name,
        # Before -> after bytes for the batch summary (output_bytes is null until the job succeeds).
        "input_bytes": job.input_bytes or job.upload.size_bytes,
        "output_bytes": job.output_bytes,
        "html": _job_row(request, job),
    }


# --------------------------------------------------------------------------------------------
# Public pages


@require_GET
def landing(request):
    return render(request, "dashboard/landing.html", {"presets": COMPRESSION_PRESETS})


# --------------------------------------------------------------------------------------------
# Dashboard: upload, options, live job list


@login_required
@require_GET
def dashboard(request):
    jobs = list(selectors.job_list_for_user(user=request.user)[:DASHBOARD_JOBS])
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "jobs": jobs,
            "presets": COMPRESSION_PRESETS,
            "dimension_presets": DIMENSION_PRESETS,
            "resize_modes": RESIZE_MODES,
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_image_pixels": settings.MAX_IMAGE_PIXELS,
            "bounds": BOUNDS,
            "bounds_json": json.dumps({name: asdict(bound) | {"message": bound.message} for name, bound in BOUNDS.items()}),
        },
    )


@login_required
@require_POST
def upload(request):
    """One file plus the options -> an upload and a queued job. Always answers JSON."""
    file = request.FILES.get("file")
    if file is None:
        return JsonResponse({"error": "Choose an image file to upload."}, status=400)
    form = JobOptionsForm(request.POST)
    if not form.is_valid():
        fields = {k: [str(e) for e in v] for k, v in form.errors.items()}
        return JsonResponse({"error": f"Some options need fixing: {form.first_error()}", "fields": fields}, status=400)
    try:
        job, _created = services.job_create_from_file(
            owner=request.user, file=file, original_name=file.name, options=form.to_options()
        )
    except REFUSALS as exc:  # e.g. not an image, a quota, a crop box outside this image
        return JsonResponse({"error": str(exc)}, status=http_status(exc))
    job.refresh_from_db()  # the immediate task backend may have finished it already
    return JsonResponse({"job": _job_json(request, job)}, status=201)


@login_required
@require_GET
def jobs_status(request):
    """Live state of the jobs the page shows: `?id=<uuid>&id=...` -> JSON with each row re-rendered."""
    ids = []
    for value in request.GET.getlist("id")[:100]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    jobs = selectors.job_list_for_user(user=request.user).filter(id__in=ids)
    return JsonResponse({"jobs": [_job_json(request, job) for job in jobs]})


# --------------------------------------------------------------------------------------------
# One job: result view, files, actions


@login_required
@require_GET
def job_detail(request, job_id):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    return _job_page(request, job)


def _job_page(request, job, *, rerun_form=None, status: int = 200):
    """The job page; `rerun_form` is a re-run form posted back with its errors (and typed values)."""
    stats = job.stats or {}
    palette = [{**entry, "opacity": _opacity(entry["color"])}
               for entry in sorted(stats.get("palette") or [], key=lambda entry: -entry.get("share", 0))]
    palette_bar = []
    offset = 0.0
    for entry in palette:
        palette_bar.append({"color": entry["color"][:7], "opacity": entry["opacity"], "x": offset * 100, "w": entry["share"] * 100})
        offset += entry["share"]
    rerun_form = rerun_form or JobOptionsForm(initial=JobOptionsForm.initial_from_job(job), auto_id=RERUN_AUTO_ID)
    context = {
        "job": job,
        "stats": stats,
        "palette": palette,
        "palette_bar": palette_bar,
        "convergence": line_chart(stats.get("history") or [], x_from=1, title="Inertia per iteration",
                                   x_label="iteration", y_label="inertia"),
        "not_worth_it": bool(job.output_bytes and job.input_bytes and job.output_bytes > job.input_bytes),
        "rerun_form": rerun_form,
        "rerun_fields": [rerun_form[name] for name in RERUN_FIELDS],
        "is_active": job.status in ACTIVE_STATUSES,
        "before_rect": _before_rect(job, stats),
        "result_view_options": json.dumps(_preview_options(job)),
    }
    return render(request, "dashboard/job_detail.html", context, status=status)


def _opacity(color: str) -> float:
    """0-1 from a palette colour "#rrggbb" or "#rrggbbaa" (alpha images)."""
    return int(color[7:9], 16) / 255 if len(color) == 9 else 1.0


def _preview_options(job) -> dict:
    """The job's options as the preview endpoint takes them, for the heat-map and cluster views.

    A preview has no target search, so a job with a target is previewed at the K it chose.
    """
    crop = None
    if job.crop_width is not None and job.crop_height is not None:
        crop = {"x": job.crop_x or 0, "y": job.crop_y or 0, "width": job.crop_width, "height": job.crop_height}
    return {
        "n_colors": job.n_colors_used or job.n_colors,
        "color_space": job.color_space,
        "dither": job.dither or 0,
        "output_format": job.output_format,
        "resize_mode": job.resize_mode or "",
        "width": job.width,
        "height": job.height,
        "scale_percent": job.scale_percent,
        "crop": crop,
        "allow_upscale": bool(job.allow_upscale),
        "background": job.background or None,
    }


def _before_rect(job, stats) -> str:
    """Where to draw the original so the region the result came from fills the comparison box.

    "left top width height" in percent of the box, from the source box the engine reports (crop
    and resize mode applied); jobs from before it was reported show the whole image.
    """
    full_w = stats.get("original_width") or job.upload.width
    full_h = stats.get("original_height") or job.upload.height
    x, y, w, h = stats.get("source_box") or (0, 0, full_w, full_h)
    values = (-x / w * 100, -y / h * 100, full_w / w * 100, full_h / h * 100)
    return " ".join(f"{v + 0.0:.4f}" for v in values)  # + 0.0 turns -0.0 into 0.0


@login_required
@require_GET
def job_size_curve(request, job_id):
    """Output size and error against K for the job's image and options (the chart's data).

    The curve comes from `engine.curves.size_curve` (exact for small outputs, estimated from
    full-resolution tiles for large ones) through compression/size_curves.py; `actual` is this
    job's real K and file size.
    """
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    key = _size_curve_key(job)
    curve = job.size_curve or cache.get(key)  # stored by the worker; older jobs: computed once here
    if curve is None:
        try:
            with services.sync_work_slot(request.user, kind="size-curve"):
                curve = size_curve_compute(job)
        except SyncWorkLimit as exc:
            response = JsonResponse({"error": str(exc)}, status=http_status(exc))
            response["Retry-After"] = str(exc.retry_after)
            return response
        except Exception:  # the chart is a nicety; the page must not fail with it
            logger.exception("size curve failed for job %s", job.id)
            return JsonResponse({"error": "The size-vs-K curve could not be computed for this image."}, status=422)
        cache.set(key, curve, SIZE_CURVE_CACHE_SECONDS)
    actual = None
    if job.status == JobStatus.SUCCEEDED and job.output_bytes:
        stats = job.stats or {}
        actual = {
            "k": job.n_colors_used or job.n_colors,
            "k_requested": job.n_colors,
            "bytes": job.output_bytes,
            # The quantizer's error is before dithering: comparable with the curve only undithered.
            "inertia": stats.get("inertia") if not job.dither else None,
            "width": job.result_width,
            "height": job.result_height,
        }
    return JsonResponse({**curve, "actual": actual, "input_bytes": job.upload.size_bytes})


def _size_curve_key(job) -> str:
    from compression.engine import ENGINE_VERSION

    options = {k: v for k, v in job.options_dict().items() if k not in SIZE_CURVE_IGNORED_OPTIONS}
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"size-curve:{ENGINE_VERSION}:{job.upload_id}:{digest}"


@login_required
@require_GET
def job_image(request, job_id, kind):
    """The original or the result, inline for <img>, after the ownership check."""
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    if kind == "original":
        field, fmt = job.upload.file, job.upload.format
    elif kind == "result" and job.result:
        field, fmt = job.result, job.result_format
    else:
        raise Http404("No such image.")
    # Streamed (as every download is): the pictures stay same-origin, so a strict CSP
    # (img-src 'self') holds on every storage backend.
    return file_response(field, filename=job_download_filename(job, fmt=fmt), content_type=content_type_for(fmt),
                         as_attachment=False)


@login_required
@require_GET
def job_thumbnail(request, job_id):
    """The job's small WebP preview (lists), after the ownership check; 404 when it has none."""
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    if not job.thumbnail:
        raise Http404("This job has no thumbnail.")
    name = job_download_filename(job, fmt=THUMBNAIL_FORMAT, extra="-thumbnail")
    return file_response(job.thumbnail, filename=name, content_type=content_type_for(THUMBNAIL_FORMAT), as_attachment=False)


@login_required
@require_GET
def job_download(request, job_id):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    if not job.result:
        raise Http404("This job has no result.")
    return file_response(job.result, filename=job_download_filename(job), content_type=content_type_for(job.result_format))


@login_required
@require_POST
def job_cancel(request, job_id):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    back = _next_url(request, reverse("dashboard"))
    try:
        job = services.job_cancel(job=job)
    except REFUSALS as exc:  # already finished
        return _error(request, str(exc), status=http_status(exc), redirect_to=back)
    if _wants_json(request):
        return JsonResponse({"job": _job_json(request, job)})
    messages.info(request, "Job cancelled." if job.status == JobStatus.CANCELLED else "Cancelling the job…")
    return redirect(back)


@login_required
@require_POST
def job_rerun(request, job_id):
    """A new job with the posted changes. Errors name their field: beside it on the job page
    (re-rendered with what was typed), or as JSON `fields` for the dashboard's script."""
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    form = JobOptionsForm(request.POST, auto_id=RERUN_AUTO_ID)
    status = 400
    if form.is_valid():
        try:
            new_job = services.job_rerun(job=job, changes=form.to_changes(request.POST.keys()))
        except REFUSALS as exc:  # not finished, a quota, options that do not fit the image
            field = getattr(exc, "field", None)
            form.add_error(field if field in form.fields else None, str(exc))
            status = http_status(exc)
    if form.errors:
        if _wants_json(request):
            fields = {k: [str(e) for e in v] for k, v in form.errors.items()}
            return JsonResponse({"error": form.first_error(), "fields": fields}, status=status)
        return _job_page(request, job, rerun_form=form, status=status)
    new_job.refresh_from_db()
    if _wants_json(request):
        return JsonResponse({"job": _job_json(request, new_job)}, status=201)
    messages.success(request, "Re-run queued with your changes.")
    return redirect("job_detail", job_id=new_job.id)


@login_required
@require_POST
def job_delete(request, job_id):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    services.job_delete(job=job)
    if _wants_json(request):
        return JsonResponse({"deleted": str(job_id)})
    messages.success(request, "Job deleted.")
    return redirect(_next_url(request, reverse("history")))


# --------------------------------------------------------------------------------------------
# History: filters, pagination, ZIP and bulk delete, usage


@login_required
@require_GET
def history(request):
    form = HistoryFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data.get("status") or None,
            "output_format": data.get("output_format") or None,
            "created_after": _day_start(data.get("date_from")),
            "created_before": _day_start(data.get("date_to"), plus_days=1),
            "name_contains": data.get("q") or None,
        }
    jobs = selectors.job_list_for_user(user=request.user, **filters)
    if form.errors:  # the form says what to fix; a list filtered otherwise would mislead
        jobs = jobs.none()
    page = Paginator(jobs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    usage = selectors.usage_for_user(user=request.user)
    return render(
        request,
        "dashboard/history.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "usage": usage,
            "storage_percent": _percent(usage["storage_bytes"], usage["storage_quota_bytes"]),
            "jobs_percent": _percent(usage["jobs_today"], usage["jobs_per_day_quota"]),
        },
    )


def _day_start(day, *, plus_days: int = 0):
    if day is None:
        return None
    moment = datetime.datetime.combine(day + datetime.timedelta(days=plus_days), datetime.time.min)
    return timezone.make_aware(moment)


def _percent(used, quota):
    return min(100, round(100 * used / quota)) if quota else None


@login_required
@require_POST
def history_bulk(request):
    """Delete the selected jobs. (Their ZIP comes from the API: the same form posts to api:job-zip.)"""
    back = _next_url(request, reverse("history"))
    ids = []
    for value in request.POST.getlist("ids")[:HISTORY_PAGE_SIZE * 5]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    jobs = list(selectors.job_list_for_user(user=request.user).filter(id__in=ids))
    if not jobs:
        return _error(request, "Select at least one job first.", status=400, redirect_to=back)
    for job in jobs:
        services.job_delete(job=job)
    messages.success(request, f"Deleted {len(jobs)} job{'s' if len(jobs) != 1 else ''}.")
    return redirect(back)
