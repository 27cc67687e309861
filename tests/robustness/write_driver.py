"""Run flink_config's writing module the way a host runs it, many times, and stop it where asked.

A small fork server, started as a subprocess by the tests: it imports the module once, then for
each JSON request on stdin forks a child that runs the module's ``main()`` with the request's
arguments (as AnsiballZ would hand them over) and answers one JSON line on stdout.

Requests:
  {"args": {...}, "kill_at": n}        the child kills itself (SIGKILL) at the n-th line of the write
  {"args": {...}, "kill_after": s}     the parent sends SIGKILL s seconds after write() began
  {"args": {...}, "count": true}       run to the end and report how many lines the write ran
  {"args": {...}, "lock_timeout": s}   the module waits at most s seconds for the file's lock
  {"args": {...}, "flock_errno": n}    flock fails with errno n (a file system without locks)
  {"race": [argsA, argsB], "no_lock": false}
      A runs until it calls atomic_move and waits there; B runs then; A is released once B has
      finished or 1 s has passed (B waiting for the lock). ``no_lock`` turns flock into a no-op in
      both children (to show what the lock prevents).
Answer per child: {"killed": bool, "exit": int|null, "result": {...}|null, "count": int|null,
"marks": {function: count}|null, "seconds": float}.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import conftest  # noqa: E402,F401 -- makes the checkout importable as ansible_collections.flinkops.flink
import kill_hook  # noqa: E402
from ansible.module_utils import basic  # noqa: E402

from ansible_collections.flinkops.flink.plugins.modules import flink_config  # noqa: E402


def _child(args: dict, out_w: int, count_w: int, kill_at=None, pause_on=None, pause_fds=None, no_lock=False,
           notify_fd=None, lock_timeout=None, flock_errno=None):
    os.dup2(out_w, 1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    if no_lock:
        flink_config.fcntl.flock = lambda fd, op: None
    if flock_errno is not None:
        def refuse(fd, op):
            raise OSError(flock_errno, os.strerror(flock_errno))
        flink_config.fcntl.flock = refuse
    if lock_timeout is not None:
        flink_config.LOCK_TIMEOUT = lock_timeout
    state = kill_hook.install(kill_at=kill_at, pause_on=pause_on, pause_fds=pause_fds, notify_fd=notify_fd)
    code = 0
    try:
        flink_config.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 -- a traceback is a finding: report it as exit 99
        code = 99
    sys.settrace(None)
    sys.stdout.flush()
    seconds = time.monotonic() - state["armed_at"] if state["armed_at"] else None
    os.write(count_w, json.dumps({"count": state["count"], "marks": state["marks"], "write_seconds": seconds}).encode())
    os._exit(code)


def _spawn(args, **kw):
    out_r, out_w = os.pipe()
    count_r, count_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(count_r)
        _child(args, out_w, count_w, **kw)
    os.close(out_w)
    os.close(count_w)
    return {"pid": pid, "out": out_r, "count": count_r, "started": started}


def _drain(fd) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            os.close(fd)
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(child) -> dict:
    out = _drain(child["out"])
    count = _drain(child["count"])
    _, status = os.waitpid(child["pid"], 0)
    result = None
    if out.strip():
        try:
            result = json.loads(out)
        except ValueError:
            result = {"unparsed": out.decode("utf-8", "replace")}
    trace = json.loads(count) if count else {}
    return {"killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "result": result, "count": trace.get("count"), "marks": trace.get("marks"),
            "write_seconds": trace.get("write_seconds"),
            "seconds": time.monotonic() - child["started"]}


def _race(args_a, args_b, no_lock) -> list:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    a = _spawn(args_a, pause_on="atomic_move", pause_fds=(from_child_w, to_child_r), no_lock=no_lock)
    if not select.select([from_child_r], [], [], 30)[0]:
        raise RuntimeError("A never reached atomic_move")
    os.read(from_child_r, 1)  # A has checked the file and waits right before its rename
    b = _spawn(args_b, no_lock=no_lock)
    b_done_early = bool(select.select([b["out"]], [], [], 1.0)[0])  # B finished (or wrote) while A waits
    os.write(to_child_w, b"go")
    first = _reap(b) if b_done_early else None
    ra = _reap(a)
    rb = first or _reap(b)
    rb["finished_while_a_waited"] = b_done_early
    for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
        os.close(fd)
    return [ra, rb]


def _warm_up():
    """Run the module once in this process on a file it leaves alone, so that what it imports while
    printing its result is imported here once, not in every child (forks start from this state)."""
    import hashlib
    import tempfile

    with tempfile.NamedTemporaryFile() as handle:
        handle.write(b"a: 1\n")
        handle.flush()
        digest = hashlib.sha256(b"a: 1\n").hexdigest()
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": {
            "_path": handle.name, "_content": "YTogMQo=", "_expected_checksum": digest}}).encode()
        basic._ANSIBLE_PROFILE = "legacy"
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        try:
            flink_config.main()
        except SystemExit:
            pass
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        basic._ANSIBLE_ARGS = None


def main():
    _warm_up()
    for line in sys.stdin:
        request = json.loads(line)
        if "race" in request:
            answer = _race(*request["race"], request.get("no_lock", False))
        else:
            notify_r = notify_w = None
            if request.get("kill_after") is not None:
                notify_r, notify_w = os.pipe()
            child = _spawn(request["args"], kill_at=request.get("kill_at"), notify_fd=notify_w,
                           lock_timeout=request.get("lock_timeout"), flock_errno=request.get("flock_errno"))
            if notify_r is not None:
                os.close(notify_w)
                os.read(notify_r, 1)  # write() has begun (or the child ended: then this reads b"")
                os.close(notify_r)
                time.sleep(request["kill_after"])
                with contextlib.suppress(ProcessLookupError):  # it may have finished already
                    os.kill(child["pid"], signal.SIGKILL)
            answer = _reap(child)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
