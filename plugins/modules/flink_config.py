#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The task runs as the action plugin plugins/action/flink_config.py: it reads the file with one
# sh command, computes the edit on the controller, and runs this module on the host only to
# write a file that changes (compare-and-swap on the sha256 the controller read).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_config
short_description: Set and remove keys in the Flink configuration file a host reads, keeping everything else
version_added: 0.1.0
description:
  - Sets O(settings) and removes O(remove) in the file Flink of the host's version reads (C(flink-conf.yaml)
    or C(config.yaml) in O(conf_dir), chosen as Flink chooses it), in either format.
  - Keeps comments, blank lines, order, quoting style and every unrelated key. In C(config.yaml) a key is
    edited where it lives, nested or flattened, and a new key goes where a person would look for it (into the
    nested map of its prefix, else next to the key sharing the longest prefix, else at the end). In
    C(flink-conf.yaml) the line Flink uses (the last duplicate) is edited.
  - Removing a key removes every spelling Flink would read for it - nested, flattened, and the deprecated
    keys Flink falls back to (for example C(taskmanager.memory.size) with C(taskmanager.memory.managed.size)).
  - A value that would change meaning is quoted correctly in C(config.yaml), or refused with the reason in
    C(flink-conf.yaml) (a C(#), where Flink's legacy parser cuts the line; a line break; blanks at either
    end). The edited file is read back with Flink's rules and must give exactly the intended keys and values.
  - With O(validate) (the default) the file is not written when Flink would not start a process of the host
    with it (the flinkops.flink.memory_model computation); the message says why in Flink's words.
  - The host is read with one POSIX C(sh) command (as flinkops.flink.flink_config_info reads it) and the edit
    is decided on the controller; Python runs on the host only to write a file that changes, so a host that
    is already compliant costs no Python start-up.
  - The write is refused when the file changed since it was read (its sha256 differs); it is atomic (a
    temporary file in the same directory, renamed over the file), keeps owner, group, mode and SELinux
    context, and follows a symlinked file to the file it points to.
options:
  settings:
    description:
      - Flink keys (flat, as in C(taskmanager.memory.process.size)) and the values to set.
      - Values are strings as Flink shows them; YAML booleans and numbers are written as Flink prints them
        (V(true), V(4), V(0.4)).
      - A key Flink of the host's version does not know gives a warning with a did-you-mean, unless
        O(allow_unknown_keys).
    type: dict
    default: {}
  remove:
    description:
      - Flink keys to delete, with every spelling Flink reads for them (nested, flattened, deprecated fallback
        keys). A key both set and removed is an error.
    type: list
    elements: str
    default: []
  validate:
    description:
      - Refuse to write a file with which Flink would not start one of the host's processes (see O(processes)),
        and say why.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the file next to it before writing (returned as RV(backup_file)).
    type: bool
    default: false
  allow_unknown_keys:
    description: Set keys Flink does not know without a warning.
    type: bool
    default: false
  flink_home:
    description:
      - Absolute path of the Flink installation on the host.
      - Required unless both O(conf_dir) and O(flink_version) are given.
    type: str
  conf_dir:
    description:
      - Absolute path of the directory holding Flink's configuration file.
      - Defaults to C(<flink_home>/conf).
    type: str
  flink_version:
    description:
      - Flink version of the host (V(1.20) or V(1.20.1)); one of the lines 1.17 to 2.3.
      - Defaults to the version in the name of C(lib/flink-dist-*.jar) under O(flink_home).
    type: str
  processes:
    description:
      - The Flink processes this host runs, checked by O(validate).
      - Defaults to V(jobmanager) when the host is in the inventory group C(flink_jobmanager) and V(taskmanager)
        when it is in C(flink_taskmanager); in neither, the processes whose memory keys the file sets.
    type: list
    elements: str
    choices: [jobmanager, taskmanager]
  max_file_size:
    description: The largest configuration file read, in bytes (V(1048576)) or with a unit (V(2M)).
    type: bytes
    default: 1048576
  path:
    description:
      - Internal, set by the action plugin - the file to write (symlinks resolved). Not for playbooks.
    type: str
  content:
    description:
      - Internal, set by the action plugin - the new file, base64-encoded. Not for playbooks.
    type: str
  expected_checksum:
    description:
      - Internal, set by the action plugin - sha256 of the file as it was read; the write is refused when the
        file differs. Not for playbooks.
    type: str
  content_checksum:
    description:
      - Internal, set by the action plugin - sha256 of the new file, checked after the transfer. Not for
        playbooks.
    type: str
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.files
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reads the file and reports what would change; writes nothing and runs no Python on the host.
  diff_mode:
    support: full
    details: The before and after text of the file, with the values of sensitive keys shown as C(******).
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
notes:
  - Every change to a Flink configuration file needs a restart of the processes reading it; RV(restart_required)
    tells which hosts (flinkops.flink.enforce publishes them for the rolling_restart role). Nothing is restarted.
  - In check mode RV(restart_required) is false (nothing was written); RV(changed) tells what would change.
  - Values of sensitive keys (containing C(password), C(secret), C(token) and the other words Flink uses) are
    shown as C(******) in RV(diff), RV(changes) and RV(config), and never appear in messages.
seealso:
  - module: flinkops.flink.flink_config_info
  - name: Flink configuration
    description: Flink's documentation of its configuration file.
    link: https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/config/
author:
  - flinkops developers
"""

EXAMPLES = r"""
- name: Size every TaskManager the same way, dropping what would fight the process size
  flinkops.flink.flink_config:
    flink_home: /opt/flink
    settings:
      taskmanager.memory.process.size: 4g
      taskmanager.numberOfTaskSlots: 4
    remove:
      - taskmanager.memory.flink.size
      - taskmanager.memory.managed.size   # also removes the deprecated taskmanager.memory.size
    backup: true
  register: tm_config

- name: Tell the rolling restart which hosts need it
  ansible.builtin.set_fact:
    flink_restart_required: "{{ tm_config.restart_required }}"

- name: Set a key this Flink version does not know, on purpose
  flinkops.flink.flink_config:
    conf_dir: /etc/flink
    flink_version: "2.3"
    settings:
      my.plugin.option: "on"
    allow_unknown_keys: true
"""

RETURN = r"""
changed:
  description: Whether the file changed (in check mode - would change).
  returned: always
  type: bool
restart_required:
  description: The file was written, so the Flink processes reading it need a restart to use it.
  returned: success
  type: bool
  sample: true
backup_file:
  description: The backup copy of the file, when O(backup) and the file changed.
  returned: changed and backup
  type: str
  sample: /opt/flink/conf/config.yaml.12345.2025-01-01@10:00:00~
config_file:
  description: The file Flink reads (and that was edited), symlinks resolved.
  returned: success
  type: str
  sample: /opt/flink/conf/config.yaml
config_format:
  description: V(legacy) for C(flink-conf.yaml), V(yaml) for C(config.yaml).
  returned: success
  type: str
config:
  description: Every key Flink reads from the resulting file with its value; sensitive values are V(******).
  returned: success
  type: dict
  sample: {"taskmanager.memory.process.size": "4g", "s3.secret-key": "******"}
changes:
  description: What changed, one item per key.
  returned: success
  type: list
  elements: dict
  contains:
    key:
      description: The Flink key.
      type: str
    action:
      description: V(update), V(add) or V(remove).
      type: str
    line:
      description: 1-based line of the key (in the original file for update and remove, in the new file for add).
      type: int
    before:
      description: The value before (V(******) for sensitive keys); null for add.
      type: str
    after:
      description: The value after (V(******) for sensitive keys); null for remove.
      type: str
  sample: [{"key": "taskmanager.memory.process.size", "action": "update", "line": 12, "before": "1728m",
            "after": "4g"}]
checksum:
  description: SHA-256 (hex) of the file after the task.
  returned: success
  type: str
flink_version:
  description: The Flink version the file was read and validated as.
  returned: success
  type: str
  sample: 2.3.0
memory:
  description: For each process validated, what Flink computes from the resulting file (the memory_model result).
  returned: success
  type: dict
diff:
  description: Before and after text of the file with sensitive values hidden (shown with C(--diff)).
  returned: changed and diff mode
  type: dict
"""

import base64  # noqa: E402 -- Ansible modules import after their documentation
import binascii  # noqa: E402 -- Ansible modules import after their documentation
import hashlib  # noqa: E402 -- Ansible modules import after their documentation
import os  # noqa: E402 -- Ansible modules import after their documentation
import tempfile  # noqa: E402 -- Ansible modules import after their documentation

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 -- Ansible modules import after their documentation

ARGUMENT_SPEC = dict(
    settings=dict(type="dict", default={}),
    remove=dict(type="list", elements="str", default=[]),
    validate=dict(type="bool", default=True),
    backup=dict(type="bool", default=False),
    allow_unknown_keys=dict(type="bool", default=False),
    flink_home=dict(type="str"),
    conf_dir=dict(type="str"),
    flink_version=dict(type="str"),
    processes=dict(type="list", elements="str", choices=["jobmanager", "taskmanager"]),
    max_file_size=dict(type="bytes", default=1048576),
    path=dict(type="str"),
    content=dict(type="str", no_log=True),  # the whole file, secrets included
    expected_checksum=dict(type="str"),
    content_checksum=dict(type="str"),
)


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _read(module, path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        module.fail_json(msg=f"{path}: cannot read it ({exc.strerror}); nothing was written", changed=False)


def write(module, path, content, expected):
    """Compare-and-swap: write ``content`` to ``path`` only if the file still has sha256 ``expected``."""
    if not os.path.isfile(path):
        module.fail_json(msg=f"{path}: is no longer a regular file; nothing was written", changed=False)
    current = _read(module, path)
    if _sha256(current) != expected:
        module.fail_json(msg=f"{path}: the file changed since it was read (sha256 {_sha256(current)[:12]}..., "
                             f"expected {expected[:12]}...); nothing was written: run the task again",
                         changed=False)
    if current == content:
        return False, None
    if module.check_mode:
        return True, None
    backup_file = module.backup_local(path) if module.params["backup"] else None
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".flinkops-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # the last moment to notice a concurrent writer before the rename
        if _sha256(_read(module, path)) != expected:
            module.fail_json(msg=f"{path}: the file changed while the new one was being written; nothing was "
                                 "written: run the task again", changed=False)
        # atomic_move gives the new file the old one's owner, group, mode and SELinux context
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True, backup_file


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["content"] is None or not params["path"] or not params["expected_checksum"]:
        module.fail_json(msg="flink_config runs through its action plugin, which sets path, content and "
                             "expected_checksum; give settings and remove instead", changed=False)
    path = params["path"]
    try:
        content = base64.b64decode(params["content"], validate=True)
    except (binascii.Error, ValueError):
        module.fail_json(msg=f"{path}: the new content did not arrive intact (not base64); nothing was written",
                         changed=False)
    if params["content_checksum"] and _sha256(content) != params["content_checksum"]:
        module.fail_json(msg=f"{path}: the new content did not arrive intact (sha256 differs); nothing was written",
                         changed=False)
    changed, backup_file = write(module, path, content, params["expected_checksum"])
    result = dict(changed=changed, path=path, checksum=_sha256(content) if changed else params["expected_checksum"])
    if backup_file:
        result["backup_file"] = backup_file
    module.exit_json(**result)


if __name__ == "__main__":
    main()
