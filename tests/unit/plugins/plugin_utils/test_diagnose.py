"""diagnose: real Flink failures (fixtures captured on loopback, tests/e2e/diagnose_cluster.py) to the code,
host, keys, evidence line and a fix the memory model accepts on every host of the group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import REDACTED
from ansible_collections.flinkops.flink.plugins.plugin_utils import live
from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import DiagnoseError, diagnose, redact_line

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "diagnose"
# case -> (code, host, process, a text the evidence line holds, as Flink writes it)
EXPECTED = {
    "network-buffers": ("network-buffers", "tm1", "taskmanager", "Insufficient number of network buffers: required "),
    "heap-oom": ("heap-oom", "tm1", "taskmanager", "java.lang.OutOfMemoryError: Java heap space"),
    "direct-oom": ("direct-oom", "tm1", "taskmanager", "java.lang.OutOfMemoryError: Direct buffer memory"),
    "metaspace-oom": ("metaspace-oom", "tm1", "taskmanager", "java.lang.OutOfMemoryError: Metaspace"),
    "managed-memory": ("managed-memory", "tm1", "taskmanager", "Too little memory provided to sorter to perform task."),
    "slots-unfulfillable": ("slots-unfulfillable", "jm", "jobmanager",
                            "NoResourceAvailableException: Could not acquire the minimum required resources."),
    "refused-config": ("refused-config", "tm1", "taskmanager",
                       "[ERROR] Could not get JVM parameters and dynamic configurations properly."),
    "oom-killed": ("oom-killed", "tm1", "taskmanager", "Memory cgroup out of memory: Killed process "),
    "jm-heap-oom": ("heap-oom", "jm", "jobmanager", "java.lang.OutOfMemoryError: Java heap space"),
    "network-pool-allocation": ("network-pool-allocation", "tm1", "taskmanager",
                                "Could not allocate enough memory segments for NetworkBufferPool (required (MB): "),
    "rocksdb-managed": ("managed-memory", "tm1", "taskmanager",
                        "RocksDBStateBackend performance will be poor because of the current Flink memory"),
    # tm1's JVM stopped (SIGSTOP): the JobManager's heartbeat of it times out
    "taskmanager-lost": ("taskmanager-lost", "tm1", "taskmanager", "eartbeat of TaskManager with id tm1 timed out."),
}
NO_FIX = ("slots-unfulfillable", "network-pool-allocation", "taskmanager-lost")
CASES = sorted((line.name, case.name) for line in FIXTURES.iterdir() if line.is_dir()
               for case in line.iterdir() if (case / "case.json").is_file())


def load(line: str, case: str, extra_tms: int = 0) -> tuple[dict, dict]:
    """The gather results of a captured case: each host's config and its log files as ``logs``."""
    folder = FIXTURES / line / case
    data = json.loads((folder / "case.json").read_text())
    results = {}
    for host, record in data["hosts"].items():
        # the kernel's clock as the gather reads it with dmesg (boot time, UTC offset), where it was captured
        logs = [{"file": entry["file"], "text": (folder / entry["fixture"]).read_text(errors="replace"),
                 **{k: entry[k] for k in ("boot_time", "utc_offset") if k in entry}} for entry in record["logs"]]
        results[host] = dict(record, logs=logs, mem_total_bytes=8 << 30, cgroup_memory_limit_bytes=None)
    for i in range(extra_tms):  # more TaskManagers of the same group, same file, no logs gathered
        twin = dict(results["tm1"], logs=[])
        twin["config"] = dict(twin["config"], **{"taskmanager.resource-id": f"tm{i + 2}"})
        results[f"tm{i + 2}"] = twin
    return data, results


def applied(config: dict, fix: dict) -> dict:
    out = {k: v for k, v in config.items() if k not in fix["remove"]}
    out.update(fix["settings"])
    return out


def test_fixtures_cover_every_code_on_both_lines():
    captured = {line: {case for ln, case in CASES if ln == line} for line, _unused in CASES}
    assert "2.3" in captured and "1.20" in captured
    for line in ("2.3", "1.20"):
        assert {"network-buffers", "heap-oom", "refused-config"} <= captured[line], line


