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
