FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt && useradd --create-home --uid 1000 app

COPY --chown=app:app . .
# collectstatic needs production settings that import; these build-only values never reach runtime.
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    DJANGO_ALLOWED_HOSTS=build DATABASE_URL=postgres://build:build@build:5432/build REDIS_URL=redis://build:6379/0 \
    FIELD_ENCRYPTION_KEYS=SXjAzJrT_NXw6mqEH_I_1alo1EVkAHjSbFdxVMjWpJg= SANDBOXES_ENABLED=true \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "90", "--access-logfile", "-"]
