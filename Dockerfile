FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH \
    DJANGO_STATIC_ROOT=/app/static
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# Static files are collected into the image (hashed and compressed names, served by WhiteNoise). Settings
# import needs no real secret or database here: a throwaway key and var directory serve the build only.
RUN DJANGO_SECRET_KEY=collectstatic-build-only JIRAPLUS_VAR_DIR=/tmp/build-var DJANGO_STATIC_MANIFEST=true \
    python manage.py collectstatic --noinput && rm -rf /tmp/build-var
RUN useradd --create-home app && mkdir -p /app/var && chown app /app/var
USER app
EXPOSE 8000
# gunicorn reads WEB_CONCURRENCY itself; the shell only supplies defaults (exec keeps gunicorn PID 1).
CMD ["sh", "-c", "exec gunicorn jiraplus.wsgi:application --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --threads ${GUNICORN_THREADS:-4} --access-logfile -"]
