"""No secret leaks: a fleet whose files hold a value for every sensitive-key pattern Flink knows.

Every Flink line, both file formats (legacy flink-conf.yaml; config.yaml nested, flattened and
mixed), each secret a unique canary string, plus secrets where people put them by mistake (after a
'#', on a line Flink skips, in a comment, in a list, a block scalar, a set). One real
ansible-playbook run at -vvv with --diff and a jsonfile fact cache: the audit role (every report
format), the registered results cached as facts, flink_config in check mode and for real with new
canary secrets, the enforce role in diff mode (its default) with another, hosts that fail (syntax
errors, a file too big, refused edits). Then no canary may appear -- as text, base64 or escaped --
in stdout, stderr, the Ansible log, the reports, the fact cache, the recorded task results,
Ansible's temporary directories: anywhere but the config files and their backups on the "nodes".
Backups keep the original's owner and mode.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from robust_fleet import flink_home, needles, run_playbook, scan_text, scan_tree, write_inventory

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

# One real key per pattern of Flink's GlobalConfiguration.SENSITIVE_KEYS (any line).
PATTERN_KEYS = {
    "password": "security.ssl.internal.keystore-password",
    "secret": "s3.secret-key",
    "fs.azure.account.key": "fs.azure.account.key.acct1.dfs.core.windows.net",
    "apikey": "metrics.reporter.dghttp.apikey",
    "auth-params": "pulsar.client.auth-params",
    "service-key": "fs.gs.auth.service-key",
    "token": "kubernetes.auth.token",
    "basic-auth": "rest.client.basic-auth",
    "jaas.config": "security.kafka.sasl.jaas.config",
    "http-headers": "user.artifacts.http-headers",
    "api-key": "metrics.reporter.datadog.api-key",
}
ALL_PATTERNS = {p for line in opts.SENSITIVE_PATTERNS.values() for p in line}
MEMORY = {"taskmanager.memory.process.size": "2g", "jobmanager.memory.process.size": "1600m"}

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
        audit_formats: [json, markdown, html, junit]

    - name: cache the gathered result
      ansible.builtin.set_fact:
        flink_gathered: "{{ audit_gather }}"
        cacheable: true

    - name: edit check
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: "{{ edit_settings }}"
        remove: "{{ edit_remove }}"
        max_file_size: 1048576
      check_mode: true
      ignore_errors: true
      register: edit_check

    - name: edit
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: "{{ edit_settings }}"
        remove: "{{ edit_remove }}"
        backup: true
      ignore_errors: true
      register: edit_real

    - name: cache the edit results
      ansible.builtin.set_fact:
        flink_edit_check: "{{ edit_check }}"
        flink_edit_real: "{{ edit_real }}"
        cacheable: true

    - name: read again
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
      ignore_errors: true

    - name: enforce in diff mode
      ansible.builtin.include_role:
        name: flinkops.flink.enforce
        apply:
          ignore_errors: true
      vars:
        enforce_settings: {all: {s3.secret-key: "{{ enforce_secret }}", taskmanager.memory.process.size: 4g}}
        enforce_allow_unknown_keys: []  # every key here is known
"""


class Canaries:
    """Unique secret strings, remembered."""

    def __init__(self):
        self.all: list = []

    def __call__(self, tag: str) -> str:
        value = f"CNRY{tag}Q{secrets.token_hex(5)}"
        self.all.append(value)
        return value


def legacy_file(c: Canaries, host: str) -> bytes:
    lines = ["# secrets fixture", *(f"{k}: {v}" for k, v in MEMORY.items())]
    for pattern, key in PATTERN_KEYS.items():
        lines.append(f"{key}: {c(host + pattern.replace('.', ''))}")
    lines += [
        f"S3.SECRET-KEY: {c(host + 'upper')}",  # Flink lower-cases before matching
        f"   fs.azure.account.key.other.blob.core.windows.net:   {c(host + 'indent')}   # trailing comment",
        f"security.ssl.rest.truststore-password: ab#{c(host + 'afterhash')}",  # Flink reads 'ab'
        f"s3.access.secret:{c(host + 'skipped')}",  # no space after ':': Flink skips the line
        f"# old value: security.ssl.rest.keystore-password: {c(host + 'comment')}",
        f"s3.secret-key: {c(host + 'dupwins')}",  # a later duplicate wins
        f"security.ssl.rest.key-password: {c(host + 'keypw')} #{c(host + 'aftervalue')}",  # comment after a secret
    ]
    return ("\n".join(lines) + "\n").encode()