@pytest.mark.parametrize(("line", "case"), CASES)
def test_real_failure_is_diagnosed_with_its_evidence_line(line, case):
    data, results = load(line, case)
    code, host, process, text = EXPECTED[case]
    out = diagnose(results)
    found = [d for d in out["hosts"][host] if d["code"] == code]
    assert found, f"{case}: {[d['code'] for d in out['hosts'][host]]}"
    diagnosis = found[0]
    assert diagnosis["process"] == process
    assert diagnosis["keys"]
    evidence = diagnosis["evidence"]
    assert text in evidence["message"]
    # The line named is the line of the file that holds that message, byte for byte.
    folder = FIXTURES / line / case
    fixture = next(e["fixture"] for e in data["hosts"][evidence["host"]]["logs"] if e["file"] == evidence["file"])
    assert "-client-" not in fixture  # bin/flink's log relays errors; the daemons' logs are the evidence
    assert (folder / fixture).read_text(errors="replace").splitlines()[evidence["line"] - 1] == evidence["message"]
    assert diagnosis["now"]["sizes"] is not None or not diagnosis["now"]["valid"] or code == "slots-unfulfillable"
    # Nothing else on the healthy hosts but what the JobManager saw of the same failure.
    jm_codes = {d["code"] for d in out["hosts"].get("jm", []) if d["process"] == "jobmanager"}
    assert jm_codes <= {code, "taskmanager-lost"}, jm_codes


@pytest.mark.parametrize(("line", "case"), [c for c in CASES if c[1] not in NO_FIX])
def test_fix_is_valid_on_every_host_of_the_group(line, case):
    data, results = load(line, case, extra_tms=2)
    code, host, process, _text = EXPECTED[case]
    diagnosis = next(d for d in diagnose(results)["hosts"][host] if d["code"] == code)
    fix = diagnosis["fix"]
    assert fix["valid"], fix
    assert fix["hosts"] == (["jm"] if process == "jobmanager" else ["tm1", "tm2", "tm3"])
    for member in fix["hosts"]:
        model = compute(applied(results[member]["config"], fix), process, data["flink_version"])
        assert model["valid"], (member, model["error"])
        assert model["sizes"] == fix["memory"][member]
    assert fix["settings"] and fix["policy"][process]["process_size"] == fix["process_size"]


def test_network_fix_gives_the_buffers_the_message_asks_for():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "network-buffers")
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "network-buffers")
        now, fix = diagnosis["now"], diagnosis["fix"]
        assert now["network_buffers"] == 64  # network.min = max = 2m of 32 KiB segments, as the message says
        assert now["keys"]["taskmanager.memory.network.max"] == "2m"
        assert "of 32768 bytes each" in diagnosis["evidence"]["message"]
        new = fix["memory"]["tm1"]
        assert new["network"] // 32768 > 64 + 9 * 8 - 1
        old = now["sizes"]
        assert new["task_heap"] >= old["task_heap"] and new["managed"] >= old["managed"]


def test_refused_config_names_the_cause_and_the_keys_the_file_sets():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "refused-config")
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "refused-config")
        assert "IllegalConfigurationException" in diagnosis["evidence"]["cause"]
        assert not diagnosis["now"]["valid"]
        assert {"taskmanager.memory.task.heap.size", "taskmanager.memory.managed.size"} <= set(diagnosis["keys"])


def test_pool_capped_by_the_files_own_jvm_option_gets_no_memory_fix():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "network-pool-allocation")
        codes = [d["code"] for d in diagnose(results)["hosts"]["tm1"]]
        assert "direct-oom" not in codes  # the pool's segments failing first are the same failure
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "network-pool-allocation")
        assert not diagnosis["fix"]["valid"]
        assert "env.java.opts.taskmanager sets -XX:MaxDirectMemorySize=16m" in diagnosis["fix"]["error"]
        # Without that option, more task off-heap memory is the fix.
        results["tm1"]["config"].pop("env.java.opts.taskmanager")
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "network-pool-allocation")
        assert diagnosis["fix"]["valid"] and "taskmanager.memory.task.off-heap.size" in diagnosis["fix"]["settings"]


