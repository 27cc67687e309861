"""Differential test: our config-file reading against Flink's own loader.

Every directory under ``corpus/`` is a conf directory of tricky files (see
``corpus/README.md``).  For each supported Flink line, the real
``GlobalConfiguration.loadConfiguration(dir).toMap()`` (``oracle.py``) and our
path -- ``choose_config_file`` on the file names, then ``parse_flink_conf`` or
``parse_config_yaml`` on the bytes of the chosen file -- must agree: both
accept with exactly the same map, or both refuse.  When both refuse, our
message must carry Flink's own top-level message (``Error parsing YAML
configuration.``, ``The Flink config file '...' does not exist.``).

A second, generated part writes a fixed-seed batch of random but realistic
files (``FLINKOPS_CONFIG_CASES`` per format, default 400) and compares them
the same way: legacy files on 1.17 and 1.20, config.yaml on 1.20 and 2.3.

Flink's legacy reader decodes with the JVM's default charset, which on Java 17
follows the locale; the test asks the locale the oracle JVM runs under and
passes that charset to ``parse_flink_conf``.
"""

from __future__ import annotations

import codecs
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import flink_dist
import pytest
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import (
    ConfigFileError,
    choose_config_file,
)
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
VERSIONS = list(flink_dist.VERSIONS)
GENERATED = int(os.environ.get("FLINKOPS_CONFIG_CASES", "400"))


def _jvm_default_charset() -> str:
    """The charset Java 17 picks for InputStreamReader: the locale's codeset (the oracle keeps LANG/LC_*)."""
    probe = subprocess.run(
        [sys.executable, "-c",
         "import locale; locale.setlocale(locale.LC_ALL, ''); print(locale.nl_langinfo(locale.CODESET))"],
        capture_output=True, text=True, check=True, env=dict(os.environ),
    )
    return codecs.lookup(probe.stdout.strip() or "ascii").name


CHARSET = _jvm_default_charset()


def read_like_flink(version: str, conf_dir: Path) -> dict:
    """Our answer for a conf directory: {"ok", "config"} or {"ok": False, "error"}."""
    names = [p.name for p in conf_dir.iterdir() if p.is_file()]
    try:
        choice = choose_config_file(version, names, str(conf_dir))
        path = conf_dir / choice.name
        data = path.read_bytes()
        if choice.format == "legacy":
            parsed = parse_flink_conf(data, str(path), encoding=CHARSET)
        else:
            parsed = parse_config_yaml(data, str(path))
    except ConfigFileError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "config": parsed.config}


def flink_top_message(chain: list[str]) -> str:
    """Flink's first message, without the absolute path it adds in parentheses."""
    return re.sub(r"' \([^)]*\) does not exist\.", "' does not exist.", chain[0])


_ANCHOR = re.compile(r"(?<=[&*])id(\d{3,})")


def renumber_anchors(config: dict) -> dict:
    """Flink's list dumper counts anchors (``&id001``) across every dump the JVM ever made; the oracle
    JVM has made many, a starting Flink none.  Shift the numbers so the first in this file is 1."""
    numbers = [int(n) for value in config.values() for n in _ANCHOR.findall(value)]
    if not numbers:
        return config
    shift = min(numbers) - 1
    return {k: _ANCHOR.sub(lambda m: f"id{int(m.group(1)) - shift:03d}", v) for k, v in config.items()}


def disagreement(ours: dict, flink: dict) -> str | None:
    if ours["ok"] and flink["ok"]:
        if ours["config"] == renumber_anchors(flink["config"]):
            return None
        keys = sorted(set(ours["config"]) | set(flink["config"]))
        diff = {k: (ours["config"].get(k), flink["config"].get(k)) for k in keys
                if ours["config"].get(k) != flink["config"].get(k)}
        return f"different maps (key: (ours, Flink's)): {diff!r}"
    if not ours["ok"] and not flink["ok"]:
        wanted = flink_top_message(flink["error_chain"])
        if wanted in ours["error"]:
            return None
        return f"both refuse, but our message lacks Flink's {wanted!r}: {ours['error']!r}"
    if ours["ok"]:
        return f"Flink refuses ({flink['error_chain']!r}) but we read {ours['config']!r}"
    return f"Flink reads {flink['config']!r} but we refuse: {ours['error']!r}"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("version", VERSIONS)