def yaml_nested(c: Canaries, host: str) -> bytes:
    return f"""# secrets fixture, nested as bin/migrate-config-file.sh writes it
taskmanager:
  memory:
    process:
      size: 2g
jobmanager:
  memory:
    process:
      size: 1600m
security:
  ssl:
    internal:
      keystore-password: {c(host + 'password')}
  kafka:
    sasl:
      jaas.config: "{c(host + 'jaas')} required;"
s3:
  secret-key: '{c(host + 'secret')}'
fs.azure.account.key.acct1.dfs.core.windows.net: {c(host + 'azure')}
metrics:
  reporter:
    dghttp:
      apikey: {c(host + 'apikey')}   # {c(host + 'aftervalue')}
    datadog:
      api-key: &dd {c(host + 'apikey2')}
pulsar:
  client:
    auth-params: |
      {c(host + 'authblock1')}
      {c(host + 'authblock2')}
fs:
  gs:
    auth:
      service-key: >-
        {c(host + 'folded1')}
        {c(host + 'folded2')}
kubernetes:
  auth:
    token: {c(host + 'token')}
rest:
  client:
    basic-auth: [{c(host + 'list1')}, "{c(host + 'list2')}"]
user:
  artifacts:
    http-headers: {{Authorization: "Bearer {c(host + 'headers')}"}}
# security.ssl.rest.key-password: {c(host + 'comment')}
secretset.password: !!set {{{c(host + 'set1')}, {c(host + 'set2')}}}
blockset:
  password: !!set
    ? {c(host + 'bset1')}
    ? {c(host + 'bset2')}
""".encode()


def yaml_flat(c: Canaries, host: str) -> bytes:
    lines = ["# secrets fixture, flattened", *(f"{k}: {v}" for k, v in MEMORY.items())]
    for pattern, key in PATTERN_KEYS.items():
        lines.append(f"{key}: {c(host + pattern.replace('.', ''))}")
    lines += [
        f'S3.SECRET-KEY: "{c(host + "upper")}"',
        f"security.ssl.rest.truststore-password: '{c(host + 'quoted')}'  # hash after a quoted value",
        f"s3.access.secret: !!str {c(host + 'tagged')}",
        f"security.ssl.rest.keystore-password: {{nested: {c(host + 'flowmap')}}}",
        f"# s3.secret-key: {c(host + 'comment')}",
    ]
    return ("\n".join(lines) + "\n").encode()


