"""Fields of a gather result that only the lint reads are produced end to end: the real gather script run
by /bin/sh on a real file, its result built, then linted (no Ansible)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol as proto
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_result as gres
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint

LEGACY = (b"taskmanager.memory.process.size: 2g\n"
          b"s3.secret-key: abc#def\n"                      # Flink reads 'abc': a secret cut short
          b"rest.port: 8081 # a comment, not a cut value\n"
          b"taskmanager.memory.process.size: 3g\n")          # overrides line 1


def _gather(tmp_path: Path, version: str) -> dict:
    home = tmp_path / f"flink-{version}"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    (home / "conf" / "flink-conf.yaml").write_bytes(LEGACY)
    script = proto.build_script(str(home), str(home / "conf"), 1 << 20)
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=30, check=True)
    got = proto.interpret(proto.parse_frames(out.stdout.decode("ascii")))
    result, _warnings = gres.build_result(got, "tm1", flink_home=str(home), conf_dir=str(home / "conf"),
                                          flink_version=None, processes=["taskmanager"], max_file_size=1 << 20)
    return result


def test_hash_cut_and_overridden_entries_reach_the_lint(tmp_path):
    result = _gather(tmp_path, "1.17.2")
    assert result["hash_cut_keys"] == [{"key": "s3.secret-key", "line": 2}]
    assert result["overridden"] == [{"key": "taskmanager.memory.process.size", "line": 1, "by_line": 4}]
    assert "abc" not in repr(result)  # the value stays hidden
    findings = {f["code"]: f for f in config_lint(result["config"], result["flink_version"], facts=result)}
    cut = findings["hash-cut-value"]
    assert (cut["key"], cut["line"], cut["severity"]) == ("s3.secret-key", 2, "warning")
    assert "authentication fails" in cut["message"]
    over = findings["overridden-key"]
    assert (over["key"], over["line"], over["severity"]) == ("taskmanager.memory.process.size", 1, "info")
    assert "uses line 4" in over["message"]
    assert all("abc" not in f["message"] + f["fix"] for f in findings.values())
