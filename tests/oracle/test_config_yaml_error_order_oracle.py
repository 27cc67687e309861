"""Which error Flink reports when a config.yaml holds several: checked against Flink's own loader.

snakeyaml-engine composes the whole document first (scanner, parser and composer errors: broken
syntax, an undefined alias, a second document, too many aliases), and only then constructs values:
each map checks its keys for duplicates before it builds its values, lists build their items in
order.  ``parse_config_yaml`` must report the same kind of error, on a line Flink names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

CASES = [
    b"a: 1\na: 2\nb\nc: 3\n",  # issue 15.10: the scanner error at lines 3-4, not the duplicate
    b"a: !!int x\nb\nc: 3\n",
    b"a: !!foo x\nb: [\n",
    b"s: !!set {x, x}\nb\nc: 1\n",
    b"a: 1\na: 2\nb: *zz\n",
    b"a: 1\na: 2\n---\nb: 1\n",
    b"a: 1\na: 2\nb: \"x\n",
    b"a: 1\na: 2\nb: !!int x\n",
    b"a: !!int x\na: 1\n",  # a map checks its keys before it builds its values
    b"a: {b: !!int x}\na: 1\n",
    b"a: !!int x\nb: {c: 1, c: 2}\n",  # values in order: a's number first
    b"b: {c: 1, c: 2}\na: !!int x\n",
    b"l: [!!int x, !!foo y]\n",
    b"l: [!!foo y, !!int x]\n",
    b"!!int x: 1\na: 1\na: 2\n",  # building a key comes before checking it
    b"a: 1\nb: 2\na: 3\nb: 4\n",
    b"m:\n  x: 1\n  x: 2\nm2: [1, 2\n",
]
_KIND = [("duplicate", re.compile(r"duplicate key"), re.compile(r"duplicate (key|member)")),
         ("alias", re.compile(r"undefined alias"), re.compile(r"undefined alias")),
         ("document", re.compile(r"another document"), re.compile(r"second YAML document")),
         ("syntax", re.compile(r"while (scanning|parsing)|expected"), re.compile(r"invalid YAML")),
         ("number", re.compile(r"NumberFormatException"), re.compile(r"NumberFormatException")),
         ("tag", re.compile(r"could not determine a constructor"), re.compile(r"unknown tag"))]


def _kind(text: str, ours: bool) -> str | None:
    for name, flink_re, ours_re in _KIND:
        if (ours_re if ours else flink_re).search(text):
            return name
    return None


@pytest.mark.parametrize("data", CASES, ids=[repr(c)[2:40] for c in CASES])
@pytest.mark.parametrize("version", ["1.20.5", "2.3.0"])
def test_the_error_flink_reports_first_is_ours(version, data, tmp_path: Path):
    (tmp_path / "config.yaml").write_bytes(data)
    flink = oracle(version).load(str(tmp_path))
    assert not flink["ok"], flink
    flink_text = "\n".join(flink["error_chain"] + flink["error_classes"])
    with pytest.raises(ConfigFileError) as info:
        parse_config_yaml(data, str(tmp_path / "config.yaml"))
    ours = info.value
    assert _kind(flink_text, ours=False) is not None, flink_text
    assert _kind(str(ours), ours=True) == _kind(flink_text, ours=False), (str(ours), flink_text)
    flink_lines = {int(n) for n in re.findall(r"line (\d+)", flink_text)}
    if flink_lines:
        assert ours.line in flink_lines, (str(ours), flink_text)
