# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Flink's own failure messages to the key, the host and one fix for the whole group.

``diagnose(results, cluster=None, group_by="process", policy=None)`` reads the log lines each gather
result carries under ``logs`` (see plugins/filter/diagnose.yml for the shape), finds the messages Flink
writes when memory is the cause (texts as Flink 1.20 and 2.3 write them: NetworkBufferPool,
TaskManagerExceptionUtils, ClusterEntryPointExceptionUtils, UnsafeMemoryBudget, the sorter, the slot
pool, bash-java-utils.sh, the kernel's OOM killer), ties each to a host and a process, states what the
keys give now (the memory model), and computes one fix per group and cause with ``memory_plan``: a
policy and the settings it writes, which ``memory_plan`` has checked valid on every host of the group.
Never imports Ansible.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat

from ansible_collections.flinkops.flink.plugins.module_utils.log_tail import redact_line
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes
from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose_tail import excerpt_lines, numbers_of
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import (
    FleetError,
    host_memory,
    human_bytes,
    natural_sorted,
    processes_of,
    resolve_groups,
    split_results,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, PolicyError, memory_plan, size_text

TM, JM = "taskmanager", "jobmanager"
MIB = 1 << 20


class DiagnoseError(ValueError):
    """A bad call (results not a mapping, a malformed ``logs`` entry, a bad policy)."""


# --- What Flink writes ---------------------------------------------------------------------------

# A record of Flink's log4j layout: ``2026-12-02 04:48:40,164 WARN  org.apache...Task [] - message``.
RECORD = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3})\s+([A-Z]+)\s+(\S+)")
# The kernel's OOM killer (dmesg), cgroup v1/v2 and global: ``Memory cgroup out of memory: Killed process 4711 (java)``.
KERNEL_KILL = re.compile(r"(Memory cgroup out of memory|Out of memory): Killed process (\d+) \(([^)]*)\)")
KERNEL_TIME = re.compile(r"^\[\s*(\d+\.\d+)\]")
# The cgroup v1 accounting line the kernel prints with a memcg OOM: ``memory: usage 1228800kB, limit 1228800kB``.
KERNEL_LIMIT = re.compile(r"memory: usage (\d+)kB, limit (\d+)kB")
# The JobManager names the TaskManager a task ran on: ``... to FAILED on tm1 @ localhost (dataPort=43075).``
ON_TASKMANAGER = re.compile(r" on (\S+) @ \S+ \(dataPort=")


@dataclass(frozen=True)
class Rule:
    """One message Flink writes, the code it means and which process's memory it is about."""

    code: str
    needle: str  # a plain substring: cheap to look for in every line
    pattern: re.Pattern
    process: str | None = None  # None: the process whose log it is
    severity: str = "error"


RULES = (
    # NetworkBufferPool.internalCreateBufferPool / tryRedistributeBuffers (1.20 and 2.3: same text).
    Rule("network-buffers", "Insufficient number of network buffers", re.compile(
        r"Insufficient number of network buffers: required (?P<required>\d+), but only (?P<available>\d+) "
        r"available\. The total number of network buffers is currently set to (?P<total>\d+) of "
        r"(?P<segment>\d+) bytes each"), TM),
    # NetworkBufferPool's constructor: the pool cannot be allocated at start.
    Rule("network-pool-allocation", "Could not allocate enough memory segments for NetworkBufferPool", re.compile(
        r"Could not allocate enough memory segments for NetworkBufferPool \(required \(MB\): (?P<required_mb>\d+), "
        r"allocated \(MB\): (?P<allocated_mb>\d+), missing \(MB\): (?P<missing_mb>\d+)\)"), TM),
    # ExternalSorterBuilder: a batch sort without enough managed memory.
    Rule("managed-memory", "Too little memory provided to sorter", re.compile(
        r"Too little memory provided to sorter to perform task\. Required are at least (?P<pages>\d+) pages\. "
        r"Current page size is (?P<page_size>\d+) bytes"), TM),
    # UnsafeMemoryBudget.reserveMemory (MemoryReservationException).
    Rule("managed-memory", "bytes are remaining", re.compile(
        r"Could not allocate (?P<requested>\d+) bytes, only (?P<remaining>\d+) bytes are remaining"), TM),
    # RocksDBOperationUtils: a warning, the job runs.
    Rule("managed-memory", "RocksDBStateBackend performance will be poor", re.compile(
        r"RocksDBStateBackend performance will be poor because of the current Flink memory configuration!"),
        TM, "warning"),
    # TaskManagerExceptionUtils / ClusterEntryPointExceptionUtils enrich these; the plain JVM text is matched too.
    Rule("metaspace-oom", "OutOfMemoryError: Metaspace", re.compile(r"java\.lang\.OutOfMemoryError: Metaspace")),
    Rule("direct-oom", "OutOfMemoryError: Direct buffer memory",
         re.compile(r"java\.lang\.OutOfMemoryError: Direct buffer memory")),
    Rule("heap-oom", "OutOfMemoryError: Java heap space", re.compile(r"java\.lang\.OutOfMemoryError: Java heap space")),
    # bash-java-utils.sh (parseResourceParamsAndExportLogs), on the console of the start script.
    Rule("refused-config", "Could not get JVM parameters and dynamic configurations properly", re.compile(
        r"\[ERROR\] Could not get JVM parameters and dynamic configurations properly\.")),
    # DeclarativeSlotPoolBridge / the adaptive scheduler; PhysicalSlotRequestBulkChecker on older paths.
    Rule("slots-unfulfillable", "NoResourceAvailableException", re.compile(
        r"NoResourceAvailableException: (?P<what>Could not acquire the minimum required resources\.|"
        r"Slot request bulk is not fulfillable!.*|.*)"), TM),
    # The JobManager loses a TaskManager (ResourceManager / JobMaster heartbeat listeners).
    Rule("taskmanager-lost", "TaskManager with id", re.compile(
        r"(?:(?:The h|H)eartbeat of TaskManager with id (?P<tm_timeout>\S+) timed out\.|"
        r"TaskManager with id (?P<tm_unreachable>\S+) is no longer reachable\.)"), TM),
)
# The slot manager (INFO): "Received resource requirements from job <id>: [ResourceRequirement{resourceProfile=
# ResourceProfile{UNKNOWN}, numberOfRequiredSlots=4}]" - what the job asked for.
REQUIRED_SLOTS = re.compile(r"Received resource requirements from job \S+: \[(?P<profiles>.*)\]")
PROFILE_COUNT = re.compile(r"numberOfRequiredSlots=(\d+)")

