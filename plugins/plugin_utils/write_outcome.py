# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What flink_config's action reports from the result of its write module on the host (no Ansible here).

The module's own words when it answered; what the host printed when it could not answer (a broken
interpreter prints on stderr and exits 127, and Ansible then has only "deserialization failed");
never a generic "the write failed" in place of either.
"""

from __future__ import annotations

HOW_TO_FIX = ("flink_config needs Python on the host to write a file (reading needs none): set "
              "ansible_python_interpreter for this host to a working Python 3")


def _tail(text, limit: int = 500) -> str:
    text = str(text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def write_failure(written: dict, host: str) -> str:
    """The message for a failed run of the write module, naming the host."""
    if written.get("_ansible_parsed") is False or "module_stderr" in written:
        rc = written.get("rc")
        printed = _tail(written.get("module_stderr")) or _tail(written.get("module_stdout")) or "nothing"
        if rc in (126, 127):  # the shell could not start the interpreter: the module never ran
            return (f"{host}: the write could not start Python on the host (rc {rc}); it printed: {printed}. "
                    f"Nothing was written. {HOW_TO_FIX}")
        return (f"{host}: the write module ended without an answer (rc {rc}); it printed: {printed}. Whether the "
                "file was written is not known: run the task again (it reads the file first and writes only what "
                f"is still missing). {HOW_TO_FIX}")
    msg = str(written.get("msg") or "").strip()
    if not msg:
        exc = written.get("exception")  # ansible-core 2.19: an error summary whose event holds the message
        detail = _tail(getattr(getattr(exc, "event", None), "msg", None) or exc, 300) \
            or f"result keys: {', '.join(sorted(written))}"
        msg = f"the write module failed without a message ({detail})"
    return msg if msg.startswith(f"{host}:") else f"{host}: {msg}"