def test_corpus_case_matches_flink(version, case):
    conf_dir = CORPUS / case
    flink = oracle(version).load(str(conf_dir))
    ours = read_like_flink(version, conf_dir)
    problem = disagreement(ours, flink)
    assert problem is None, f"Flink {version}, corpus/{case}: {problem}"


@pytest.mark.parametrize("version", VERSIONS)
def test_corpus_exercises_both_outcomes(version):
    """The corpus is only a test if Flink both accepts and refuses some of it on every line."""
    results = [oracle(version).load(str(CORPUS / case))["ok"] for case in CASES]
    assert sum(results) >= 10 and results.count(False) >= 10, (version, sum(results), len(results))


# ---------------------------------------------------------------------------
# generated files

_KEYS = ["a", "b", "a.b", "b.c", "taskmanager.memory.process.size", "env.java.opts.all", "'quoted key'",
         '"dq.key"', "key with space", "k-1", "x_y", "s3.secret-key", "~", "<<"]
_FATAL_KEYS = ["1", "true"]
_VALUES = ["1", "010", "0o17", "0x1F", "1e3", "1.5", ".5", "-.inf", ".inf", ".nan", "yes", "on",
           "True", "false", "''", '""', "x", "x y", "x #c", "x#c", "'q #x'",
           '"esc\t\u00e9"', "2001-01-01", "1:20", "[a, b]", "[]", "{}", "{p: 1}", "[1, [2, 3], {k: v}]",
           "['a: b', 'c']", "[x, 'y z', \"m\\nn\"]", "&an [1, 2]", "*an", "&sc v", "*sc", "|\n  l1\n  l2",
           ">-\n  f1\n  f2", "!!str 5", "!!int '7'", "-x", ":x", "?x", "x:y", "'it''s'", "1_000", "-0.0",
           "123456789012345678901", "[null, ~, true, 1.0]", "[.inf, -.inf, .nan, 1e20]", "[*an, *an]",
           '"\\x01"', "{a: [1, {b: 2}]}", "[{1: a}]", "1728m", "-Dfoo=bar -Dx=\"y\"", "s3://bucket/p#f",
           "OPERATOR:70,STATE_BACKEND:70"]
_FATAL_VALUES = ["+.inf", "null", "~", "", "@x", "[a, b", "{a: 1", "'x", "{1: a}"]
_SEPARATORS = [": ", ":  ", ":\t", ":", " : "]
_MUTATIONS = list(" \t\n:#-'\"[]{},!|>?%@`\\.~012xyz\r\u00e9")


def _pick(rnd, usual, fatal):
    return rnd.choice(fatal if rnd.random() < 0.04 else usual)


