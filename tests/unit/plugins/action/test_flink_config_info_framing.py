"""The gather command and its framing: the real script run by /bin/sh on real files, then parsed.

No Ansible run here (see tests/integration for that): build_script -> sh -> parse_frames ->
interpret -> build_result, each step on real bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from ansible.plugins.loader import shell_loader

from ansible_collections.flinkops.flink.plugins.module_utils.options import REDACTED
from ansible_collections.flinkops.flink.plugins.module_utils.task_options import GATHER_OPTIONS
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol as proto
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_result as gres

ALL_BYTES = bytes(range(256)) * 3 + b"\r\n\n\x00tail"
MIB = 1024 * 1024


def as_ansible_runs_it(script: str) -> str:
    """The command line Ansible really runs: _low_level_execute_command appends "&& sleep 0"."""
    return shell_loader.get("sh").append_command(script, "sleep 0")


def run_script(conf_dir, home=None, max_size=MIB, path_env=None, as_nobody=False) -> str:
    script = as_ansible_runs_it(proto.build_script(str(home) if home else None, str(conf_dir), max_size))
    env = {"PATH": path_env or os.environ["PATH"]}
    argv = ["/bin/sh", "-c", script]
    if as_nobody:
        argv = ["su", "-s", "/bin/sh", "nobody", "-c", script]
    out = subprocess.run(argv, capture_output=True, env=env, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr == b"", out.stderr  # the script keeps stderr clean on every path
    return out.stdout.decode("ascii")


def gather(conf_dir, **kw) -> proto.Gathered:
    return proto.interpret(proto.parse_frames(run_script(conf_dir, **kw)))


@pytest.fixture
def world_dir():
    """A directory user nobody can traverse (pytest's tmp_path is 0700 when run as root)."""
    path = Path(tempfile.mkdtemp(prefix="flinkops-gather-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def no_base64_path(tmp_path: Path) -> str:
    """A PATH with every tool the script uses except base64, so it must fall back to od."""
    bindir = tmp_path / "bin-no-b64"
    bindir.mkdir()
    for tool in ("od", "wc", "cat", "head", "realpath", "readlink", "nproc", "getconf", "sleep"):
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    return str(bindir)


# --- binary safety -----------------------------------------------------------------------------

@pytest.mark.parametrize("encoder", ["b64", "hex"])
def test_every_byte_survives_both_encodings(tmp_path, encoder):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "flink-conf.yaml").write_bytes(ALL_BYTES)
    path_env = no_base64_path(tmp_path) if encoder == "hex" else None
    out = run_script(conf, path_env=path_env)
    assert out.splitlines()[0] == f"@@begin 2 {encoder}"
    got = proto.interpret(proto.parse_frames(out))
    f = got.files["flink-conf.yaml"]
    assert (f.state, f.size, f.content) == ("ok", len(ALL_BYTES), ALL_BYTES)
    assert f.resolved == str(conf / "flink-conf.yaml")
    assert got.files["config.yaml"].state == "absent"


SHELLS = {  # dash and bash come with Debian; the others: apt-get install busybox mksh yash posh
    "dash": ["/bin/dash", "-c"],
    "bash": ["/bin/bash", "-c"],
    "bash-posix": ["/bin/bash", "--posix", "-c"],
    "busybox-ash": ["/usr/bin/busybox", "sh", "-c"],
    "mksh": ["/usr/bin/mksh", "-c"],
    "yash": ["/usr/bin/yash", "-c"],
    "posh": ["/usr/bin/posh", "-c"],
}


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("tools", ["host", "busybox", "busybox-without-base64"])
def test_portable_across_shells_and_tool_sets(tmp_path, shell, tools):
    argv = SHELLS[shell]
    if not Path(argv[0]).exists():
        pytest.skip(f"{argv[0]} is not installed (apt-get install busybox mksh yash posh)")
    env = {"PATH": os.environ["PATH"]}
    if tools != "host":
        if not Path("/usr/bin/busybox").exists():
            pytest.skip("busybox is not installed")
        bindir = tmp_path / "bin"
        bindir.mkdir()
        # printf too: mksh and posh have no printf builtin
        # sleep: Ansible appends "&& sleep 0" to every command
        tools_used = ("wc", "cat", "head", "base64", "od", "realpath", "readlink", "nproc", "getconf", "printf",
                      "sleep")
        for tool in tools_used:
            if tool != "base64" or tools == "busybox":
                (bindir / tool).symlink_to("/usr/bin/busybox")
        env["PATH"] = str(bindir)
    home = tmp_path / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / "flink-dist-1.20.5.jar").write_bytes(b"")
    (home / "conf" / "flink-conf.yaml").write_bytes(ALL_BYTES)
    (home / "conf" / "config.yaml").symlink_to(home / "conf" / "config.yaml")
    script = as_ansible_runs_it(proto.build_script(str(home), str(home / "conf"), MIB))
    out = subprocess.run([*argv, script], capture_output=True, env=env, timeout=30, check=False)
    assert (out.returncode, out.stderr) == (0, b"")
    text = out.stdout.decode("ascii")
    assert text.startswith("@@begin 2 hex" if tools == "busybox-without-base64" else "@@begin 2 b64")
    got = proto.interpret(proto.parse_frames(text))
    assert got.files["flink-conf.yaml"].content == ALL_BYTES
    assert got.files["config.yaml"].state == "broken"
    assert "Too many levels of symbolic links" in got.files["config.yaml"].error
    assert got.lib_names == ["flink-dist-1.20.5.jar"]
    assert got.meminfo.startswith("MemTotal: ")
    assert got.cpu_count == len(os.sched_getaffinity(0))


def test_empty_file_is_present_and_empty(tmp_path):
    (tmp_path / "config.yaml").write_bytes(b"")
    f = gather(tmp_path).files["config.yaml"]
    assert (f.state, f.size, f.content) == ("ok", 0, b"")


def test_pty_line_endings_and_banner_do_not_matter(tmp_path):
    (tmp_path / "config.yaml").write_bytes(ALL_BYTES)
    out = run_script(tmp_path)
    mangled = "Welcome to host\r\nBECOME-SUCCESS-x\r\n" + out.replace("\n", "\r\n")
    got = proto.interpret(proto.parse_frames(mangled))
    assert got.files["config.yaml"].content == ALL_BYTES


def test_cut_short_output_is_detected(tmp_path):
    (tmp_path / "config.yaml").write_bytes(b"a: 1\n" * 200)
    out = run_script(tmp_path)
    with pytest.raises(proto.FramingError, match="cut short"):
        proto.parse_frames(out[: len(out) // 2])


def answer(inner: bytes) -> str:
    """What a host would print for the decoded answer ``inner``."""
    return "@@begin 2 b64\n" + base64.encodebytes(inner).decode() + "@@end\n"


def test_framing_errors():
    with pytest.raises(proto.FramingError, match="no '@@begin'"):
        proto.parse_frames("sh: 1: syntax error\n")
    with pytest.raises(proto.FramingError, match="unsupported header"):
        proto.parse_frames("@@begin 1 b64\n@@end\n")
    with pytest.raises(proto.FramingError, match="undecodable"):
        proto.parse_frames("@@begin 2 b64\n!!!not base64!!!\n@@end\n")
    with pytest.raises(proto.FramingError, match="undecodable"):
        proto.parse_frames("@@begin 2 hex\n 4d 6\n@@end\n")
    with pytest.raises(proto.FramingError, match="after '@@end'"):
        proto.parse_frames("@@begin 2 b64\n@@end\nmore\n")
    with pytest.raises(proto.FramingError, match="record expected"):
        proto.parse_frames(answer(b"garbage"))
    with pytest.raises(proto.FramingError, match="without its end"):
        proto.parse_frames(answer(b"@@cpus 0-1\n"))
    with pytest.raises(proto.FramingError, match="unexpected record"):
        proto.interpret(proto.parse_frames(answer(b"@@surprise\n\0")))
    with pytest.raises(proto.FramingError, match="without a size"):
        proto.interpret(proto.parse_frames(answer(b"@@file config.yaml ok\n\0")))
    with pytest.raises(proto.FramingError, match="unexpected file"):
        proto.interpret(proto.parse_frames(answer(b"@@file passwd ok 1\n\0")))
    with pytest.raises(proto.FramingError, match="without a size"):
        proto.parse_frames(answer(b"@@data config.yaml\nabc\0"))


def test_data_is_read_by_length_even_with_nuls_and_fake_headers():
    one = b"a: 1\0\n@@file config.yaml ok 1\n\0"
    two = b"\0\0"
    inner = (b"@@conf dir\n/c\0@@file flink-conf.yaml ok %d\n\0@@file config.yaml ok %d\n\0"
             b"@@data flink-conf.yaml config.yaml\n" % (len(one), len(two))) + one + two + b"\0"
    got = proto.interpret(proto.parse_frames(answer(inner)))
    assert got.files["flink-conf.yaml"].content == one
    assert got.files["config.yaml"].content == two
    assert got.files["config.yaml"].resolved == "/c/config.yaml"


@pytest.mark.parametrize("delta", [-1, 1, 5])
def test_a_file_that_changed_size_is_detected(delta):
    body = b"a: 1\nb: 2\n"
    inner = b"@@conf dir\n/c\0@@file config.yaml ok %d\n\0@@data config.yaml\n" % (len(body) + delta) + body + b"\0"
    with pytest.raises(proto.FileChangedError, match="config.yaml"):
        proto.parse_frames(answer(inner))


# --- what the script reports about files -------------------------------------------------------

def test_too_large_file_is_not_transferred(tmp_path):
    big = b"x: " + b"y" * 50_000 + b"\n"
    (tmp_path / "config.yaml").write_bytes(big)
    out = run_script(tmp_path, max_size=1000)
    assert len(out) < 2000  # the 50 kB never crossed the wire
    f = proto.interpret(proto.parse_frames(out)).files["config.yaml"]
    # measured by reading no more than max_file_size plus one page: the size says "more than", not how much
    assert (f.state, f.content) == ("large", None) and 1000 < f.size <= 1000 + 4096


def test_a_file_that_never_ends_is_not_read_to_its_end(tmp_path):
    """conf/config.yaml -> /proc/self/pagemap (a 'regular' file of about 256 GiB, st_size 0): at most
    max_file_size plus a page is read to tell it is too large (issue 13.2; wc -c read all of it)."""
    (tmp_path / "config.yaml").symlink_to("/proc/self/pagemap")
    (tmp_path / "flink-conf.yaml").write_bytes(b"a: 1\n")
    f = gather(tmp_path, max_size=MIB).files  # run_script's timeout is the bound, not an assertion on time
    assert (f["config.yaml"].state, f["config.yaml"].content) == ("large", None)
    assert MIB < f["config.yaml"].size <= MIB + 4096
    assert (f["flink-conf.yaml"].state, f["flink-conf.yaml"].content) == ("ok", b"a: 1\n")


def test_a_file_read_only_in_part_is_unreadable_not_short(tmp_path):
    """A read error inside the first max_file_size bytes is a read error (EIO, EINVAL), never a shorter file."""
    (tmp_path / "config.yaml").symlink_to("/proc/self/mem")  # reading offset 0 of one's own memory fails (EIO)
    f = gather(tmp_path).files["config.yaml"]
    assert (f.state, f.content) == ("unreadable", None)
    assert "Input/output error" in f.error


def test_exactly_max_size_is_read(tmp_path):
    (tmp_path / "config.yaml").write_bytes(b"a" * 1000)
    assert gather(tmp_path, max_size=1000).files["config.yaml"].state == "ok"


def test_symlinks_resolve_and_loops_break(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "flink.yaml").write_bytes(b"a: 1\n")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").symlink_to(real / "flink.yaml")
    (conf / "flink-conf.yaml").symlink_to(conf / "flink-conf.yaml")  # loop
    got = gather(conf)
    assert got.files["config.yaml"].resolved == str(real / "flink.yaml")
    assert got.files["config.yaml"].content == b"a: 1\n"
    loop = got.files["flink-conf.yaml"]
    assert loop.state == "broken"
    assert "Too many levels of symbolic links" in loop.error


def test_dangling_symlink_is_broken(tmp_path):
    (tmp_path / "config.yaml").symlink_to(tmp_path / "gone.yaml")
    f = gather(tmp_path).files["config.yaml"]
    assert f.state == "broken" and "No such file" in f.error


def test_conf_dir_through_a_symlinked_directory_reports_the_physical_path(tmp_path):
    real = tmp_path / "flink-2.3.0" / "conf"
    real.mkdir(parents=True)
    (real / "config.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "flink").symlink_to(tmp_path / "flink-2.3.0")
    got = gather(tmp_path / "flink" / "conf")
    assert got.files["config.yaml"].resolved == str(real / "config.yaml")


def test_paths_with_spaces_quotes_and_newlines(tmp_path):
    conf = tmp_path / "my 'conf'\n$(touch pwned) dir"
    conf.mkdir()
    (conf / "config.yaml").write_bytes(b"a: 1\n")
    got = gather(conf)
    assert got.files["config.yaml"].resolved == str(conf / "config.yaml")
    assert not (Path.cwd() / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_directory_in_place_of_the_file(tmp_path):
    (tmp_path / "config.yaml").mkdir()
    assert gather(tmp_path).files["config.yaml"].state == "dir"


def test_unreadable_file(world_dir):
    conf = world_dir / "conf"
    conf.mkdir()
    conf.chmod(0o755)
    (conf / "config.yaml").write_bytes(b"a: 1\n")
    (conf / "config.yaml").chmod(0)
    got = gather(conf, as_nobody=os.geteuid() == 0)
    f = got.files["config.yaml"]
    assert f.state == "unreadable" and "Permission denied" in f.error


def test_conf_dir_states(tmp_path, world_dir):
    assert gather(tmp_path / "nope").conf == "absent"
    (tmp_path / "file").write_text("x")
    assert gather(tmp_path / "file").conf == "notdir"
    locked = world_dir / "locked"
    locked.mkdir()
    locked.chmod(0o600)
    assert gather(locked, as_nobody=os.geteuid() == 0).conf == "noaccess"


def test_flink_home_and_lib_names(tmp_path):
    home = tmp_path / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    for name in ("flink-dist-1.20.5.jar", "flink-dist weird name.jar", "flink-table-1.20.5.jar"):
        (home / "lib" / name).write_bytes(b"")
    got = gather(home / "conf", home=home)
    assert (got.home, got.lib) == ("dir", "dir")
    assert sorted(got.lib_names) == ["flink-dist weird name.jar", "flink-dist-1.20.5.jar"]
    got = gather(home / "conf", home=tmp_path / "nothing")
    assert (got.home, got.lib, got.lib_names) == ("absent", "absent", [])


def test_facts_come_back(tmp_path):
    got = gather(tmp_path)
    assert got.meminfo.startswith("MemTotal: ")
    assert got.cpu_count == len(os.sched_getaffinity(0))


# --- build_result: the host's task result from what the command reported ----------------------

def flink_home(tmp_path: Path, version: str, files: dict[str, bytes]) -> Path:
    home = tmp_path / f"flink-{version}"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    for name, data in files.items():
        (home / "conf" / name).write_bytes(data)
    return home


def result_for(home: Path | None, conf: Path | None = None, version=None, processes=("taskmanager",),
               max_size=MIB, host="h1"):
    conf = conf or home / "conf"
    got = gather(conf, home=home, max_size=max_size)
    return gres.build_result(got, host, flink_home=str(home) if home else None, conf_dir=str(conf),
                            flink_version=version, processes=list(processes), max_file_size=max_size)


LEGACY = b"taskmanager.memory.process.size: 2g\ns3.secret-key: hunter2\n# comment text zzz\n"
YAML = b"taskmanager:\n  memory:\n    process.size: 4g\nfs.azure.account.key.x: topsecret\n"


def test_result_legacy_117(tmp_path):
    home = flink_home(tmp_path, "1.17.2", {"flink-conf.yaml": LEGACY, "config.yaml": YAML})
    res, warnings = result_for(home)
    assert warnings == []
    assert res["flink_version"] == "1.17.2"
    assert res["config_format"] == "legacy"
    assert res["config_file"] == str(home / "conf/flink-conf.yaml")
    assert res["config"] == {"taskmanager.memory.process.size": "2g", "s3.secret-key": REDACTED}
    assert res["config_lines"]["taskmanager.memory.process.size"] == 1
    assert res["checksum"] == hashlib.sha256(LEGACY).hexdigest()
    assert res["memory"]["taskmanager"]["valid"] is True
    assert res["memory"]["taskmanager"]["sizes"]["total_process"] == 2 * 1024**3
    assert res["changed"] is False
    assert "hunter2" not in repr(res) and "zzz" not in repr(res)


def test_result_120_both_files_reads_legacy_and_lists_the_ignored(tmp_path):
    home = flink_home(tmp_path, "1.20.5", {"flink-conf.yaml": LEGACY, "config.yaml": YAML})
    res, _ = result_for(home)
    assert res["config_format"] == "legacy"
    assert [f["name"] for f in res["ignored_files"]] == ["config.yaml"]


def test_result_23_yaml_nested(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {"config.yaml": YAML})
    res, _ = result_for(home, processes=("jobmanager", "taskmanager"))
    assert res["config_format"] == "yaml"
    assert res["config"]["taskmanager.memory.process.size"] == "4g"
    assert res["config"]["fs.azure.account.key.x"] == REDACTED
    assert res["memory"]["taskmanager"]["sizes"]["total_process"] == 4 * 1024**3
    assert res["memory"]["jobmanager"]["valid"] is False  # no jobmanager size at all: Flink refuses
    assert "topsecret" not in repr(res)


def test_result_23_with_only_legacy_file_fails_like_flink(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {"flink-conf.yaml": LEGACY})
    with pytest.raises(gres.GatherError) as err:
        result_for(home, host="tm7")
    text = str(err.value)
    assert text.startswith("tm7: ") and "config.yaml" in text


def test_result_too_large_names_host_file_and_sizes(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {"config.yaml": YAML})
    with pytest.raises(gres.GatherError) as err:
        result_for(home, max_size=10, host="big1")
    text = str(err.value)
    assert text.startswith("big1: ") and str(home / "conf/config.yaml") in text
    assert "larger than max_file_size (10 bytes)" in text


def test_result_symlink_loop_where_flink_looks(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {})
    (home / "conf/config.yaml").symlink_to(home / "conf/config.yaml")
    with pytest.raises(gres.GatherError) as err:
        result_for(home, host="loop1")
    text = str(err.value)
    assert "loop1: " in text and "Too many levels of symbolic links" in text and "config.yaml" in text


def test_result_dangling_legacy_link_on_120_says_flink_reads_config_yaml(tmp_path):
    home = flink_home(tmp_path, "1.20.5", {"config.yaml": YAML})
    (home / "conf/flink-conf.yaml").symlink_to(tmp_path / "missing")
    with pytest.raises(gres.GatherError, match="would read config.yaml instead"):
        result_for(home)


def test_result_irrelevant_broken_link_is_ignored(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {"config.yaml": YAML})
    (home / "conf/flink-conf.yaml").symlink_to(tmp_path / "missing")  # 2.x never reads it
    res, _ = result_for(home)
    assert res["config_format"] == "yaml"


@pytest.mark.parametrize("jar, version", [("flink-dist_2.11-1.14.6.jar", "1.14.6"),
                                          ("flink-dist_2.12-1.14.6.jar", "1.14.6"),
                                          ("flink-dist-1.15.4.jar", "1.15.4"), ("flink-dist-1.16.3.jar", "1.16.3")])
def test_result_old_lines_detected_and_read_from_flink_conf(tmp_path, jar, version):
    """1.14 ships Scala-suffixed jars (2.11 and 2.12), 1.15 on Scala-free ones; all read only flink-conf.yaml."""
    home = flink_home(tmp_path, "x", {"flink-conf.yaml": LEGACY, "config.yaml": YAML})
    (home / "lib" / "flink-dist-x.jar").rename(home / "lib" / jar)
    res, warnings = result_for(home)
    assert warnings == []
    assert res["flink_version"] == version
    assert res["config_format"] == "legacy"
    assert res["config_file"] == str(home / "conf/flink-conf.yaml")
    assert res["memory"]["taskmanager"]["sizes"]["total_process"] == 2 * 1024**3


def test_result_version_detection_failures(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_bytes(YAML)
    with pytest.raises(gres.GatherError, match=r"h1: cannot detect the Flink version.*flink-dist-\*\.jar"):
        result_for(tmp_path, conf=conf)  # tmp_path has no lib/
    (tmp_path / "lib").mkdir()
    with pytest.raises(gres.GatherError, match="no flink-dist"):
        result_for(tmp_path, conf=conf)
    (tmp_path / "lib/flink-dist_2.11-1.13.6.jar").write_bytes(b"")
    with pytest.raises(gres.GatherError, match="1.13.6.*not supported"):
        result_for(tmp_path, conf=conf)
    res, warnings = result_for(tmp_path, conf=conf, version="2.3")  # the option wins
    assert res["flink_version"] == "2.3"
    assert warnings and "1.13.6" in warnings[0]


def test_result_returns_the_given_and_the_detected_version(tmp_path):
    """A stale flink_version variable (1.19 on a host whose jar is 1.20.5): both are in the result, and a
    warning says they disagree (issue 15.11; the lint warns from these two fields)."""
    home = flink_home(tmp_path, "1.20.5", {"config.yaml": YAML})
    result, warnings = result_for(home, version="1.19")
    assert (result["flink_version"], result["flink_version_given"], result["flink_version_detected"]) == \
        ("1.19", "1.19", "1.20.5")
    assert any("flink_version 1.19 given" in w and "Flink 1.20.5" in w for w in warnings)
    result, warnings = result_for(home)
    assert (result["flink_version"], result["flink_version_given"], result["flink_version_detected"]) == \
        ("1.20.5", None, "1.20.5")
    assert warnings == []
    result, _ = result_for(None, conf=home / "conf", version="2.0")
    assert (result["flink_version_given"], result["flink_version_detected"]) == ("2.0", None)


def test_result_given_version_without_home(tmp_path):
    (tmp_path / "config.yaml").write_bytes(YAML)
    res, warnings = result_for(None, conf=tmp_path, version="1.19")
    assert (res["flink_version"], res["config_format"], warnings) == ("1.19", "yaml", [])


def test_result_parse_error_names_host_file_and_line(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {"config.yaml": b"a: 1\nb:\n\t- x\n"})
    with pytest.raises(gres.GatherError) as err:
        result_for(home, host="bad1")
    text = str(err.value)
    assert text.startswith("bad1: ") and str(home / "conf/config.yaml") in text and "line" in text


def test_result_missing_conf_dir(tmp_path):
    home = flink_home(tmp_path, "2.3.0", {})
    with pytest.raises(gres.GatherError, match="conf_dir .* does not exist"):
        result_for(home, conf=tmp_path / "nowhere")


def test_default_processes_from_groups():
    assert gres.default_processes(["flink_taskmanager", "web"]) == ["taskmanager"]
    assert gres.default_processes(["flink_taskmanager", "flink_jobmanager"]) == ["jobmanager", "taskmanager"]
    assert gres.default_processes([]) == []
    assert gres.default_processes(None) == []


def test_no_stat_leaks_in_unreadable_message(world_dir):
    conf = world_dir / "c"
    conf.mkdir()
    conf.chmod(0o755)
    (conf / "config.yaml").write_bytes(b"password: hunter2\n")
    (conf / "config.yaml").chmod(stat.S_IWUSR)
    got = gather(conf, as_nobody=os.geteuid() == 0)
    with pytest.raises(gres.GatherError) as err:
        gres.build_result(got, "u1", flink_home=None, conf_dir=str(conf), flink_version="2.3", processes=[],
                         max_file_size=MIB)
    assert "Permission denied" in str(err.value) and "hunter2" not in str(err.value)


def test_documentation_matches_the_argument_spec():
    import yaml

    from ansible_collections.flinkops.flink.plugins.doc_fragments.host import ModuleDocFragment
    from ansible_collections.flinkops.flink.plugins.modules import flink_config_info as stub

    doc = yaml.safe_load(stub.DOCUMENTATION)["options"]
    assert "flinkops.flink.host" in yaml.safe_load(stub.DOCUMENTATION)["extends_documentation_fragment"]
    doc.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    assert set(doc) == set(GATHER_OPTIONS)
    for name, spec in GATHER_OPTIONS.items():
        for field in ("type", "default", "choices", "elements"):
            assert doc[name].get(field) == spec.get(field), (name, field)
    yaml.safe_load(stub.EXAMPLES)
    assert set(yaml.safe_load(stub.RETURN)) >= {
        "config", "config_file", "config_format", "config_lines", "ignored_files", "skipped_lines", "checksum",
        "flink_version", "mem_total_bytes", "cgroup_memory_limit_bytes", "cpu_count", "memory"}


@pytest.mark.parametrize("shell", list(SHELLS))
def test_live_probe_portable_across_shells(tmp_path, shell):
    """With live on, the same command (probe included) stays clean in every shell: rc 0, no stderr."""
    argv = SHELLS[shell]
    if not Path(argv[0]).exists():
        pytest.skip(f"{argv[0]} is not installed (apt-get install busybox mksh yash posh)")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_bytes(b"taskmanager.memory.process.size: 1g\n")
    os.utime(conf / "config.yaml", (1_500_000_000, 1_500_000_000))
    script = as_ansible_runs_it(proto.build_script(None, str(conf), MIB, live=True))
    out = subprocess.run([*argv, script], capture_output=True, env={"PATH": os.environ["PATH"]}, timeout=30,
                         check=False)
    assert (out.returncode, out.stderr) == (0, b"")
    got = proto.interpret(proto.parse_frames(out.stdout.decode("ascii")))
    assert "mtime config.yaml 1500000000" in got.live.splitlines()
    assert got.files["config.yaml"].content == b"taskmanager.memory.process.size: 1g\n"
