"""Fuzzing: hypothesis on every parser, editor and model (fuzz_targets.py says what is checked),
the committed regression corpus replayed, atheris (coverage-guided) for a short run, and the worst
inputs of max_file_size size timed (no hang).

A failing hypothesis example is saved under corpus/<target>/found-<sha> before the test fails:
commit it with the fix, and every later run replays it. FLINKOPS_FUZZ_EXAMPLES scales the number
of examples (default 1 = the numbers below); FLINKOPS_ATHERIS_SECONDS the atheris run (default 8).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz_targets import CORPUS, MAX_FILE_SIZE, TARGETS, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts

HERE = Path(__file__).resolve().parent
SCALE = float(os.environ.get("FLINKOPS_FUZZ_EXAMPLES", "1"))


def fuzz_settings(examples: int):
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- input generators ---------------------------------------------------------------------------

KEYS = sorted({n for table in opts.PROCESSES.values() for o in table.values() for n in o.names()})
SENSITIVE = ["s3.secret-key", "security.ssl.keystore-password", "metrics.reporter.dd.api-key",
             "fs.azure.account.key.a.blob.core.windows.net", "kubernetes.token"]
KEY = st.one_of(st.sampled_from(KEYS + SENSITIVE + ["a", "a.b", "a.b.c", "parallelism.default"]),
                st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
                st.text(min_size=1, max_size=12))
SIZE_TEXT = st.one_of(
    st.from_regex(r"[ \t]*-?[0-9]{1,22}(\.[0-9]+)?[ \t]*(b|k|kb|kibibytes|m|mb|g|gb|t|tb|bytes|x|)[ \t]*",
                  fullmatch=True),
    st.text(max_size=30))
VALUE = st.one_of(SIZE_TEXT, st.sampled_from(["0.4", "NaN", "-1", "1e400", "true", "", " ", "#", "a#b", "'q'",
                                              '"q"', "x: y", "[1, 2]", "{a: 1}", "*x", "&x v", "!!str 1",
                                              "\u2028", "\x85", "\ufeff", "é", "\t"]),
                  st.text(max_size=40))

YAML_PIECES = ["a", "b.c", "taskmanager", "memory", "process", "size", "s3.secret-key", "password", ":", ": ", " ",
               "  ", "\n", "\r\n", "\r", "- ", "-", "[", "]", "{", "}", ",", "'", '"', "#", " #", "&x ", "*x", "!!str ",
               "!!set ", "!!int ", "!!binary ", "!foo ", "|", "|-", ">", ">+", "---", "...", "\t", "? ", "%YAML 1.2",
               "\ufeff", "\x85", "\u2028", "\\", "\\n", "1", "0x1f", "1.5", ".inf", "null", "~", "true", "yes", "é",
               "\x00", "\x07", "1g", "2048m", "CANARYsecret1"]
LEGACY_PIECES = ["taskmanager.memory.process.size", "s3.secret-key", "a", ": ", ":", " ", "\t", "#", "\n", "\r",
                 "\r\n", "2g", "1728m", "x", "\ufeff", "é", "CANARYsecret1", "value with spaces"]

YAML_TEXT = st.lists(st.sampled_from(YAML_PIECES), max_size=60).map("".join)
LEGACY_TEXT = st.lists(st.sampled_from(LEGACY_PIECES), max_size=60).map("".join)


@st.composite
def yaml_doc(draw):
    """A config.yaml Flink reads: nested and flat keys, scalars of every style, lists, comments."""
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(KEYS + SENSITIVE + ["a.b", "c"]))
        value = draw(st.sampled_from(["2g", "'q v'", '"d\\tq"', "[1, 2]", "{x: 1}", "|\n    block\n    text",
                                      "CANARYsecret1", "1.5", "true", "''", "a#b", "x # comment"]))
        if draw(st.booleans()) and "." in key:
            head, _, tail = key.partition(".")
            lines.append(f"{head}:\n  {tail}: {value}")
        else:
            lines.append(f"{key}: {value}")
        if draw(st.booleans()):
            lines.append(f"# {draw(st.sampled_from(['note', 'password: old', 'a: b: s3.secret-key: x']))}")
    keys_seen, out = set(), []
    for line in lines:  # no duplicate top-level keys (Flink refuses those; other tests cover it)
        top = line.split(":", 1)[0]
        if top.startswith("#") or top not in keys_seen:
            keys_seen.add(top)
            out.append(line)
    return ("\n".join(out) + "\n").encode()


FILES = {
    "legacy": st.one_of(st.binary(max_size=600), LEGACY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
    "yaml": st.one_of(st.binary(max_size=300), YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      yaml_doc()),
}


# --- hypothesis -----------------------------------------------------------------------------------

@fuzz_settings(400)
@given(FILES["legacy"])
def test_legacy_parser(data):
    run("legacy", data)


@fuzz_settings(400)
@given(FILES["yaml"])
def test_yaml_reader(data):
    run("yaml", data)


@fuzz_settings(300)
@given(SIZE_TEXT)
def test_memory_size(text):
    run("memory_size", text.encode("utf-8", "surrogatepass"))


@fuzz_settings(100)
@given(st.dictionaries(st.sampled_from(KEYS + ["taskmanager.numberOfTaskSlots", "taskmanager.cpu.cores"]), VALUE,
                       max_size=8),
       st.sampled_from(["taskmanager", "jobmanager"]), st.sampled_from(opts.SUPPORTED_LINES))
def test_memory_model(config, process, version):
    run("memory_model", json.dumps({"config": config, "process": process, "version": version}).encode())


@fuzz_settings(200)
@given(st.one_of(st.tuples(st.just("legacy"), FILES["legacy"]), st.tuples(st.just("yaml"), FILES["yaml"])),
       st.dictionaries(KEY, VALUE, max_size=3), st.lists(KEY, max_size=3))
def test_editors(fmt_file, to_set, to_remove):
    fmt, data = fmt_file
    run("edit", json.dumps({"format": fmt, "file_b64": base64.b64encode(data).decode(), "settings": to_set,
                            "remove": to_remove}).encode())


@fuzz_settings(200)
@given(st.one_of(yaml_doc(), FILES["legacy"], YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_redaction(data):
    run("redact", data)


@fuzz_settings(200)
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.sampled_from([b"@@file config.yaml ok 3\n", b"@@file flink-conf.yaml ok 2\n", b"\0",
                                           b"@@data config.yaml\n", b"@@data flink-conf.yaml config.yaml\n", b"abc",
                                           b"@@conf dir\n/x", b"@@link config.yaml\n/y", b"@@file x ok 1\n",
                                           b"@@lib dir\nflink-dist-2.3.0.jar/", b"@@meminfo MemTotal: 1 kB\n",
                                           b"@@cpus 0-3\n", b"@@cglimit v2 max\n", b"@@home dir\n",
                                           b"@@file config.yaml broken\n", b"@@file config.yaml large 99\n"]),
                          max_size=12).map(b"".join)))
def test_gather_framing(data):
    run("framing", data)


# --- the regression corpus ------------------------------------------------------------------------

def corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.parent.name in TARGETS)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_replay(path):
    run(path.parent.name, path.read_bytes())


def test_corpus_covers_every_target():
    assert {p.parent.name for p in corpus_files()} == set(TARGETS)


# --- no hang: the worst inputs of max_file_size -----------------------------------------------------

class Slow(Exception):
    pass


def _timed(target: str, data: bytes, limit: float) -> float:
    def alarm(*_):
        raise Slow(f"{target}: still running after {limit} s on {len(data)} bytes")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.process_time()
    try:
        run(target, data)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return time.process_time() - started


BIG = MAX_FILE_SIZE - 16


@pytest.mark.parametrize(("target", "data"), [
    ("legacy", b"#" * BIG),
    ("legacy", b": " * (BIG // 2)),
    ("legacy", b"\r" * BIG),
    ("legacy", b"k: v\n" * (BIG // 5)),
    ("legacy", b"\xff\xfe" * (BIG // 2)),
    ("yaml", b"[" * BIG),
    ("yaml", b"{a: " * (BIG // 4)),
    ("yaml", b"- " * (BIG // 2)),
    ("yaml", b"a: '" + b"x" * BIG + b"'\n"),
    ("yaml", b"".join(b"k%d: v\n" % i for i in range(BIG // 10))),
    ("yaml", b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"b: [" + b"*a, " * (BIG // 5) + b"]\n"),
    ("yaml", b"\t" * BIG),
    ("redact", b"s3.secret-key: " + b"x" * BIG + b"\n"),
    ("redact", b"# password: x\n" * (BIG // 15)),
], ids=lambda v: v if isinstance(v, str) else f"{v[:12]!r}x{len(v)}")
def test_max_size_inputs_finish(target, data):
    # CPU seconds, generous: the machine may be busy; a hang or a quadratic blow-up is far beyond it
    assert _timed(target, data, limit=120) < 60


def test_max_size_edits_finish():
    # config.yaml: each set or removed key re-reads the whole file (linear per operation), so the
    # worst case is many short keys: 20,000 keys of ~50 bytes here; FLINKOPS_FUZZ_EXAMPLES>1 goes
    # to 100,000 keys of ~10 bytes (about 30 CPU seconds)
    count = 100_000 if SCALE > 1 else 20_000
    many = b"".join(b"k%d: %s\n" % (i, b"v" * (BIG // count - 10)) for i in range(count))[:BIG]
    many = many[:many.rindex(b"\n") + 1]
    for fmt, data in (("legacy", b"k: v\n" * (BIG // 5)), ("yaml", many)):
        spec = {"format": fmt, "file_b64": base64.b64encode(data).decode(), "settings": {"zz.new": "1", "k": "w"},
                "remove": ["k1", "k7"]}
        assert _timed("edit", json.dumps(spec).encode(), limit=180) < 90


# --- atheris ----------------------------------------------------------------------------------------

def test_atheris(tmp_path):
    try:
        import atheris  # noqa: F401
    except ImportError:
        pytest.skip("atheris is not installed (pip install atheris: no wheel or build for this Python); "
                    "the hypothesis fuzzing above still ran")
    seconds = os.environ.get("FLINKOPS_ATHERIS_SECONDS", "8")
    found = tmp_path / "found"
    found.mkdir()
    proc = subprocess.run([sys.executable, str(HERE / "atheris_fuzz.py"), str(found), seconds], capture_output=True,
                          text=True, timeout=int(seconds) * 10 + 120, check=False)
    tail = (proc.stdout + proc.stderr)[-3000:]
    crashes = sorted(found.iterdir())
    assert proc.returncode == 0 and not crashes, (tail, [c.name for c in crashes])
    assert "Done" in tail or "runs in" in tail, tail
