#!/bin/sh
# Install what a make target needs, once, into a venv ($VENV, default .venv):
#   bootstrap.sh demo   what a user needs to run the playbooks (`make demo`): requirements.txt and
#                       ansible-core, at the version the tests run; nothing else, no system packages
#   bootstrap.sh [test] everything `make test` needs: the pinned tools of requirements-test.txt, Java 17
#                       for the real-Flink oracle tests, shellcheck, redis-server and the shells and
#                       awks the gather is tested under (apt-get)
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
MODE=${1:-test}
case $MODE in
    demo|test) ;;
    *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac
stamp="$VENV/.requirements-test.txt"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ "$MODE" = demo ]; then
    # a venv made for the tests already holds all of it
    if cmp -s requirements-test.txt "$stamp" 2>/dev/null; then exit 0; fi
    core=$(grep -E '^ansible-core[=<>~]' requirements-test.txt)
    want="$VENV/.requirements-demo.txt.new"
    { cat requirements.txt; echo "$core"; } > "$want"
    if ! cmp -s "$want" "$VENV/.requirements-demo.txt" 2>/dev/null; then
        "$VENV/bin/pip" install --quiet -r requirements.txt "$core"
        mv "$want" "$VENV/.requirements-demo.txt"
    else
        rm -f "$want"
    fi
    exit 0
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
# The awks of other hosts the gather's awk programs are tested under: gawk (RHEL and its kin, SUSE, Arch) and
# BWK's one true awk (the BSDs, macOS); busybox's comes with busybox, mawk with Debian.
command -v gawk >/dev/null 2>&1 || missing="$missing gawk"
command -v original-awk >/dev/null 2>&1 || missing="$missing original-awk"
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    # Debian's awk alternative moves to gawk when it comes: this machine's awk stays what it was
    awk_before=$(readlink -f /usr/bin/awk 2>/dev/null || true)
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
    if [ -n "$awk_before" ] && [ "$(readlink -f /usr/bin/awk)" != "$awk_before" ]; then
        $SUDO update-alternatives --quiet --set awk "$awk_before"
    fi
fi
