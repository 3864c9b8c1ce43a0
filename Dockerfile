# syntax=docker/dockerfile:1
# One image for web, worker and one-off commands (docs/deploy.md).

# --- build: wheels for every runtime dependency -------------------------------------------
FROM python:3.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt
# The engine's compiled inner loops, built by pip from pyproject.toml as `make` does (cffi, in
# place); the runtime stage copies the library and needs no compiler.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py ./
COPY compression/engine compression/engine/
RUN pip install --no-deps -e .

# --- runtime --------------------------------------------------------------------------------
FROM python:3.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY --chown=app:app . .
# The library carries the build id of its sources, which the engine checks (file times do not matter).
COPY --from=build /build/compression/engine/native/_native*.so compression/engine/native/
# Static files are collected into the image (whitenoise serves them); the key is build-only.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/media && chown app:app /app/media
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4).status == 200 else 1)"]
# gthread: a synchronous compress request holds one of the 4 threads, not a whole worker process;
# each process is replaced after 1000-1100 requests. Clients reach it through nginx (compose).
CMD ["gunicorn", "compressor_site.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--max-requests", "1000", "--max-requests-jitter", "100", "--no-control-socket", "--access-logfile", "-"]
