"""The message of a failed write (issue 13.3, 15.6): the module's own words, or what the host printed."""

from __future__ import annotations

from ansible_collections.flinkops.flink.plugins.plugin_utils.write_outcome import write_failure


def test_the_modules_own_message_is_kept_and_named_for_the_host():
    msg = "/c/config.yaml: the file changed since it was read (sha256 ab..., expected cd...); nothing was written"
    assert write_failure({"failed": True, "msg": msg}, "tm1") == f"tm1: {msg}"
    assert write_failure({"failed": True, "msg": f"tm1: {msg}"}, "tm1") == f"tm1: {msg}"


def test_an_interpreter_that_cannot_start_shows_what_it_printed():
    written = {"failed": True, "_ansible_parsed": False, "msg": "Module result deserialization failed.",
               "module_stdout": "", "module_stderr": "pyenv: python3.13: command not found\n", "rc": 127}
    text = write_failure(written, "tm1")
    assert text.startswith("tm1: ") and "pyenv: python3.13: command not found" in text
    assert "rc 127" in text and "Nothing was written" in text and "ansible_python_interpreter" in text


def test_a_module_that_died_midway_does_not_claim_nothing_was_written():
    written = {"failed": True, "module_stdout": "", "module_stderr": "Killed\n", "rc": 137}
    text = write_failure(written, "tm1")
    assert "Killed" in text and "rc 137" in text and "not known" in text and "Nothing was written" not in text


def test_no_message_at_all_is_never_replaced_by_a_generic_one():
    text = write_failure({"failed": True, "exception": "OSError: [Errno 2] No such file: '/x/$HOME'"}, "tm1")
    assert "No such file: '/x/$HOME'" in text and "the write failed" not in text
    assert "result keys: failed" in write_failure({"failed": True}, "tm1")
