#!/usr/bin/env bash
# Quickstart, command 1: set up (Graphviz, .venv, dependencies), start the bundled local
# TofuPilot-compatible server, crawl the demo factory and write every export (SVG, DOT, JSON,
# the interactive HTML page, ...) and the three jobs' reports.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup.sh
exec .venv/bin/genealogy demo "$@"
