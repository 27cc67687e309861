"""flinkops.flink.flink_config_info with the real ansible-playbook over a fleet of local hosts.

Each host has its own Flink home in a temporary directory (an empty lib/flink-dist-<version>.jar
with the real name is enough for version detection) and a real-looking config. Results come
back through a small recording callback (one JSON file per host: failed or not, the result).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

SECRETS = ("SuperSecretValue123", "keystorePw987", "TokenZZZ555", "BrokenSecret777", "OldLineToken114")

LEGACY_117_JM = b"""# Flink 1.17 JobManager
jobmanager.rpc.address: jm1.example.org
jobmanager.rpc.port: 6123
jobmanager.memory.process.size: 1600m   # shipped default
parallelism.default: 4
high-availability:
state.backend.type: rocksdb
"""

LEGACY_117_TM = b"""taskmanager.memory.process.size: 4096m
taskmanager.numberOfTaskSlots: 4
taskmanager.memory.managed.fraction: 0.5
taskmanager.memory.network.max: 512mb
"""

LEGACY_118_CRLF = (
    "\ufeff# written on Windows\r\n"
    "taskmanager.memory.flink.size: 2g\r\n"
    "taskmanager.memory.jvm-metaspace.size: 512m\r\n"
    "taskmanager.memory.process.size: 1728m\r\n"
).encode()

LEGACY_120 = b"""jobmanager.memory.process.size: 2g
taskmanager.memory.process.size: 3g
"""

YAML_120_IGNORED = b"""taskmanager:
  memory:
    process:
      size: 9g
"""

YAML_120_FLAT = b"""taskmanager.memory.process.size: 2048m
taskmanager.memory.managed.size: 256m
taskmanager.numberOfTaskSlots: 2
"""

YAML_23_NESTED = b"""# Flink 2.3, nested keys as the migration script writes them
jobmanager:
  rpc:
    address: jm
  memory:
    process:
      size: 2g
taskmanager:
  numberOfTaskSlots: 8
  memory:
    process:
      size: 8g
    managed:
      fraction: 0.25
execution:
  checkpointing:
    interval: 1 min
pipeline:
  jars: [a.jar, b.jar]
"""

YAML_19_SECRETS = b"""taskmanager.memory.process.size: 1728m
s3:
  access-key: AKIAEXAMPLE
  secret-key: SuperSecretValue123