def test_rocksdb_warning_is_a_warning_with_more_managed_memory():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "rocksdb-managed")
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "managed-memory")
        assert diagnosis["severity"] == "warning"
        assert diagnosis["fix"]["memory"]["tm1"]["managed"] >= 2 * diagnosis["now"]["sizes"]["managed"]


def test_oom_kill_is_tied_to_the_jvm_and_fits_the_cgroup_limit():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "oom-killed")
        diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")
        evidence = diagnosis["evidence"]
        assert evidence["command"] == "java" and evidence["limit_bytes"] == 1200 << 20
        assert any("TaskManager with id tm1" in r["message"] for r in evidence.get("related", ()))
        assert diagnosis["fix"]["memory"]["tm1"]["total_process"] <= evidence["limit_bytes"]


def test_jobmanager_account_is_tied_to_the_taskmanager_when_its_log_is_missing():
    _data, results = load("2.3", "network-buffers")
    results["tm1"]["logs"] = []
    diagnosis = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "network-buffers")
    assert diagnosis["evidence"]["host"] == "jm"
    assert diagnosis["evidence"]["taskmanager_id"] == "tm1"


def test_sensitive_values_in_log_lines_are_hidden():
    assert redact_line("INFO  [] - Loading configuration property: s3.secret-key, abc") .endswith(
        "s3.secret-key, " + REDACTED)
    assert "hunter2" not in redact_line("Caused by: x: password=hunter2 while reading")
    _data, results = load("2.3", "refused-config")
    for entry in results["tm1"]["logs"]:
        entry["text"] = entry["text"].replace(
            "[ERROR] Could not get JVM", "[ERROR] fs.azure.account.key=SECRETVALUE Could not get JVM")
    out = diagnose(results)
    assert "SECRETVALUE" not in json.dumps(out)


@pytest.mark.parametrize("logs", ["text", [1], [{"lines": ["x"]}], [{"file": "a", "lines": "x"}],
                                  [{"file": "a", "text": "x", "first_line": 0}]])
def test_bad_logs_name_the_host_and_entry(logs):
    _data, results = load("2.3", "heap-oom")
    results["tm1"]["logs"] = logs
    with pytest.raises(DiagnoseError, match="host tm1: logs"):
        diagnose(results)


def test_failed_host_is_skipped_not_fatal():
    _data, results = load("2.3", "heap-oom")
    results["tm9"] = {"failed": True, "msg": "unreachable"}
    out = diagnose(results)
    assert out["skipped"] == [{"host": "tm9", "msg": "unreachable"}]
    assert any(d["code"] == "heap-oom" for d in out["hosts"]["tm1"])


def test_ansible_doc(ansible_env, ansible_bin):
    import subprocess

    import yaml

    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", "flinkops.flink.diagnose"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    for word in ("network-buffers", "first_line", "refused-config", "unattributed"):
        assert word in proc.stdout
    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", "--json", "flinkops.flink.diagnose"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    tasks = yaml.safe_load(json.loads(proc.stdout)["flinkops.flink.diagnose"]["examples"])
    assert isinstance(tasks, list) and all("name" in t for t in tasks)


def test_slots_fix_needs_every_taskmanager_of_the_group_registered():
    _data, results = load("2.3", "slots-unfulfillable", extra_tms=1)
    # flink_cluster_info's taskmanagers: tm2 never registered
    cluster = {"slots_total": 1, "taskmanager_count": 1, "taskmanagers": [{"id": "tm1", "slots": 1, "free_slots": 1}]}
    diagnosis = next(d for d in diagnose(results, cluster)["hosts"]["jm"] if d["code"] == "slots-unfulfillable")
    assert not diagnosis["fix"]["valid"] and "tm2" in diagnosis["fix"]["error"]
    assert diagnosis["now"]["registered_slots"] == 1
    # Both registered: 4 slots asked for over 2 TaskManagers
    cluster["taskmanagers"].append({"id": "tm2", "slots": 1, "free_slots": 1})
    diagnosis = next(d for d in diagnose(results, cluster)["hosts"]["jm"] if d["code"] == "slots-unfulfillable")
    assert diagnosis["fix"]["valid"] and diagnosis["fix"]["settings"]["taskmanager.numberOfTaskSlots"] == "2"
    assert diagnosis["fix"]["hosts"] == ["tm1", "tm2"]


