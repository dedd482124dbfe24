#!/usr/bin/env bash
# The production image's build steps, in the one place they live. The Dockerfile runs them, and CI
# runs this same script in a clean copy of the checkout (scripts/check-image.sh), where there is no
# Docker engine. Run from anywhere; it works on the checkout it belongs to.
#
#   scripts/build-image.sh [deps|messages|static|all]     (default: all)
#
# deps:   the pinned runtime requirements, into the interpreter $PYTHON (default: python)
# messages: compile the translation catalogues (locale/*/django.po → .mo) with Babel (config/catalogues.py)
# static: collectstatic with the production settings: hashed, compressed files in staticfiles/
#         (whitenoise's CompressedManifestStaticFilesStorage), served by whitenoise at runtime
# The Dockerfile runs deps before copying the code, so that layer is cached across code changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

deps() {
  "$PYTHON" -m pip install --disable-pip-version-check --quiet -r requirements.txt
}

messages() {
  "$PYTHON" -m config.catalogues compile
}

static() {
  # Production settings must import to collect the files, and they refuse missing or published
  # secrets: these build-only values live for this one command and never reach the image's runtime.
  local secret key
  secret="build-only-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  key="$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  env DJANGO_ENV=production DJANGO_SECRET_KEY="$secret" DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build:build@build.invalid:5432/build REDIS_URL=redis://build.invalid:6379/0 \
    FIELD_ENCRYPTION_KEYS="$key" SANDBOXES_ENABLED=false \
    QBO_CLIENT_ID=build-only QBO_CLIENT_SECRET=build-only QBO_WEBHOOK_VERIFIER_TOKEN=build-only \
    PIPEDRIVE_CLIENT_ID=build-only PIPEDRIVE_CLIENT_SECRET=build-only PIPEDRIVE_JWT_SECRET=build-only PIPEDRIVE_MODAL_ID=build-only \
    "$PYTHON" manage.py collectstatic --noinput --clear -v 1
}

case "${1:-all}" in
  deps) deps ;;
  messages) messages ;;
  static) messages && static ;;
  all) deps && messages && static ;;
  *) echo "usage: $0 [deps|messages|static|all]" >&2; exit 2 ;;
esac