security.ssl.rest.keystore-password: keystorePw987
metrics.reporter.x.token: TokenZZZ555
"""

YAML_21 = b"taskmanager.memory.process.size: 6g\ntaskmanager.memory.task.off-heap.size: 1g\n"
YAML_22 = b"jobmanager.memory.flink.size: 1g\njobmanager.memory.heap.size: 768m\n"
YAML_23_INVALID = b"taskmanager:\n  memory:\n    process.size: 2g\n  numberOfTaskSlots: [1, 2\n"
YAML_23_INVALID_SECRET = b"taskmanager.memory.process.size: 2g\ns3.secret-key: \"BrokenSecret777\n"
YAML_23_LATIN1 = "taskmanager.memory.process.size: 2g\nenv.java.opts.all: -Duser.name=Jos\xe9\n".encode("latin-1")
YAML_23_DUPLICATE = (b"taskmanager.memory.process.size: 2g\nparallelism.default: 2\n"
                     b"taskmanager.memory.process.size: 3g\n")
YAML_23_TOO_BIG = b"taskmanager.memory.process.size: 2g\n" + b"# padding\n" * 20


# Flink 1.14 ships a Scala-suffixed jar and reads only flink-conf.yaml; its default network cap is 1 gb.
LEGACY_114 = (b"taskmanager.memory.process.size: 16g\n"
              b"rest.auth-token: OldLineToken114\n")  # 1.14 does not hide 'token'; we do (1.17 does)
LEGACY_116_HEAP = b"taskmanager.heap.size: 2048m\njobmanager.heap.mb: 700\n"


def flink_home(base: Path, name: str, version: str | None, files: dict[str, bytes]) -> Path:
    home = base / name / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    if version:
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    for fname, data in files.items():
        (home / "conf" / fname).write_bytes(data)
    return home


@pytest.fixture(scope="module")
def fleet():
    """Inventory of 19 local hosts; the directory is world-traversable for the become-nobody hosts."""
    base = Path(tempfile.mkdtemp(prefix="flinkops-it-"))
    base.chmod(0o755)
    hosts: dict[str, dict] = {}

    def add(name, version, files, groups=(), **hostvars):
        home = flink_home(base, name, version, files)
        for p in [base / name, *home.rglob("*"), home]:
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() else 0o644)
        hosts[name] = {"groups": list(groups), "vars": {"flink_home": str(home), **hostvars}}
        return home

    add("jm117", "1.17.2", {"flink-conf.yaml": LEGACY_117_JM}, ["flink_jobmanager"])
    add("tm117", "1.17.2", {"flink-conf.yaml": LEGACY_117_TM}, ["flink_taskmanager"])
    add("tm118crlf", "1.18.1", {"flink-conf.yaml": LEGACY_118_CRLF}, ["flink_taskmanager"])
    home = add("tm114", "1.14.6", {"flink-conf.yaml": LEGACY_114, "config.yaml": YAML_120_IGNORED},
               ["flink_taskmanager"])
    (home / "lib" / "flink-dist-1.14.6.jar").rename(home / "lib" / "flink-dist_2.12-1.14.6.jar")
    add("heap116", "1.16.3", {"flink-conf.yaml": LEGACY_116_HEAP}, ["flink_jobmanager", "flink_taskmanager"])
    add("both120", "1.20.5", {"flink-conf.yaml": LEGACY_120, "config.yaml": YAML_120_IGNORED},
        ["flink_jobmanager", "flink_taskmanager"])
    add("yaml120", "1.20.5", {"config.yaml": YAML_120_FLAT}, ["flink_taskmanager"])
    add("nested23", "2.3.0", {"config.yaml": YAML_23_NESTED}, ["flink_jobmanager", "flink_taskmanager"])
    add("secret119", "1.19.3", {"config.yaml": YAML_19_SECRETS}, ["flink_taskmanager"])
    home = add("symlink21", "2.1.3", {}, ["flink_taskmanager"])
    real = base / "symlink21" / "shared-config.yaml"
    real.write_bytes(YAML_21)
    real.chmod(0o644)
    (home / "conf" / "config.yaml").symlink_to(real)
    # conf_dir and version given, no flink_home at all
    conf22 = base / "given22" / "etc-flink"
    conf22.mkdir(parents=True)
    (conf22 / "config.yaml").write_bytes(YAML_22)
    hosts["given22"] = {"groups": ["flink_jobmanager"],
                        "vars": {"flink_conf_dir": str(conf22), "flink_version": "2.2"}}
    # become (su to nobody) reading a world-readable file: must work like any task
    add("become23", "2.3.0", {"config.yaml": YAML_21}, ["flink_taskmanager"],
        ansible_become=True, ansible_become_method="su", ansible_become_user="nobody",
        ansible_become_flags="-s /bin/sh")
    # --- hosts that must fail, each for its own reason ---
    add("broken23", "2.3.0", {"config.yaml": YAML_23_INVALID}, ["flink_taskmanager"])
    add("brokensecret23", "2.3.0", {"config.yaml": YAML_23_INVALID_SECRET}, ["flink_taskmanager"])
    add("missing20", "2.0.2", {"flink-conf.yaml": LEGACY_120}, ["flink_taskmanager"])
    add("latin1_23", "2.3.0", {"config.yaml": YAML_23_LATIN1}, ["flink_taskmanager"])
    add("dupkey23", "2.3.0", {"config.yaml": YAML_23_DUPLICATE}, ["flink_taskmanager"])
    add("nodist", None, {"config.yaml": YAML_21}, ["flink_taskmanager"])
    home = add("loop23", "2.3.0", {}, ["flink_taskmanager"])
    (home / "conf" / "config.yaml").symlink_to(home / "conf" / "config.yaml")
    add("large23", "2.3.0", {"config.yaml": YAML_23_TOO_BIG}, ["flink_taskmanager"], max_file_size=64)
    home = add("unreadable23", "2.3.0", {"config.yaml": YAML_21}, ["flink_taskmanager"],
               ansible_become=True, ansible_become_method="su", ansible_become_user="nobody",
               ansible_become_flags="-s /bin/sh")
    (home / "conf" / "config.yaml").chmod(0o600)

    common = {"ansible_connection": "local"}
    inventory = {"all": {"vars": common, "hosts": {h: d["vars"] for h, d in hosts.items()}, "children": {}}}
    for group in ("flink_jobmanager", "flink_taskmanager"):
        inventory["all"]["children"][group] = {"hosts": {h: None for h, d in hosts.items() if group in d["groups"]}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "gather.yml").write_text(
        """- hosts: all
  gather_facts: false
  tasks:
    - name: Gather Flink config
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home | default(omit) }}"
        conf_dir: "{{ flink_conf_dir | default(omit) }}"
        flink_version: "{{ flink_version | default(omit) }}"
        max_file_size: "{{ max_file_size | default(omit) }}"
