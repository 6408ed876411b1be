#!/usr/bin/env bash
# Quickstart, command 2: the same set-up, then the whole test suite (extra args go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup.sh
# Mermaid's own parser (npm package, run by Node) checks the Mermaid export.
if command -v npm >/dev/null 2>&1 && [ ! -d tests/mermaid/node_modules ]; then
    echo "setup: installing Mermaid's parser for the tests (npm) ..." >&2
    npm ci --prefix tests/mermaid --silent --no-audit --no-fund \
        || echo "setup: npm ci failed: the tests that need Mermaid's parser will be skipped" >&2
fi
# The TLS tests make a throwaway certificate with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then
    apt_install openssl
fi
# The browser tests drive Debian's Chromium through Playwright, never a browser it downloads.
if [ -z "${GENEALOGY_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ] \
    && ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
fi
exec .venv/bin/python -m pytest "$@"
