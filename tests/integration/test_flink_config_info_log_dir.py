"""flink_config_info logs: true through the real ansible-playbook: the log dir given is the one read, even when it
is <flink_home>/log and the file Flink reads names another (env.log.dir): bin/config.sh takes FLINK_LOG_DIR over
env.log.dir, and flink_log_dir stands for it. Before, the action passed <flink_home>/log for "none given" and the
host could not tell an explicit <flink_home>/log from it: env.log.dir won."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Gather with logs
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
        flink_version: 2.3.0
        processes: [taskmanager]
        logs: true
        log_dir: "{{ given | default(omit) }}"
      register: gathered
    - name: Keep it
      ansible.builtin.copy:
        content: "{{ gathered | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def gather(ansible_env, ansible_bin, tmp_path: Path, home: Path, given: str | None) -> dict:
    play, out = tmp_path / "play.yml", tmp_path / "out.json"
    play.write_text(PLAY)
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", "h1,", "-c", "local", str(play),
           "-e", json.dumps({"flink_home": str(home), "out": str(out), "ansible_python_interpreter": sys.executable,
                             **({"given": given} if given else {})})]
    proc = subprocess.run(cmd, env=ansible_env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_log_dir_given_as_flink_home_log_wins_over_env_log_dir(ansible_env, ansible_bin, tmp_path):
    home = tmp_path / "flink"
    for sub in ("lib", "conf", "log", "elsewhere"):
        (home / sub).mkdir(parents=True)
    (home / "lib" / "flink-dist-2.3.0.jar").write_bytes(b"")
    (home / "conf" / "config.yaml").write_text(f"env.log.dir: {home / 'elsewhere'}\n")
    for sub in ("log", "elsewhere"):
        (home / sub / f"flink-u-taskexecutor-0-{sub}.log").write_text(
            "2026-12-02 04:48:40,164 INFO  x [] - Starting TaskManager (Version: 2.3.0)\n")
    files = [e["file"] for e in gather(ansible_env, ansible_bin, tmp_path, home, str(home / "log"))["logs"]
             if e.get("kind") != "kernel"]
    assert files == [str(home / "log" / "flink-u-taskexecutor-0-log.log")]
    # none given: env.log.dir of the file, as bin/config.sh
    files = [e["file"] for e in gather(ansible_env, ansible_bin, tmp_path, home, None)["logs"]
             if e.get("kind") != "kernel"]
    assert files == [str(home / "elsewhere" / "flink-u-taskexecutor-0-elsewhere.log")]
