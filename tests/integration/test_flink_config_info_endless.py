"""A file that never ends on one host of a fleet (issue 13.2): the real audit playbook over four local hosts,
one of which has ``conf/config.yaml -> /proc/self/pagemap`` (about 256 GiB, st_size 0). That host fails with
a message naming it, its file and max_file_size; the three others are audited and reported. The bound on
time is the subprocess timeout (the old ``wc -c`` read the whole pseudo-file first), not an assertion.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def _home(base: Path, name: str, version: str) -> Path:
    home = base / name / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    return home


def test_a_host_whose_file_never_ends_fails_alone_and_the_fleet_is_reported(tmp_path, ansible_env):
    hosts = {}
    for name in ("tm1", "tm2", "tm3"):
        home = _home(tmp_path, name, "2.3.0")
        (home / "conf" / "config.yaml").write_text("taskmanager.memory.process.size: 2g\n")
        hosts[name] = {"flink_home": str(home)}
    endless = _home(tmp_path, "endless", "2.3.0")
    (endless / "conf" / "config.yaml").symlink_to("/proc/self/pagemap")
    hosts["endless"] = {"flink_home": str(endless)}
    inventory = {"all": {"vars": {"ansible_connection": "local"},
                         "children": {"flink_taskmanager": {"hosts": hosts}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    report_dir = tmp_path / "report"
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), "flinkops.flink.audit",
         "-e", f"audit_report_dir={report_dir}"],
        capture_output=True, text=True, env=dict(ansible_env, ANSIBLE_FORKS="4"), timeout=300, check=False)
    report = json.loads((report_dir / "flink-audit.json").read_text())
    by_name = {h["name"]: h for h in report["hosts"]}
    assert set(by_name) == set(hosts), proc.stdout[-3000:]
    for name in ("tm1", "tm2", "tm3"):
        assert by_name[name]["gather"]["ok"] is True, by_name[name]["gather"]
        assert by_name[name]["memory"]["taskmanager"]["sizes"]["total_process"] == 2 << 30
    gather = by_name["endless"]["gather"]
    assert gather["ok"] is False and by_name["endless"]["status"] == "failed"
    assert gather["msg"].startswith("endless: ") and "pagemap" in gather["msg"]
    assert "larger than max_file_size (1048576 bytes)" in gather["msg"]