"""
    )
    yield base, hosts
    shutil.rmtree(base)


RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def _save(self, result, failed):
        res = getattr(result, "result", None) or result._result
        host = getattr(result, "host", None) or result._host
        out = os.path.join(os.environ["RECORD_DIR"], host.get_name())
        with open(out, "w") as f:
            json.dump({"failed": failed, "result": res}, f, default=str)

    def v2_runner_on_ok(self, result):
        self._save(result, False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._save(result, True)

    def v2_runner_on_unreachable(self, result):
        self._save(result, True)
"""


def run_playbook(base: Path, ansible_env: dict, *extra: str, tree: Path | None = None):
    env = dict(ansible_env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"), ANSIBLE_FORKS="8")
    if tree:
        callbacks = base / "callbacks"
        callbacks.mkdir(exist_ok=True)
        (callbacks / "record.py").write_text(RECORDER)
        tree.mkdir()
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(callbacks), ANSIBLE_CALLBACKS_ENABLED="record",
                   RECORD_DIR=str(tree))
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / "gather.yml"), *extra],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )


GOOD = ("jm117", "tm117", "tm118crlf", "both120", "yaml120", "nested23", "secret119", "symlink21", "given22",
        "become23", "tm114", "heap116")
BAD = ("broken23", "brokensecret23", "missing20", "latin1_23", "dupkey23", "nodist", "loop23", "large23",
       "unreadable23")


@pytest.fixture(scope="module")
def verbose_run(fleet, ansible_env):
    base, _ = fleet
    tree = base / "tree"
    proc = run_playbook(base, ansible_env, "-vvv", tree=tree)
    return proc, load_records(tree)


def load_records(tree: Path) -> dict:
    """host -> its task result, with "failed" as ansible's callback saw it."""
    results = {}
    for p in tree.iterdir():
        record = json.loads(p.read_text())
        results[p.name] = dict(record["result"], failed=record["failed"])
    return results


def test_every_host_ran_and_only_the_bad_ones_failed(fleet, verbose_run):
    proc, results = verbose_run
    _, hosts = fleet
    assert len(hosts) >= 10
    assert set(results) == set(hosts), proc.stdout[-3000:]
    failed = {h for h, r in results.items() if r.get("failed")}
    assert failed == set(BAD), {h: results[h].get("msg") for h in failed ^ set(BAD)}
    assert proc.returncode == 2  # ansible-playbook: some hosts failed
    for h in GOOD:
        assert results[h]["changed"] is False, h


def test_no_tracebacks_and_no_secrets_anywhere_at_vvv(fleet, verbose_run):
    base, _ = fleet
    proc, results = verbose_run
    text = proc.stdout + proc.stderr + json.dumps(results)
    assert "Traceback" not in text
    assert "internal error" not in text
    for secret in SECRETS:
        assert secret not in text, secret


def test_raw_file_text_never_in_results(verbose_run):
    _, results = verbose_run
    blob = json.dumps(results)
    assert "written on Windows" not in blob and "shipped default" not in blob and "padding" not in blob
    assert "migration script" not in blob


def test_legacy_117(verbose_run, fleet):
    _, results = verbose_run
    base, hosts = fleet
    jm = results["jm117"]
    assert jm["flink_version"] == "1.17.2" and jm["config_format"] == "legacy"
    assert jm["config_file"] == f"{hosts['jm117']['vars']['flink_home']}/conf/flink-conf.yaml"
    assert jm["config"]["jobmanager.memory.process.size"] == "1600m"
    assert jm["config_lines"]["parallelism.default"] == 5
    assert [s["line"] for s in jm["skipped_lines"]] == [6]  # "high-availability:" has no ": "
    assert list(jm["memory"]) == ["jobmanager"]
    assert jm["memory"]["jobmanager"]["jvm"]["heap"] == 1024**3  # 1600m gives a 1 GiB heap
    tm = results["tm117"]
    assert list(tm["memory"]) == ["taskmanager"]
    assert tm["memory"]["taskmanager"]["valid"] is True
    assert tm["memory"]["taskmanager"]["sizes"]["total_process"] == 4096 * 1024**2


