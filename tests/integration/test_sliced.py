"""The audit and enforce of a fleet under job slicing, run as AWX runs jobs: with ansible-runner.

A 40-host local fleet (JobManagers and TaskManagers on Flink 1.17, 1.20 and 2.3, drift, a host without a
config file and one that cannot be reached) is cut into 4 slices the way AWX cuts an inventory (hosts by
name, every 4th host), and each slice runs playbooks/gather.yml concurrently with --limit of its hosts
and one shared fact cache; playbooks/audit_aggregate.yml then builds the report from the cache alone.
It must equal the report of one unsliced playbooks/audit.yml run, timestamps aside. Slices that fail
or never run are named. The same with a Redis fact cache (a real redis-server from Debian on a free
loopback port, community.general's redis cache plugin from PyPI's ansible package, installed into a
test-only collections path). Then enforce: the plan is made once by the aggregate, and four
concurrent slices of playbooks/enforce_aggregate.yml apply it; every host gets the same sizes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import ansible_runner  # the engine AWX runs jobs with; pinned in requirements-test.txt
import pytest
import redis  # the redis cache plugin's client; pinned in requirements-test.txt
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import choose_config_file
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan

SLICES = 4
ANSIBLE_PACKAGE = "ansible==12.3.0"  # ships community.general (its redis cache) for ansible-core 2.19
CACHE_HOME = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "flinkops"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?")

TM = {
    "1.17.2": {"flink-conf.yaml": "taskmanager.memory.process.size: 4g\ntaskmanager.numberOfTaskSlots: 4\n"},
    "1.20.5": {"flink-conf.yaml": "taskmanager.memory.process.size: 4096m\n",
               "config.yaml": "taskmanager:\n  memory:\n    process:\n      size: 9g\n"},
    "2.3.0": {"config.yaml": "taskmanager:\n  numberOfTaskSlots: 4\n  memory:\n    process:\n      size: 4g\n"
                             "s3:\n  secret-key: sliced-secret-9\n"},
}
JM = {"2.3.0": {"config.yaml": "jobmanager:\n  memory:\n    process:\n      size: 1600m\n"}}


def build_fleet(base: Path, broken: bool = True) -> dict:
    """40 hosts jm1-jm4 and tm1-tm36; with ``broken``, tm7 has no config file, tm13 is unreachable and tm21
    has a managed fraction of its own (drift). flink_memory_limit_bytes: 5g on the hosts of the third AWX
    slice, 6g elsewhere (a plan fitted to the smallest host differs between slices)."""
    hosts, groups = {}, {"flink_jobmanager": {}, "flink_taskmanager": {}}
    names = [f"jm{i}" for i in range(1, 5)] + [f"tm{i}" for i in range(1, 37)]
    small = set(awx_slices(names)[2])
    for index, name in enumerate(names):
        is_jm = name.startswith("jm")
        version, files = next(iter(JM.items())) if is_jm else list(TM.items())[index % len(TM)]
        home = base / "homes" / name
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        files = dict(files)
        if broken and name == "tm21":
            files = {"config.yaml": "taskmanager.memory.process.size: 4g\ntaskmanager.memory.managed.fraction: 0.3\n"}
        if not (broken and name == "tm7"):
            for file_name, text in files.items():
                (home / "conf" / file_name).write_text(text)
        host = {"flink_home": str(home), "flink_memory_limit_bytes": "5g" if name in small else "6g"}
        if broken and name == "tm13":
            host.update(ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=free_port(),
                        ansible_ssh_common_args="-o ConnectTimeout=5 -o BatchMode=yes")
        hosts[name] = host
        groups["flink_jobmanager" if is_jm else "flink_taskmanager"][name] = None
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "hosts": hosts, "children": {g: {"hosts": members} for g, members in groups.items()}}}
    path = base / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return {"inventory": path, "hosts": names, "base": base}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def awx_slices(hosts: list, count: int = SLICES) -> list:
    """The hosts of each slice as AWX cuts an inventory: ordered by name, every count-th host."""
    ordered = sorted(hosts)
    return [ordered[k::count] for k in range(count)]


class Cache:
    """How every job of a test reaches the one shared fact cache."""

    def __init__(self, kind: str, env: dict, fact_dir: Path | None = None):
        self.kind, self.env, self.fact_dir = kind, env, fact_dir
        if fact_dir is not None:
            # made before the jobs start, as AWX makes each job's: slices creating it at the same moment race
            # in ansible-core, and the loser keeps its facts in memory (test_a_slice_whose_cache_cannot_load_fails)
            fact_dir.mkdir(parents=True, exist_ok=True)

    def runner_args(self) -> dict:
        if self.kind == "jsonfile":
            # ansible-runner's own jsonfile cache, pointed at one directory for every job (as AWX serves
            # one cache to every job of an inventory)
            return {"fact_cache": str(self.fact_dir), "fact_cache_type": "jsonfile"}
        return {"fact_cache_type": "none"}


def job(base: Path, name: str, playbook: str, fleet: dict, cache: Cache, *, limit=None, extravars=None,
        cancel=False, cmdline=None):
    """An ansible-runner job (not started): (thread, runner) of run_async."""
    private = base / "jobs" / name
    private.mkdir(parents=True)
    kwargs = dict(private_data_dir=str(private), playbook=playbook, inventory=str(fleet["inventory"]),
                  envvars=cache.env, extravars=extravars or {}, quiet=True, **cache.runner_args())
    if limit:
        kwargs["limit"] = ",".join(limit)
    if cmdline:
        kwargs["cmdline"] = cmdline
    if cancel:
        kwargs["cancel_callback"] = lambda: True
        # ansible-runner asks the callback every pexpect_timeout (5 s by default): on an idle machine the gather
        # of a slice was done by then and cached its hosts; 0.05 s cancels it before ansible-playbook has started
        kwargs["settings"] = {"pexpect_timeout": 0.05}
    return ansible_runner.run_async(**kwargs)


def wait(jobs: dict) -> dict:
    out = {}
    for name, (thread, runner) in jobs.items():
        thread.join(timeout=900)
        assert not thread.is_alive(), f"job {name} did not finish"
        out[name] = runner
    return out


def stdout(runner) -> str:
    try:
        return runner.stdout.read()
    except (OSError, ValueError):
        return ""


def run_one(base, name, playbook, fleet, cache, **kw):
    runner = wait({name: job(base, name, playbook, fleet, cache, **kw)})[name]
    return runner


def report(directory: Path) -> dict:
    data = json.loads((directory / "flink-audit.json").read_text())
    assert TIMESTAMP.fullmatch(data.pop("generated_at"))
    return data


def without_timestamps(path: Path) -> str:
    return TIMESTAMP.sub("<time>", path.read_text())


def playbook_path(collections_root: Path, name: str) -> str:
    return str(collections_root / "ansible_collections" / "flinkops" / "flink" / "playbooks" / f"{name}.yml")


def base_env(ansible_env: dict, collections: str) -> dict:
    env = {k: v for k, v in ansible_env.items() if k.startswith("ANSIBLE_") or k in ("PATH", "HOME")}
    env["ANSIBLE_COLLECTIONS_PATH"] = collections
    # ansible-runner starts ansible-playbook from PATH: this venv's
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    env["ANSIBLE_FORKS"] = "5"
    return env


# -- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return build_fleet(tmp_path_factory.mktemp("sliced"))


@pytest.fixture(scope="module")
def unsliced(fleet, ansible_env, collections_root):
    """One unsliced audit of the whole fleet (its own cache, unused): the report every aggregate must equal."""
    base = fleet["base"]
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)), base / "unsliced-cache")
    runner = run_one(base, "unsliced", playbook_path(collections_root, "audit"), fleet, cache,
                     extravars={"audit_report_dir": str(base / "unsliced"), "audit_fail_on": "never"})
    assert runner.rc == 0, stdout(runner)[-4000:]
    return base / "unsliced"


def sliced_gather(base: Path, fleet: dict, cache: Cache, collections_root: Path, tag: str,
                  plan: dict | None = None) -> dict:
    """Run the gather slices concurrently. ``plan`` gives a slice's treatment: run, cancel (before it starts),
    fail (ansible-playbook refuses its command line: nothing cached), unreachable (every host), skip."""
    plan = plan or {}
    jobs = {}
    for number, members in enumerate(awx_slices(fleet["hosts"]), start=1):
        how = plan.get(number, "run")
        if how == "skip":
            continue
        extra = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": free_port(),
                 "ansible_ssh_common_args": "-o ConnectTimeout=5 -o BatchMode=yes"} if how == "unreachable" else {}
        jobs[number] = job(base, f"{tag}-gather-{number}", playbook_path(collections_root, "gather"), fleet, cache,
                           limit=members, extravars=extra, cancel=how == "cancel",
                           cmdline="--forks=none" if how == "fail" else None)
    return wait(jobs)


def aggregate_run(base: Path, fleet: dict, cache: Cache, collections_root: Path, tag: str, **extravars):
    extravars = {"audit_report_dir": str(base / tag), "audit_fail_on": "never", "audit_slice_count": SLICES,
                 **extravars}
    return run_one(base, f"{tag}-aggregate", playbook_path(collections_root, "audit_aggregate"), fleet, cache,
                   extravars=extravars)


def check_equal_reports(unsliced: Path, aggregated: Path):
    assert report(aggregated) == report(unsliced)
    for name in ("flink-audit.md", "flink-audit.html", "flink-audit-junit.xml"):
        assert without_timestamps(aggregated / name) == without_timestamps(unsliced / name), name


# -- jsonfile ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def json_sliced(fleet, ansible_env, collections_root):
    """The four gather slices, run concurrently into one jsonfile cache."""
    base = fleet["base"]
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)), base / "json-cache")
    runners = sliced_gather(base, fleet, cache, collections_root, "json")
    for number, runner in runners.items():
        assert runner.status == "successful", f"slice {number}: {stdout(runner)[-3000:]}"
    return cache


def test_sliced_gather_then_aggregate_equals_the_unsliced_audit(fleet, unsliced, json_sliced, collections_root):
    base, cache = fleet["base"], json_sliced
    # every host recorded, by its own slice only; the secret never reaches the cache
    cached = sorted(p.name for p in (base / "json-cache").iterdir())
    assert len(cached) == 40 and all(name.startswith("s") for name in cached)
    assert not any("sliced-secret-9" in p.read_text() for p in (base / "json-cache").iterdir())

    runner = aggregate_run(base, fleet, cache, collections_root, "json-agg")
    assert runner.rc == 0, stdout(runner)[-4000:]
    out = stdout(runner)
    assert "Cached gather results: 40 of 40 hosts used" in out
    # it contacted no managed host: its only host is localhost
    assert re.findall(r"^(\S+)\s+: ok=", out, re.M) == ["localhost"]
    check_equal_reports(unsliced, base / "json-agg")
    data = report(base / "json-agg")
    by_name = {h["name"]: h for h in data["hosts"]}
    assert by_name["tm7"]["status"] == "failed" and by_name["tm13"]["status"] == "unreachable"
    assert "taskmanager" in data["summary"]["drift_groups"]


def test_the_fast_cache_reader_reads_what_ansible_core_decodes(fleet, json_sliced, ansible_env, collections_root):
    """cached_gather reads the cache without ansible-core's tagged decoder; both must give the same records."""
    cache_dir = json_sliced.fact_dir
    code = (
        "import json, os\n"
        "from ansible.plugins.loader import cache_loader, init_plugin_loader\n"
        "init_plugin_loader()\n"
        "from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg\n"
        "cache = cache_loader.get('ansible.builtin.jsonfile')\n"
        "hosts = json.loads(os.environ['HOSTS'])\n"
        "fast = cg.read_records(hosts, cache)\n"
        "slow = {h: dict(cache.get(h)['flink_gather']) for h in hosts}\n"
        "print(json.dumps({'same': fast == slow, 'n': len(fast)}))\n")
    env = dict(ansible_env, ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache_dir),
               HOSTS=json.dumps(fleet["hosts"]), PYTHONPATH=str(collections_root))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"same": True, "n": 40}


