#!/usr/bin/env bash
# Editable install for development; serialised with a lock so parallel rebuilds don't collide.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/fastlive-build.lock python -m pip install --no-build-isolation --no-deps -q \
    -C build-dir=build/editable -e .
