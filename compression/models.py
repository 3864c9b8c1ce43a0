"""Uploads and compression jobs. Writes go through services.py, reads through selectors.py."""

import uuid

from django.conf import settings
from django.db import models

from .storage_names import result_file_name, thumbnail_file_name, upload_file_name


class Upload(models.Model):
    """An image a user uploaded. Re-uploading the same bytes returns the existing row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to=upload_file_name, max_length=255)
    # For display only: sanitised, never part of a storage name.
    original_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=16)  # detected from the bytes: "png", "jpeg", ...
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="upload_owner_created")]
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="upload_unique_owner_sha256")]

    def __str__(self) -> str:
        return f"{self.original_name or self.id} ({self.width}x{self.height} {self.format})"

    @property
    def pixels(self) -> int:
        return self.width * self.height


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class ColorSpace(models.TextChoices):
    RGB = "rgb", "RGB"
    OKLAB = "oklab", "Perceptual (Oklab)"


class ResizeMode(models.TextChoices):
    NONE = "", "None"
    FIT = "fit", "Fit"
    FILL = "fill", "Fill"
    STRETCH = "stretch", "Stretch"
    CROP = "crop", "Crop"


class OutputFormat(models.TextChoices):
    PNG = "png", "PNG"
    WEBP = "webp", "WebP"
    GIF = "gif", "GIF"


# The option fields of CompressionJob, with their defaults: the keys `job_create(options=...)` takes.
OPTION_DEFAULTS: dict = {
    "n_colors": 16,
    "auto": False,
    "init": "k-means++",
    "color_space": "rgb",
    "dither": 0.0,
    "max_iter": 100,
    "seed": 0,
    "resize_mode": "",
    "width": None,
    "height": None,
    "scale_percent": None,
    "crop_x": None,
    "crop_y": None,
    "crop_width": None,
    "crop_height": None,
    "allow_upscale": False,
    "background": None,
    "target_size_bytes": None,
    "target_psnr": None,
    "target_ssim": None,
    "output_format": "png",
    "png_optimize_level": None,
}
OPTION_FIELDS = tuple(OPTION_DEFAULTS)


class CompressionJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compression_jobs")
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="jobs")
    rerun_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns")

    # Options (see compression.engine.CompressOptions)
    n_colors = models.PositiveSmallIntegerField(default=16)
    # auto: K, dithering and PNG or lossless WebP chosen for the smallest file meeting the quality
    # target (target_ssim, default 0.95); n_colors is then the upper bound of K.
    auto = models.BooleanField(default=False)
    init = models.CharField(max_length=16, default="k-means++")  # the engine checks the value
    color_space = models.CharField(max_length=8, choices=ColorSpace.choices, default=ColorSpace.RGB)
    dither = models.FloatField(default=0.0)
    max_iter = models.PositiveIntegerField(default=100)
    seed = models.BigIntegerField(default=0)
    resize_mode = models.CharField(max_length=8, choices=ResizeMode.choices, default=ResizeMode.NONE, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    scale_percent = models.FloatField(null=True, blank=True)
    crop_x = models.PositiveIntegerField(null=True, blank=True)
    crop_y = models.PositiveIntegerField(null=True, blank=True)
    crop_width = models.PositiveIntegerField(null=True, blank=True)
    crop_height = models.PositiveIntegerField(null=True, blank=True)
    allow_upscale = models.BooleanField(default=False)
    background = models.CharField(max_length=7, null=True, blank=True)  # "#rrggbb"
    target_size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    target_psnr = models.FloatField(null=True, blank=True)
    target_ssim = models.FloatField(null=True, blank=True)
    output_format = models.CharField(max_length=8, choices=OutputFormat.choices, default=OutputFormat.PNG)
    png_optimize_level = models.PositiveSmallIntegerField(null=True, blank=True)

    # State
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # 0-100
    stage = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)  # times a worker claimed it
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the job's task was last handed to the queue. A queued job without it lost its task (the
    # database went away between saving the job and sending the task): stale recovery sends it.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    engine_version = models.CharField(max_length=32, blank=True)

    # Result
    result = models.FileField(upload_to=result_file_name, max_length=255, blank=True)
    result_format = models.CharField(max_length=8, blank=True)
    result_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    thumbnail_bytes = models.PositiveBigIntegerField(null=True, blank=True)  # counts towards the storage quota
    result_width = models.PositiveIntegerField(null=True, blank=True)
    result_height = models.PositiveIntegerField(null=True, blank=True)
    # A small WebP of the result (engine.thumbnail: at most 256 px a side) for lists; empty for jobs
    # that finished before thumbnails existed (pages fall back to the result).
    thumbnail = models.FileField(upload_to=thumbnail_file_name, max_length=255, blank=True)

    # Queryable statistics (the full CompressStats.to_dict() is in `stats`)
    input_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    output_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    ratio = models.FloatField(null=True, blank=True)  # input bytes / output bytes
    psnr = models.FloatField(null=True, blank=True)  # None when identical (infinite)
    ssim = models.FloatField(null=True, blank=True)
    n_colors_used = models.PositiveSmallIntegerField(null=True, blank=True)
    n_iter = models.PositiveIntegerField(null=True, blank=True)
    processing_ms = models.FloatField(null=True, blank=True)
    stats = models.JSONField(null=True, blank=True)
    # The size-vs-K chart's data (compression/size_curves.py), stored by the worker after the job.
    size_curve = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="job_owner_created"),
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"job {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration_ms(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds() * 1000
        return None

    def options_dict(self) -> dict:
        """The job's options as `job_create(options=...)` takes them (used by re-runs)."""
        return {name: getattr(self, name) for name in OPTION_FIELDS}

    def to_compress_options(self):
        """The engine's CompressOptions for this job (the pixel limit comes from settings)."""
        from compression.engine import CompressOptions, CropBox, parse_hex_colour
        from compression.engine.options import AUTO

        crop = None
        if self.crop_width is not None and self.crop_height is not None:
            crop = CropBox(x=self.crop_x or 0, y=self.crop_y or 0, width=self.crop_width, height=self.crop_height)
        background = parse_hex_colour(self.background) if self.background else None
        return CompressOptions(
            n_colors=AUTO if self.auto else self.n_colors,
            init=self.init,
            color_space=self.color_space,
            max_iter=self.max_iter,
            seed=self.seed,
            dither=self.dither,
            crop_box=crop,
            scale_percent=self.scale_percent,
            resize_mode=self.resize_mode or None,
            width=self.width,
            height=self.height,
            allow_upscale=self.allow_upscale,
            background=background,
            target_size_bytes=self.target_size_bytes,
            target_psnr=self.target_psnr,
            target_ssim=self.target_ssim,
            output_format=self.output_format,
            png_optimize_level=self.png_optimize_level,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )


class SyncWorkSlot(models.Model):
    """One request of a user doing synchronous work in a web process (waiting for a job,
    compress-direct, a size curve): counted so one account cannot hold every web thread.
    Deleted when the work ends; `expires_at` frees the slot of a process that died meanwhile."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner", "expires_at"], name="sync_slot_owner_expires")]