# The keys that decide each code, per process.
KEYS = {
    ("network-buffers", TM): ("taskmanager.memory.network.fraction", "taskmanager.memory.network.min",
                              "taskmanager.memory.network.max", "taskmanager.memory.segment-size",
                              "taskmanager.numberOfTaskSlots", "taskmanager.memory.process.size"),
    ("network-pool-allocation", TM): ("taskmanager.memory.network.min", "taskmanager.memory.network.max",
                                      "taskmanager.memory.network.fraction", "taskmanager.memory.task.off-heap.size",
                                      "taskmanager.memory.framework.off-heap.size", "env.java.opts.taskmanager",
                                      "env.java.opts.all"),
    ("managed-memory", TM): ("taskmanager.memory.managed.size", "taskmanager.memory.managed.fraction",
                             "taskmanager.memory.managed.consumer-weights", "taskmanager.numberOfTaskSlots",
                             "taskmanager.memory.process.size"),
    ("metaspace-oom", TM): ("taskmanager.memory.jvm-metaspace.size",),
    ("metaspace-oom", JM): ("jobmanager.memory.jvm-metaspace.size",),
    ("direct-oom", TM): ("taskmanager.memory.task.off-heap.size", "taskmanager.memory.framework.off-heap.size"),
    ("direct-oom", JM): ("jobmanager.memory.off-heap.size",),
    ("heap-oom", TM): ("taskmanager.memory.task.heap.size", "taskmanager.memory.process.size",
                       "taskmanager.memory.managed.fraction", "taskmanager.memory.framework.heap.size"),
    ("heap-oom", JM): ("jobmanager.memory.heap.size", "jobmanager.memory.process.size"),
    ("oom-killed", TM): ("taskmanager.memory.process.size", "taskmanager.memory.jvm-overhead.fraction",
                         "taskmanager.memory.jvm-overhead.max"),
    ("oom-killed", JM): ("jobmanager.memory.process.size", "jobmanager.memory.jvm-overhead.fraction",
                         "jobmanager.memory.jvm-overhead.max"),
    ("slots-unfulfillable", JM): ("taskmanager.numberOfTaskSlots", "slot.request.timeout"),
    ("taskmanager-lost", TM): ("heartbeat.timeout", "taskmanager.memory.process.size"),
}


# --- The logs a gather returns --------------------------------------------------------------------


def _excerpt_numbers(entry: Mapping):
    """An excerpt's ``line_numbers`` as the gather ships them (a text of runs, diagnose_tail.number_ranges) as a
    list; a list as given; None when absent. ValueError for a text that is no such runs."""
    numbers = entry.get("line_numbers")
    return numbers_of(numbers) if isinstance(numbers, str) else numbers


def _text_lines(entry: Mapping, numbers) -> list:
    """The lines of an entry given as ``text``: an excerpt's (with line numbers) split at newlines only, one line
    per number; a whole text as str.splitlines splits it."""
    text = str(entry.get("text") or "")
    return excerpt_lines(text, numbers) if numbers is not None else text.splitlines()


def _entry_lines(entry, host, index) -> tuple[str, list, object]:
    """(file, lines, the number of each line in the file) of one ``logs`` entry; DiagnoseError naming host and
    entry. The numbers are ``line_numbers`` when given (an excerpt: the gather ships only the lines diagnose
    reads, as one text and its numbers as runs), else consecutive from ``first_line``."""
    where = f"host {host}: logs[{index}]"
    if not isinstance(entry, Mapping):
        raise DiagnoseError(f"{where} must be a mapping with file and lines or text, got {type(entry).__name__}")
    name = entry.get("file")
    if not isinstance(name, str) or not name:
        raise DiagnoseError(f"{where}: file must be the path of the log file (a non-empty string)")
    try:
        numbers = _excerpt_numbers(entry)
    except ValueError as exc:
        raise DiagnoseError(f"{where} ({name}): line_numbers must be increasing positive integers, one per line "
                            f"({exc})") from None
    if "lines" in entry:
        lines = entry["lines"]
        if isinstance(lines, str) or not isinstance(lines, (list, tuple)) or not all(
                map(isinstance, lines, repeat(str))):
            raise DiagnoseError(f"{where} ({name}): lines must be a list of strings")
        lines = list(lines)
    elif "text" in entry:
        if not isinstance(entry["text"], str):
            raise DiagnoseError(f"{where} ({name}): text must be a string")
        lines = _text_lines(entry, numbers)
    elif entry.get("error"):
        lines = []  # an unreadable file is reported by the gather, not diagnosed
    else:
        raise DiagnoseError(f"{where} ({name}): give lines (a list of strings) or text (a string)")
    first = entry.get("first_line", 1)
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise DiagnoseError(f"{where} ({name}): first_line must be a positive integer, got {first!r}")
    if numbers is None:
        return name, lines, range(first, first + len(lines))
    if isinstance(entry.get("line_numbers"), str) and len(numbers) == len(lines):
        return name, lines, numbers  # numbers_of checked them
    if (isinstance(numbers, (str, bytes)) or not isinstance(numbers, (list, tuple)) or len(numbers) != len(lines)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers)
            or any(a >= b for a, b in zip(numbers, numbers[1:], strict=False))):
        raise DiagnoseError(f"{where} ({name}): line_numbers must be increasing positive integers, one per line")
    return name, lines, list(numbers)


def _kind(entry: Mapping, name: str) -> str:
    kind = entry.get("kind")
    if kind in ("log", "out", "kernel"):
        return kind
    base = name.rsplit("/", 1)[-1]
    if base.startswith(("dmesg", "journalctl")) or base in ("kern.log", "kernel"):
        return "kernel"
    return "out" if base.endswith(".out") else "log"


def _process_of_file(entry: Mapping, name: str, host_procs: list) -> str | None:
    if entry.get("process") in (TM, JM):
        return entry["process"]
    base = name.rsplit("/", 1)[-1]
    if "taskexecutor" in base or "taskmanager" in base:
        return TM
    if "standalonesession" in base or "standalonejob" in base or "jobmanager" in base or "entrypoint" in base:
        return JM
    return host_procs[0] if len(host_procs) == 1 else None


_CLIENT_LOG = re.compile(r"flink-.*-client-.*\.log")


@dataclass
class Hit:
    code: str
    process: str | None
    severity: str
    host: str  # whose log it is
    file: str
    line: int
    time: str | None
    message: str
    groups: dict
    record: str | None = None  # the record's first line when the match is in a stack trace
    taskmanager_id: str | None = None  # the TaskManager the JobManager names
    cause: str | None = None
    related: list = field(default_factory=list)
    source: str = "log"  # log | rest (a job's exception history read by flink_cluster_info)
    rest: dict | None = None  # for rest: job, entry, task, endpoint


# The rules' needles: the lines worth a closer look.
NEEDLES = tuple(sorted({rule.needle for rule in RULES}))


