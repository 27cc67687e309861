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
if ! command -v javac >/dev/null 2>&1; then
    echo "bootstrap: javac not found, installing openjdk-17-jdk-headless" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
fi
