# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which JVM runs a TaskManager, as its own host says, and whether it is still the same one.

REST shows a TaskManager's resource id, RPC path and data port, but no pid and no start time: a
TaskManager restarted outside the rollout on fixed ports (``taskmanager.rpc.port``,
``taskmanager.data.port``) looks the same over REST. Its host knows better. The rolling_restart role's
control script (roles/rolling_restart/files/flink_ctl.sh) prints every JVM it sees as
``pid=<pid> start=<start>``: ``start`` is the process's start time in clock ticks since boot (field 22
of ``/proc/<pid>/stat``), or ``ps -o lstart`` where there is no ``/proc``. The same JVM always prints
the same line; a new JVM has a new start time (and, but for pid reuse, a new pid).

Controller side, standard library only; never imports Ansible. The rollout's gate (plugin_utils/
rollout.py) joins this to what REST says: a TaskManager outside the batch is the same JVM as at the
start when it is registered under the same resource id, its REST identity is unchanged, and its host
reports the same pid and start time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_IDENTITY = re.compile(r"\bpid=(\d+) start=(\S*)")


def parse(text) -> dict | None:
    """The JVM a control-script output names: {pid, start} (start None when unknown); None when it names none.

    ``text``: what ``flink_ctl.sh status`` (``running pid=.. start=..`` or ``stopped``), ``start`` or
    ``stop`` printed; the last JVM it names counts (a start prints the new one last). Carriage returns
    (SSH with a terminal) are ignored.
    """
    if not isinstance(text, str):
        return None
    found = _IDENTITY.findall(text.replace("\r", ""))
    if not found:
        return None
    pid, start = found[-1]
    start = start.rstrip(",")
    return {"pid": int(pid), "start": start or None}


def same_jvm(before: Mapping | None, now: Mapping | None) -> bool | None:
    """True when ``now`` is the JVM ``before`` was, False when another, None when either is unknown.

    With both start times known, pid and start time must both match (a pid can be reused, a start time
    of the same process never changes); with one unknown, the pid decides.
    """
    if not before or not now or before.get("pid") is None or now.get("pid") is None:
        return None
    if before.get("start") and now.get("start"):
        return before["pid"] == now["pid"] and before["start"] == now["start"]
    return before["pid"] == now["pid"]


def describe(identity: Mapping | None) -> str:
    """``pid 123 started 456`` (or ``no JVM``) for messages."""
    if not identity:
        return "no JVM"
    start = identity.get("start")
    return f"pid {identity['pid']}" + (f" started {start}" if start else "")


def says_stopped(text) -> bool:
    """True when a control-script output says no JVM runs (``stopped``, or a stop that found none)."""
    if not isinstance(text, str):
        return False
    return any(line.strip() == "stopped" or line.strip().startswith("was-stopped")
               for line in text.replace("\r", "").splitlines())


def name_of(host: str, resource_ids: Mapping | None = None) -> str:
    """``TaskManager <id>`` (``TaskManager <id> on <host>`` when the REST id is not the host's name)."""
    rid = (resource_ids or {}).get(host, host)
    return f"TaskManager {rid}" + (f" on {host}" if rid != host else "")


def breach(name: str, before_text, now_text, *, asked: bool = True) -> str | None:
    """Why the TaskManager ``name`` (outside the batch) is not the JVM its host named at the start; None: it is.

    ``before_text``: its host's output at the start (no JVM in it: not judged here, see unchecked());
    ``now_text``: its output right before the batch, None when the host could not be asked (unreachable or
    the check failed); ``asked``: False when it was not asked at all.
    """
    before = parse(before_text)
    if before is None:
        return None
    if not asked:
        return f"{name} (not in this batch) was not checked on its host"
    if now_text is None:
        return f"{name} (not in this batch) could not be checked on its host (unreachable or the check failed)"
    current = parse(now_text)
    if current is None:
        if says_stopped(now_text):
            return (f"{name} (not in this batch) has no running JVM on its host now "
                    f"(it was {describe(before)}): it stopped or died outside the rollout")
        return (f"{name} (not in this batch) could not be checked on its host: it named no JVM "
                f"(it said: {_said(now_text)})")
    if same_jvm(before, current) is False:
        return (f"{name} (not in this batch) is another JVM than at the start, as its host says "
                f"({describe(before)} then, {describe(current)} now): it restarted outside the rollout")
    return None


def unchecked(baseline: Mapping, batch: Iterable = (), resource_ids: Mapping | None = None) -> list:
    """The TaskManagers outside ``batch`` whose host named no JVM at the start, each said as it is.

    They cannot be compared by their host (nothing to compare with): REST alone judges them. Not a breach,
    but never silently treated as checked.
    """
    skip = set(batch or ())
    notes = []
    for host in sorted(baseline):
        if host in skip or parse(baseline[host]) is not None:
            continue
        text = baseline[host]
        why = ("could not be asked at the start" if text is None
               else f"named no running JVM at the start (it said: {_said(text)})")
        notes.append(f"{name_of(host, resource_ids)}: its host {why}; it is judged by REST alone")
    return notes


def _said(text) -> str:
    words = " | ".join(line.strip() for line in str(text).replace("\r", "").splitlines() if line.strip())
    return (words[:200] + "...") if len(words) > 200 else (words or "nothing")


def breaches(baseline: Mapping, now: Mapping, batch: Iterable = (), resource_ids: Mapping | None = None) -> list:
    """Why TaskManagers outside ``batch`` are not the JVMs their hosts reported at the start (empty: all are).

    ``baseline``: host -> control-script output at the start (updated with each batch's start output; None:
    the host could not be asked); ``now``: host -> ``flink_ctl.sh status`` output read right before the batch
    (None: the host could not be asked); ``batch``: the hosts of the batch (never judged); ``resource_ids``:
    host -> REST id, for the messages.
    A host without a JVM in ``baseline`` (it ran none, or could not be asked) is not judged here: REST
    decides for it (unchecked() says so). A host with one at the start and none now, another one, or no
    answer now, is a breach.
    """
    skip = set(batch or ())
    reasons = []
    for host in sorted(set(baseline) | set(now)):
        if host in skip:
            continue
        why = breach(name_of(host, resource_ids), baseline.get(host), now.get(host), asked=host in now)
        if why:
            reasons.append(why)
    return reasons
