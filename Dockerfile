FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Every build step is in scripts/build-image.sh, which CI runs too (scripts/check-image.sh).
# Dependencies first, so their layer is reused while only the code changes.
COPY requirements.txt ./
COPY scripts/build-image.sh scripts/
RUN bash scripts/build-image.sh deps && useradd --create-home --uid 1000 app

COPY --chown=app:app . .
RUN bash scripts/build-image.sh static

USER app
EXPOSE 8000
# Bind, workers, timeout and access log: config/gunicorn.conf.py (PORT, WEB_CONCURRENCY override).
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