def _yaml_doc(rnd: random.Random) -> str:
    lines = []
    # distinct top-level keys mostly: a repeated key is fatal and would hide the rest of the file
    keys = rnd.sample(_KEYS, 6) if rnd.random() < 0.9 else [rnd.choice(_KEYS) for _ in range(6)]
    for key in keys[:rnd.randint(1, 6)]:
        if rnd.random() < 0.04:
            key = rnd.choice(_FATAL_KEYS)
        value = _pick(rnd, _VALUES, _FATAL_VALUES)
        roll = rnd.random()
        if roll < 0.15:
            lines += [f"{key}:", f"  {_pick(rnd, _KEYS, _FATAL_KEYS)}: {value}".replace("\n", "\n  ")]
            continue
        if roll < 0.2:
            lines += [f"{key}:", f"  - {value}".replace("\n", "\n    "),
                      f"  - {_pick(rnd, _VALUES, _FATAL_VALUES)}".replace("\n", "\n    ")]
            continue
        sep = rnd.choice(_SEPARATORS) if rnd.random() < 0.2 else ": "
        line = f"{key}{sep}{value}"
        if rnd.random() < 0.1:
            line += rnd.choice([" # c", "\t# c", "\t", " ", "#c"])
        lines.append(line)
        if rnd.random() < 0.05:
            lines.append(rnd.choice(["", "# comment", "\t", "  ", "---", "...", "\t# c"]))
    newline = rnd.choice(["\n"] * 8 + ["\r\n", "\r"])
    text = newline.join(lines) + (newline if rnd.random() < 0.9 else "")
    if rnd.random() < 0.3:  # a few random edits: most of these files become broken YAML
        chars = list(text)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(chars) + 1)
            if rnd.random() < 0.5 or not chars:
                chars.insert(at, rnd.choice(_MUTATIONS))
            else:
                chars.pop(min(at, len(chars) - 1))
        text = "".join(chars)
    return text


def _known_gap(text: str) -> bool:
    """Inputs config_yaml documents as not followed (anchor names beyond [A-Za-z0-9_-])."""
    return re.search(r"[&*](?![A-Za-z0-9_-]+(?:[\s,\]}]|$))[^\s,\[\]{}]", text) is not None


_LEGACY_PIECES = [b"a", b"b.c", b"key", b": ", b":", b" ", b"\t", b"#", b"# c", b"'", b'"', b"x", b"1g", b"\r",
                  b"\n", b"\r\n", b"\xc3\xa9", b"\xe9", b"\xff", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\xaf",
                  b"\x00", b"\x0b", b"\x1c", b"\x85", b"\xc2\xa0", b"\xe2\x80\xa8", b"  ", b"-",
                  b"taskmanager.memory.process.size", b"\xef\xbb\xbf"]


def _legacy_doc(rnd: random.Random) -> bytes:
    out = [b"\xef\xbb\xbf"] if rnd.random() < 0.1 else []
    for _ in range(rnd.randint(1, 8)):
        line = b"".join(rnd.choice(_LEGACY_PIECES) for _ in range(rnd.randint(1, 7)))
        out.append(line + rnd.choice([b"\n", b"\n", b"\r\n", b"\r", b""]))
    return b"".join(out)


def _generated(fmt: str) -> list[bytes]:
    rnd = random.Random(f"flinkops-config-{fmt}")
    docs = []
    while len(docs) < GENERATED:
        if fmt == "legacy":
            docs.append(_legacy_doc(rnd))
        else:
            text = _yaml_doc(rnd)
            if not _known_gap(text):
                docs.append(text.encode())
    return docs


@pytest.mark.parametrize(("fmt", "version"), [("legacy", "1.14"), ("legacy", "1.15"), ("legacy", "1.16"),
                                              ("legacy", "1.17"), ("legacy", "1.20"),
                                              ("yaml", "1.20"), ("yaml", "2.3")])
def test_generated_files_match_flink(fmt, version, tmp_path):
    name = "flink-conf.yaml" if fmt == "legacy" else "config.yaml"
    failures, refused = [], 0
    for number, data in enumerate(_generated(fmt)):
        conf_dir = tmp_path / str(number)
        conf_dir.mkdir()
        (conf_dir / name).write_bytes(data)
        flink = oracle(version).load(str(conf_dir))
        refused += not flink["ok"]
        problem = disagreement(read_like_flink(version, conf_dir), flink)
        if problem:
            failures.append(f"{data!r}: {problem}")
    print(f"{fmt} on Flink {version}: {GENERATED} files, Flink refused {refused}, {len(failures)} disagree")
    assert not failures, f"{len(failures)} of {GENERATED} disagree, first ones:\n" + "\n".join(failures[:10])
    if fmt == "yaml":  # the batch must hold both readable and refused files to mean anything
        assert 0 < refused < GENERATED
