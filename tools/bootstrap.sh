#!/bin/sh
# Install what `make test` and `make demo` need, once: a venv with the pinned
# controller tools, and Java 17 for the real-Flink oracle tests.
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
stamp="$VENV/.requirements-test.txt"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! cmp -s requirements-test.txt "$stamp" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r requirements-test.txt
    cp requirements-test.txt "$stamp"
fi
# Debian packages the tests use: Java 17 for the real-Flink oracle, shellcheck for ansible-test sanity.
missing=
command -v javac >/dev/null 2>&1 || missing="$missing openjdk-17-jdk-headless"
command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
# redis-server: the sliced audit's test with a Redis fact cache (tests/integration/test_sliced.py).
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# Other POSIX shells the gather's one-command script is tested under.
for sh in busybox mksh yash posh; do command -v $sh >/dev/null 2>&1 || missing="$missing $sh"; done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
