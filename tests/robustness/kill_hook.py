"""Stop the writing module at an exact point: kill -9 itself, or pause, at the n-th line it runs.

Counting starts when flink_config's ``write()`` is entered (the module's file, however Ansible
packaged it) and covers every Python line run from then on, in any file: the module, Ansible's
atomic_move, tempfile, os... So ``kill_at`` 1..N walks every statement boundary of the write, from
opening the file to the module's exit. C calls (os.rename, write(2)) are atomic at this grain;
the wall-clock kills of test_kill_safety.py cover the time inside them.

Used by write_driver.py (forked children) and, through a ``sitecustomize`` on PYTHONPATH, by the
Python that real ansible-playbook starts on a host (``FLINKOPS_KILL_AT`` in its environment).
"""

from __future__ import annotations

import os
import signal
import sys
import time

WRITE_FILE_SUFFIX = "plugins/modules/flink_config.py"


def install(kill_at: int | None = None, pause_on: str | None = None, pause_fds: tuple | None = None,
            notify_fd: int | None = None) -> dict:
    """Trace this process; returns the state dict (``count`` of lines run since write() began,
    ``marks``: function name -> the count when it was first called).

    ``pause_on``: the name of a function; when it is first called the process writes one byte to
    ``pause_fds[0]`` and waits for one byte on ``pause_fds[1]`` before going on. ``notify_fd``: one
    byte is written there when write() begins (``armed_at`` is that moment, time.monotonic()).
    """
    state = {"armed": False, "count": 0, "paused": False, "marks": {}, "armed_at": None}

    def local(frame, event, arg):
        if event == "line":
            state["count"] += 1
            if kill_at is not None and state["count"] >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return local

    def on_call(frame, event, arg):
        code = frame.f_code
        if not state["armed"]:
            if code.co_name != "write" or not code.co_filename.endswith(WRITE_FILE_SUFFIX):
                return None
            state["armed"] = True
            state["armed_at"] = time.monotonic()
            if notify_fd is not None:
                os.write(notify_fd, b"w")
        state["marks"].setdefault(code.co_name, state["count"])  # where each function first ran
        if pause_on and not state["paused"] and code.co_name == pause_on:
            state["paused"] = True
            os.write(pause_fds[0], b"p")
            os.read(pause_fds[1], 1)
        return local

    sys.settrace(on_call)
    return state
