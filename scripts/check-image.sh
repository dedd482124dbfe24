#!/usr/bin/env bash
# The production image, checked without a Docker engine (CI runs this; so can you, by hand).
#
# 1. Copies the checkout (what `git add` would see: tracked and untracked, minus ignored files, the
#    same local state .dockerignore keeps out of the image) into a temporary folder.
# 2. Builds it there with the image's own build script (scripts/build-image.sh) in a fresh virtualenv.
# 3. Migrates a throwaway PostgreSQL database, then boots the Dockerfile's CMD (gunicorn) with
#    DJANGO_ENV=production on PostgreSQL + Redis, on a port the kernel picks (never :8000).
# 4. Requires /readyz = 200, static files served by whitenoise under their hashed names (the vendored
#    SDK and the source map it names), a page rendering hashed static URLs, no /sandbox/, a page in
#    Ukrainian (the compiled catalogues), and no sandbox table in the database. Any failure exits non-zero with the server log.
#
# Needs PostgreSQL (CHECK_IMAGE_PG, default postgres://postgres@127.0.0.1:5432; the database is
# created and dropped here), Redis (CHECK_IMAGE_REDIS_URL, default redis://127.0.0.1:6379/14) and
# python3.11 (CHECK_IMAGE_PYTHON). CHECK_IMAGE_KEEP=1 keeps the temporary folder.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PG="${CHECK_IMAGE_PG:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${CHECK_IMAGE_REDIS_URL:-redis://127.0.0.1:6379/14}"
BASE_PYTHON="${CHECK_IMAGE_PYTHON:-python3.11}"
DB="check_image_$$_$(date +%s)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-image.XXXXXX")"
APP="$WORK/app"
SERVER_PID=""
started=$(date +%s)

step() { echo "== check-image: $* ($(($(date +%s) - started)) s)"; }
fail() {
  echo "check-image FAILED: $*" >&2
  [ -f "$WORK/server.log" ] && { echo "--- server log (last 60 lines)" >&2; tail -n 60 "$WORK/server.log" >&2; }
  exit 1
}
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -INT "$SERVER_PID" 2>/dev/null || true  # gunicorn's quick shutdown: nothing to drain here
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  fi
  echo "== check-image: server stopped ($(($(date +%s) - started)) s)"
  dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB" 2>/dev/null || true
  if [ "${CHECK_IMAGE_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  echo "== check-image: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - started)) s"
}
trap cleanup EXIT

step "copy the checkout to $APP"
mkdir -p "$APP"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf -) 2>/dev/null |
  tar -xf - -C "$APP"
[ -f "$APP/manage.py" ] && [ ! -e "$APP/staticfiles" ] && [ ! -e "$APP/.venv" ] || fail "the copy is not a clean checkout"

step "fresh virtualenv ($BASE_PYTHON) and scripts/build-image.sh"
"$BASE_PYTHON" -m venv "$WORK/venv"
export PATH="$WORK/venv/bin:$PATH"
build_started=$(date +%s)
(cd "$APP" && PYTHON="$WORK/venv/bin/python" bash scripts/build-image.sh) >"$WORK/build.log" 2>&1 ||
  { tail -n 40 "$WORK/build.log" >&2; fail "scripts/build-image.sh failed (its log above)"; }
grep "static files copied" "$WORK/build.log" || true
echo "build: $(($(date +%s) - build_started)) s"
[ -s "$APP/staticfiles/staticfiles.json" ] || fail "collectstatic wrote no manifest (staticfiles/staticfiles.json)"

# The runtime environment of the container (what .env holds), with throwaway services and secrets.
export DJANGO_ENV=production
DJANGO_SECRET_KEY="check-image-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export DJANGO_SECRET_KEY FIELD_ENCRYPTION_KEYS
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DATABASE_URL="$PG/$DB" REDIS_URL SANDBOXES_ENABLED=false
export QBO_CLIENT_ID=check-image QBO_CLIENT_SECRET=check-image QBO_WEBHOOK_VERIFIER_TOKEN=check-image
export PIPEDRIVE_CLIENT_ID=check-image PIPEDRIVE_CLIENT_SECRET=check-image PIPEDRIVE_JWT_SECRET=check-image PIPEDRIVE_MODAL_ID=check-image
export PUBLIC_BASE_URL=https://invoices.example.com LOG_LEVEL=WARNING
unset DJANGO_SETTINGS_MODULE

step "throwaway database $DB, migrate"
createdb --maintenance-db="$PG/postgres" "$DB" || fail "cannot create $DB on $PG"
(cd "$APP" && python manage.py migrate --noinput -v 0) || fail "migrate failed"
sandbox_tables=$(psql "$PG/$DB" -Atc \
  "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE 'qbo_sandbox%' OR tablename LIKE 'pipedrive_sandbox%')")