@pytest.mark.parametrize(("group_by", "hosts"), [("all", ["tm1", "tm2", "tm3"]),
                                                 ({"east": ["tm1", "tm2"], "west": ["tm3", "jm"]}, ["tm1", "tm2"])])
def test_fix_covers_the_group_of_the_host(group_by, hosts):
    _data, results = load("2.3", "network-buffers", extra_tms=2)
    out = diagnose(results, group_by=group_by)
    fix = next(d for d in out["hosts"]["tm1"] if d["code"] == "network-buffers")["fix"]
    assert fix["valid"] and fix["hosts"] == hosts
    assert out["summary"] == {"hosts": 1, "diagnoses": 1, "codes": ["network-buffers"]}


def test_kernel_kill_is_tied_by_pid_when_the_gather_saw_the_jvm():
    _data, results = load("2.3", "oom-killed")
    kernel = next(e for e in results["tm1"]["logs"] if e["file"] == "dmesg")
    del kernel["boot_time"]  # no clock: neither pid nor time ties it
    kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")
    assert kill["evidence"]["tied_by"] == "the only Flink JVM on the host"
    pid = kill["evidence"]["pid"]
    results["tm1"]["live_probe"] = {"now": 1, "mtime": 1, "processes": [{"pid": pid, "started": 1}], "jobmanagers": []}
    kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")
    assert kill["evidence"]["tied_by"] == "pid" and kill["process"] == "taskmanager"
    # A JVM restarted since has another pid: still a java kill on a Flink host, said so.
    results["tm1"]["live_probe"]["processes"] = [{"pid": pid + 1, "started": 1}]
    kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")
    assert kill["evidence"]["tied_by"].startswith("a java process on a host running Flink")
    # A kernel kill of another program is nobody's Flink failure.
    for entry in results["tm1"]["logs"]:
        entry["text"] = entry["text"].replace(f"Killed process {pid} (java)", f"Killed process {pid} (python3)")
    assert not [d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed"]


def test_kernel_kill_is_tied_to_the_jvm_by_time():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "oom-killed")
        kernel = next(e for e in results["tm1"]["logs"] if e["file"] == "dmesg")
        assert isinstance(kernel["boot_time"], int) and kernel["utc_offset"]
        kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")
        evidence = kill["evidence"]
        # tm1's JVM started before the kill and wrote nothing after it (its log's own records)
        assert evidence["tied_by"] == "time", evidence
        jvm = evidence["jvm"]
        assert jvm["file"].endswith(".log") and "taskexecutor" in jvm["file"]
        assert jvm["started"] < evidence["time"] and jvm["last_record"] <= evidence["time"]
        text = (FIXTURES / line / "oom-killed" / "tm1__flink-tm1-taskexecutor-0-vm.log").read_text()
        assert text.startswith(jvm["started"]) and " -  Starting TaskManager (Version: " in text  # the JVM's start
        # the kill's time is the kernel's stamp on the host's clock, as the host's logs write times
        assert evidence["time"][:10] == jvm["started"][:10]


def test_kernel_kill_of_a_java_program_while_the_flink_jvm_logged_on_is_not_flinks():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "oom-killed")
        kernel = next(e for e in results["tm1"]["logs"] if e["file"] == "dmesg")
        kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")["evidence"]
        # the same kill 15 s earlier: tm1's JVM had started and went on logging for more than 5 s after it
        started, last = kill["jvm"]["started"], kill["jvm"]["last_record"]
        kernel["boot_time"] -= 15
        codes = [d["code"] for d in diagnose(results)["hosts"]["tm1"]]
        assert "oom-killed" not in codes, (started, last, codes)
        # before the JVM started (a kill of its predecessor, whose log was rotated): not known, said so
        kernel["boot_time"] -= 3600
        kill = next(d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "oom-killed")["evidence"]
        assert kill["tied_by"].startswith("a java process on a host running Flink") or \
            kill["tied_by"] == "the only Flink JVM on the host"


