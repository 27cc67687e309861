# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every finding code an audit can report, in one registry.

``config_lint`` (lint.py), the live audit (live.py), diagnose (diagnose.py: failures in the logs) and the
report (gather failures) emit only codes listed here; docs/reports.md carries the table ``markdown_table``
renders, and the filter and module
documentation list the same codes (tests/unit/plugins/plugin_utils/test_codes.py holds all of them to
this registry, and every code the sources emit to it).

Controller side; never imports Ansible.
"""

from __future__ import annotations

from collections import namedtuple

Code = namedtuple("Code", "source severities meaning")

# code | from | severities | meaning -- one row a code, the order docs/reports.md shows them in.
_TABLE = """
unknown-key | lint | warning | a key this Flink line does not read (with a did-you-mean, or the lines that do read it)
blog-only-key | lint | warning | a key that exists in no Flink release (it comes from blog posts)
deprecated-key | lint | warning | a deprecated spelling Flink still reads for another option
deprecated-option | lint | info | an option deprecated on this line (still works)
removed-key | lint | warning | a key an earlier Flink line read and this one ignores silently
rejected-config | lint | error | Flink refuses to start the process with this memory config
sizing-paths | lint | warning | more than one memory sizing path set: which one Flink uses and what the others become
legacy-heap | lint | warning | a pre-FLIP-49 heap key (taskmanager.heap.size, ...) and what it means on this line
unused-key | lint | info | a memory key that has no effect with the sizing path Flink takes
exceeds-host-memory | lint | error | the host's processes may use more memory than its tightest limit (inventory, \
cgroup or RAM)
managed-per-slot | lint | warning | Managed Memory per slot below min_managed_per_slot
task-heap-per-slot | lint | warning | task heap per slot too small for user code
consumer-weights | lint | error, warning, info | managed memory consumer weights Flink cannot parse, drops, or reads \
other than written
ignored-file | lint | warning | a config file in the conf dir that this Flink line does not read
skipped-line | lint | warning | a flink-conf.yaml line Flink skips (with the reason it logs)
bom-in-key | lint | warning | a UTF-8 byte order mark the legacy parser glues to the first key
hash-cut-value | lint | warning | a flink-conf.yaml value cut at a '#' written inside it
overridden-key | lint | info | a key set twice: Flink uses the later entry and ignores the earlier
flink-version-mismatch | lint | warning | the flink_version host variable names another Flink line than the jar in lib/
process-unknown | lint | warning | the host is in neither flink_jobmanager nor flink_taskmanager: which process it \
runs, and so its memory, is not checked
live-restart-pending | live | warning | changed on disk but not restarted: the file was modified after the TaskManager \
started and gives other memory
live-memory-mismatch | live | warning | running with memory the file does not give, though the file is older than the \
process (dynamic properties, another conf dir, another host under this id)
live-memory-differs | live | warning | one of the two above; the TaskManager process was not found on the host to tell \
which
live-file-changed | live | info | the file changed after the TaskManager started; its memory is unaffected
live-not-registered | live | warning | no TaskManager registered under the host's id
live-unknown-taskmanagers | live | info | (on the first JobManager host) registered TaskManagers that match no \
audited host
live-unreachable | live | error | (on the first JobManager host) the REST API could not be read
gather-failed | gather | error | the host's config could not be gathered (the message says why)
host-unreachable | gather | error | Ansible could not reach the host
network-buffers | diagnose | error | a task failed: too few network buffers for its parallelism (Insufficient \
number of network buffers)
network-pool-allocation | diagnose | error | the TaskManager could not allocate its NetworkBufferPool at start
managed-memory | diagnose | error, warning | managed memory too small: a batch sort or a memory reservation failed \
(error), or RocksDB warned its performance will be poor (warning)
metaspace-oom | diagnose | error | java.lang.OutOfMemoryError: Metaspace
direct-oom | diagnose | error | java.lang.OutOfMemoryError: Direct buffer memory
heap-oom | diagnose | error | java.lang.OutOfMemoryError: Java heap space (TaskManager, or JobManager starting a \
JobMaster)
oom-killed | diagnose | error | the kernel killed the Flink JVM (Memory cgroup out of memory / Out of memory: Killed \
process)
taskmanager-lost | diagnose | error | the JobManager lost a TaskManager and no log on its host says why
refused-config | diagnose | error | the process did not start: Flink refused its memory config (in its .out file)
slots-unfulfillable | diagnose | error | a job could not get its slots (NoResourceAvailableException)
"""


def _parse(table: str) -> dict:
    out = {}
    for row in table.replace("\\\n", "").strip().splitlines():
        name, source, severities, meaning = (part.strip() for part in row.split(" | ", 3))
        out[name] = Code(source, tuple(severities.split(", ")), meaning)
    return out


CODES = _parse(_TABLE)
LINT = {k: c for k, c in CODES.items() if c.source == "lint"}
LIVE = {k: c for k, c in CODES.items() if c.source == "live"}
GATHER = {k: c for k, c in CODES.items() if c.source == "gather"}
# Failures read in the logs (plugin_utils/diagnose.py), the report's Failures section.
DIAGNOSE = {k: c for k, c in CODES.items() if c.source == "diagnose"}


def markdown_table(codes=None) -> str:
    """The table of codes docs/reports.md carries (tested to be exactly this)."""
    rows = ["| Code | From | Severity | Meaning |", "|---|---|---|---|"]
    for name, code in (codes or CODES).items():
        rows.append(f"| `{name}` | {code.source} | {', '.join(code.severities)} | {code.meaning} |")
    return "\n".join(rows) + "\n"