[ "$sandbox_tables" = 0 ] || fail "$sandbox_tables sandbox tables reached the production database"

step "boot the Dockerfile's CMD"
mapfile -d '' -t CMD < <(python - "$APP/Dockerfile" <<'PY'
import json, sys
cmd = [line for line in open(sys.argv[1]) if line.startswith("CMD ")][-1]
sys.stdout.write("\0".join(json.loads(cmd[4:])) + "\0")
PY
)
[ "${CMD[0]:-}" = gunicorn ] || fail "the Dockerfile's CMD is not gunicorn: ${CMD[*]}"
echo "${CMD[*]}"
# Port 0: the kernel picks a free one and gunicorn logs it ("Listening at: http://127.0.0.1:N").
(cd "$APP" && exec env GUNICORN_HOST=127.0.0.1 PORT=0 WEB_CONCURRENCY=2 "${CMD[@]}") >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 150); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "gunicorn exited at start"
  PORT=$(sed -n 's/.*Listening at: http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log" | head -n 1)
  [ -n "$PORT" ] && break
  sleep 0.2
done
[ -n "$PORT" ] || fail "gunicorn did not start listening"
BASE="http://127.0.0.1:$PORT"
echo "listening on $BASE"

# Requests come as from the TLS proxy in front of the container (SECURE_SSL_REDIRECT is on).
fetch() { curl -sS --max-time 20 -H "X-Forwarded-Proto: https" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@" || true; }
header() { grep -i "^$1:" "$WORK/headers" | head -n 1 | tr -d '\r'; }

step "/readyz"
ready=""
for _ in $(seq 1 50); do
  ready=$(fetch "$BASE/readyz" || true)
  [ "$ready" = 200 ] && break
  sleep 0.2
done
[ "$ready" = 200 ] || fail "/readyz answered $ready: $(cat "$WORK/body" 2>/dev/null)"
cat "$WORK/body"; echo

step "static files under their hashed names (whitenoise)"
hashed() {
  python -c 'import json, sys; print(json.load(open(sys.argv[1]))["paths"][sys.argv[2]])' \
    "$APP/staticfiles/staticfiles.json" "$1" || fail "$1 is not in the static manifest"
}
sdk=$(hashed vendor/pipedrive-app-extensions-sdk/index.umd.js)
[[ "$sdk" =~ index\.umd\.[0-9a-f]{12}\.js$ ]] || fail "the SDK's name is not hashed: $sdk"
status=$(fetch -H "Accept-Encoding: gzip" "$BASE/static/$sdk")
[ "$status" = 200 ] || fail "/static/$sdk answered $status"
header Cache-Control | grep -q immutable || fail "/static/$sdk is not served as a hashed, immutable file: $(header Cache-Control)"
[ "$(header Content-Encoding)" = "Content-Encoding: gzip" ] || fail "/static/$sdk is not served compressed"
echo "/static/$sdk 200, $(header Cache-Control), $(header Content-Encoding)"
status=$(fetch "$BASE/static/$sdk")
map=$(sed -n 's/^\/\/# sourceMappingURL=\(.*\)$/\1/p' "$WORK/body")
[[ "$map" =~ ^index\.umd\.js\.[0-9a-f]{12}\.map$ ]] || fail "the SDK names an unhashed source map: '$map'"
status=$(fetch "$BASE/static/vendor/pipedrive-app-extensions-sdk/$map")
[ "$status" = 200 ] || fail "the SDK's source map $map answered $status"
echo "its source map $map 200"

step "a page with hashed static URLs; no sandbox"
status=$(fetch "$BASE/accounts/login/")
[ "$status" = 200 ] || fail "/accounts/login/ answered $status"
css=$(hashed css/app.css)
grep -q "/static/$css" "$WORK/body" || fail "/accounts/login/ does not link the hashed $css"
status=$(fetch "$BASE/static/$css")
[ "$status" = 200 ] || fail "/static/$css answered $status"
echo "/accounts/login/ 200 links /static/$css (200)"
status=$(fetch "$BASE/sandbox/quickbooks/")
[ "$status" = 404 ] || fail "/sandbox/quickbooks/ answered $status in production (expected 404)"
echo "/sandbox/quickbooks/ 404"

step "the compiled catalogues: a Ukrainian browser gets Ukrainian"
status=$(fetch -H "Accept-Language: uk" "$BASE/accounts/login/")
[ "$status" = 200 ] || fail "/accounts/login/ in Ukrainian answered $status"
grep -q '<html lang="uk"' "$WORK/body" && grep -q "Продовжити з Pipedrive" "$WORK/body" ||
  fail "/accounts/login/ is not Ukrainian: locale/*.mo missing from the build (scripts/build-image.sh messages)"
echo "/accounts/login/ lang=uk, translated"