def yaml_mixed(c: Canaries, host: str) -> bytes:
    """Nested keys, then the flattened file's keys under another prefix (so none is a duplicate)."""
    flat = yaml_flat(c, host + "f").decode().splitlines()[3:]  # without its comment and memory keys
    lines = [f"mixed.{line}" if not line.startswith("#") else line for line in flat]
    lines.append(f"s3.secret-key: {c(host + 'override')}")  # flat, after the nested s3: secret-key: Flink keeps it
    return yaml_nested(c, host) + ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def leak_run(ansible_env):
    assert set(PATTERN_KEYS) == ALL_PATTERNS, "a sensitive pattern has no key in this test: add one"
    base = Path(tempfile.mkdtemp(prefix="flinkops-secrets-"))
    c = Canaries()
    hosts: dict = {}
    originals: dict = {}

    def add(name, version, fname, data, settings=None, remove=None, owner=(0, 0), mode=0o644, **hostvars):
        home = flink_home(base, name, version, {fname: data})
        conf = home / "conf" / fname
        os.chown(conf, *owner)
        conf.chmod(mode)
        originals[name] = (conf, data, owner, mode)
        new = {PATTERN_KEYS["secret"]: c(name + "new"), PATTERN_KEYS["password"]: c(name + "new2"),
               "taskmanager.memory.process.size": "3g"}
        hosts[name] = {"flink_home": str(home), "edit_settings": new if settings is None else settings,
                       "edit_remove": [PATTERN_KEYS["token"]] if remove is None else remove,
                       **hostvars}

    nobody = (65534, 65534)
    add("l117", "1.17.2", "flink-conf.yaml", legacy_file(c, "l117"), owner=nobody, mode=0o640)
    add("l118", "1.18.1", "flink-conf.yaml", legacy_file(c, "l118"), mode=0o600)
    add("l119", "1.19.3", "flink-conf.yaml", legacy_file(c, "l119"), owner=(65534, 0), mode=0o604)
    add("y119", "1.19.3", "config.yaml", yaml_flat(c, "y119"))
    add("y120", "1.20.5", "config.yaml", yaml_nested(c, "y120"), owner=nobody, mode=0o600)
    add("y20", "2.0.2", "config.yaml", yaml_mixed(c, "y20"))
    add("y21", "2.1.3", "config.yaml", yaml_flat(c, "y21"), mode=0o640)
    add("y22", "2.2.1", "config.yaml", yaml_nested(c, "y22"))
    add("y23", "2.3.0", "config.yaml", yaml_mixed(c, "y23"), owner=nobody, mode=0o400)
    # hosts that fail somewhere, holding secrets all the same
    broken = yaml_flat(c, "bad23") + f's3.secret-key.other: "{c("bad23unterminated")}\n'.encode()
    add("bad23", "2.3.0", "config.yaml", broken)
    member = c("set23")
    add("set23", "2.3.0", "config.yaml", f"security.ssl.keystore-password: !!set {{{member}, x, {member}}}\n".encode())
    add("tab21", "2.1.3", "config.yaml", yaml_flat(c, "tab21") + f"s3.secret-key.tab:\t{c('tab21tab')}\n".encode())
    add("utf20", "2.0.2", "config.yaml", yaml_flat(c, "utf20") + b"s3.secret-key.bin: CNRYutf20\xff" +
        c("utf20bytes").encode() + b"\n")
    add("big120", "1.20.5", "flink-conf.yaml", legacy_file(c, "big120") * (1 + (1 << 20) // 1000))
    add("hash118", "1.18.1", "flink-conf.yaml", legacy_file(c, "hash118"),
        settings={PATTERN_KEYS["secret"]: "x#" + c("hash118new")})
    add("nl117", "1.17.2", "flink-conf.yaml", legacy_file(c, "nl117"),
        settings={PATTERN_KEYS["password"]: c("nl117new") + "\n" + c("nl117new2")})
    add("refuse120", "1.20.5", "config.yaml", yaml_nested(c, "refuse120"),
        settings={PATTERN_KEYS["secret"]: c("refuse120new"), "taskmanager.memory.process.size": "300m"})
    # the write itself fails (conf dir immutable, even to root): its diff was built all the same
    add("ro23", "2.3.0", "config.yaml", yaml_nested(c, "ro23"))
    immutable = [Path(hosts["ro23"]["flink_home"], "conf")]
    for target in immutable:
        subprocess.run(["chattr", "+i", str(target)], check=True)
    write_inventory(base, hosts, groups={"flink_taskmanager": list(hosts), "flink_jobmanager": ["l117", "y23"]})
    report_dir = base / "reports"
    cache_dir = base / "fact-cache"
    cache = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache_dir)}
    run = run_playbook(base, PLAY, ansible_env, "-vvv", "--diff", "-e", f"report_dir={report_dir}",
                       "-e", f"enforce_secret={c('enforce')}", name="leak", env_extra=cache)
    for target in immutable:
        subprocess.run(["chattr", "-i", str(target)], check=False)
    yield base, hosts, originals, c.all, run, report_dir, cache_dir
    if not os.environ.get("FLINKOPS_KEEP_TMP"):
        shutil.rmtree(base)


def conf_dirs(base: Path) -> list:
    return [p for p in base.glob("*/flink/conf")]


