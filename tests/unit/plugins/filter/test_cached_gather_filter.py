"""gather_record, cached_gather, aggregate_plan filters: adapters, misuse as AnsibleFilterError, the cache format.

The whole path (real slices writing a real jsonfile and Redis cache, the aggregate reading it) is in
tests/integration/test_sliced.py, which also checks that the fast reader and ansible-core's decoder agree.
"""

import json
import subprocess
import sys
import time

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg

OK = {"changed": False, "failed": False, "config": {"taskmanager.memory.process.size": "4g"},
      "flink_version": "2.3.0", "processes": ["taskmanager"]}


def test_gather_record_is_made_now_and_refuses_what_is_no_result():
    before = time.time()
    record = cg.gather_record(OK, live=True, memory_limit="3g")
    assert before - 1 <= record["gathered_at"] <= time.time() + 1
    assert record["live"] is True and record["memory_limit"] == "3g" and json.loads(record["result_json"]) == OK
    with pytest.raises(AnsibleFilterError, match="flinkops.flink.gather_record: a gather result is a mapping"):
        cg.gather_record("text")


def test_untagged_removes_the_tag_wrappers_ansible_core_writes():
    # the shape of a record in a 2.19 jsonfile payload (one template made it: one origin tag on the mapping)
    stored = {"value": {"format": 1, "gathered_at": {"value": 1.5, "tags": [], "__ansible_type": "_AnsibleTaggedFloat"},
                        "live": False, "result_json": "{}", "memory_limit": None},
              "tags": [{"path": "/p/gather.yml", "line_num": 30, "col_num": 23, "__ansible_type": "Origin"}],
              "__ansible_type": "_AnsibleTaggedDict"}
    assert cg._untagged(stored) == {"format": 1, "gathered_at": 1.5, "live": False, "result_json": "{}",
                                    "memory_limit": None}
    with pytest.raises(ValueError, match="does not know"):
        cg._untagged({"__ansible_type": "Something", "other": 1})


class _Backend:
    """A cache backend holding what ansible-core's interposer stores: {"__payload__": JSON text}."""

    def __init__(self, data):
        self.data = data

    def get(self, key):
        return self.data[key]


class _Interposed:
    def __init__(self, data, decoded):
        self.__wrapped__ = _Backend(data)
        self.decoded = decoded

    @staticmethod
    def _get_key(key):
        return f"s1_{key}"

    def get(self, key):  # ansible-core's own path, used when the payload is not as expected
        return self.decoded[key]


def test_read_records_reads_payloads_and_falls_back_to_the_cache_own_decoder():
    record = cg.gather_record(OK)
    cache = _Interposed({"s1_tm1": {"__payload__": json.dumps({"flink_gather": record})},
                         "s1_tm2": {"something": "else"}},
                        {"tm2": {"flink_gather": record}})
    assert cg.read_records(["tm1", "tm2", "tm3"], cache) == {"tm1": record, "tm2": record, "tm3": None}