def test_fix_respects_the_inventory_memory_limit():
    _data, results = load("2.3", "slots-unfulfillable")
    fix = next(d for d in diagnose(results)["hosts"]["jm"] if d["code"] == "slots-unfulfillable")["fix"]
    assert fix["valid"]  # 4 slots at about 3 GiB: fits 8 GiB of RAM
    fix = next(d for d in diagnose(results, memory_limits={"tm1": "2g"})["hosts"]["jm"]
               if d["code"] == "slots-unfulfillable")["fix"]
    assert not fix["valid"] and "tm1" in fix["error"], fix


# --- The job's exception history over REST (flink_cluster_info exceptions: true) --------------------------

URL = "http://127.0.0.1:8081"
REST_CASES = [c for c in CASES if "rest" in json.loads((FIXTURES / c[0] / c[1] / "case.json").read_text())]
# case -> the code the exception history alone gives (a kernel kill is not in it: the loss of the TaskManager is)
REST_CODE = {"heap-oom": "heap-oom", "oom-killed": "taskmanager-lost", "taskmanager-lost": "taskmanager-lost"}


def cluster_of(line: str, case: str) -> dict:
    """flink_cluster_info's result (exceptions: true) from the REST answers captured with the case."""
    folder = FIXTURES / line / case
    raw = json.loads((folder / json.loads((folder / "case.json").read_text())["rest"]).read_text())
    return live.from_answers(URL, raw["overview"], raw["taskmanagers"], {"jobs": raw["jobs"]}, raw["exceptions"])


def test_rest_fixtures_cover_both_lines():
    assert {line for line, _case in REST_CASES} == {"2.3", "1.20"}, REST_CASES
    assert {case for _line, case in REST_CASES} >= set(REST_CODE)


@pytest.mark.parametrize(("line", "case"), REST_CASES)
def test_exception_history_ties_the_failure_to_the_taskmanager_and_its_host(line, case):
    _data, results = load(line, case)
    for result in results.values():
        result["logs"] = []  # no log gathered anywhere: the REST history is the only evidence
    cluster = cluster_of(line, case)
    job = cluster["jobs"][0]
    assert job["state"] == "FAILED" and job["exceptions"]["entries"]
    out = diagnose(results, cluster)
    found = [d for d in out["hosts"]["tm1"] if d["code"] == REST_CODE[case]]
    assert found, (case, out["hosts"], out["unattributed"])
    evidence = found[0]["evidence"]
    assert found[0]["process"] == "taskmanager"
    assert evidence["source"] == "rest" and evidence["taskmanager_id"] == "tm1"
    assert evidence["file"] == f"{URL}/jobs/{job['id']}/exceptions" and evidence["entry"] == evidence["line"] == 1
    assert evidence["endpoint"].rsplit(":", 1)[1].isdigit() and evidence["task"]
    assert evidence["time"][:4] == "2026"
    # The message as Flink wrote it, one of the entry's lines
    entry = job["exceptions"]["entries"][0]
    lines = entry["causes"] + [line for c in entry["concurrent"] for line in c["causes"]]
    assert evidence["message"] in lines
    # Without the cluster's history (as before), nothing is known of the failure
    assert not diagnose(results)["hosts"]["tm1"]


def test_log_evidence_comes_first_and_the_rest_entry_beside_it():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "heap-oom")
        d = next(x for x in diagnose(results, cluster_of(line, "heap-oom"))["hosts"]["tm1"] if x["code"] == "heap-oom")
        assert d["evidence"]["host"] == "tm1" and d["evidence"]["file"].endswith(".log")
        assert d["rest"]["source"] == "rest" and d["rest"]["taskmanager_id"] == "tm1"
        assert d["rest"]["message"] == "java.lang.OutOfMemoryError: Java heap space"
        assert d["fix"]["valid"]


def test_kernel_kill_gets_the_jobmanagers_rest_account_of_the_lost_taskmanager():
    for line in ("2.3", "1.20"):
        _data, results = load(line, "oom-killed")
        kill = next(d for d in diagnose(results, cluster_of(line, "oom-killed"))["hosts"]["tm1"]
                    if d["code"] == "oom-killed")
        rest = [r for r in kill["evidence"]["related"] if r.get("source") == "rest"]
        assert rest and rest[0]["message"].endswith("TaskManager with id tm1 is no longer reachable."), kill
        assert rest[0]["taskmanager_id"] == "tm1"


