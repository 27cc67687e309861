"""The bad-input corpus (tests/robustness/bad_inputs/): one host per case, one real ansible-playbook run.

Each case directory holds ``case`` (YAML: Flink version, how to build the host, what to expect) and
``conf/`` (the files as they are, binary ones included, each name with ``.in`` appended: YAML tools
such as ansible-lint must not pick up files that are broken on purpose). Things a file cannot carry -- symlinks, a
FIFO, a directory, huge generated files, modes, ``chattr +i``, a task run as ``nobody`` -- are
described under ``setup`` and made here. Every host gets the gather (flinkops.flink.flink_config_info)
and then flinkops.flink.flink_config with one setting, in the same run as two good hosts.

Expectations (``expect.gather`` / ``expect.write``): ``ok``, ``changed``, or a list of substrings
of the failure message, which must also start with the host's name, name the file (or conf dir /
Flink home), give ``line <n>`` when ``expect.line`` says so, and never be an internal error or a
traceback. A host that fails writes nothing. The good hosts complete.

Root and permissions: the tests run as root, which reads and writes any file whatever its mode. The
permission cases therefore run their tasks as ``nobody`` (become_method su, as root needs no
password), and the cases root itself cannot get past use ``chattr +i`` (immutable file or conf dir).
What this cannot show: SELinux/AppArmor denials, read-only mounts and ACLs (not set up here; the SSH
fleet tests cover a read-only conf dir), and a file whose owner is the connecting non-root user.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from robust_fleet import run_playbook, write_inventory

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs"
DEFAULT_SETTINGS = {"taskmanager.numberOfTaskSlots": "3"}

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: gather
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
      ignore_errors: true

    - name: write
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: "{{ case_settings }}"
        allow_unknown_keys: true
        backup: "{{ case_backup }}"
        follow_symlinks_outside_conf_dir: "{{ case_follow }}"
      ignore_errors: true
"""

GOOD = {
    "good-legacy": ("1.20.5", {"flink-conf.yaml": b"taskmanager.memory.process.size: 2g\n"}),
    "good-yaml": ("2.3.0", {"config.yaml": b"taskmanager:\n  memory:\n    process.size: 2g\n"}),
}


def load_cases() -> dict:
    cases = {}
    for d in sorted(CORPUS.iterdir()):
        if d.is_dir():
            spec = yaml.safe_load((d / "case").read_text()) or {}
            spec["dir"] = d
            cases[d.name] = spec
    return cases


def generate(spec: dict) -> bytes:
    parts = [spec.get("head", "")]
    size, i = len(parts[0]), 0
    while size < spec["bytes"]:
        line = spec["line"].format(i=i) + ("\n" if "{i}" in spec["line"] else "")
        parts.append(line)
        size += len(line)
        i += 1
    return "".join(parts).encode() + (b"" if "{i}" in spec["line"] else b"\n")


def build(base: Path, name: str, spec: dict, immutable: list) -> dict:
    """The host's Flink home as the case describes it; returns its host vars."""
    home = base / name / "flink"
    conf = home / "conf"
    (home / "lib").mkdir(parents=True)
    setup = spec.get("setup") or {}
    if not setup.get("no_jar"):
        (home / "lib" / f"flink-dist-{spec['version']}.jar").write_bytes(b"")
    src = spec["dir"] / "conf" if "dir" in spec else None
    conf.mkdir()
    if src is not None and src.is_dir():
        for path in src.rglob("*.in"):
            target = conf / path.relative_to(src).with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for fname, data in (spec.get("files") or {}).items():
        (conf / fname).write_bytes(data)
    for fname, text in (setup.get("files") or {}).items():
        (conf / fname).parent.mkdir(parents=True, exist_ok=True)
        (conf / fname).write_text(text)
    for fname, gen in (setup.get("generate") or {}).items():
        (conf / fname).write_bytes(generate(gen))
    if setup.get("outside"):
        (base / name / "outside").mkdir()
        for fname, text in setup["outside"].items():
            (base / name / "outside" / fname).write_text(text)
    for fname, target in (setup.get("symlink") or {}).items():
        os.symlink(target, conf / fname)
    for fname in setup.get("fifo") or ():
        os.mkfifo(conf / fname)
    for fname in setup.get("dir") or ():
        (conf / fname).mkdir()
    for fname, mode in (setup.get("mode") or {}).items():
        (conf / fname).chmod(int(str(mode), 8))
    if "conf_mode" in setup:
        conf.chmod(int(str(setup["conf_mode"]), 8))
    if setup.get("conf_is_file"):
        conf.rmdir()
        conf.write_text("taskmanager.memory.process.size: 2g\n")
    frozen = [conf / f for f in setup.get("immutable") or ()] + ([conf] if setup.get("immutable_conf_dir") else [])
    for target in frozen:
        subprocess.run(["chattr", "+i", str(target)], check=True)
        immutable.append(target)
    hostvars = {"flink_home": str(home), "case_settings": spec.get("settings") or DEFAULT_SETTINGS,
                "case_backup": bool(spec.get("backup", False)),
                "case_follow": bool(spec.get("follow_symlinks_outside_conf_dir", False))}
    if spec.get("become_nobody"):
        # su works for root without a password; nobody cannot run the venv's Python (under /root) but
        # can run the system's
        hostvars.update(ansible_become=True, ansible_become_method="su", ansible_become_user="nobody",
                        ansible_become_flags="-s /bin/sh", ansible_python_interpreter="/usr/bin/python3")
    return hostvars