def test_old_lines_114_and_116(verbose_run, fleet):
    _, results = verbose_run
    _, hosts = fleet
    tm = results["tm114"]
    assert tm["flink_version"] == "1.14.6" and tm["config_format"] == "legacy"  # from flink-dist_2.12-1.14.6.jar
    assert tm["config_file"] == f"{hosts['tm114']['vars']['flink_home']}/conf/flink-conf.yaml"
    assert [f["name"] for f in tm["ignored_files"]] == ["config.yaml"]
    assert tm["config"]["rest.auth-token"] == "******"
    assert tm["memory"]["taskmanager"]["sizes"]["network"] == 1024**3  # 1.14 caps network at 1 gb
    heap = results["heap116"]
    assert heap["flink_version"] == "1.16.3"
    assert heap["memory"]["taskmanager"]["sizes"]["total_flink"] == 2048 * 1024**2  # legacy heap mapped
    assert heap["memory"]["jobmanager"]["sizes"]["heap"] == 700 * 1024**2


def test_crlf_and_bom_118(verbose_run):
    _, results = verbose_run
    r = results["tm118crlf"]
    assert r["config"]["taskmanager.memory.flink.size"] == "2g"
    assert r["config_lines"]["taskmanager.memory.process.size"] == 4
    # 2g Total Flink plus 512m metaspace do not fit in 1728m: Flink refuses (values read without the CRs)
    tm = r["memory"]["taskmanager"]
    assert tm["valid"] is False
    assert "The configured Total Process Memory size (1.688gb (1811939328 bytes)) is less than" in tm["error"]


def test_120_with_both_files_reads_legacy(verbose_run):
    _, results = verbose_run
    r = results["both120"]
    assert r["config_format"] == "legacy" and r["config_file"].endswith("/conf/flink-conf.yaml")
    assert [f["name"] for f in r["ignored_files"]] == ["config.yaml"]
    assert r["config"]["taskmanager.memory.process.size"] == "3g"  # not config.yaml's 9g
    assert sorted(r["memory"]) == ["jobmanager", "taskmanager"]
    y = results["yaml120"]
    assert y["config_format"] == "yaml" and y["ignored_files"] == []
    assert y["memory"]["taskmanager"]["sizes"]["managed"] == 256 * 1024**2


def test_23_nested(verbose_run):
    _, results = verbose_run
    r = results["nested23"]
    assert r["flink_version"] == "2.3.0" and r["config_format"] == "yaml"
    assert r["config"]["taskmanager.memory.process.size"] == "8g"
    assert r["config"]["taskmanager.memory.managed.fraction"] == "0.25"
    assert r["config"]["pipeline.jars"] == "[a.jar, b.jar]"
    assert r["memory"]["jobmanager"]["valid"] and r["memory"]["taskmanager"]["valid"]
    assert r["memory"]["taskmanager"]["sizes"]["total_process"] == 8 * 1024**3


def test_secrets_redacted_but_other_values_shown(verbose_run):
    _, results = verbose_run
    c = results["secret119"]["config"]
    assert c["s3.secret-key"] == "******"
    assert c["security.ssl.rest.keystore-password"] == "******"
    assert c["metrics.reporter.x.token"] == "******"
    assert c["s3.access-key"] == "AKIAEXAMPLE"


def test_symlink_reported_resolved(verbose_run, fleet):
    base, _ = fleet
    _, results = verbose_run
    r = results["symlink21"]
    assert r["config_file"] == str(base / "symlink21" / "shared-config.yaml")
    assert r["memory"]["taskmanager"]["sizes"]["task_off_heap"] == 1024**3


def test_given_version_and_conf_dir(verbose_run):
    _, results = verbose_run
    r = results["given22"]
    assert r["flink_version"] == "2.2"
    assert r["memory"]["jobmanager"]["jvm"]["heap"] == 768 * 1024**2


def test_become_works(verbose_run):
    _, results = verbose_run
    r = results["become23"]
    assert r["config"]["taskmanager.memory.process.size"] == "6g"


def test_host_facts_are_this_machines(verbose_run):
    _, results = verbose_run
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for h in GOOD:
        assert results[h]["mem_total_bytes"] == pages, h
        assert results[h]["cpu_count"] == len(os.sched_getaffinity(0)), h
        limit = results[h]["cgroup_memory_limit_bytes"]
        assert limit is None or limit > 0