def _candidates(lines: list) -> list:
    """(index, rules) of the lines holding some rule's needle, in order, with the rules whose needle the line holds
    (in RULES order): each needle looked for in the joined text (str.find, C speed: the lines are not walked in
    Python), positions turned into line numbers in one pass."""
    text = "\n".join(lines)
    positions = []
    for needle in NEEDLES:
        pos = text.find(needle)
        while pos >= 0:
            positions.append((pos, needle))
            pos = text.find(needle, pos + len(needle))
    found, line, at = [], 0, 0
    for pos, needle in sorted(positions):
        line += text.count("\n", at, pos)
        at = pos
        if found and found[-1][0] == line:
            found[-1][1].add(needle)
        else:
            found.append((line, {needle}))
    return [(i, _rules_holding(frozenset(needles))) for i, needles in found]


_RULES_HOLDING: dict = {}


def _rules_holding(needles: frozenset) -> tuple:
    rules = _RULES_HOLDING.get(needles)
    if rules is None:
        rules = _RULES_HOLDING[needles] = tuple(rule for rule in RULES if rule.needle in needles)
    return rules


def _scan(host: str, entry: Mapping, index: int, host_procs: list) -> list:
    name, lines, numbers = _entry_lines(entry, host, index)
    kind = _kind(entry, name)
    if _CLIENT_LOG.match(name.rsplit("/", 1)[-1]):
        return []  # bin/flink's own log: it relays the cluster's errors, the daemons' logs hold them
    if kind == "kernel":
        return _scan_kernel(host, name, lines, numbers, entry)
    file_process = _process_of_file(entry, name, host_procs)
    hits, seen = [], set()
    record_time, record_line, record_text = None, None, None
    record_shown = record_tm = None  # the record head redacted, the TaskManager it names
    # a line's text -> (the text redacted, (rule, groups) of each rule it matches): a failure that repeats (a job
    # failing at each restart) writes the same text each time, which is matched and redacted once
    known = {}
    scanned = 0  # lines below this were looked at for the record that holds a line
    for i, rules in _candidates(lines):
        # the record the line belongs to: the nearest record head at or above it
        for j in range(i, scanned - 1, -1):
            head = RECORD.match(lines[j])
            if head:
                record_time, record_line, record_text = head.group(1), j, lines[j].rstrip("\r\n")
                record_shown = redact_line(record_text)
                tm = ON_TASKMANAGER.search(record_text)
                record_tm = tm.group(1) if tm else None
                break
        scanned = i + 1
        text = lines[i].rstrip("\r\n")
        seen_text = known.get(text)
        if seen_text is None:  # the rules follow from the text (the needles it holds)
            seen_text = known[text] = (redact_line(text), [
                (rule, {k: v for k, v in match.groupdict().items() if v is not None})
                for rule in rules if (match := rule.pattern.search(text))])
        shown, matched = seen_text
        for rule, groups in matched:
            # One hit per record and code: a stack trace repeats its cause in every "Caused by:".
            key = (rule.code, record_line if record_line is not None else i)
            if key in seen:
                continue
            seen.add(key)
            if rule.code == "network-pool-allocation":  # its cause is a direct OOM: one failure, one code
                seen.add(("direct-oom", key[1]))
            process = rule.process or file_process
            if file_process == JM and rule.code in ("heap-oom", "direct-oom", "metaspace-oom"):
                process = _whose_oom(lines, record_line if record_line is not None else i, i, numbers)
            hit = Hit(rule.code, process, rule.severity, host, name, numbers[i], record_time, shown, dict(groups))
            if record_text is not None and record_line != i:
                hit.record = record_shown
            if record_tm and file_process == JM:
                hit.taskmanager_id = record_tm
            if rule.code == "taskmanager-lost":
                hit.taskmanager_id = hit.groups.get("tm_timeout") or hit.groups.get("tm_unreachable")
            if rule.code == "refused-config":
                hit.cause = _refusal_cause(lines, i, numbers)
            if rule.code == "slots-unfulfillable":
                hit.groups["required_slots"] = _required_slots(lines, i, numbers)
            hits.append(hit)
    return hits


# In a JobManager's log an OutOfMemoryError is its own (ClusterEntryPointExceptionUtils, a JobMaster that
# cannot start) or a task's, reported back from a TaskManager (TaskManagerExceptionUtils, a task switching
# to FAILED, the job failing).
_JM_OWN = ("The Flink Master has to be shutdown", "Could not start the JobMaster", "JobInitializationException",
           "Fatal error occurred in the cluster entrypoint")
_JM_OWN_ANY = re.compile("|".join(map(re.escape, _JM_OWN)))  # one search where four scanned the record
_TM_REPORTED = ("The task executor has to be shutdown", " switched from ", "to FAILED")


def _window(lines: list, numbers, low: int, high: int) -> range:
    """The lines (indexes into ``lines``) whose numbers are in [low, high): of an excerpt, the ones shipped."""
    if isinstance(numbers, range):
        return range(max(0, low - numbers.start), max(0, min(len(lines), high - numbers.start)))
    return range(bisect_left(numbers, low), bisect_left(numbers, high))  # the numbers increase (checked)


def _whose_oom(lines: list, start: int, at: int, numbers=None) -> str:
    """taskmanager or jobmanager: whose OutOfMemoryError a JobManager log record holds (the record's head and
    at most its 400 lines before the error)."""
    numbers = range(1, len(lines) + 1) if numbers is None else numbers
    first, last = numbers[start], numbers[at]
    window = _window(lines, numbers, max(first + 1, last - 400), last + 1)
    record = "\n".join([lines[start], *lines[window.start:window.stop], lines[at]])  # no marker holds a newline
    return JM if _JM_OWN_ANY.search(record) else TM


def _refusal_cause(lines: list, at: int, numbers) -> str | None:
    """The deepest cause BashJavaUtils printed in the 199 lines after the [ERROR] line (the memory model's
    message)."""
    cause = None
    for k in _window(lines, numbers, numbers[at] + 1, numbers[at] + 200):
        text = lines[k].strip()
        if text.startswith("Caused by: ") or (cause is None and "Exception: " in text):
            cause = text
        elif text.startswith("[ERROR] Could not get JVM parameters"):
            break
    return redact_line(cause) if cause else None


def _required_slots(lines: list, at: int, numbers) -> int | None:
    """Slots the job asked for: the newest 'required resources' the slot pool declared in the 2000 lines
    before ``at``."""
    for k in reversed(_window(lines, numbers, numbers[at] - 2000, numbers[at])):
        match = REQUIRED_SLOTS.search(lines[k])
        if match:
            counts = [int(n) for n in PROFILE_COUNT.findall(match.group("profiles"))]
            if counts:
                return sum(counts)
    return None


