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
    context, and follows a symlinked file to the file it points to when that file is in O(conf_dir) (see
    O(follow_symlinks_outside_conf_dir)).
  - Two runs writing the same file at once take turns (an exclusive C(flock) on the file); the later one finds
    the file changed and fails without writing. A backup file, once it exists, is always complete.
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
  restore_from:
    description:
      - A backup of the file, next to it (RV(backup_file) of an earlier write), to put back byte for byte through the
        same write - locked, compare-and-swap, atomic - instead of O(settings) and O(remove). With O(validate), Flink
        must start the host's processes with it.
      - The rolling_restart role rolls a failed TaskManager back with it.
    type: str
  backups_to_keep:
    description:
      - With O(backup), how many backups of the file to keep; after a successful write the oldest beyond that
        many are deleted. V(0) keeps every one.
    type: int
    default: 5
  allow_unknown_keys:
    description: Set keys Flink does not know without a warning.
    type: bool
    default: false
  processes:
    description:
      - The Flink processes this host runs, checked by O(validate).
      - Defaults to V(jobmanager) when the host is in the inventory group C(flink_jobmanager) and V(taskmanager)
        when it is in C(flink_taskmanager); in neither, the processes whose memory keys the file sets.
    type: list
    elements: str
    choices: [jobmanager, taskmanager]
  follow_symlinks_outside_conf_dir:
    description:
      - Edit the file a symlinked C(flink-conf.yaml) or C(config.yaml) points to when that file lies outside
        O(conf_dir) (symlinks and O(conf_dir) itself resolved).
      - By default such a host fails and nothing is written - the target may be shared with other hosts or
        programs, or be a file the link was never meant to let Ansible rewrite. A link to a file inside
        O(conf_dir) (or a directory under it) is always followed.
      - Reading is not affected - flinkops.flink.flink_config_info follows every link and returns the file it
        read as RV(flinkops.flink.flink_config_info#module:config_file).
    type: bool
    default: false
  gathered:
    description:
      - The result of flinkops.flink.flink_config_info for this host from earlier in the run (a registered
        variable), to skip reading the host again when that read shows the file already holds every setting
        and none of the removed keys. Such a host is not contacted at all (RV(read_from) is V(gather)).
      - Used only when it is a successful result for the same O(conf_dir) (and O(flink_version), when given),
        read less than O(gathered_max_age) seconds ago, of a file inside O(conf_dir) with no line Flink skips,
        and it shows nothing to change with certain (a sensitive setting's value is hidden in a gathered
        result, so such a setting is always read). Otherwise the host is read as usual and
        RV(gather_not_used) says why.
      - A file edited on the host after the gather and before this task is not seen when the gathered read
        shows nothing to change; keep O(gathered_max_age) short. A file that needs a change is always read
        again, and written only if it has not changed since (its sha256).
    type: dict
  gathered_max_age:
    description: How old, in seconds, a O(gathered) result may be to be used.
    type: int
    default: 300
  _path:
    description:
      - Internal, set by the action plugin for its write on the host; refused when a task gives it.
    type: str
  _content:
    description:
      - Internal, set by the action plugin (the new file, never logged); refused when a task gives it.
    type: str
  _expected_checksum:
    description:
      - Internal, set by the action plugin (the sha256 of the file it read); refused when a task gives it.
    type: str
  _content_checksum:
    description:
      - Internal, set by the action plugin (the sha256 of O(_content)); refused when a task gives it.
    type: str
extends_documentation_fragment:
  - flinkops.flink.controller
  - flinkops.flink.host
  - action_common_attributes
  - action_common_attributes.files
attributes:
  check_mode:
    support: full
    details: Reads the file and reports what would change; writes nothing and runs no Python on the host.
  diff_mode:
    support: full
    details: The before and after text of the file, with the values of sensitive keys shown as C(******).
  safe_file_operations:
    support: full
  vault:
    support: none
requirements:
  - "Python 3 on the managed host to write a file that changes (reading, check mode and a host already compliant
    need none). When the interpreter Ansible picks cannot run, the task fails with what it printed (for example
    C(pyenv: python3.13: command not found)); set C(ansible_python_interpreter) for the host."
