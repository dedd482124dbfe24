# Two commands on a fresh machine: `make run` (the demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt migrate seed bench chaos clean venv check-deploy check-image vendor-sdk chromium wrk \
	compilemessages messages languages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed-dev

## compilemessages: locale/*/django.po → .mo with Babel (no gettext tools needed; only stale ones)
compilemessages: venv
	$(BIN)/python -m config.catalogues compile

## messages: re-extract every user-facing text into locale/<lang>/LC_MESSAGES/django.po (needs GNU
## gettext's xgettext: apt-get install gettext). Then translate the new entries (README "Languages").
MESSAGE_LANGS := uk de es fr pt_BR pl it nl
messages: venv
	$(BIN)/python manage.py makemessages --no-obsolete --add-location=file \
		$(foreach l,$(MESSAGE_LANGS),-l $(l)) \
		--ignore='.venv/*' --ignore='integration/sandbox/*' --ignore='templates/sandbox/*' \
		--ignore='static/sandbox/*' --ignore='tests/*' --ignore='bench/*' --ignore='scripts/*' \
		--ignore='staticfiles/*' --ignore='docs/*'
	$(BIN)/python -m config.catalogues compile

## languages: the README's table of languages and how complete each catalogue is
languages: venv
	$(BIN)/python -m config.catalogues stats

## run: create the virtualenv, install, migrate, seed the demo and serve on the embedded default
run: venv compilemessages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

## chromium: Debian's browser for the end-to-end tests (never `playwright install`)
chromium:
	@[ -x /usr/bin/chromium ] || (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

## wrk: Debian's HTTP load generator for `make bench` (the panel API against the bare view)
wrk:
	@[ -x /usr/bin/wrk ] || (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

## test: the whole test suite (SQLite and in-process tasks unless DATABASE_URL / REDIS_URL are set)
test: venv chromium compilemessages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff, the import contracts of pyproject.toml (the apps' layering, README "Code layout") and mypy
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: QuickBooks client+sandbox round trips, the limiter under load, the panel API against the
## bare view (wrk, gunicorn, PostgreSQL: set DATABASE_URL) and time to "panel ready" in Chromium
bench: venv chromium wrk
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench} LOG_LEVEL=WARNING $(BIN)/python -m pytest bench -q -s -p no:cacheprovider -o python_files="bench_*.py" -o python_functions="bench_*"

## chaos: issue 17's fault experiments (worker kill -9, Redis down, 429s) on gunicorn + Celery + beat,
## PostgreSQL and a private Redis, loopback only, bounded in time; prints numbers
chaos: venv
	$(BIN)/python scripts/chaos.py

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: venv
	$(BIN)/python manage.py seed_demo

check-deploy: venv
	DJANGO_ENV=production DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	DJANGO_ALLOWED_HOSTS=example.com DATABASE_URL=postgres://app:app@127.0.0.1:5432/app \
	REDIS_URL=redis://127.0.0.1:6379/0 FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	SANDBOXES_ENABLED=false QBO_CLIENT_ID=x QBO_CLIENT_SECRET=x QBO_WEBHOOK_VERIFIER_TOKEN=x \
	PIPEDRIVE_CLIENT_ID=x PIPEDRIVE_CLIENT_SECRET=x PIPEDRIVE_JWT_SECRET=x PIPEDRIVE_MODAL_ID=x \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

## check-image: build the production image's contents with scripts/build-image.sh in a clean copy and boot
## them (gunicorn, DJANGO_ENV=production) on the local PostgreSQL and Redis; no Docker engine needed
check-image:
	bash scripts/check-image.sh

## vendor-sdk: refresh the vendored Pipedrive app-extensions SDK browser build (and its source map) from npm.
## The map ships with it because index.umd.js names it: collectstatic's manifest storage fails without it.
SDK_VERSION ?= 0.15.1
SDK_DIR := static/vendor/pipedrive-app-extensions-sdk
vendor-sdk:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent @pipedrive/app-extensions-sdk@$(SDK_VERSION) >/dev/null && \
	tar xzf pipedrive-app-extensions-sdk-$(SDK_VERSION).tgz && \
	cp package/dist/index.umd.js package/dist/index.umd.js.map package/LICENSE.md $(CURDIR)/$(SDK_DIR)/ && \
	printf '@pipedrive/app-extensions-sdk %s (npm, dist/index.umd.js and its source map index.umd.js.map)\nLicense: MIT (LICENSE.md, Copyright Pipedrive, Inc.)\nRefresh: make vendor-sdk SDK_VERSION=<version>\n' \
	  "$(SDK_VERSION)" > $(CURDIR)/$(SDK_DIR)/VERSION && rm -rf $$tmp

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache .mypy_cache