def _scan_kernel(host: str, name: str, lines: list, numbers, entry: Mapping) -> list:
    hits, limit = [], None
    clock = _kernel_clock(entry)
    for i, text in enumerate(lines):
        text = text.rstrip("\r\n")
        usage = KERNEL_LIMIT.search(text)
        if usage:
            limit = int(usage.group(2)) * 1024
        match = KERNEL_KILL.search(text)
        if match:
            stamp = KERNEL_TIME.match(text)
            groups = {"pid": int(match.group(2)), "command": match.group(3), "kind": match.group(1)}
            if limit is not None and match.group(1).startswith("Memory cgroup"):
                groups["limit_bytes"] = limit
            when = stamp.group(1) if stamp else None
            if stamp and clock:
                # the kernel's [seconds since boot] on the host's wall clock, written as its logs write times
                groups["at"] = clock[0] + float(stamp.group(1))
                groups["utc_offset"] = clock[1]
                when = _local_time(groups["at"], clock[1])
            hits.append(Hit("oom-killed", None, "error", host, name, numbers[i], when, text, groups))
            limit = None
    return hits


_OFFSET = re.compile(r"^([+-])(\d\d)(\d\d)$")


def _kernel_clock(entry: Mapping):
    """(boot time in epoch seconds, UTC offset in seconds) the gather read with the kernel's lines, or None."""
    boot, offset = entry.get("boot_time"), _OFFSET.match(str(entry.get("utc_offset") or ""))
    if isinstance(boot, bool) or not isinstance(boot, int) or not offset:
        return None
    sign = -1 if offset.group(1) == "-" else 1
    return boot, sign * (int(offset.group(2)) * 3600 + int(offset.group(3)) * 60)


def _local_time(epoch: float, offset: int) -> str:
    ms = int(round(epoch * 1000))
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000 + offset)) + f",{ms % 1000:03d}"


def _epoch(stamp: str, offset: int) -> float:
    """A log record's time (the host's local time) as epoch seconds."""
    whole = calendar.timegm(time.strptime(stamp[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S"))
    return whole - offset + int(stamp[20:23]) / 1000


# --- A job's exception history over REST (flink_cluster_info exceptions: true) -------------------------


def _rest_time(stamp) -> str | None:
    """Epoch ms as the log layout writes times (the controller's local time; logs use their host's)."""
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp / 1000)) + f",{stamp % 1000:03d}"


def _by_endpoint(ok: Mapping, endpoint: str | None) -> str | None:
    """The one TaskManager host whose taskmanager.host (else its inventory name) is the endpoint's host."""
    if not endpoint or ":" not in endpoint:
        return None
    address = endpoint.rsplit(":", 1)[0]
    found = [h for h, r in ok.items() if TM in processes_of(r)
             and str(r["config"].get("taskmanager.host", h)) == address]
    return found[0] if len(found) == 1 else None


def _rest_hits(cluster, ids: Mapping, ok: Mapping) -> list:
    """Hits from the exception histories of a flink_cluster_info result: each entry's message lines scanned
    with the log's rules, tied to the TaskManager Flink names (taskManagerId, else the endpoint's host)."""
    if not isinstance(cluster, Mapping) or not isinstance(cluster.get("jobs"), (list, tuple)):
        return []
    url = str(cluster.get("url") or "REST")
    hits = []
    for job in cluster["jobs"]:
        history = job.get("exceptions") if isinstance(job, Mapping) else None
        if not isinstance(history, Mapping):
            continue
        for index, entry in enumerate(history.get("entries") or ()):
            if not isinstance(entry, Mapping):
                raise DiagnoseError(f"cluster: jobs[{job.get('id')}].exceptions.entries[{index}] must be a mapping "
                                    f"(flink_cluster_info with exceptions: true returns them)")
            found = {}  # code -> hit: one per entry and code, the one that names its TaskManager first
            for info in (*(c for c in entry.get("concurrent") or () if isinstance(c, Mapping)), entry):
                for hit in _scan_rest(url, job, index, info, ids, ok):
                    if hit.code not in found or (found[hit.code].host is None and hit.host is not None):
                        found[hit.code] = hit
            hits.extend(found.values())
    return hits


def _scan_rest(url, job, index, info, ids, ok) -> list:
    lines = [str(x) for x in info.get("causes") or ()]
    tm_id = info.get("taskmanager_id")
    host = ids.get(str(tm_id)) if tm_id else None
    host = host or _by_endpoint(ok, info.get("endpoint"))
    hits, seen = [], set()
    for i, text in enumerate(lines):
        for rule in RULES:
            if rule.code in seen or rule.needle not in text:
                continue
            match = rule.pattern.search(text)
            if not match:
                continue
            seen.add(rule.code)
            process = rule.process
            if process is None:
                process = JM if not tm_id and _whose_oom(lines, 0, i) == JM else TM
            hit = Hit(rule.code, process, rule.severity, host, f"{url}/jobs/{job.get('id')}/exceptions", index + 1,
                      _rest_time(info.get("timestamp")), redact_line(text),
                      {k: v for k, v in match.groupdict().items() if v is not None}, source="rest",
                      taskmanager_id=str(tm_id) if tm_id else None,
                      rest={"job": job.get("id"), "job_name": job.get("name"), "entry": index + 1,
                            "task": info.get("task"), "endpoint": info.get("endpoint")})
            if i:
                hit.record = redact_line(lines[0])
            if rule.code == "taskmanager-lost":
                named = hit.groups.get("tm_timeout") or hit.groups.get("tm_unreachable")
                hit.taskmanager_id = named
                hit.host = ids.get(named) or hit.host
            hits.append(hit)
    return hits


# --- Tying a hit to a host and a process ----------------------------------------------------------


def _resource_ids(ok: Mapping) -> dict:
    """TaskManager REST id (``taskmanager.resource-id``, else the inventory name) -> host."""
    ids = {}
    for host, result in ok.items():
        if TM in processes_of(result):
            ids.setdefault(str(result["config"].get("taskmanager.resource-id", host)), host)
            ids.setdefault(host, host)
    return ids


def _pids(result: Mapping) -> dict:
    """pid -> process, from what the gather saw running (live probe, or pids a logs entry names)."""
    out = {}
    probe = result.get("live_probe")
    if isinstance(probe, Mapping):
        for field_name, process in (("processes", TM), ("jobmanagers", JM)):
            for proc in probe.get(field_name) or ():
                if isinstance(proc, Mapping) and isinstance(proc.get("pid"), int):
                    out[proc["pid"]] = process
    for entry in result.get("logs") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("pid"), int) and entry.get("process") in (TM, JM):
            out[entry["pid"]] = entry["process"]
    return out


# EnvironmentInformation.logEnvironmentInfo, the first record of a Flink JVM: " Starting TaskManager (Version: ...".
JVM_START = re.compile(r" - +Starting (.+?) \(Version: ")
# A JVM that wrote its log this long after the kernel's kill time was not the one killed (the kernel's clock
# since boot and the wall clock drift apart by a few seconds).
KILL_SLACK = 5.0