def test_cached_gather_refuses_the_memory_cache_and_a_string():
    code = ("from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg\n"
            "try:\n    cg.cached_gather(['tm1'])\nexcept Exception as exc:\n    print(exc)\n")
    env = {"PYTHONPATH": ":".join(sys.path), "ANSIBLE_CACHE_PLUGIN": "memory", "HOME": "/tmp"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "the fact cache is 'memory', which keeps nothing between runs" in out.stdout, out.stderr
    with pytest.raises(AnsibleFilterError, match="a list of hostnames"):
        cg.cached_gather("tm1")


def test_aggregate_plan_refuses_a_selection_that_lacks_hosts():
    selection = {"results": {}, "hosts": ["tm1"], "missing": ["tm1"], "stale": [], "refused": [],
                 "summary": {"complete": False}}
    with pytest.raises(AnsibleFilterError, match=r"aggregate_plan: no plan from part of the fleet: 1 hosts"):
        cg.aggregate_plan(selection, {})


KEPT = """
import json, os, sys, time
from ansible.plugins.loader import cache_loader, init_plugin_loader
init_plugin_loader()
from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg
since = time.time()
if os.environ.get("WRITE"):
    cache = cache_loader.get("ansible.builtin.jsonfile")
    for host, age in json.loads(os.environ["WRITE"]).items():
        cache.set(host, {"flink_gather": cg.gather_record({"failed": False}) | {"gathered_at": since - age}})
try:
    print(cg.gather_kept(json.loads(os.environ["HOSTS"]), since=since))
except Exception as exc:
    print("ERROR", exc)
"""


def _gather_kept(tmp_path, connection, hosts, write=None):
    env = {"PYTHONPATH": ":".join(sys.path), "HOME": str(tmp_path), "ANSIBLE_CACHE_PLUGIN": "jsonfile",
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(connection), "HOSTS": json.dumps(hosts),
           "WRITE": json.dumps(write) if write else ""}
    out = subprocess.run([sys.executable, "-c", KEPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_gather_kept_reads_a_real_jsonfile_cache_and_names_what_it_lacks(tmp_path):
    cache = tmp_path / "cache"
    assert _gather_kept(tmp_path, cache, ["tm1", "tm2"], {"tm1": -1, "tm2": -2}) == \
        "The fact cache holds this run's result of all 2 hosts"
    # tm2 holds the record of a run before this one, tm3 none
    line = _gather_kept(tmp_path, cache, ["tm1", "tm2", "tm3"], {"tm1": -1, "tm2": 60})
    assert line.startswith(f"ERROR flinkops.flink.gather_kept: the fact cache (jsonfile at {cache}) "
                           "holds no result of this run for 2 of 3 hosts: tm2, tm3."), line


def test_gather_kept_says_when_the_cache_plugin_cannot_load(tmp_path):
    (tmp_path / "file").write_text("")
    line = _gather_kept(tmp_path, tmp_path / "file" / "cache", ["tm1"])
    assert line.startswith("ERROR flinkops.flink.gather_kept: the fact cache plugin 'jsonfile' cannot "
                           "be loaded: Error in 'jsonfile' cache plugin while trying to create cache dir"), line
    with pytest.raises(AnsibleFilterError, match="gather_kept: give a list of hostnames"):
        cg.gather_kept("tm1", since=0)


FILES = """
import json, os, sys, time
from ansible.plugins.loader import cache_loader, init_plugin_loader
init_plugin_loader()
from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg
cache = cache_loader.get("ansible.builtin.jsonfile")
for host in ("tm1", "tm2", "tm3"):
    cache.set(host, {"flink_gather": cg.gather_record({"failed": False, "host": host})})
old = cache.__wrapped__._get_cache_file_name(cache._get_key("tm2"))
os.utime(old, (time.time() - 120, time.time() - 120))  # older than the cache's timeout (60 s)
out = {"files": cg._jsonfile_files(cache) is not None}
fresh = cache_loader.get("ansible.builtin.jsonfile")  # ansible-core's own reading, no memory of the writes
out["fast"] = cg.read_records(["tm1", "tm2", "tm3", "tm4"], fresh)
slow = {}
for host in ("tm1", "tm2", "tm3", "tm4"):
    try:
        slow[host] = dict(fresh.get(host)["flink_gather"])
    except KeyError:
        slow[host] = None
out["slow"] = slow
with open(cache.__wrapped__._get_cache_file_name(cache._get_key("tm3")), "w") as handle:
    handle.write("{not json")
try:
    cg.read_records(["tm3"], cache_loader.get("ansible.builtin.jsonfile"))
except Exception as exc:
    out["corrupt"] = str(exc)
print(json.dumps(out))
"""


def test_the_jsonfile_reader_reads_as_ansible_core_does_expiry_included(tmp_path):
    env = {"PYTHONPATH": ":".join(sys.path), "HOME": str(tmp_path), "ANSIBLE_CACHE_PLUGIN": "jsonfile",
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "cache"), "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "60"}
    proc = subprocess.run([sys.executable, "-c", FILES], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["files"] is True
    # tm2's file is older than the timeout and tm4 has none: both absent, as ansible-core's get() says
    assert out["fast"] == out["slow"] and out["fast"]["tm2"] is None and out["fast"]["tm4"] is None
    assert json.loads(out["fast"]["tm1"]["result_json"]) == {"failed": False, "host": "tm1"}
    assert "cached_gather: the cache file " in out["corrupt"] and "_tm3 cannot be read" in out["corrupt"]