def test_failed_and_missing_slices_are_named(fleet, ansible_env, collections_root):
    base = fleet["base"]
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)), base / "broken-cache")
    slices = awx_slices(fleet["hosts"])
    runners = sliced_gather(base, fleet, cache, collections_root, "broken",
                            plan={2: "cancel", 3: "fail", 4: "unreachable"})
    assert runners[1].status == "successful" and runners[2].status == "canceled"
    assert runners[3].status == "failed" and runners[3].rc != 0
    # every host unreachable: recorded as such (ignore_unreachable), the job itself succeeds
    assert runners[4].status == "successful"

    runner = aggregate_run(base, fleet, cache, collections_root, "broken-agg", audit_fail_on="error")
    out = stdout(runner)
    assert runner.rc != 0 and "Flink audit failed (audit_fail_on=error)" in out
    assert re.search(r"Slice 2 of 4: missing, 10 of 10 hosts without a usable result", out)
    assert re.search(r"Slice 3 of 4: missing, 10 of 10 hosts without a usable result", out)
    assert "Slice 1 of 4" not in out and "Slice 4 of 4" not in out  # slice 4 recorded its hosts, unreachable
    hosts = {h["name"]: h for h in report(base / "broken-agg")["hosts"]}
    for host in slices[1] + slices[2]:
        number = 2 if host in slices[1] else 3
        assert hosts[host]["status"] == "failed"
        assert f"no cached gather result (AWX slice {number} of 4)" in hosts[host]["gather"]["msg"]
    for host in slices[3]:
        assert hosts[host]["status"] == "unreachable", host
    for host in slices[0]:
        assert hosts[host]["gather"]["ok"] == (host not in ("tm7", "tm13")), host

    # a plan from part of the fleet is refused, naming the hosts it lacks
    policy = {"taskmanager": {"process_size": "fit"}}
    runner = aggregate_run(base, fleet, cache, collections_root, "broken-plan", enforce_policy=policy)
    assert runner.rc != 0
    assert "no plan from part of the fleet: 20 hosts have no usable cached gather result" in stdout(runner)
    assert not (base / "broken-plan" / "flink-plan.json").exists()