notes:
  - Two inventory hosts that resolve to one file (one conf dir shared) and want the same content both succeed - the
    later writer finds the file already holding its target, reports it unchanged and warns that another writer
    wrote it.
  - Every change to a Flink configuration file needs a restart of the processes reading it; RV(restart_required)
    tells which hosts (flinkops.flink.enforce publishes them for the rolling_restart role). Nothing is restarted.
  - In check mode RV(restart_required) is false (nothing was written); RV(changed) tells what would change.
  - Values of sensitive keys (containing C(password), C(secret), C(token) and the other words Flink uses) are
    shown as C(******) in RV(diff), RV(changes) and RV(config), and never appear in messages.
seealso:
  - module: flinkops.flink.flink_config_info
author:
  - flinkops developers (@flinkops)
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

- name: Set a key this Flink version does not know, on purpose (a TaskManager's conf dir)
  flinkops.flink.flink_config:
    conf_dir: /etc/flink
    flink_version: "2.3"
    processes: [taskmanager]
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
read_from:
  description:
    - V(host) when the file was read from the host by this task; V(gather) when the O(gathered) result showed
      nothing to change and the host was not contacted.
  returned: success
  type: str
  sample: gather
gather_not_used:
  description: Why a O(gathered) result that was given was not used (the host was read instead).
  returned: when O(gathered) was given and not used
  type: str
  sample: "it was read 412 seconds ago (gathered_max_age: 300)"
diff:
  description: Before and after text of the file with sensitive values hidden (shown with C(--diff)).
  returned: changed and diff mode
  type: dict
"""

import base64  # noqa: E402 -- Ansible modules import after their documentation
import binascii  # noqa: E402 -- Ansible modules import after their documentation
import contextlib  # noqa: E402 -- Ansible modules import after their documentation
import errno  # noqa: E402 -- Ansible modules import after their documentation
import fcntl  # noqa: E402 -- Ansible modules import after their documentation
import hashlib  # noqa: E402 -- Ansible modules import after their documentation
import os  # noqa: E402 -- Ansible modules import after their documentation
import re  # noqa: E402 -- Ansible modules import after their documentation
import stat  # noqa: E402 -- Ansible modules import after their documentation
import tempfile  # noqa: E402 -- Ansible modules import after their documentation
import time  # noqa: E402 -- Ansible modules import after their documentation

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 -- Ansible modules import after their documentation

from ansible_collections.flinkops.flink.plugins.module_utils.task_options import (  # noqa: E402 -- after the docs
    CONFIG_MODULE_SPEC,
)

ARGUMENT_SPEC = CONFIG_MODULE_SPEC


# How long a run waits for another flink_config run writing the same file.
LOCK_TIMEOUT = 30


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _fail(module, msg):
    module.fail_json(msg=msg, changed=False)


def _read_fd(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _open_locked(module, path, timeout):
    """An open descriptor of ``path`` holding an exclusive flock, or fail.

    Two flink_config runs on one file take turns (compare-and-swap alone leaves a gap between the
    last check and the rename, where the later rename would drop the earlier edit). The lock is on
    the file itself, so no lock file is left in the conf dir; a run that waited finds the file
    replaced and fails as changed.
    """
    try:
        # O_NOFOLLOW: the path was resolved when read, a symlink now is a change; O_NONBLOCK: a FIFO
        # must not hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _fail(module, f"{path}: is now a symlink, it was a file when read; nothing was written: run the task again")
        _fail(module, f"{path}: cannot open it ({exc.strerror}); nothing was written")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        _fail(module, f"{path}: is no longer a regular file; nothing was written")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                return fd  # a file system without locks (ENOLCK on some NFS): compare-and-swap alone
            if time.monotonic() > deadline:
                os.close(fd)
                _fail(module, f"{path}: another process kept the file locked for {timeout} s (another flink_config "
                              "run?); nothing was written: run the task again")
            time.sleep(0.05)


def _same_file(fd, path):
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _changed(module, path, digest, expected):
    _fail(module, f"{path}: the file changed since it was read (sha256 {digest[:12]}..., expected {expected[:12]}...); "
                  "nothing was written: run the task again")


def _backup(module, path, fd, data):
    """A complete copy of ``data`` next to ``path`` (Ansible's backup name), owner, group, mode and
    times of the original; written to a temporary name first, so a backup file is never partial."""
    ext = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(time.time()))
    dest = f"{path}.{os.getpid()}.{ext}"
    held = os.fstat(fd)
    tmp_fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".flinkops-backup-", suffix=".tmp")
    try:
        with os.fdopen(tmp_fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            with contextlib.suppress(PermissionError):  # not root: the backup is ours, as with backup_local
                os.fchown(handle.fileno(), held.st_uid, held.st_gid)
            os.fchmod(handle.fileno(), stat.S_IMODE(held.st_mode))
            os.fsync(handle.fileno())
        os.utime(tmp, ns=(held.st_atime_ns, held.st_mtime_ns))
        if module.selinux_enabled():
            module.set_context_if_different(tmp, module.selinux_context(path), False)
        os.rename(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return dest


def _prune_backups(path, keep):
    """Delete all but the newest ``keep`` backups of ``path`` (named as _backup names them; 0: keep all)."""
    if not keep or keep < 0:
        return
    directory, name = os.path.split(path)
    pattern = re.compile(re.escape(name) + r"\.(\d+)\.(\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d)~\Z")
    found = []
    for entry in os.listdir(directory or "."):
        if pattern.match(entry):
            # a backup keeps the original's mtime; its ctime is when it was renamed into place
            with contextlib.suppress(OSError):
                found.append((os.stat(os.path.join(directory or ".", entry)).st_ctime_ns, entry))
    for _made, entry in sorted(found)[:-keep]:
        with contextlib.suppress(OSError):  # a backup already gone is fine; the write itself succeeded
            os.unlink(os.path.join(directory or ".", entry))


def write(module, path, content, expected):
    """Compare-and-swap: write ``content`` to ``path`` only if the file still has sha256 ``expected``.

    Every step leaves ``path`` either the old file or the new one (a temporary file in the same
    directory, renamed over it), and a backup file only once it is complete.
    """
    fd = _open_locked(module, path, LOCK_TIMEOUT)
    replaced = not _same_file(fd, path)
    if replaced:
        # replaced while this run waited for the lock: look at the file now in place
        os.close(fd)
        fd = _open_locked(module, path, LOCK_TIMEOUT)
    tmp = None
    try:
        current = _read_fd(fd) if _same_file(fd, path) else None
        if current == content:
            # already the target, whoever wrote it: two inventory hosts sharing one file both want it
            return False, None, replaced or _sha256(current) != expected
        if replaced or current is None:
            _fail(module, f"{path}: the file changed since it was read (it was replaced); nothing was written: "
                          "run the task again")
        if _sha256(current) != expected:
            _changed(module, path, _sha256(current), expected)
        if module.check_mode:
            return True, None, False
        backup_file = _backup(module, path, fd, current) if module.params["backup"] else None
        tmp_fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".flinkops-", suffix=".tmp")
        with os.fdopen(tmp_fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # the last moment to notice a writer that does not lock (an editor) before the rename
        if not _same_file(fd, path) or _sha256(_read_fd(fd)) != expected:
            _fail(module, f"{path}: the file changed while the new one was being written; nothing was written: run "
                          "the task again")
        # atomic_move gives the new file the old one's owner, group, mode and SELinux context
        module.atomic_move(tmp, path)
        if backup_file:
            _prune_backups(path, module.params["backups_to_keep"])
        return True, backup_file, False
    except OSError as exc:
        _fail(module, f"{path}: cannot write it ({exc.strerror or exc}); the file is unchanged")
    except Exception as exc:  # noqa: BLE001 -- atomic_move raises plain Exception; a message, not a traceback
        cause = exc
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__cause__
        reason = cause.strerror if cause is not None and cause.strerror else str(exc)
        _fail(module, f"{path}: cannot write it ({reason}); the file is unchanged")
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        os.close(fd)  # releases the lock


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["_content"] is None or not params["_path"] or not params["_expected_checksum"]:
        module.fail_json(msg="flink_config runs through its action plugin, which sets the file to write and its "
                             "new content; give settings and remove instead", changed=False)
    path = params["_path"]
    try:
        content = base64.b64decode(params["_content"], validate=True)
    except (binascii.Error, ValueError):
        module.fail_json(msg=f"{path}: the new content did not arrive intact (not base64); nothing was written",
                         changed=False)
    if params["_content_checksum"] and _sha256(content) != params["_content_checksum"]:
        module.fail_json(msg=f"{path}: the new content did not arrive intact (sha256 differs); nothing was written",
                         changed=False)
    changed, backup_file, written_by_another = write(module, path, content, params["_expected_checksum"])
    # no "path" key: Ansible post-processes one (expands $VARS in it and stats the result), so a conf dir
    # literally named "inj $HOME" failed after its file was written
    result = dict(changed=changed, checksum=_sha256(content) if changed else params["_expected_checksum"])
    if backup_file:
        result["backup_file"] = backup_file
    if written_by_another:
        result["written_by_another"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
