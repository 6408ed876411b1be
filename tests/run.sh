#!/usr/bin/env bash
# Quickstart, command 2: the same set-up, then the whole test suite (extra args go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup.sh
exec .venv/bin/python -m pytest "$@"
