"""An alias bomb on one host of a fleet (issue 13.1), through the real audit playbook.

``base: &s <100,000 chars>`` and 10,000 ``kN: *s`` lines is 180 KB of file and 1 GB of keys and
values once expanded (Flink bounds aliases to lists and maps, not to plain scalars).  It took the
audit 33 s and 1.43 GB with 2,000 aliases and wrote 400 MB reports; with 10,000 the audit died of
MemoryError and reported no host.  Now the reader stops at MAX_EXPANDED_CHARS: that host fails with
a message naming it, its file, line, key and the bound; every other host is audited and reported.
Bounded memory and output are asserted (peak RSS of the whole ansible-playbook process tree, report
sizes), not time: the subprocess timeout is the only clock.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import robust_fleet
from robust_fleet import flink_home, run_playbook, write_inventory

from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import MAX_EXPANDED_CHARS

ALIASES = int(os.environ.get("FLINKOPS_BOMB_ALIASES", "10000"))  # 2,000 is the file
BIG = "x" * 100_000
# Runs ansible-playbook and writes the peak RSS (KiB) of every process below it that was waited for.
# The playbook dies with the wrapper (PR_SET_PDEATHSIG), so a timeout stops the whole run.
WRAPPER = """import ctypes, resource, signal, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
rc = subprocess.call([{playbook!r}, *sys.argv[1:]], preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))
with open({out!r}, "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""
PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: audit
      ansible.builtin.include_role:
        name: flinkops.flink.audit
      vars:
        audit_report_dir: "{{ report_dir }}"
        audit_fail_on: never
"""
GOOD = {
    "tm1": ("2.3.0", "config.yaml", b"taskmanager:\n  memory:\n    process.size: 2g\n"),
    "tm2": ("1.20.5", "config.yaml", b"taskmanager.memory.process.size: 2g\nbase: &b 1\nother: *b\n"),
    "tm3": ("1.18.1", "flink-conf.yaml", b"taskmanager.memory.process.size: 2g\n"),
    "jm1": ("2.3.0", "config.yaml", b"jobmanager.memory.process.size: 1600m\n"),
}
BOMBS = {
    "bomb": ("base: &s " + BIG + "\n" + "".join(f"k{i}: *s\n" for i in range(ALIASES)), 126, "k124"),
    "laughs": ("l0: &l0 {k: v}\n" + "".join(f"l{i}: &l{i} {{a: *l{i - 1}, b: *l{i - 1}}}\n" for i in range(1, 26)),
               1, None),
}


@pytest.fixture(scope="module")
def bomb_run(ansible_env, tmp_path_factory):
    base = tmp_path_factory.mktemp("alias-bomb")
    hosts = {}
    for name, (version, fname, data) in GOOD.items():
        hosts[name] = {"flink_home": str(flink_home(base, name, version, {fname: data}))}
    for name, (text, _line, _key) in BOMBS.items():
        hosts[name] = {"flink_home": str(flink_home(base, name, "2.3.0", {"config.yaml": text.encode()}))}
    write_inventory(base, hosts, groups={"flink_taskmanager": [h for h in hosts if h != "jm1"],
                                         "flink_jobmanager": ["jm1"]})
    rss = base / "maxrss"
    wrapper = base / "ansible_playbook_rss.py"
    wrapper.write_text(WRAPPER.format(playbook=robust_fleet.ANSIBLE_PLAYBOOK, out=str(rss)))
    script = base / "ansible-playbook"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {wrapper} \"$@\"\n")
    script.chmod(0o755)
    report_dir = base / "reports"
    saved = robust_fleet.ANSIBLE_PLAYBOOK
    robust_fleet.ANSIBLE_PLAYBOOK = str(script)
    try:
        run = run_playbook(base, PLAY, ansible_env, "-e", f"report_dir={report_dir}", name="bomb", timeout=900)
    finally:
        robust_fleet.ANSIBLE_PLAYBOOK = saved
    return run, report_dir, int(rss.read_text()), base


def test_the_bomb_hosts_fail_with_file_line_key_and_bound(bomb_run):
    run, _, _, base = bomb_run
    gathered = run.task("Gather_the_configuration_each_host_s_Flink_really_reads")
    for name, (_text, line, key) in BOMBS.items():
        result = gathered[name]
        assert result["status"] == "failed", result
        msg = result["result"]["msg"]
        path = str(base / name / "flink" / "conf" / "config.yaml")
        assert msg.startswith(f"{name}: {path} line {line}, key '{key or ''}"), msg
        assert f"more than {MAX_EXPANDED_CHARS} characters" in msg and len(msg) < 1000
        assert "Traceback" not in msg and "internal error" not in msg
    assert {h for h, r in gathered.items() if r["status"] == "ok"} == set(GOOD)


def test_every_other_host_is_reported(bomb_run):
    run, report_dir, _, _ = bomb_run
    assert run.proc.returncode == 0, run.output[-3000:]
    report = json.loads((report_dir / "flink-audit.json").read_text())
    by_name = {h["name"]: h for h in report["hosts"]}
    assert set(by_name) == set(GOOD) | set(BOMBS)
    for name in GOOD:
        assert by_name[name]["gather"]["ok"] is True, by_name[name]["gather"]
    assert by_name["tm1"]["memory"]["taskmanager"]["sizes"]["total_process"] == 2 << 30
    assert by_name["jm1"]["memory"]["jobmanager"]["sizes"]["total_process"] == 1600 << 20
    for name in BOMBS:
        assert by_name[name]["status"] == "failed"
        assert f"more than {MAX_EXPANDED_CHARS} characters" in by_name[name]["gather"]["msg"]
    assert "bomb" in (report_dir / "flink-audit.md").read_text()


def test_memory_and_output_stay_small(bomb_run):
    run, report_dir, maxrss_kib, _ = bomb_run
    sizes = {p.name: p.stat().st_size for p in report_dir.iterdir()}
    assert sorted(sizes) == ["flink-audit-junit.xml", "flink-audit.html", "flink-audit.json", "flink-audit.md"]
    assert all(size < 1 << 20 for size in sizes.values()), sizes  # were 200-400 MB each
    assert len(run.proc.stdout) + len(run.proc.stderr) < 1 << 20
    assert sum(p.stat().st_size for p in (report_dir.parent / "run-bomb" / "records").rglob("*")) < 4 << 20
    print(f"peak RSS {maxrss_kib} KiB, reports {sizes}")
    assert 0 < maxrss_kib < 400 << 10, maxrss_kib  # KiB: was 1.43 GB with 2,000 aliases