def snapshot(root: Path) -> dict:
    """Regular files (not FIFOs, not through links) and link targets under ``root``."""
    out = {}
    for p in root.rglob("*"):
        if p.is_symlink():
            out[p] = ("link", os.readlink(p))
        elif p.is_file():
            out[p] = ("file", p.read_bytes())
    return out


@pytest.fixture(scope="module")
def corpus_run(ansible_env):
    base = Path(tempfile.mkdtemp(prefix="flinkops-bad-"))
    base.chmod(0o755)  # nobody must reach the homes of the become cases
    cases = load_cases()
    for name, (version, files) in GOOD.items():
        cases[name] = {"version": version, "files": files, "expect": {"gather": "ok", "write": "changed"}}
    immutable: list = []
    try:
        hosts = {name: build(base, name, spec, immutable) for name, spec in cases.items()}
        write_inventory(base, hosts)
        before = snapshot(base)
        run = run_playbook(base, PLAY, ansible_env, name="bad", timeout=600, env_extra={"ANSIBLE_FORKS": "10"})
        after = snapshot(base)
        yield base, cases, hosts, run, before, after
    finally:
        for target in immutable:
            subprocess.run(["chattr", "-i", str(target)], check=False)
        if not os.environ.get("FLINKOPS_KEEP_TMP"):
            for p in base.rglob("*"):
                if p.is_dir() and not p.is_symlink():
                    p.chmod(0o755)
            shutil.rmtree(base)


def check(host: str, task: str, record: dict, expect, line: int | None, places: list) -> None:
    result = record["result"]
    msg = result.get("msg") or ""
    assert "internal error" not in msg and "Traceback" not in msg, (host, task, msg)
    if expect in ("ok", "changed"):
        assert record["status"] == "ok", (host, task, msg)
        if task == "write":
            assert result["changed"] is (expect == "changed"), (host, result)
        return
    assert record["status"] == "failed", (host, task, "expected a failure", result)
    assert msg.startswith(f"{host}: "), (host, task, msg)
    assert any(p in msg for p in places), (host, task, "names no file or directory", msg)
    for part in expect:
        assert part in msg, (host, task, part, msg)
    if line is not None:
        assert f" line {line}" in msg, (host, task, msg)


def test_every_case_fails_cleanly_or_passes_as_expected(corpus_run):
    base, cases, hosts, run, _, _ = corpus_run
    assert run.proc.returncode == 0, run.output[-3000:]
    gathered, written = run.task("gather"), run.task("write")
    assert set(gathered) == set(hosts) and set(written) == set(hosts), "every host ran both tasks"
    for name, spec in cases.items():
        expect = spec["expect"]
        home = Path(hosts[name]["flink_home"])
        places = [str(home), str(base / name)]
        check(name, "gather", gathered[name], expect["gather"], expect.get("line"), places)
        check(name, "write", written[name], expect["write"], expect.get("write_line", expect.get("line")), places)