def _lives(result: Mapping, offset: int) -> list:
    """Each Flink JVM the host's log tails show: (process, file, start, last record), epoch seconds; start is
    the JVM's first record (its "Starting ... (Version:" record, or a record just before it), else the tail's
    first record (the start is not in it)."""
    out = []
    for entry in result.get("logs") or ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("file"), str):
            continue
        name = entry["file"]
        if _kind(entry, name) != "log" or _CLIENT_LOG.match(name.rsplit("/", 1)[-1]):
            continue
        process = _process_of_file(entry, name, processes_of(result))
        try:
            lines = entry.get("lines") if "lines" in entry else _text_lines(entry, _excerpt_numbers(entry))
        except ValueError:
            continue  # reported where the entry's lines are read (_entry_lines)
        start = last = None
        own = False  # whether the segment begins with its JVM's own start record
        for text in lines if isinstance(lines, (list, tuple)) else ():
            head = RECORD.match(text) if isinstance(text, str) else None
            if not head:
                continue
            if JVM_START.search(text):
                # The records before a file's first start record are that JVM's own (its Preconfiguration lines,
                # Flink rotates the log at each start) unless a gap says they are an older JVM's tail.
                if start is not None and (own or _epoch(head.group(1), offset) - _epoch(last, offset) > 60):
                    out.append((process, name, _epoch(start, offset), _epoch(last, offset)))
                    start = None
                start, own = start or head.group(1), True
            elif start is None:
                start = head.group(1)
            last = head.group(1)
        if start is not None:
            out.append((process, name, _epoch(start, offset), _epoch(last, offset)))
    return out


def _tie_by_time(hit: Hit, result: Mapping, offset: int) -> bool | None:
    """True: one Flink JVM of the host lived up to the kill and wrote nothing after it (tied, its process set);
    False: every Flink JVM the logs show lived on after it (the kill was another program's); None: unknown."""
    at = hit.groups["at"]
    lives = _lives(result, offset)
    killed = [life for life in lives if life[2] <= at + KILL_SLACK and life[3] <= at + KILL_SLACK
              and not any(other[1] == life[1] and life[2] < other[2] <= at - KILL_SLACK for other in lives)]
    if len({life[0] for life in killed}) == 1 and killed[0][0] in (TM, JM):
        process, name, start, last = max(killed, key=lambda life: life[3])
        hit.process = process
        hit.groups["tied_by"] = "time"
        hit.groups["jvm"] = {"file": name, "started": _local_time(start, offset),
                             "last_record": _local_time(last, offset)}
        return True
    if lives and not killed and all(life[2] <= at and life[3] > at + KILL_SLACK for life in lives):
        return False
    return None


def _tie_kernel(hit: Hit, result: Mapping) -> bool:
    """Whether a kernel kill is a Flink JVM's: by pid when the gather saw it running (live: true); else by
    time (the kernel's clock and the host's logs: the JVM that lived up to the kill and logged nothing after
    it); else a java process on a host running Flink, said so (a killed JVM's pid is gone once its
    supervisor restarted it, and a rotated log no longer shows it)."""
    procs = processes_of(result)
    known = _pids(result)
    if hit.groups["pid"] in known:
        hit.process, hit.groups["tied_by"] = known[hit.groups["pid"]], "pid"
        return True
    if hit.groups["command"] != "java" or not procs:
        return False
    if "at" in hit.groups:
        tied = _tie_by_time(hit, result, hit.groups["utc_offset"])
        if tied is not None:
            return tied
    hit.process = procs[0] if len(procs) == 1 else TM
    hit.groups["tied_by"] = ("the only Flink JVM on the host" if len(procs) == 1 and not known else
                             "a java process on a host running Flink (not among the JVMs running now)")
    return True


# --- Now: the keys and what the memory model makes of them ----------------------------------------


def _now(result: Mapping, code: str, process: str) -> dict:
    config = result["config"]
    keys = KEYS.get((code, process), ())
    model = host_memory(result, process)
    now = {"keys": {k: config.get(k) for k in keys}, "valid": model["valid"], "sizes": model["sizes"],
           "jvm": model["jvm"]}
    if not model["valid"]:
        now["error"] = model["error"]
    if process == TM and model["valid"]:
        now["slots"] = _slots(config)
        if code.startswith("network"):
            segment = _bytes(config.get("taskmanager.memory.segment-size"), 32 * 1024)
            now["network_buffers"] = model["sizes"]["network"] // segment
            now["segment_size"] = segment
    return now


def _slots(config: Mapping) -> int:
    try:
        return max(1, int(str(config.get("taskmanager.numberOfTaskSlots", "1")).strip()))
    except ValueError:
        return 1


def _bytes(text, default: int) -> int:
    if text is None:
        return default
    try:
        return parse_bytes(str(text))
    except MemorySizeError:
        return default


# --- The fix: one memory_plan policy for the group, checked on every host --------------------------


