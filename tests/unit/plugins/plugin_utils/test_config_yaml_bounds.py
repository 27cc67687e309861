"""The reader's bound on what a config.yaml expands to (issue 13.1): aliases to plain scalars are not
bounded by Flink (only aliases to lists and maps are, 50), so a small file can expand to gigabytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import (
    CODE_POINT_LIMIT,
    MAX_EXPANDED_CHARS,
    parse_config_yaml,
)

BIG = "x" * 100_000
BOMBS = {
    # the file: 119 KB, 200 MB once expanded
    "scalar-aliases": ("base: &s " + BIG + "\n" + "".join(f"k{i}: *s\n" for i in range(2_000)), 126, "k124"),
    "many-scalar-aliases": ("base: &s " + BIG + "\n" + "".join(f"k{i}: *s\n" for i in range(10_000)), 126, "k124"),
    "a-list-of-aliases": ("base: &s " + BIG + "\nk: [" + ", ".join("*s" for _ in range(10_000)) + "]\n", 2, "k"),
    "aliases-as-keys": ("base: &s " + BIG + "\n" + "".join(f"m{i}:\n  *s : 1\n" for i in range(2_000)), 251, "m124."),
    # 50 aliases to maps (Flink's limit), 2**25 keys once flattened
    "nested-map-laughs": ("l0: &l0 {k: v}\n" + "".join(f"l{i}: &l{i} {{a: *l{i - 1}, b: *l{i - 1}}}\n"
                                                       for i in range(1, 26)), 1, None),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_file_that_expands_past_the_bound_is_refused_naming_file_line_key_and_bound(name):
    text, line, key = BOMBS[name]
    assert len(text) < 200_000
    with pytest.raises(ConfigFileError) as info:
        parse_config_yaml(text.encode(), "/c/config.yaml")
    err = info.value
    assert err.path == "/c/config.yaml" and err.line == line
    assert key is None or err.key == key
    assert err.key and len(err.key) < 200  # never the 100,000 characters
    assert f"more than {MAX_EXPANDED_CHARS} characters" in str(err)
    assert BIG[:200] not in str(err)


SHIPPED = Path(__file__).resolve().parents[3] / "oracle" / "corpus" / "yaml-shipped-defaults" / "config.yaml"
MIB = 1 << 20


def _indented(text: str) -> str:
    return "".join("  " + line if line.strip() else line for line in text.splitlines(keepends=True))


def test_files_up_to_the_gathers_default_size_read_whatever_their_shape():
    """Without aliases a file expands only as its nested keys repeat their prefixes: Flink's shipped
    config.yaml flattens to less than its size, and even a 1 MiB file (the gather's default
    max_file_size) of 40-character prefixes over one-character leaves, about 5x, stays under the bound."""
    shipped = SHIPPED.read_text()
    parts, size, n = [], 0, 0
    while size < MIB:
        part = f"copy{n}:\n" + _indented(shipped)
        parts.append(part)
        size, n = size + len(part), n + 1
    config = parse_config_yaml("".join(parts).encode(), "/c/config.yaml").config
    assert sum(len(k) + len(v) for k, v in config.items()) < size
    prefix = "metrics.reporter.prometheus.custom.labels"  # 41 characters
    block = prefix + ":\n" + "".join(f"  k{i}: {i % 10}\n" for i in range(1000))
    text = "".join(block.replace(prefix, f"{prefix}{n:04d}", 1) for n in range(MIB // len(block) + 1))
    config = parse_config_yaml(text.encode(), "/c/config.yaml").config
    expanded = sum(len(k) + len(v) for k, v in config.items())
    assert 4 * len(text) < expanded < MAX_EXPANDED_CHARS
    assert MAX_EXPANDED_CHARS == 4 * CODE_POINT_LIMIT == 12 * MIB


def test_just_under_the_bound_reads():
    value = "y" * 1_000_000
    text = "base: &s " + value + "\n" + "".join(f"k{i}: *s\n" for i in range(10))
    config = parse_config_yaml(text.encode(), "/c/config.yaml").config
    assert len(config) == 11 and config["k9"] == value
