"""Build the catalog of every config key each supported Flink line knows, from Flink's own jars.

``ExtractKeys.java`` (next to this file) lists every public static ``ConfigOption`` field of every
Flink class in a release's ``flink-dist.jar``; this script compiles it once (javac, no classpath:
the Java side uses reflection only), runs it in one JVM over the cached jar of every supported line
(``tests/oracle/flink_dist.py``), and folds the eight listings into one compact JSON document:
one record per key, with the lines that know it and, per attribute, one value when every line
agrees or a ``{line: value}`` map where they differ.

    python tools/extract_flink_keys/extract.py          # rewrite plugins/plugin_utils/data/flink_keys.json
    python tools/extract_flink_keys/extract.py --check  # exit 1 when the committed file is stale

tests/oracle/test_flink_keys_catalog.py runs ``build()`` and compares it with the committed file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOURCE = HERE / "ExtractKeys.java"
OUTPUT = ROOT / "plugins" / "plugin_utils" / "data" / "flink_keys.json"

sys.path.insert(0, str(ROOT / "tests" / "oracle"))
import flink_dist  # noqa: E402  (tests/oracle is not a package)

FORMAT = 1

# Options whose key() is only a suffix but whose field lacks @Documentation.SuffixOption.
# MetricOptions.REPORTER_CLASS ("class", deprecated, 1.x) is read as metrics.reporter.<name>.class.
_UNANNOTATED_SUFFIXES = {
    ("org.apache.flink.configuration.MetricOptions", "REPORTER_CLASS"): "metrics.reporter.<name>",
}

# Per-key attributes, in record order, with the value that is left out when every line has it.
_ATTRIBUTES = (
    ("type", None),
    ("default", None),
    ("deprecated_keys", []),
    ("fallback_keys", []),
    ("deprecated", False),
)


class ExtractError(RuntimeError):
    """Java is missing, javac failed, or the extractor crashed."""


def _java() -> tuple[str, str]:
    java, javac = shutil.which("java"), shutil.which("javac")
    if not java or not javac:
        raise ExtractError(
            "extracting Flink's keys needs a JDK (java and javac on PATH); install Java 17 with "
            "'apt-get install -y openjdk-17-jdk-headless'"
        )
    return java, javac


def classes_dir() -> Path:
    """Compile ExtractKeys.java once per source version into the Flink cache; return the directory."""
    _unused, javac = _java()
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    target = flink_dist.CACHE / "extract-keys-classes" / digest
    if (target / "ExtractKeys.class").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        build = Path(tmp) / "classes"
        build.mkdir()
        proc = subprocess.run(
            [javac, "-nowarn", "-encoding", "UTF-8", "-d", str(build), str(SOURCE)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise ExtractError(f"javac failed:\n{proc.stdout}{proc.stderr}")
        try:
            os.replace(build, target)  # atomic: a cache entry is whole or absent
        except OSError:
            if not (target / "ExtractKeys.class").is_file():
                raise
    return target


def extract_raw(lines=None) -> dict[str, list[dict]]:
    """Run the extractor over the cached jar of each line: ``{line: [option records]}``."""
    java, _unused = _java()
    lines = list(lines or flink_dist.VERSIONS)
    specs = [f"{line}={flink_dist.jars(line)[0]}" for line in lines]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLINK_") and k not in ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH")}
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", str(classes_dir()),
             "ExtractKeys", out, *specs],
            capture_output=True, text=True, check=False, env=env,
        )
        if proc.returncode != 0:
            raise ExtractError(f"ExtractKeys failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        raw = {}
        for line in lines:
            with open(Path(out) / f"{line}.jsonl", encoding="utf-8") as fh:
                raw[line] = [json.loads(row) for row in fh if row.strip()]
    return raw


def _full_key(rec: dict) -> str:
    suffix_of = rec["suffix_of"] or _UNANNOTATED_SUFFIXES.get((rec["class"], rec["field"]))
    return f"{suffix_of}.{rec['key']}" if suffix_of else rec["key"]


def _per_line(records: list[dict]) -> dict:
    """One key's attributes on one line, from the field(s) that define it there.

    A key defined by several fields (a deprecated String twin of a Duration option, or an option
    declared in two classes) takes its type and default from the first non-deprecated field in
    class/field order, and the union of all fields' fallback keys.
    """
    records = sorted(records, key=lambda r: (r["field_deprecated"], r["class"], r["field"]))
    main = records[0]
    deprecated_keys, fallback_keys = [], []
    for rec in records:
        deprecated_keys += [k for k in rec["deprecated"] if k not in deprecated_keys]
        fallback_keys += [k for k in rec["fallback"] if k not in fallback_keys]
    type_name = main["type"]
    if main["list"]:
        type_name = f"List<{type_name}>"
    return {
        "type": type_name,
        "default": main["default"],
        "deprecated_keys": deprecated_keys,
        "fallback_keys": fallback_keys,
        "deprecated": all(r["field_deprecated"] for r in records),
    }


def build_catalog(raw: dict[str, list[dict]]) -> dict:
    """Fold per-line option listings into the compact catalog document."""
    lines = [line for line in flink_dist.VERSIONS if line in raw]
    by_key: dict[str, dict[str, list[dict]]] = {}
    for line in lines:
        for rec in raw[line]:
            by_key.setdefault(_full_key(rec), {}).setdefault(line, []).append(rec)
    keys = {}
    for key in sorted(by_key):
        per_line = {line: _per_line(recs) for line, recs in by_key[key].items()}
        known = [line for line in lines if line in per_line]
        record = {}
        if known != lines:
            record["lines"] = known
        for attr, empty in _ATTRIBUTES:
            values = [per_line[line][attr] for line in known]
            if all(v == values[0] for v in values):
                if values[0] != empty:
                    record[attr] = values[0]
            else:
                record[attr] = {line: per_line[line][attr] for line in known}
        keys[key] = record
    return {
        "format": FORMAT,
        "source": "public static ConfigOption fields of flink-dist.jar, read by "
                  "tools/extract_flink_keys/ExtractKeys.java",
        "flink_versions": {line: flink_dist.VERSIONS[line] for line in lines},
        "lines": lines,
        "keys": keys,
    }


def dumps(catalog: dict) -> str:
    """The committed text: one key per line (readable diffs), sorted, compact within a line."""
    head = {k: v for k, v in catalog.items() if k != "keys"}
    parts = ["{"]
    for name, value in head.items():
        parts.append(f"{json.dumps(name)}: {json.dumps(value, sort_keys=True, ensure_ascii=False)},")
    parts.append('"keys": {')
    rows = [
        f"{json.dumps(key, ensure_ascii=False)}: "
        f"{json.dumps(rec, sort_keys=True, separators=(',', ':'), ensure_ascii=False)}"
        for key, rec in catalog["keys"].items()
    ]
    parts.append(",\n".join(rows))
    parts.append("}}")
    return "\n".join(parts) + "\n"


def build() -> str:
    """Regenerate the catalog text from the real jars."""
    return dumps(build_catalog(extract_raw()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run python {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    catalog = json.loads(text)
    counts = {line: 0 for line in catalog["lines"]}
    for rec in catalog["keys"].values():
        for line in rec.get("lines", catalog["lines"]):
            counts[line] += 1
    print(f"wrote {args.output} ({len(text.encode())} bytes, {len(catalog['keys'])} keys); per line: "
          + ", ".join(f"{line} {n}" for line, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
