#!/bin/sh
# `make demo`: audit the demo fleet (examples/demo-fleet/) and print where the HTML report is.
# `make bootstrap` has made the venv. The play never fails on findings here (audit_fail_on=never):
# the demo fleet is broken on purpose.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
VENV=${VENV:-.venv}
REPORT_DIR=${DEMO_REPORT_DIR:-$ROOT/tests/output/demo-report}

# ansible-playbook finds the collection as ansible_collections/flinkops/flink under a collections
# path: point one at this checkout through a symlink (nothing is copied; edits are live).
if [ -z "${DEMO_COLLECTIONS_PATH:-}" ]; then
    DEMO_COLLECTIONS_PATH=${TMPDIR:-/tmp}/flinkops-demo-collections-$(id -u)-$(printf %s "$ROOT" | cksum | cut -d" " -f1)
    mkdir -p "$DEMO_COLLECTIONS_PATH/ansible_collections/flinkops"
    ln -sfn "$ROOT" "$DEMO_COLLECTIONS_PATH/ansible_collections/flinkops/flink"
fi

PLAYBOOK_BIN=$VENV/bin/ansible-playbook
[ -x "$PLAYBOOK_BIN" ] || PLAYBOOK_BIN=$(command -v ansible-playbook) || {
    echo "demo: no ansible-playbook in $VENV/bin or on PATH; run 'make bootstrap' first" >&2; exit 1; }

start=$(date +%s)
ANSIBLE_COLLECTIONS_PATH=$DEMO_COLLECTIONS_PATH \
ANSIBLE_RETRY_FILES_ENABLED=False \
    "$PLAYBOOK_BIN" -i examples/demo-fleet/inventory.yml flinkops.flink.audit \
    -e audit_fail_on=never -e "audit_report_dir=$REPORT_DIR" "$@"
end=$(date +%s)

echo
echo "Demo audit done in $((end - start)) s. Reports in $REPORT_DIR:"
echo "  HTML report: $REPORT_DIR/flink-audit.html"
echo "  also flink-audit.json, flink-audit.md and flink-audit-junit.xml"
