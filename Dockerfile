# One image for every process of the Procfile: web (the default command), worker and beat
# differ only in their command (docker-compose.yml). Configuration comes from the environment
# at run time (.env.example); nothing secret is built in.
FROM python:3.11-slim

# PYTHONPATH puts /app before site-packages: the settings find templates/ and static/ beside
# the source tree, which the installed copy of the packages would not have.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=seedream_site.settings \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

WORKDIR /app

RUN groupadd --system --gid 10001 seedream \
    && useradd --system --uid 10001 --gid seedream --home-dir /app --shell /usr/sbin/nologin seedream

COPY pyproject.toml README.md manage.py ./
COPY seedream_site ./seedream_site
COPY accounts ./accounts
COPY generations ./generations
COPY studio_core ./studio_core
RUN pip install .

COPY templates ./templates
COPY static ./static
# Hashed, compressed static files and their manifest, made once here so every container
# serves the same names (WhiteNoise, CompressedManifestStaticFilesStorage). The development
# profile is enough for it: no database, broker or secret is needed. Then /app/var, the only
# folder the processes write to (celery beat's schedule file).
RUN STATIC_MANIFEST=true VAR_DIR=/tmp/collectstatic python manage.py collectstatic --noinput \
        --verbosity 0 \
    && rm -rf /tmp/collectstatic \
    && mkdir -p /app/var && chown seedream:seedream /app/var

USER seedream
EXPOSE 8000

# The Procfile's `web` line (a test keeps the two the same); `exec` so gunicorn gets SIGTERM.
CMD ["sh", "-c", "exec gunicorn seedream_site.asgi:application --worker-class uvicorn_worker.UvicornWorker --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2}"]