def test_failure_messages_name_host_file_and_reason(verbose_run, fleet):
    _, results = verbose_run
    base, hosts = fleet

    def msg(h):
        m = results[h]["msg"]
        assert m.startswith(f"{h}: "), m
        return m

    conf = {h: f"{d['vars'].get('flink_home')}/conf" for h, d in hosts.items()}
    m = msg("broken23")
    # the unclosed flow sequence opened on line 4 is found at the end of the file (line 5)
    assert f"{conf['broken23']}/config.yaml line 5" in m and "(line 4)" in m
    m = msg("brokensecret23")
    assert f"{conf['brokensecret23']}/config.yaml" in m and "line" in m
    m = msg("missing20")
    assert "config.yaml" in m and "does not exist" in m and "flink-conf.yaml" in m
    m = msg("latin1_23")
    assert f"{conf['latin1_23']}/config.yaml line 2" in m and "UTF-8" in m
    m = msg("dupkey23")
    assert f"{conf['dupkey23']}/config.yaml line 3" in m and "taskmanager.memory.process.size" in m
    m = msg("nodist")
    assert "cannot detect the Flink version" in m and "flink-dist-*.jar" in m
    m = msg("loop23")
    assert f"{conf['loop23']}/config.yaml" in m and "Too many levels of symbolic links" in m
    m = msg("large23")
    assert f"{conf['large23']}/config.yaml" in m and "max_file_size (64 bytes)" in m
    m = msg("unreadable23")
    assert f"{conf['unreadable23']}/config.yaml" in m and "Permission denied" in m


def test_check_mode_changes_nothing_and_still_gathers(fleet, ansible_env):
    base, _ = fleet
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*.yaml") if p.is_file()}
    tree = base / "tree-check"
    proc = run_playbook(base, ansible_env, "--check", tree=tree)
    results = load_records(tree)
    assert {h for h, r in results.items() if r.get("failed")} == set(BAD)
    assert all(results[h]["changed"] is False and "config" in results[h] for h in GOOD)
    assert "skipped" not in proc.stdout.split("PLAY RECAP")[0].lower()
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*.yaml") if p.is_file()}
    assert before == after


def test_bad_arguments_fail_like_a_module(fleet, ansible_env, tmp_path):
    base, _ = fleet
    play = tmp_path / "bad.yml"
    play.write_text(
        """- hosts: jm117
  gather_facts: false
  tasks:
    - flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
        processes: [historyserver]
      ignore_errors: true
      register: a
    - flinkops.flink.flink_config_info:
        conf_dir: /etc/flink
        flink_home: null  # set to nothing: the host variable flink_home is not taken
      ignore_errors: true
      register: b
    - flinkops.flink.flink_config_info:
        flink_home: relative/path
        colour: blue
      ignore_errors: true
      register: c
    - ansible.builtin.assert:
        that:
          - a is failed and 'historyserver' in a.msg
          - b is failed and 'flink_home is required unless both conf_dir and flink_version' in b.msg
          - c is failed and 'colour' in c.msg
"""
    )
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(play)], capture_output=True,
                          text=True, env=ansible_env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_host_variables_stand_in_for_options_the_task_does_not_set(fleet, ansible_env, verbose_run, tmp_path):
    """A task without flink_home, conf_dir, flink_version reads each host as the explicit task does (the roles
    rely on it: they template none of them per host); an option the task sets wins; a delegated task takes
    none of the inventory host's variables (they are not the delegate's)."""
    base, _ = fleet
    _, explicit = verbose_run
    play = tmp_path / "implicit.yml"
    play.write_text(
        """- hosts: all
  gather_facts: false
  tasks:
    - flinkops.flink.flink_config_info:
        max_file_size: "{{ max_file_size | default(omit) }}"
      register: implicit
      ignore_errors: true
    - flinkops.flink.flink_config_info:
        flink_home: /nonexistent/flink
      register: given
      ignore_errors: true
      when: inventory_hostname == 'jm117'
    - flinkops.flink.flink_config_info:
      delegate_to: jm117
      register: delegated
      ignore_errors: true
      when: inventory_hostname == 'tm117'
    - ansible.builtin.copy:
        content: "{{ {'implicit': implicit, 'given': given, 'delegated': delegated} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""
    )
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(play), "-e", f"out={out}"],
                          capture_output=True, text=True, env=dict(ansible_env, ANSIBLE_FORKS="8"), timeout=600,
                          check=False)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-3000:]
    got = {p.stem: json.loads(p.read_text()) for p in out.iterdir()}
    assert set(got) == set(explicit)
    for host in GOOD:
        implicit = got[host]["implicit"]
        assert not implicit.get("failed"), (host, implicit.get("msg"))
        for field in ("config_file", "conf_dir", "flink_version", "config", "memory"):
            assert implicit[field] == explicit[host][field], (host, field)
    for host in BAD:
        assert got[host]["implicit"]["failed"] and explicit[host]["failed"]
        assert got[host]["implicit"]["msg"] == explicit[host]["msg"], host
    given = got["jm117"]["given"]
    assert given["failed"] and "/nonexistent/flink" in given["msg"]
    delegated = got["tm117"]["delegated"]
    assert delegated["failed"]
    assert "flink_home is required unless both conf_dir and flink_version" in delegated["msg"]
