"""What the fuzzers check, one function per target, shared by hypothesis (test_fuzz.py), the
regression corpus (corpus/<target>/) and atheris (atheris_fuzz.py).

Each ``check_<target>(data: bytes)`` takes raw bytes (a file, or JSON for structured targets) and
either returns or raises ``Finding`` for anything but the documented outcome: the legacy parser
never raises; the YAML reader raises only ConfigFileError; MemorySize only MemorySizeError; the
editors only EditError and, when they succeed, the file reads back as intended; the memory model
never raises for a mapping of strings; the redactions never let a sensitive value through; the
gather's framing raises only FramingError. Inputs are bounded by max_file_size (1 MiB).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import (
    EditError,
    edit_flink_conf,
    redact_flink_conf_text,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
    to_human_readable,
    to_string,
)
from ansible_collections.flinkops.flink.plugins.module_utils.options import is_sensitive_anywhere
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import (
    edit_config_yaml,
    redact_config_yaml_text,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import (
    FramingError,
    interpret,
    parse_frames,
)

MAX_FILE_SIZE = 1 << 20
CORPUS = Path(__file__).resolve().parent / "corpus"
PATH = "/opt/flink/conf/x"


class Finding(AssertionError):
    """The target did something it must not do."""


def _unexpected(target: str, exc: BaseException) -> Finding:
    return Finding(f"{target}: {type(exc).__name__}: {exc}"[:2000])


def check_legacy(data: bytes) -> None:
    data = data[:MAX_FILE_SIZE]
    try:
        parsed = parse_flink_conf(data, PATH)
    except Exception as exc:  # noqa: BLE001 -- documented never to raise
        raise _unexpected("legacy", exc) from exc
    for key, value in parsed.config.items():
        if not key or not value or key != key.strip("".join(map(chr, range(33)))) or "#" in key + value:
            raise Finding(f"legacy: a key or value Flink would not give: {key!r}: {value!r}")
        if ": " in key:
            raise Finding(f"legacy: key holds the separator: {key!r}")


def check_yaml(data: bytes) -> None:
    data = data[:MAX_FILE_SIZE]
    try:
        parsed = parse_config_yaml(data, PATH)
    except ConfigFileError as exc:
        if not str(exc).startswith(PATH):
            raise Finding(f"yaml: error without the path: {exc}") from exc
        return
    except Exception as exc:  # noqa: BLE001
        raise _unexpected("yaml", exc) from exc
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.config.items()):
        raise Finding("yaml: a key or value that is not a string")
    if set(parsed.lines) != set(parsed.config):
        raise Finding("yaml: lines and config disagree")


def check_memory_size(data: bytes) -> None:
    text = data.decode("utf-8", "replace")[:4096]
    try:
        size = parse_bytes(text)
    except MemorySizeError:
        return
    except Exception as exc:  # noqa: BLE001
        raise _unexpected("memory_size", exc) from exc
    if not isinstance(size, int) or size < 0:
        raise Finding(f"memory_size: {text!r} -> {size!r}")
    try:
        again = parse_bytes(to_string(size))
        to_human_readable(size)
    except Exception as exc:  # noqa: BLE001
        raise _unexpected("memory_size (round trip)", exc) from exc
    if again != size:
        raise Finding(f"memory_size: {text!r} -> {size} -> {to_string(size)!r} -> {again}")


def _json(data: bytes):
    """The harness's own spec format: anything that is not a JSON value (deep nesting included) is skipped."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def check_memory_model(data: bytes) -> None:
    """JSON ``{"config": {...}, "process": ..., "version": ...}`` (anything else is skipped)."""
    spec = _json(data)
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        return
    process = spec.get("process") if spec.get("process") in ("taskmanager", "jobmanager") else "taskmanager"
    version = spec.get("version") if spec.get("version") in opts.SUPPORTED_LINES else "2.3"
    config = {str(k): str(v) for k, v in spec["config"].items()}
    try:
        result = compute(config, process, version)
    except Exception as exc:  # noqa: BLE001 -- documented never to raise for a config
        raise _unexpected("memory_model", exc) from exc
    if result["valid"] is not (result["error"] is None):
        raise Finding(f"memory_model: valid={result['valid']} with error {result['error']!r}")
    if result["valid"]:
        sizes = result["sizes"]
        if any(not isinstance(v, int) or v < 0 for v in sizes.values()):
            raise Finding(f"memory_model: sizes {sizes}")
    elif not isinstance(result["error"], str) or not result["error"]:
        raise Finding("memory_model: invalid without a message")


