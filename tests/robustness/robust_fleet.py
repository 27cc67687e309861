"""Shared helpers of the robustness tests: local-host fleets, real ansible-playbook runs, leak scans.

Each host is a local-connection inventory host with its own Flink home in a temporary directory
(an empty ``lib/flink-dist-<version>.jar`` is enough for version detection). Results come back
through a recording callback: one JSON file per task and host.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MODULE_FILE = REPO / "plugins" / "modules" / "flink_config.py"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

RECORDER = '''
import json, os, re
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def _save(self, result, status):
        res = getattr(result, "result", None) or result._result
        host = getattr(result, "host", None) or result._host
        task = getattr(result, "task", None) or result._task
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", task.get_name())
        out = os.path.join(os.environ["RECORD_DIR"], name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, host.get_name() + ".json"), "w") as f:
            json.dump({"status": status, "result": res}, f, default=str)

    def v2_runner_on_ok(self, result):
        self._save(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._save(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._save(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._save(result, "skipped")
'''


def flink_home(base: Path, name: str, version: str, files: dict | None = None) -> Path:
    """``base/name/flink`` with lib/flink-dist-<version>.jar and conf/ holding ``files`` (name -> bytes)."""
    home = base / name / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    for fname, data in (files or {}).items():
        (home / "conf" / fname).write_bytes(data)
    return home


def write_inventory(base: Path, hosts: dict, groups: dict | None = None, **allvars) -> Path:
    children = {g: {"hosts": {h: None for h in members}} for g, members in (groups or {}).items()}
    inventory = {"all": {"vars": {"ansible_connection": "local", **allvars}, "hosts": hosts, "children": children}}
    path = base / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


class Run:
    """One ansible-playbook run: its process and every task result, by task name and host."""

    def __init__(self, proc: subprocess.CompletedProcess, records: dict, log: Path | None):
        self.proc = proc
        self.records = records
        self.log = log

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def task(self, name: str) -> dict:
        """host -> {"status", "result"} of the task whose name ends with ``name`` (role tasks get a prefix)."""
        found = [k for k in self.records if k == name or k.endswith("_" + name)]
        assert len(found) == 1, (name, sorted(self.records))
        return self.records[found[0]]


def run_playbook(base: Path, play: str, env: dict, *extra: str, name: str, inventory: Path | None = None,
                 timeout: int = 600, env_extra: dict | None = None) -> Run:
    """Run ``play`` (text) over the inventory in ``base``; everything it writes stays under ``base/name``."""
    work = base / f"run-{name}"
    (work / "records").mkdir(parents=True)
    (work / "callbacks").mkdir()
    (work / "callbacks" / "record.py").write_text(RECORDER)
    (work / "play.yml").write_text(play)
    log = work / "ansible.log"
    env = dict(env, ANSIBLE_LOCAL_TEMP=str(work / "ansible-local"), ANSIBLE_REMOTE_TEMP=str(work / "ansible-remote"),
               ANSIBLE_CALLBACK_PLUGINS=str(work / "callbacks"), ANSIBLE_CALLBACKS_ENABLED="record",
               RECORD_DIR=str(work / "records"), ANSIBLE_LOG_PATH=str(log), ANSIBLE_FORKS="8",
               ANSIBLE_DEPRECATION_WARNINGS="False")
    env.update(env_extra or {})
    args = [ANSIBLE_PLAYBOOK, "-i", str(inventory or base / "inventory.yml"), str(work / "play.yml"), *extra]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=work)
    records: dict = {}
    for task_dir in (work / "records").iterdir():
        for p in task_dir.iterdir():
            records.setdefault(task_dir.name, {})[p.stem] = json.loads(p.read_text())
    return Run(proc, records, log)


def b64_forms(text: str) -> list:
    """Pieces of ``text``'s base64 that appear whatever its offset in a longer base64-encoded blob."""
    data = text.encode()
    forms = []
    for skew in range(3):
        encoded = base64.b64encode(b"\0" * skew + data).decode()
        start = (skew * 8 + 5) // 6 + 1  # chars that mix in the bytes before
        stop = (len(data) + skew) * 8 // 6 - 1  # and after
        piece = encoded[start:stop]
        if len(piece) >= 8:
            forms.append(piece)
    return forms


def needles(secrets) -> dict:
    """needle -> the secret it stands for: the text itself, its base64 and JSON/hex-escaped forms."""
    out = {}
    for secret in secrets:
        out[secret] = secret
        for form in b64_forms(secret):
            out[form] = secret
        out[secret.encode().hex()] = secret
        out[json.dumps(secret)[1:-1]] = secret
    return out


def scan_text(text: str, found_in: str, table: dict) -> list:
    return [(found_in, secret) for needle, secret in table.items() if needle in text]


def scan_tree(root: Path, table: dict, skip=()) -> list:
    """(file, secret) for every file under ``root`` holding a secret in any form; ``skip`` are paths left out."""
    skip = [Path(s) for s in skip]
    hits = []
    pattern = re.compile("|".join(re.escape(n) for n in sorted(table, key=len, reverse=True)).encode())
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink() or any(path == s or s in path.parents for s in skip):
            continue
        data = path.read_bytes()
        for match in pattern.finditer(data):
            hits.append((str(path), table[match.group().decode()]))
    return hits