def test_a_slice_whose_cache_cannot_load_fails(fleet, ansible_env, collections_root):
    """ansible-core falls back to the memory cache when its cache plugin fails to load, warns and would succeed;
    the gather fails, naming the cache and the hosts. A cache directory below a file is one way to make the
    jsonfile plugin fail to load; two slices creating a missing directory at once is another (seen once)."""
    base = fleet["base"]
    (base / "not-a-dir").write_text("")
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)))
    cache.fact_dir = base / "not-a-dir" / "cache"
    members = awx_slices(fleet["hosts"])[0]
    runner = run_one(base, "lost-gather", playbook_path(collections_root, "gather"), fleet, cache, limit=members)
    out = stdout(runner)
    assert runner.status == "failed" and runner.rc != 0, out[-3000:]
    assert "flinkops.flink.gather_kept: the fact cache plugin 'jsonfile' cannot be loaded" in out, out[-3000:]
    assert "Not a directory" in out


def test_results_older_than_the_maximum_age_are_refused(fleet, json_sliced, ansible_env, collections_root):
    """A record is as old as its gathered_at says: one aged by editing the cache (not by waiting)."""
    base, source = fleet["base"], json_sliced.fact_dir
    aged = base / "aged-cache"
    shutil.copytree(source, aged)
    victim = next(p for p in aged.iterdir() if p.name.endswith("_tm2"))
    stored = json.loads(victim.read_text())
    facts = json.loads(stored["__payload__"])
    record = facts["flink_gather"].get("value", facts["flink_gather"])
    record["gathered_at"] -= 7200
    stored["__payload__"] = json.dumps(facts)
    victim.write_text(json.dumps(stored))
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)), aged)
    runner = aggregate_run(base, fleet, cache, collections_root, "aged-agg", audit_max_age=3600)
    out = stdout(runner)
    assert runner.rc == 0, out[-3000:]
    assert "Too old (1): tm2" in out
    host = next(h for h in report(base / "aged-agg")["hosts"] if h["name"] == "tm2")
    assert host["status"] == "failed" and "older than the maximum age (3600 s)" in host["gather"]["msg"]