def test_hosts_that_failed_wrote_nothing_and_others_kept_their_modes(corpus_run):
    base, cases, hosts, run, before, after = corpus_run
    written = run.task("write")
    for name in cases:
        mine = {p: v for p, v in before.items() if base / name in p.parents}
        now = {p: v for p, v in after.items() if base / name in p.parents}
        if written[name]["status"] != "ok" or not written[name]["result"]["changed"]:
            assert now == mine, name
        else:  # one file changed (maybe through a link), plus a backup when asked for
            changed = {p for p in mine if now.get(p) != mine[p]}
            assert len(changed) == 1, (name, changed)
            added = set(now) - set(mine)
            assert len(added) == int(hosts[name]["case_backup"]), (name, added)


def test_nothing_ran_from_a_yaml_tag_and_reads_ended(corpus_run):
    base, _, _, run, _, _ = corpus_run
    assert not list(base.rglob("PWNED")) and not Path("PWNED").exists()
    assert not (base / "run-bad" / "PWNED").exists()
    # the FIFO and /dev/zero hosts did not hang the run (it finished, within run_playbook's timeout)
    for host in ("fifo", "symlink-dev-zero"):
        assert run.task("gather")[host]["status"] == "failed"


def test_symlinks_inside_and_allowed_outside_are_written_through_the_link(corpus_run):
    base, _, hosts, run, _, _ = corpus_run
    for name, target in (("symlink-inside", Path(hosts["symlink-inside"]["flink_home"]) / "conf/envs/prod.yaml"),
                         ("symlink-outside-allowed", base / "symlink-outside-allowed/outside/shared.yaml")):
        link = Path(hosts[name]["flink_home"]) / "conf" / "config.yaml"
        assert link.is_symlink(), name
        assert "taskmanager.numberOfTaskSlots: '3'" in target.read_text() or \
            "taskmanager.numberOfTaskSlots: 3" in target.read_text(), (name, target.read_text())
        assert run.task("write")[name]["result"]["config_file"] == str(target)
    outside = base / "symlink-outside/outside/shared.yaml"
    assert run.task("gather")["symlink-outside"]["result"]["config_file"] == str(outside)  # read, and reported


def test_mode_of_a_written_file_is_kept(corpus_run):
    _, _, hosts, _, before, _ = corpus_run
    conf = Path(hosts["good-yaml"]["flink_home"]) / "conf" / "config.yaml"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644 and ("file", conf.read_bytes()) != before[conf]


def test_gather_script_never_opens_a_fifo_or_device(tmp_path):
    # The same script the gather and flink_config run, straight through sh: it must return at once.
    from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import (
        build_script,
        interpret,
        parse_frames,
    )
    from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_result import GatherError, build_result
    os.mkfifo(tmp_path / "config.yaml")
    os.symlink("/dev/zero", tmp_path / "flink-conf.yaml")
    out = subprocess.run(["sh", "-c", build_script(None, str(tmp_path), 1 << 20)], capture_output=True, text=True,
                         timeout=60, check=True)
    got = interpret(parse_frames(out.stdout))
    assert {n: f.state for n, f in got.files.items()} == {"config.yaml": "special", "flink-conf.yaml": "special"}
    for version, name in (("2.3", "config.yaml"), ("1.20", "flink-conf.yaml")):
        with pytest.raises(GatherError, match=f"{name}.*is not a regular file"):
            build_result(got, "h", flink_home=None, conf_dir=str(tmp_path), flink_version=version, processes=[],
                         max_file_size=1 << 20)


@pytest.mark.parametrize(("path", "conf_dir", "outside"), [
    ("/opt/flink/conf/config.yaml", "/opt/flink/conf", False),
    ("/opt/flink/conf/envs/prod/config.yaml", "/opt/flink/conf", False),  # a directory under it
    ("/opt/flink/conf/config.yaml", "/opt/flink/conf/", False),
    ("/opt/flink/conf2/config.yaml", "/opt/flink/conf", True),  # a sibling sharing the prefix
    ("/etc/flink/config.yaml", "/opt/flink/conf", True),
    ("/opt/flink/conf/../shared.yaml", "/opt/flink/conf", True),
    ("/config.yaml", "/", False),
])
def test_which_links_leave_the_conf_dir(path, conf_dir, outside):
    from ansible_collections.flinkops.flink.plugins.action.flink_config import _outside_conf_dir
    assert _outside_conf_dir(path, conf_dir) is outside