def test_taskmanager_without_resource_id_is_tied_by_its_endpoint():
    _data, results = load("2.3", "heap-oom")
    for result in results.values():
        result["logs"] = []
    cluster = cluster_of("2.3", "heap-oom")
    entry = cluster["jobs"][0]["exceptions"]["entries"][0]["concurrent"][0]
    entry["taskmanager_id"] = "127.0.0.1:44108-a96259"  # the id Flink makes up without taskmanager.resource-id
    results["tm1"]["config"].pop("taskmanager.resource-id")
    out = diagnose(results, cluster)
    assert not out["hosts"]["tm1"] and out["unattributed"][0]["code"] == "heap-oom"  # localhost is no host of ours
    results["tm1"]["config"]["taskmanager.host"] = entry["endpoint"].rsplit(":", 1)[0]
    d = next(x for x in diagnose(results, cluster)["hosts"]["tm1"] if x["code"] == "heap-oom")
    assert d["evidence"]["taskmanager_id"] == "127.0.0.1:44108-a96259"


def test_bad_exception_history_names_the_job():
    _data, results = load("2.3", "heap-oom")
    cluster = cluster_of("2.3", "heap-oom")
    cluster["jobs"][0]["exceptions"]["entries"] = ["x"]
    with pytest.raises(DiagnoseError, match=f"jobs\\[{cluster['jobs'][0]['id']}\\].exceptions.entries\\[0\\]"):
        diagnose(results, cluster)


def _records(heads: list[str], cause: str) -> str:
    return "".join(f"{head}\n{cause}\n\tat org.apache.flink.Task.run(Task.java:1)\n" for head in heads)


def test_a_failure_repeated_in_several_records_counts_each_and_shows_the_newest():
    """The same text in three records (a job failing at each restart): three occurrences, the newest record's
    time, line and head as the evidence (each line's text is matched once, each record still its own)."""
    _data, results = load("2.3", "heap-oom")
    heads = [f"2026-12-02 08:0{m}:00,000 ERROR org.apache.flink.runtime.taskmanager.Task [] - Task {m} failed."
             for m in range(3)]
    results["tm1"]["logs"] = [{"file": "/l/flink-u-taskexecutor-0-tm1.log",
                               "text": _records(heads, "java.lang.OutOfMemoryError: Java heap space")}]
    (diagnosis,) = [d for d in diagnose(results)["hosts"]["tm1"] if d["code"] == "heap-oom"]
    evidence = diagnosis["evidence"]
    assert diagnosis["occurrences"] == 3, diagnosis
    assert (evidence["time"], evidence["line"], evidence["record"]) == ("2026-12-02 08:02:00,000", 8, heads[2])


def test_the_same_text_in_records_naming_two_taskmanagers_goes_to_each():
    """The JobManager logs one task's heap OOM on tm1, then the same text for a task on tm2: one diagnosis on
    each TaskManager's host, each with its own record as the evidence."""
    _data, results = load("2.3", "heap-oom", extra_tms=1)
    heads = [f"2026-12-02 08:0{m}:00,000 INFO  org.apache.flink.runtime.executiongraph.ExecutionGraph [] - "
             f"Source (1/1) switched from RUNNING to FAILED on {tm} @ localhost (dataPort=4{m}00)."
             for m, tm in enumerate(("tm1", "tm2"))]
    results["tm1"]["logs"] = []
    results["jm"]["logs"] = [{"file": "/l/flink-u-standalonesession-0-jm.log",
                              "text": _records(heads, "java.lang.OutOfMemoryError: Java heap space")}]
    out = diagnose(results)["hosts"]
    for host, head in zip(("tm1", "tm2"), heads, strict=True):
        (diagnosis,) = [d for d in out[host] if d["code"] == "heap-oom"]
        assert diagnosis["evidence"]["record"] == head and diagnosis["occurrences"] == 1, (host, diagnosis)