def test_run_covered_every_case(leak_run):
    base, hosts, _, canaries, run, report_dir, cache_dir = leak_run
    assert run.proc.returncode == 0, run.output[-3000:]
    gathered = run.task("Gather_the_configuration_each_host_s_Flink_really_reads")
    assert {h for h, r in gathered.items() if r["status"] == "ok"} == \
        {"l117", "l118", "l119", "y119", "y120", "y20", "y21", "y22", "y23", "hash118", "nl117", "refuse120", "ro23"}
    for host, expect in {"bad23": "line", "set23": "duplicate", "tab21": "tab", "utf20": "UTF-8",
                         "big120": "max_file_size"}.items():
        msg = gathered[host]["result"]["msg"]
        assert msg.startswith(f"{host}: ") and expect in msg, (host, msg)
    edits = run.task("edit")
    assert {h for h, r in edits.items() if r["status"] == "ok"} == \
        {"l117", "l118", "l119", "y119", "y120", "y20", "y21", "y22", "y23"}, \
        {h: r["result"].get("msg") for h, r in edits.items()}
    assert "holds '#'" in edits["hash118"]["result"]["msg"]
    assert "line break" in edits["nl117"]["result"]["msg"]
    assert "would not start the taskmanager" in edits["refuse120"]["result"]["msg"]
    assert edits["y23"]["result"]["diff"]["before"] and "******" in edits["y23"]["result"]["diff"]["after"]
    assert edits["ro23"]["status"] == "failed" and edits["ro23"]["result"]["msg"].startswith("ro23: ")
    # issue 13.4: block scalars and sets of secrets keep their lines in the diff, each line hidden
    diff = edits["y120"]["result"]["diff"]["before"]
    assert "    auth-params: ******\n      ******\n      ******\n" in diff, diff
    assert "      service-key: ******\n        ******\n        ******\n" in diff, diff
    assert "secretset.password: ******\n" in diff and "  password: ******\n    ******\n    ******\n" in diff
    assert "apikey: ******   # ******\n" in diff
    assert "security.ssl.rest.key-password: ****** #******" in edits["l117"]["result"]["diff"]["before"]
    # the reports, the cache and the diff were really produced, so the scans below look at something
    assert sorted(p.name for p in report_dir.iterdir()) == \
        ["flink-audit-junit.xml", "flink-audit.html", "flink-audit.json", "flink-audit.md"]
    assert len(list(cache_dir.iterdir())) == len(hosts)
    assert "+taskmanager.memory.process.size: 3g" in run.proc.stdout  # --diff printed the patches
    enforced = run.task("flinkops.flink.enforce_Set_and_remove_the_keys_in_the_file_Flink_reads")
    assert {h for h, r in enforced.items() if r["status"] == "ok"} == \
        {"l117", "l118", "l119", "y119", "y120", "y20", "y21", "y22", "y23", "hash118", "nl117", "refuse120", "ro23"}
    assert all(r["result"]["diff"]["after"] for r in enforced.values() if r["status"] == "ok")
    assert "+taskmanager.memory.process.size: 4g" in run.proc.stdout
    # and the secrets really were read: a fleet whose canaries never reached Flink's map proves nothing
    l117 = parse_flink_conf(Path(hosts["l117"]["flink_home"], "conf", "flink-conf.yaml").read_bytes(), "x").config
    assert l117[PATTERN_KEYS["secret"]].startswith("CNRYl117new")
    y20 = parse_config_yaml(Path(hosts["y20"]["flink_home"], "conf", "config.yaml").read_bytes(), "x").config
    assert y20["pulsar.client.auth-params"].startswith("CNRYy20authblock1")
    cached = json.loads(next(cache_dir.glob("*y23")).read_text())
    cached = json.loads(cached["__payload__"]) if "__payload__" in cached else cached  # ansible-core 2.19 wraps it
    gathered_fact = cached["flink_gathered"].get("value", cached["flink_gathered"])
    assert gathered_fact["config"]["s3.secret-key"] == "******"
    assert gathered_fact["config"]["mixed.metrics.reporter.datadog.api-key"] == "******"


def test_no_canary_in_output_log_or_results(leak_run):
    _, _, _, canaries, run, _, _ = leak_run
    table = needles(canaries)
    hits = scan_text(run.proc.stdout, "stdout", table) + scan_text(run.proc.stderr, "stderr", table)
    hits += scan_text(run.log.read_text(), "ansible.log", table)
    hits += scan_text(json.dumps(run.records), "task results", table)
    assert not hits, hits[:10]


def test_no_canary_in_reports_cache_or_temporary_files(leak_run):
    base, _, _, canaries, run, report_dir, cache_dir = leak_run
    table = needles(canaries)
    # everything the run wrote: reports, fact cache, log, Ansible's temp dirs; only the config files
    # themselves and their backups (in the conf dirs) may hold the secrets
    hits = scan_tree(base, table, skip=[*conf_dirs(base), base / "inventory.yml", base / "run-leak" / "play.yml"])
    assert not hits, hits[:10]
    assert any(report_dir.iterdir()) and any(cache_dir.iterdir())


def test_conf_dirs_hold_only_configs_and_complete_backups_with_owner_and_mode(leak_run):
    _, hosts, originals, _, run, _, _ = leak_run
    edits = run.task("edit")
    for host, (conf, data, owner, mode) in originals.items():
        names = sorted(p.name for p in conf.parent.iterdir())
        st = conf.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (*owner, mode), host
        if edits[host]["status"] != "ok":
            assert names == [conf.name] and conf.read_bytes() == data, host
            continue
        backup = Path(edits[host]["result"]["backup_file"])
        assert names == sorted([conf.name, backup.name]), host  # no temporary file left behind
        assert backup.read_bytes() == data, host
        bst = backup.stat()
        assert (bst.st_uid, bst.st_gid, stat.S_IMODE(bst.st_mode)) == (*owner, mode), host


def test_redaction_marks_every_sensitive_value_in_the_gather(leak_run):
    _, hosts, _, _, run, _, _ = leak_run
    gathered = run.task("Gather_the_configuration_each_host_s_Flink_really_reads")
    for host in ("l117", "y20", "y23"):
        config = gathered[host]["result"]["config"]
        sensitive = [k for k in config if any(p in k.lower() for p in ALL_PATTERNS)]
        assert len(sensitive) >= len(PATTERN_KEYS), (host, sensitive)
        assert all(config[k] == opts.REDACTED for k in sensitive), host
