# Sourced by the set-up scripts: create .venv/ and install the project into it, once per pyproject change.
venv_install() {
    local extras=$1
    if [ ! -x .venv/bin/python ]; then
        local python
        python=$(command -v python3.11 || command -v python3)
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//,/-}"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[${extras}]"
        rm -f .venv/.installed-*
        touch "$stamp"
    fi
}

# The compiled French catalogue (locale/*/LC_MESSAGES/django.mo) is built here, never committed.
# A second or less: done on every run, so a changed .po is always what the pages speak.
compile_messages() {
    if ! command -v msgfmt >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "Compiling the translations needs GNU gettext's msgfmt: install it (sudo apt-get install gettext) and run this again." >&2
            return 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
    fi
    DJANGO_SETTINGS_MODULE=config.settings.base .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=.data --ignore=.git --ignore=node_modules --verbosity 0
}

# What the browser tests need (tests/browser/): Debian's Chromium, driven by Playwright for Python
# (installed with the dev extra; it never downloads a browser of its own) and axe-core from the npm
# registry, injected into each page to check WCAG 2.1 AA.
browser_tools_install() {
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "The browser tests need Chromium at /usr/bin/chromium: install Debian's package (sudo apt-get install chromium) and run this again." >&2
            return 1
        fi
        echo "Installing Debian's Chromium for the browser tests (once)…"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    # The report tests read PDFs as text and pages (pdftotext, pdftoppm: Debian's poppler-utils).
    if ! command -v pdftoppm >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "The report tests need pdftotext and pdftoppm: install Debian's poppler-utils (sudo apt-get install poppler-utils) and run this again." >&2
            return 1
        fi
        echo "Installing Debian's poppler-utils for the report tests (once)…"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
    fi
    # npm ci again only when package-lock.json changed since the last install.
    local stamp
    stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "The browser tests need Node.js and npm (to install axe-core): install them and run this again." >&2
            return 1
        fi
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
        touch "$stamp"
    fi
}