def _edit_spec(data: bytes):
    spec = _json(data)
    if not isinstance(spec, dict) or spec.get("format") not in ("legacy", "yaml"):
        return None
    encoded = spec.get("file_b64", "")
    if not isinstance(encoded, str):  # the harness's own spec, not an editor input: skip it
        return None
    try:
        content = base64.b64decode(encoded, validate=True)[:MAX_FILE_SIZE]
    except ValueError:
        return None
    settings = spec.get("settings") if isinstance(spec.get("settings"), dict) else {}
    remove = spec.get("remove") if isinstance(spec.get("remove"), list) else []
    return spec["format"], content, {str(k): str(v) for k, v in settings.items()}, [str(k) for k in remove]


def check_edit(data: bytes) -> None:
    """JSON ``{"format": legacy|yaml, "file_b64", "settings", "remove"}``."""
    spec = _edit_spec(data)
    if spec is None:
        return
    fmt, content, settings, remove = spec
    remove = [k for k in remove if k not in settings]
    parse = parse_flink_conf if fmt == "legacy" else parse_config_yaml
    edit = edit_flink_conf if fmt == "legacy" else edit_config_yaml
    try:
        result = edit(content, PATH, settings, remove, aliases={})
    except EditError as exc:
        if exc.path not in (PATH, None):
            raise Finding(f"edit: error about another file: {exc}") from exc
        return
    except Exception as exc:  # noqa: BLE001
        raise _unexpected(f"edit ({fmt})", exc) from exc
    try:
        before = parse(content, PATH).config
        after = parse(result.content, PATH).config
    except Exception as exc:  # noqa: BLE001 -- the editor said yes: the file must load
        raise _unexpected(f"edit ({fmt}) result does not load", exc) from exc
    wanted = {k: v for k, v in before.items() if k not in remove}
    wanted.update(settings)
    if after != wanted:
        wrong = sorted(k for k in set(after) | set(wanted) if after.get(k) != wanted.get(k))[:5]
        raise Finding(f"edit ({fmt}): reads back differently for {wrong}")
    if result.changed == (result.content == content):
        raise Finding(f"edit ({fmt}): changed={result.changed} disagrees with the bytes")


_TOKEN = re.compile(r"[A-Za-z0-9]{8,}")


def check_redact(data: bytes) -> None:
    """Any file: no value Flink reads for a sensitive key may survive redaction (values of 8+
    letters and digits that appear nowhere else in the file; shorter ones could be any word)."""
    text = data[:MAX_FILE_SIZE].decode("utf-8", "replace")
    for fmt, parse, redact in (("legacy", parse_flink_conf, redact_flink_conf_text),
                               ("yaml", parse_config_yaml, redact_config_yaml_text)):
        try:
            config = parse(text.encode(), PATH).config
        except ConfigFileError:
            config = None
        try:
            shown = redact(text, is_sensitive_anywhere)
        except Exception as exc:  # noqa: BLE001
            raise _unexpected(f"redact ({fmt})", exc) from exc
        for key, value in (config or {}).items():
            if not is_sensitive_anywhere(key):
                continue
            for token in _TOKEN.findall(value):
                elsewhere = text.replace(value, "", 1)
                if token in shown and token not in elsewhere and token not in key:
                    raise Finding(f"redact ({fmt}): the value of {key!r} shows through ({token!r})")


def check_framing(data: bytes) -> None:
    """What a host's gather command printed: anything but a well-formed answer is a FramingError."""
    text = data.decode("utf-8", "surrogateescape")
    wrapped = "@@begin 2 b64\n" + base64.b64encode(data).decode() + "\n@@end\n"
    for stdout in (text, wrapped):
        try:
            interpret(parse_frames(stdout))
        except FramingError:
            pass
        except Exception as exc:  # noqa: BLE001
            raise _unexpected("framing", exc) from exc


TARGETS = {
    "legacy": check_legacy,
    "yaml": check_yaml,
    "memory_size": check_memory_size,
    "memory_model": check_memory_model,
    "edit": check_edit,
    "redact": check_redact,
    "framing": check_framing,
}


def save_finding(target: str, data: bytes) -> Path:
    """Keep a failing input in the regression corpus (commit it with the fix)."""
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"found-{hashlib.sha1(data).hexdigest()[:12]}"
    path.write_bytes(data)
    return path


def run(target: str, data: bytes) -> None:
    """Check one input; a finding is saved to the corpus before it is raised."""
    try:
        TARGETS[target](data)
    except Finding:
        save_finding(target, data)
        raise