def _need(code: str, hit: Hit, now: dict) -> dict | None:
    """What the process must have so that this failure cannot recur: component -> minimum bytes, and
    policy settings; None when memory is not the remedy (or the evidence gives no number)."""
    sizes = now.get("sizes")
    if not sizes:
        return None
    g = hit.groups
    if code == "network-buffers":
        # The message shows one request: the buffers in use when it failed plus that request again for
        # every slot, doubled (the tasks not deployed yet ask too: each slot holds a task of every
        # vertex), and at least four times the pool now; whole MiB.
        segment, slots = int(g["segment"]), now.get("slots", 1)
        in_use = int(g["total"]) - int(g["available"])
        buffers = max(2 * (in_use + int(g["required"]) * slots), 4 * int(g["total"]))
        network = _round_mib(max(buffers * segment, sizes["network"]))
        return {"targets": {"network": network}, "pinned": {"network_min": network, "network_max": network},
                "why": f"{buffers} buffers of {segment} bytes: twice the {in_use} in use when a request of "
                       f"{g['required']} failed plus that request for each of {slots} slots, at least four times the "
                       f"{g['total']} buffers now"}
    if code == "network-pool-allocation":
        own = _own_direct_limit(now)
        if own:
            return {"error": f"{own[0]} sets {own[1]}, which overrides the -XX:MaxDirectMemorySize Flink derives "
                             f"({human_bytes(now['jvm']['direct'])}, network memory included): remove it from "
                             f"{own[0]}; no memory key can fix this"}
        wanted = _round_mib(sizes["task_off_heap"] + int(g["missing_mb"]) * MIB)
        return {"options": {"taskmanager.memory.task.off-heap.size": size_text(wanted)},
                "targets": {"task_off_heap": wanted},
                "why": f"the pool needed {g['required_mb']} MiB of direct memory and {g['missing_mb']} MiB were "
                       f"missing: that much more task off-heap memory raises -XX:MaxDirectMemorySize"}
    if code == "managed-memory":
        slots = now.get("slots", 1)
        if "pages" in g:
            per_slot = int(g["pages"]) * int(g["page_size"])
            why = f"the sorter needs at least {g['pages']} pages of {g['page_size']} bytes per slot"
        elif "requested" in g:
            per_slot = int(g["requested"]) - int(g["remaining"]) + sizes["managed"] // slots
            why = f"{g['requested']} bytes were requested with {g['remaining']} remaining"
        else:
            per_slot = sizes["managed"] * 2 // slots
            why = "RocksDB's write buffers do not fit its share of managed memory"
        managed = _round_mib(max(per_slot * slots * 2, sizes["managed"] * 2))
        return {"targets": {"managed": managed}, "managed_per_slot": _round_mib(-(-managed // slots)),
                "why": why + f"; twice that, and at least twice the managed memory now, over {slots} slots"}
    if code == "metaspace-oom":
        doubled = sizes["jvm_metaspace"] * 2
        return {"options": {f"{now['process']}.memory.jvm-metaspace.size": size_text(_round_mib(doubled))},
                "targets": {"jvm_metaspace": doubled},
                "why": "twice the metaspace now (Flink's message gives no number)"}
    if code == "direct-oom":
        part = "task_off_heap" if now["process"] == TM else "off_heap"
        key = "taskmanager.memory.task.off-heap.size" if now["process"] == TM else "jobmanager.memory.off-heap.size"
        wanted = _round_mib(max(sizes[part] * 2, sizes[part] + 64 * MIB))
        return {"options": {key: size_text(wanted)}, "targets": {part: wanted},
                "why": f"twice the {part.replace('_', '-')} memory now, at least 64 MiB more"}
    if code == "heap-oom":
        part = "task_heap" if now["process"] == TM else "heap"
        return {"targets": {part: sizes[part] * 2}, "why": f"twice the {part.replace('_', ' ')} now"}
    if code == "oom-killed":
        limit = g.get("limit_bytes")
        if not limit:
            return None
        size = limit * 9 // 10 // MIB * MIB
        return {"process_size": size, "shrink": True,
                "why": f"the cgroup limit {human_bytes(limit)} is below the process size "
                       f"{human_bytes(sizes['total_process'])}: 90% of the limit"}
    if code == "slots-unfulfillable":
        return None  # decided per group: it needs the group's registered TaskManagers
    return None


_MAX_DIRECT = re.compile(r"-XX:MaxDirectMemorySize=\S+")


def _own_direct_limit(now: Mapping):
    """(key, flag) when the file's own JVM options set -XX:MaxDirectMemorySize (it wins over Flink's)."""
    for key in ("env.java.opts.taskmanager", "env.java.opts.all"):
        match = _MAX_DIRECT.search(str(now["keys"].get(key) or ""))
        if match:
            return key, match.group(0)
    return None


def _round_mib(size: int) -> int:
    return -(-size // MIB) * MIB


def _group_of(groups: Mapping, mode: str, host: str, process: str) -> str | None:
    if mode == "process":
        return process if process in groups and host in groups[process]["hosts"] else None
    for name, group in groups.items():
        if host in group["hosts"]:
            return name
    return None


def _policy(base: Mapping, process: str, group: str, hosts: list, size, need: Mapping) -> dict:
    policy = {k: v for k, v in base.items() if k not in (TM, JM, "group_by")}
    proc = dict(base.get(process) or {})
    proc["process_size"] = size_text(size) if isinstance(size, int) else size
    pinned = need.get("pinned") or {}
    proc.update({k: size_text(v) for k, v in pinned.items()})
    if need.get("managed_per_slot") is not None:
        proc["managed_per_slot"] = size_text(need["managed_per_slot"])
        proc.pop("managed_fraction", None)
    if need.get("slots") is not None:
        proc["slots"] = need["slots"]
    if need.get("options"):
        proc["options"] = {**(proc.get("options") or {}), **need["options"]}
    policy["group_by"] = {group: list(hosts)}
    policy[process] = proc
    other = JM if process == TM else TM
    if other in base:
        policy[other] = base[other]
    return policy


def _meets(plan: Mapping, group: str, process: str, targets: Mapping, floors: Mapping) -> bool:
    for host, procs in plan["groups"][group]["memory"].items():
        sizes = procs[process]["sizes"]
        for part, low in targets.items():
            if sizes[part] < low:
                return False
        for part, low in floors.get(host, {}).items():
            if sizes[part] < low:
                return False
    return True


def _plan_fix(ok: Mapping, base_policy: Mapping, group: str, hosts: list, process: str, need: Mapping,
              memory_limits=None) -> dict:
    """The smallest process size (whole MiB, never smaller than now unless the cause is the size itself)
    that gives every host what ``need`` asks and keeps every other component at least what it is now."""
    subset = {h: dict(ok[h], processes=[process]) for h in hosts}
    for h in hosts:
        subset[h].pop("memory", None)  # the plan's own derivation, not a stale gathered one
    targets = need.get("targets") or {}
    floors = {}
    for h in hosts:
        sizes = host_memory(ok[h], process)["sizes"] or {}
        floors[h] = {p: v for p, v in sizes.items() if p not in targets and p not in (
            "total_flink", "total_process", "jvm_overhead", "network" if need.get("pinned") else "")}
        if need.get("slots") is not None and sizes:
            scale = int(need["slots"]) / max(1, _slots(ok[h]["config"]))
            for part in ("task_heap", "managed", "network"):
                if part in floors[h]:
                    floors[h][part] = int(floors[h][part] * scale)

    # The search ignores the hosts' budgets (an explicit size never fits a budget it exceeds); the chosen
    # size is then planned on the real results, budgets and all.
    unbounded = {h: dict(r, mem_total_bytes=None, cgroup_memory_limit_bytes=None) for h, r in subset.items()}

    def attempt(size, results=unbounded, limits=None):
        try:
            plan = memory_plan(results, _policy(base_policy, process, group, hosts, size, need), memory_limits=limits)
        except PlanError as exc:
            return None, str(exc)
        return plan, None

    if need.get("shrink"):
        chosen = need["process_size"]
    else:
        current = [(host_memory(ok[h], process)["sizes"] or {}).get("total_process") for h in hosts]
        low = max([c for c in current if c] or [need.get("start") or 512 * MIB]) // MIB
        high = low * 16
        plan, error = attempt(high * MIB)
        if plan is None or not _meets(plan, group, process, targets, floors):
            return {"valid": False, "error": error or f"no {process} size up to {human_bytes(high * MIB)} gives "
                    f"every host of group {group} what the fix needs"}
        while low < high:  # every component grows with the process size: bisect it
            mid = (low + high) // 2
            plan, _unused = attempt(mid * MIB)
            if plan is not None and _meets(plan, group, process, targets, floors):
                high = mid
            else:
                low = mid + 1
        chosen = high * MIB
    plan, error = attempt(chosen, subset, memory_limits)
    if plan is None:
        return {"valid": False, "process_size": size_text(chosen), "error": error}
    info = plan["groups"][group]
    return {
        "valid": True,
        "group": group,
        "hosts": info["hosts"],
        "policy": plan["policy"] | {"group_by": {group: list(hosts)}},
        "settings": info["set"],
        "remove": info["remove"],
        "process_size": size_text(chosen),
        "memory": {h: info["memory"][h][process]["sizes"] for h in info["memory"]},
        "warnings": plan["warnings"],
    }


# --- Entry point -----------------------------------------------------------------------------------


def diagnose(results, cluster=None, group_by="process", policy=None, memory_limits=None) -> dict:
    """Diagnoses per host (see plugins/filter/diagnose.yml for the contract)."""
    if policy is not None and not isinstance(policy, Mapping):
        raise DiagnoseError(f"policy must be a memory_plan policy (a mapping), got {type(policy).__name__}")
    base_policy = dict(policy or {})
    base_policy.pop("group_by", None)
    try:
        ok, failed = split_results(results)
        procs = {h: processes_of(r) for h, r in ok.items()}
        groups, _ungrouped, mode = resolve_groups(group_by, ok, failed, procs)
    except FleetError as exc:
        raise DiagnoseError(str(exc)) from None
    ids = _resource_ids(ok)

    hits = []
    for host, result in ok.items():
        logs = result.get("logs")
        if logs is None:
            continue
        if isinstance(logs, (str, bytes)) or not isinstance(logs, (list, tuple)):
            raise DiagnoseError(f"host {host}: logs must be a list of {{file, lines or text}}, got "
                                f"{type(logs).__name__}")
        for index, entry in enumerate(logs):
            hits.extend(_scan(host, entry, index, procs[host]))
    hits.extend(_rest_hits(cluster, ids, ok))
    jobmanagers = [h for h in ok if JM in procs[h]]

    # Each hit to the host and process whose memory it is about.
    placed = {}  # (host, process, code) -> [hits]
    lost, unattributed, orphans = [], [], []
    for hit in hits:
        if hit.source == "rest" and hit.host is None:
            # Not tied to a TaskManager: the JobManager's own failures are its host's, the rest unattributed.
            if (hit.process == JM or hit.code == "slots-unfulfillable") and len(jobmanagers) == 1:
                hit.host = jobmanagers[0]
            else:
                unattributed.append(hit)
                continue
        target = hit.host
        if hit.code == "oom-killed":
            if not _tie_kernel(hit, ok[hit.host]):
                continue  # another program's kill
        elif hit.taskmanager_id is not None and (hit.source == "log" or hit.code != "slots-unfulfillable"):
            target = ids.get(hit.taskmanager_id, hit.host)
            hit.process = TM
        if hit.code == "taskmanager-lost":
            lost.append((target, hit))
            continue
        if hit.process is None:
            hit.process = procs[target][0] if len(procs[target]) == 1 else TM
        if hit.code == "slots-unfulfillable":
            hit.process = JM  # the JobManager could not run the job; the fix is the TaskManagers' group
        elif hit.process == TM and TM not in procs[target]:
            unattributed.append(hit)  # a task failure the JobManager logged without naming the TaskManager
            continue
        placed.setdefault((target, hit.process, hit.code), []).append(hit)
    # Those are the same failure a TaskManager's own log holds when one of the same code is there.
    for hit in unattributed:
        same = [k for k in placed if k[1] == TM and k[2] == hit.code]
        if same:
            placed[same[0]].append(hit)
        else:
            orphans.append(hit)

    # The pool's own segments failing first (MemorySegmentFactory) are part of that one failure.
    for (host, process, _code) in [k for k in placed if k[2] == "network-pool-allocation"]:
        key = (host, process, "direct-oom")
        rest = [h for h in placed.get(key, ()) if "MemorySegmentFactory" not in (h.record or "")]
        if key in placed and not rest:
            del placed[key]
        elif key in placed:
            placed[key] = rest

    # A TaskManager the JobManager lost: evidence of the kernel's kill when there is one, else its own code.
    for target, hit in lost:
        killed = placed.get((target, TM, "oom-killed"))
        if killed:
            killed[-1].related.append(_evidence(hit))
            killed[-1].related.sort(key=lambda e: (e.get("source") == "rest", e["time"] or ""))
        else:
            placed.setdefault((target, TM, "taskmanager-lost"), []).append(hit)

    out = {h: [] for h in ok}
    fixes = {}  # (group, process, code) -> fix, one per group and cause
    pending = []
    for (host, process, code), found in placed.items():
        # The host's own log over the JobManager's account; of that, the lines naming the TaskManager; then
        # the job's exception history over REST.
        logged = [h for h in found if h.source == "log"]
        rest = sorted((h for h in found if h.source == "rest"), key=lambda h: (h.time or "", -h.line))
        own = ([h for h in logged if h.host == host] or [h for h in logged if h.taskmanager_id] or logged
               or rest)
        own.sort(key=lambda h: (h.time or "", h.line))
        newest = own[-1]
        now = _now(ok[host], code, process) if code != "slots-unfulfillable" else _slots_now(ok, procs, cluster)
        now["process"] = process
        diagnosis = {
            "code": code,
            "process": process,
            "severity": newest.severity,
            "keys": list(KEYS.get((code, process), ())),
            "evidence": _evidence(newest),
            "occurrences": len(own),
            "now": {k: v for k, v in now.items() if k != "process"},
        }
        if code == "refused-config":
            diagnosis["keys"] = _refused_keys(ok[host], process)
            diagnosis["now"]["keys"] = {k: ok[host]["config"].get(k) for k in diagnosis["keys"]}
        seen_by = sorted({h.host for h in logged if h.host != host})
        if seen_by:
            diagnosis["also_reported_by"] = seen_by
        if rest and newest.source == "log":
            diagnosis["rest"] = _evidence(rest[-1])
        out[host].append(diagnosis)
        pending.append((host, process, code, newest, now, diagnosis))

    for host, process, code, hit, now, diagnosis in pending:
        if code == "slots-unfulfillable":
            tm_group = next((g for g in groups if _group_of(groups, mode, now["taskmanagers"][0], TM) == g), None) \
                if now["taskmanagers"] else None
            diagnosis["fix"] = (_slots_fix(ok, base_policy, tm_group, groups[tm_group]["hosts"], hit, cluster, ids, now,
                                           memory_limits)
                                if tm_group else {"valid": False, "error": "no TaskManager host was gathered"})
            continue
        group = _group_of(groups, mode, host, process)
        if group is None:
            diagnosis["fix"] = {"valid": False, "error": f"host {host} is in no group that plans its {process}"}
            continue
        if code == "taskmanager-lost":
            diagnosis["fix"] = {"valid": False, "error": "the JobManager lost this TaskManager, but no kernel OOM "
                                "kill or memory error on the host says why; gather with logs: true on it"}
            continue
        key = (group, process, code)
        if code == "refused-config":
            need = {"targets": _asked(ok[host], process), "start": _asked_size(ok[host], process),
                    "why": "the smallest process size that holds every component the file sets, at the size it sets"}
        else:
            need = _need(code, hit, now)
        if need is None or "error" in need:
            diagnosis["fix"] = {"valid": False, "error": need["error"] if need else
                                "the evidence gives no size to fix (see the message)"}
            continue
        if key not in fixes:
            members = [h for h in groups[group]["hosts"] if process in procs[h]]
            fixes[key] = _group_need(ok, base_policy, group, code, process, members, placed, need, memory_limits)
        diagnosis["fix"] = fixes[key]

    for host in out:
        out[host].sort(key=lambda d: (d["evidence"]["time"] or "", d["code"]), reverse=True)
    return {
        "hosts": out,
        "unattributed": [dict(_evidence(h), code=h.code) for h in orphans],
        "skipped": failed,
        "summary": {"hosts": sum(1 for v in out.values() if v), "diagnoses": sum(len(v) for v in out.values()),
                    "codes": sorted({d["code"] for v in out.values() for d in v})},
    }


def _group_need(ok, base_policy, group, code, process, members, placed, need, memory_limits=None):
    """One fix for every host of the group: the largest need any diagnosed host of it has."""
    for (host, proc, other_code), found in placed.items():
        if proc != process or other_code != code or host not in members:
            continue
        now = dict(_now(ok[host], code, process), process=process)
        looked = set()  # _need reads only a hit's groups: the same groups, the same need
        for hit in found:
            groups = repr(sorted(hit.groups.items()))  # values may be mappings (a kernel kill's)
            if groups in looked:
                continue
            looked.add(groups)
            other = _need(code, hit, now)
            for part, low in ((other or {}).get("targets") or {}).items():
                need.setdefault("targets", {})[part] = max(need["targets"].get(part, 0), low)
                if part == "network" and need.get("pinned"):
                    need["pinned"] = {k: need["targets"]["network"] for k in need["pinned"]}
    fix = _plan_fix(ok, base_policy, group, members, process, need, memory_limits)
    fix["why"] = need.get("why")
    return fix


# Explicit component sizes a file asks for: key -> component of the memory model.
ASKED = {
    TM: {"taskmanager.memory.task.heap.size": "task_heap", "taskmanager.memory.managed.size": "managed",
         "taskmanager.memory.framework.heap.size": "framework_heap",
         "taskmanager.memory.framework.off-heap.size": "framework_off_heap",
         "taskmanager.memory.task.off-heap.size": "task_off_heap", "taskmanager.memory.network.min": "network",
         "taskmanager.memory.jvm-metaspace.size": "jvm_metaspace"},
    JM: {"jobmanager.memory.heap.size": "heap", "jobmanager.memory.off-heap.size": "off_heap",
         "jobmanager.memory.jvm-metaspace.size": "jvm_metaspace"},
}


def _asked(result: Mapping, process: str) -> dict:
    config, out = result["config"], {}
    for key, part in ASKED[process].items():
        if key in config:
            size = _bytes(config[key], 0)
            if size:
                out[part] = max(out.get(part, 0), size)
    return out


def _asked_size(result: Mapping, process: str) -> int | None:
    text = result["config"].get(f"{process}.memory.process.size")
    return _bytes(text, 0) or None


def _refused_keys(result: Mapping, process: str) -> list:
    model = host_memory(result, process)
    return list((model.get("keys") or {}).get("explicit") or ())


def _evidence(hit: Hit) -> dict:
    evidence = {"host": hit.host, "file": hit.file, "line": hit.line, "time": hit.time, "message": hit.message}
    if hit.record:
        evidence["record"] = hit.record
    if hit.cause:
        evidence["cause"] = hit.cause
    if hit.taskmanager_id:
        evidence["taskmanager_id"] = hit.taskmanager_id
    if hit.source == "rest":
        evidence["source"] = "rest"
        evidence.update({k: v for k, v in (hit.rest or {}).items() if v is not None})
    if hit.code == "oom-killed":
        evidence.update({k: hit.groups[k] for k in ("pid", "command", "limit_bytes", "tied_by", "jvm")
                         if k in hit.groups})
    if hit.related:
        evidence["related"] = hit.related
    return evidence


def _slots_fix(ok, base_policy, group, hosts, hit, cluster, ids, now, memory_limits=None) -> dict:
    required = hit.groups.get("required_slots")
    members = [h for h in hosts if TM in processes_of(ok[h])]
    registered = _registered(cluster)
    if registered is not None:
        missing = natural_sorted(h for h in members if not any(ids.get(r) == h for r in registered))
        if missing:
            return {"valid": False, "error": f"TaskManagers of group {group} not registered with the JobManager: "
                    f"{', '.join(missing)}; start them (their slots are missing, not too few per TaskManager)"}
    if not required:
        return {"valid": False, "error": "the JobManager's log holds no 'required resources' line for the job, "
                "so the slots it needs are unknown"}
    slots = math.ceil(required / max(1, len(members)))
    if slots <= now.get("slots", 1):
        return {"valid": False, "error": f"the job needs {required} slots and group {group} has "
                f"{now.get('slots', 1)} on each of {len(members)} TaskManagers: enough when all are registered"}
    fix = _plan_fix(ok, base_policy, group, members, TM, {"slots": str(slots), "targets": {}}, memory_limits)
    fix["why"] = (f"the job asked for {required} slots; {len(members)} TaskManagers with {slots} slots each, "
                  f"each slot keeping the heap and managed memory it has now")
    return fix


def _slots_now(ok: Mapping, procs: Mapping, cluster) -> dict:
    """The TaskManagers gathered, their slots, and the slots the JobManager has registered (cluster info)."""
    tms = [h for h in ok if TM in procs[h]]
    now = {"keys": {"taskmanager.numberOfTaskSlots": ok[tms[0]]["config"].get("taskmanager.numberOfTaskSlots")
                    if tms else None}, "valid": True, "sizes": None, "jvm": None, "taskmanagers": tms,
           "slots": _slots(ok[tms[0]]["config"]) if tms else None}
    if isinstance(cluster, Mapping) and isinstance(cluster.get("slots_total"), int):
        now["registered_slots"] = cluster["slots_total"]
        now["registered_taskmanagers"] = cluster.get("taskmanager_count")
    return now


def _registered(cluster) -> list | None:
    if not isinstance(cluster, Mapping) or not isinstance(cluster.get("taskmanagers"), list):
        return None
    return [str(t.get("id")) for t in cluster["taskmanagers"] if isinstance(t, Mapping)]


__all__ = ["DiagnoseError", "PolicyError", "diagnose", "redact_line"]
