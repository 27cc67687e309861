# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which config file Flink reads, and the shapes both file parsers return.

Flink's ``GlobalConfiguration.loadConfiguration(dir)`` (checked in the
compiled classes of 1.14.6 to 1.16.3, 1.17.2, 1.19.3, 1.20.5, 2.0.2, 2.3.0):

* 1.14 to 1.18: only ``flink-conf.yaml``, read with the legacy line parser;
  a missing one is fatal (``config.yaml`` is never looked at).
* 1.19, 1.20: ``flink-conf.yaml`` when it exists (``config.yaml`` is then
  ignored without a word), else ``config.yaml`` with the standard YAML parser;
  neither is fatal and Flink names ``config.yaml`` as the missing file.
* 2.0 and later: only ``config.yaml``; ``flink-conf.yaml`` is ignored
  without a word, so a lone ``flink-conf.yaml`` is fatal.

The fatal message is ``The Flink config file '<dir>/<name>' (<absolute
path>) does not exist.`` (an ``IllegalConfigurationException``): the
JobManager or TaskManager does not start.

Standard library only: this runs on managed nodes and on the controller.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from ansible_collections.flinkops.flink.plugins.module_utils.options import minor_line

LEGACY_NAME = "flink-conf.yaml"
YAML_NAME = "config.yaml"

FLINK_CONF_ONLY_LINES = ("1.14", "1.15", "1.16", "1.17", "1.18")  # lines that read only flink-conf.yaml
_LEGACY_ONLY = FLINK_CONF_ONLY_LINES
_EITHER = ("1.19", "1.20")


class LocatedError(Exception):
    """An error about a place in a config file: ``str()`` reads ``<path> line <n>, key '<key>': <message>``;
    the parts that are not known are left out.  Messages never hold config values."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 key: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where} line {self.line}" if where else f"line {self.line}"
        if self.key is not None:
            where = f"{where}, key '{self.key}'" if where else f"key '{self.key}'"
        return f"{where}: {self.message}" if where else self.message


class ConfigFileError(LocatedError):
    """A config file Flink would refuse, or a missing one."""


@dataclass
class ParsedConfig:
    """One config file read as Flink reads it.

    ``config`` holds every value as the string Flink's ``Configuration``
    gives back (``toMap()``), not redacted.  ``lines`` maps each key to the
    1-based line of the entry that won.  ``skipped_lines`` lists lines Flink
    skips (legacy format only) as ``{"line", "reason"}``, never their text.
    ``overridden`` lists entries that a later entry for the same key
    replaced, as ``{"key", "line", "by_line"}`` (legacy duplicates, or a
    nested and a flat spelling of one key in YAML).  ``hash_cut`` lists the
    winning entries whose value Flink cut at a ``#`` written inside it (legacy
    format: ``password: ab#cd`` is read as ``ab``), as ``{"key", "line"}``.
    """

    config: dict[str, str]
    lines: dict[str, int]
    skipped_lines: list[dict]
    format: str
    path: str
    overridden: list[dict] = field(default_factory=list)
    hash_cut: list[dict] = field(default_factory=list)


@dataclass
class ConfigFileChoice:
    """The file Flink reads in a conf directory, and the files it ignores."""

    name: str
    format: str
    ignored: list[dict] = field(default_factory=list)


def _missing(name: str, conf_dir: str | None, line: str, why: str) -> ConfigFileError:
    path = posixpath.join(conf_dir, name) if conf_dir else name
    return ConfigFileError(
        f"{why}; Flink {line} refuses to start: The Flink config file '{path}' does not exist.",
        path=path,
    )


def choose_config_file(flink_version: str, present: Iterable[str],
                       conf_dir: str | None = None) -> ConfigFileChoice:
    """The file Flink ``flink_version`` reads, given the file names in its conf directory.

    ``present`` holds base names (other names are ignored).  Raises
    ConfigFileError when Flink would refuse to start for lack of its file,
    and ValueError (from ``options.minor_line``) for an unsupported version.
    ``conf_dir`` only makes the paths in messages complete.
    """
    line = minor_line(flink_version)
    names = set(present)
    has_legacy = LEGACY_NAME in names
    has_yaml = YAML_NAME in names
    if line in _LEGACY_ONLY:
        if not has_legacy:
            why = f"Flink {line} reads only {LEGACY_NAME}, which is missing"
            if has_yaml:
                why += f" ({YAML_NAME} is read only from Flink 1.19 on)"
            raise _missing(LEGACY_NAME, conf_dir, line, why)
        ignored = []
        if has_yaml:
            ignored.append({"name": YAML_NAME,
                            "reason": f"Flink {line} reads only {LEGACY_NAME}; {YAML_NAME} is read from 1.19 on"})
        return ConfigFileChoice(LEGACY_NAME, "legacy", ignored)
    if line in _EITHER:
        if has_legacy:
            ignored = []
            if has_yaml:
                ignored.append({"name": YAML_NAME,
                                "reason": f"Flink {line} reads {LEGACY_NAME} when it exists and then "
                                          f"ignores {YAML_NAME} silently"})
            return ConfigFileChoice(LEGACY_NAME, "legacy", ignored)
        if not has_yaml:
            raise _missing(YAML_NAME, conf_dir, line,
                           f"neither {LEGACY_NAME} nor {YAML_NAME} exists")
        return ConfigFileChoice(YAML_NAME, "yaml", [])
    # 2.0 and later
    if not has_yaml:
        why = f"Flink {line} reads only {YAML_NAME}, which is missing"
        if has_legacy:
            why += (f" ({LEGACY_NAME} is no longer read since Flink 2.0; convert it with "
                    f"bin/migrate-config-file.sh from Flink 1.19 or 1.20)")
        raise _missing(YAML_NAME, conf_dir, line, why)
    ignored = []
    if has_legacy:
        ignored.append({"name": LEGACY_NAME,
                        "reason": f"Flink {line} reads only {YAML_NAME}; {LEGACY_NAME} is ignored silently"})
    return ConfigFileChoice(YAML_NAME, "yaml", ignored)
