# Sourced by examples/demo.sh, tests/run.sh and .ci/run: everything a fresh Debian machine with
# Python 3.11 needs, installed once: Graphviz, a virtual environment, this package and its test
# tools. Re-running it is quick: each step is skipped when already done.
set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then
        # asks for a password on a terminal; never hangs waiting for one in CI
        if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi || {
            echo "setup: 'sudo $*' failed; run it yourself, then run this again." >&2
            exit 1
        }
    else
        echo "setup: '$*' needs root; run it as root (or install sudo), then run this again." >&2
        exit 1
    fi
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: please install $* with your package manager, then run this again." >&2
        exit 1
    fi
    echo "setup: installing $* (Debian packages) ..." >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: genealogy needs Python >= 3.11 as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
    exit 1
fi
if ! command -v dot >/dev/null 2>&1; then
    apt_install graphviz
fi
if [ -d .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    rm -rf .venv  # a half-made environment from an interrupted run
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv
    fi
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.genealogy-installed-$(sha256sum < pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "setup: installing genealogy and its test tools into .venv ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
    rm -f .venv/.genealogy-installed-*
    touch "$stamp"
fi
# Byte-compile the package: an editable install has no .pyc files, and where
# PYTHONDONTWRITEBYTECODE is set Python never writes them, so every command would compile
# the package's sources again (0.1 s of each run). Python ignores a .pyc its source has outdated.
# A file that does not compile is left to the tests to report.
.venv/bin/python -m compileall -q genealogy >&2 || true