def test_the_aggregate_refuses_a_limit(fleet, json_sliced, collections_root):
    """A limit that left localhost out would run nothing and pass: the aggregate fails and says why."""
    runner = run_one(fleet["base"], "limited-agg", playbook_path(collections_root, "audit_aggregate"), fleet,
                     json_sliced, limit=["tm1"], extravars={"audit_report_dir": str(fleet["base"] / "limited")})
    assert runner.rc != 0
    assert "run it without --limit (tm1)" in stdout(runner)
    assert not (fleet["base"] / "limited").exists()


# -- redis ------------------------------------------------------------------------------------------------------
def community_general() -> Path:
    """A collections path holding only community.general, from PyPI's ansible package (not installed into the
    venv: it would put some hundred collections beside the ones the other tests see)."""
    root = CACHE_HOME / f"collections-{ANSIBLE_PACKAGE.replace('==', '-')}"
    marker = root / "ansible_collections" / "community" / "general" / "plugins" / "cache" / "redis.py"
    if marker.exists():
        return root
    download = CACHE_HOME / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(download),
                           ANSIBLE_PACKAGE], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"pip download {ANSIBLE_PACKAGE} failed: {proc.stderr[-2000:]}"
    wheel = next(download.glob(f"{ANSIBLE_PACKAGE.replace('==', '-')}-*.whl"))
    partial = root.with_name(root.name + f".{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        prefix = "ansible_collections/community/general/"
        archive.extractall(partial, [m for m in archive.namelist() if m.startswith(prefix)])
    shutil.rmtree(root, ignore_errors=True)
    os.replace(partial, root)
    return root


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: tools/bootstrap.sh installs it (apt-get install redis-server)"
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_same_with_a_redis_fact_cache(fleet, unsliced, ansible_env, collections_root, redis_server):
    base = fleet["base"]
    extra = community_general()
    env = base_env(ansible_env, f"{collections_root}:{extra}")
    env.update(ANSIBLE_CACHE_PLUGIN="community.general.redis",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=f"127.0.0.1:{redis_server}:0",
               ANSIBLE_CACHE_PLUGIN_PREFIX="flinkops_test_")
    cache = Cache("redis", env)
    runners = sliced_gather(base, fleet, cache, collections_root, "redis")
    for number, runner in runners.items():
        assert runner.status == "successful", f"slice {number}: {stdout(runner)[-3000:]}"
    keys = redis.Redis(host="127.0.0.1", port=redis_server).keys("flinkops_test_*")
    assert len([k for k in keys if not k.endswith(b"_keys")]) >= 40

    runner = aggregate_run(base, fleet, cache, collections_root, "redis-agg")
    assert runner.rc == 0, stdout(runner)[-4000:]
    assert "Cached gather results: 40 of 40 hosts used" in stdout(runner)
    check_equal_reports(unsliced, base / "redis-agg")


# -- enforce ----------------------------------------------------------------------------------------------------
def sizes_on_disk(fleet: dict) -> dict:
    """Each TaskManager's process size and slots as Flink of its version reads them from its file now."""
    out = {}
    for index, host in enumerate(fleet["hosts"]):
        if not host.startswith("tm"):
            continue
        version = list(TM)[index % len(TM)]
        conf = fleet["base"] / "homes" / host / "conf"
        choice = choose_config_file(version, [p.name for p in conf.iterdir()])
        parse = parse_flink_conf if choice.format == "legacy" else parse_config_yaml
        config = parse((conf / choice.name).read_bytes(), choice.name).config
        out[host] = (config.get("taskmanager.memory.process.size"), config.get("taskmanager.numberOfTaskSlots"))
    return out


def test_enforce_across_slices_applies_one_plan(tmp_path, ansible_env, collections_root):
    fleet = build_fleet(tmp_path, broken=False)
    base = fleet["base"]
    cache = Cache("jsonfile", base_env(ansible_env, str(collections_root)), base / "cache")
    runners = sliced_gather(base, fleet, cache, collections_root, "enf")
    assert all(r.status == "successful" for r in runners.values())
    policy = {"taskmanager": {"process_size": "fit", "slots": 4}}
    runner = aggregate_run(base, fleet, cache, collections_root, "agg", enforce_policy=policy)
    assert runner.rc == 0, stdout(runner)[-4000:]
    plan_file = base / "agg" / "flink-plan.json"
    plan = json.loads(plan_file.read_text())["enforce_plan"]
    planned = plan["groups"]["taskmanager"]["set"]["taskmanager.memory.process.size"]

    # Each slice alone would size its TaskManagers from the hosts it sees (the 5g hosts are all in the third
    # slice): the test fleet makes slices disagree, and the aggregate plan fits the smallest host.
    cached = {}
    for path in (base / "cache").iterdir():
        facts = json.loads(json.loads(path.read_text())["__payload__"])
        record = facts["flink_gather"].get("value", facts["flink_gather"])
        host = path.name.split("_", 1)[1]
        cached[host] = json.loads(record["result_json"])
    small = set(awx_slices(fleet["hosts"])[2])
    limits = {h: ("5g" if h in small else "6g") for h in cached}
    per_slice = set()
    for members in awx_slices(fleet["hosts"]):
        part = {h: cached[h] for h in members}
        got = memory_plan(part, policy, memory_limits={h: limits[h] for h in members})
        per_slice.add(got["groups"]["taskmanager"]["set"]["taskmanager.memory.process.size"])
    whole = memory_plan(cached, policy, memory_limits=limits)["groups"]["taskmanager"]["set"]
    assert len(per_slice) > 1, per_slice
    assert planned == whole["taskmanager.memory.process.size"]

    jobs = {}
    for number, members in enumerate(awx_slices(fleet["hosts"]), start=1):
        jobs[number] = job(base, f"enforce-{number}", playbook_path(collections_root, "enforce_aggregate"), fleet,
                           cache, limit=members, cmdline=f"-e @{plan_file} -e enforce_confirm=true")
    for number, runner in wait(jobs).items():
        assert runner.status == "successful", f"enforce slice {number}: {stdout(runner)[-4000:]}"
    written = sizes_on_disk(fleet)
    assert set(written.values()) == {(planned, "4")}, written
