"""Host facts: the parsers, and the real ``sh`` fragment run against fabricated /proc and /sys trees."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import host_facts as hf

LONG_MAX_4K = 9223372036854771712  # what cgroup v1 prints for "no limit" with 4 KiB pages


# --- /proc/meminfo -----------------------------------------------------------------------------

def test_meminfo_total_in_bytes():
    text = "MemTotal:       24684096 kB\nMemFree:         1000 kB\nMemAvailable:   2000 kB\n"
    assert hf.parse_meminfo(text) == 24684096 * 1024


def test_meminfo_without_total_is_none():
    assert hf.parse_meminfo("MemFree: 10 kB\n") is None
    assert hf.parse_meminfo("") is None


def test_meminfo_garbage_total_is_an_error():
    with pytest.raises(hf.HostFactError, match="MemTotal"):
        hf.parse_meminfo("MemTotal: lots kB\n")
    with pytest.raises(hf.HostFactError, match="unit"):
        hf.parse_meminfo("MemTotal: 10 MB\n")


# --- cgroup limits -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([("v2", "max")], None),
        ([("v2", "max"), ("v2", "8589934592\n"), ("v2", "max")], 8589934592),
        ([("v2", "4294967296"), ("v2", "2147483648")], 2147483648),  # an ancestor binds tighter
        ([("v1", str(LONG_MAX_4K))], None),
        ([("v1", "9223372036854710272")], None),  # 64 KiB pages
        ([("v1", str(LONG_MAX_4K)), ("v1", "536870912")], 536870912),
        ([("v1", "0")], 0),
    ],
)
def test_cgroup_limit(values, expected):
    assert hf.cgroup_limit(values) == expected


def test_cgroup_limit_rejects_garbage():
    with pytest.raises(hf.HostFactError, match="not a number"):
        hf.cgroup_limit([("v2", "lots")])
    with pytest.raises(hf.HostFactError, match="not a number"):
        hf.cgroup_limit([("v1", "max")])  # v1 has no "max" spelling
    with pytest.raises(hf.HostFactError, match="version"):
        hf.cgroup_limit([("v3", "1")])


def test_v1_limit_just_below_the_unlimited_floor_is_a_limit():
    # 8 EiB minus 2 MiB is absurd but it is a number the admin wrote, not the kernel's "unlimited".
    value = (1 << 63) - (2 << 20)
    assert hf.cgroup_limit([("v1", str(value))]) == value


# --- CPUs --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [("4\n", 4), ("", None), ("0", None), ("x", None), (" 16 ", 16)])
def test_cpu_count(text, expected):
    assert hf.parse_cpu_count(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0-1", 2), ("0", 1), ("0-3,8,10-11\n", 7), ("0-127", 128), ("", None), ("3-1", None), ("a-b", None),
     ("0-", None), ("1,,2", None)],
)
def test_cpu_list(text, expected):
    assert hf.parse_cpu_list(text) == expected


# --- Flink version from lib/ -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("flink-dist-1.17.2.jar", "1.17.2"),
        ("flink-dist-2.3.0.jar", "2.3.0"),
        ("flink-dist_2.12-1.14.6.jar", "1.14.6"),
        ("flink-dist_2.11-1.11.0.jar", "1.11.0"),
        ("flink-dist-1.20-SNAPSHOT.jar", "1.20-SNAPSHOT"),
        ("flink-dist.jar", None),
        ("flink-dist-scala.jar", None),
        ("flink-table-runtime-1.17.2.jar", None),
        ("flink-dist-1.17.2.jar.bak", None),
    ],
)
def test_version_from_jar_name(name, version):
    assert hf.flink_version_from_jar(name) == version


def test_detect_single_jar():
    assert hf.detect_flink_version(["flink-dist-1.20.5.jar"], "/opt/flink/lib") == "1.20.5"


def test_detect_no_jar_says_what_it_looked_for():
    with pytest.raises(hf.HostFactError) as err:
        hf.detect_flink_version([], "/opt/x/lib")
    text = str(err.value)
    assert "flink-dist-*.jar" in text and "flink-dist_2.12-*.jar" in text and "/opt/x/lib" in text
    assert "flink_version" in text


def test_detect_two_jars_is_ambiguous_as_for_flink():
    with pytest.raises(hf.HostFactError, match="multiple flink-dist"):
        hf.detect_flink_version(["flink-dist-1.17.2.jar", "flink-dist-1.18.1.jar"], "/opt/f/lib")


def test_detect_unrecognised_name():
    with pytest.raises(hf.HostFactError, match="does not look like"):
        hf.detect_flink_version(["flink-dist-custom.jar"], "/opt/f/lib")


# --- the sh fragment, for real, against fabricated trees --------------------------------------

def run_facts(root: Path | str) -> dict:
    """Run FACTS_SH with /bin/sh, as on a host, re-rooted at ``root``; return its records."""
    script = f"r='{root}'\n" + hf.FACTS_SH
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, check=True, timeout=30)
    assert out.stderr == b""
    facts = {"cglimit": [], "meminfo": "", "cpus": None, "cpu": None}
    chunks = out.stdout.split(b"\0")
    assert chunks[-1] == b""  # every record ends with NUL
    for chunk in chunks[:-1]:
        line = chunk.decode()
        assert line.startswith("@@") and line.endswith("\n"), line  # header-only records
        kind, _, rest = line[2:-1].partition(" ")
        if kind == "cglimit":
            version, _, value = rest.partition(" ")
            facts["cglimit"].append((version, value))
        elif kind in facts:
            facts[kind] = rest
        else:
            raise AssertionError(line)
    return facts


def make_tree(root: Path, cgroup: str, mountinfo: list[str], files: dict[str, str],
              meminfo="MemFree: 5 kB\nMemTotal:    1024 kB\nMemAvailable: 7 kB\n"):
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text("".join(m + "\n" for m in mountinfo))
    (root / "proc/meminfo").write_text(meminfo)
    (root / "proc/self/status").write_text("Name:\tsh\nCpus_allowed:\tff\nCpus_allowed_list:\t0-3,6\n")
    for rel, value in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")


ROOT_MOUNTS = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
]


def test_sh_cgroup_v2_systemd_host(tmp_path):
    make_tree(
        tmp_path,
        "0::/user.slice/user-1000.slice/session-3.scope\n",
        [*ROOT_MOUNTS, "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate"],
        {
            "sys/fs/cgroup/user.slice/memory.max": "max",
            "sys/fs/cgroup/user.slice/user-1000.slice/memory.max": "8589934592",
            "sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/memory.max": "max",
            "sys/fs/cgroup/system.slice/memory.max": "1",  # another branch: must not be read
        },
    )
    facts = run_facts(tmp_path)
    assert sorted(facts["cglimit"]) == [("v2", "8589934592"), ("v2", "max"), ("v2", "max")]
    assert hf.cgroup_limit(facts["cglimit"]) == 8589934592
    assert hf.parse_meminfo(facts["meminfo"]) == 1024 * 1024
    assert hf.parse_cpu_list(facts["cpus"]) == 5


def test_sh_cgroup_v1_like_this_build_machine(tmp_path):
    make_tree(
        tmp_path,
        "9:name=systemd:/\n5:devices:/\n4:memory:/process_api/a8a1\n3:cpuset:/\n0::/\n",
        [
            *ROOT_MOUNTS,
            "40 23 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "41 23 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
            "49 23 0:39 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
        ],
        {
            "sys/fs/cgroup/memory/memory.limit_in_bytes": str(LONG_MAX_4K),
            "sys/fs/cgroup/memory/process_api/memory.limit_in_bytes": str(LONG_MAX_4K),
            "sys/fs/cgroup/memory/process_api/a8a1/memory.limit_in_bytes": "2147483648",
            "sys/fs/cgroup/cpuset/memory.limit_in_bytes": "7",  # not the memory hierarchy
        },
    )
    facts = run_facts(tmp_path)
    # hybrid: the v2 hierarchy has no memory controller, so no memory.max anywhere
    assert all(v == "v1" for v, _ in facts["cglimit"])
    assert len(facts["cglimit"]) == 3
    assert hf.cgroup_limit(facts["cglimit"]) == 2147483648


def test_sh_cgroup_v1_container_without_namespace(tmp_path):
    # Docker on cgroup v1: /proc/self/cgroup shows the host path, the mount root is that same path.
    make_tree(
        tmp_path,
        "12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n",
        [*ROOT_MOUNTS, "50 23 0:40 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory"],
        {"sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912"},
    )
    facts = run_facts(tmp_path)
    assert facts["cglimit"] == [("v1", "536870912")]


def test_sh_cgroup_v2_container_with_namespace_and_spaces(tmp_path):
    make_tree(
        tmp_path,
        "0::/my app/worker\n",
        [*ROOT_MOUNTS, "60 23 0:50 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw"],
        {
            "sys/fs/cgroup/my app/memory.max": "1073741824",
            "sys/fs/cgroup/my app/worker/memory.max": "max",
        },
    )
    facts = run_facts(tmp_path)
    assert hf.cgroup_limit(facts["cglimit"]) == 1073741824


def test_sh_cgroup_v1_combined_controllers_and_lookalike_names(tmp_path):
    make_tree(
        tmp_path,
        "7:name=memoryish:/nope\n3:cpuacct,memory:/svc\n",
        [
            *ROOT_MOUNTS,
            "70 23 0:60 / /sys/fs/cgroup/cpuacct,memory rw - cgroup cgroup rw,cpuacct,memory",
            "71 23 0:61 / /sys/fs/cgroup/memoryish rw - cgroup cgroup rw,name=memoryish",
        ],
        {
            "sys/fs/cgroup/cpuacct,memory/svc/memory.limit_in_bytes": "3221225472",
            "sys/fs/cgroup/memoryish/nope/memory.limit_in_bytes": "1",
            "sys/fs/cgroup/memoryish/memory.limit_in_bytes": "1",
        },
    )
    facts = run_facts(tmp_path)
    assert hf.cgroup_limit(facts["cglimit"]) == 3221225472
    assert ("v1", "1") not in facts["cglimit"]


def test_sh_no_cgroup_files_at_all(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal: 2048 kB\n")
    facts = run_facts(tmp_path)  # no /proc/self/*: no limits, no error output
    assert facts["cglimit"] == []
    assert facts["cpus"] is None
    assert hf.parse_cpu_count(facts["cpu"]) == len(os.sched_getaffinity(0))  # nproc, the fallback
    assert hf.parse_meminfo(facts["meminfo"]) == 2048 * 1024
    assert hf.cgroup_limit(facts["cglimit"]) is None


def test_sh_on_this_machine_matches_the_kernel():
    facts = run_facts("")
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert hf.parse_meminfo(facts["meminfo"]) == pages
    assert hf.parse_cpu_list(facts["cpus"]) == len(os.sched_getaffinity(0))
    assert facts["cpu"] is None  # no exec of nproc where /proc/self/status answers
    # whatever the machine's cgroups say, they must parse
    hf.cgroup_limit(facts["cglimit"])
