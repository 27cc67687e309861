# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of the collection's tasks, one home for the module and its action plugin.

Plain data, stdlib only: the flink_config module imports it on the host (Ansible ships it with the
module), the action plugins on the controller. The options every host task takes are documented
once in plugins/doc_fragments/host.py; tests check both stay in step with this file.
"""

from __future__ import annotations

DEFAULT_MAX_FILE_SIZE = 1024 * 1024
PROCESSES = ("jobmanager", "taskmanager")

# The Flink installation of a host and how its file is read (flink_config_info and flink_config).
HOST_OPTIONS = {
    "flink_home": {"type": "str"},
    "conf_dir": {"type": "str"},
    "flink_version": {"type": "str"},
    "max_file_size": {"type": "bytes", "default": DEFAULT_MAX_FILE_SIZE},
    "processes": {"type": "list", "elements": "str", "choices": list(PROCESSES)},
}

# The inventory's host variables a host task takes an option from when the task does not set it (on the host the
# task runs for; a delegated task sets them itself): the roles then template none of them for every host.
HOST_VARIABLES = {"flink_home": "flink_home", "conf_dir": "flink_conf_dir", "flink_version": "flink_version",
                  "log_dir": "flink_log_dir"}

GATHER_OPTIONS = {
    **HOST_OPTIONS,
    "live": {"type": "bool", "default": False},
    "logs": {"type": "bool", "default": False},
    "logs_max_bytes": {"type": "int", "default": 256 * 1024},
    "log_dir": {"type": "str"},
}

# What a playbook gives flink_config.
CONFIG_OPTIONS = {
    "settings": {"type": "dict", "default": {}},
    "remove": {"type": "list", "elements": "str", "default": []},
    "validate": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "backups_to_keep": {"type": "int", "default": 5},
    "allow_unknown_keys": {"type": "bool", "default": False},
    **HOST_OPTIONS,
    "follow_symlinks_outside_conf_dir": {"type": "bool", "default": False},
    "gathered": {"type": "dict"},
    "gathered_max_age": {"type": "int", "default": 300},
    # a backup of the file (backup_file of an earlier write) to put back, through the same checked write
    "restore_from": {"type": "str"},
}

# Set by flink_config's action for the write on the host, never by a playbook (refused there; the
# leading underscore is ansible-core's convention for such options, as in copy). They are documented as
# internal: ansible-lint's production profile (Automation Hub's rule) refuses the validate-modules ignore
# that leaving them out of the documentation would need.
CONFIG_WRITE_OPTIONS = {
    "_path": {"type": "str"},
    "_content": {"type": "str", "no_log": True},  # the whole file, secrets included
    "_expected_checksum": {"type": "str"},
    "_content_checksum": {"type": "str"},
}

# The names these internal options had before they took the underscore, refused with the same message.
CONFIG_WRITE_OLD_NAMES = ("path", "content", "expected_checksum", "content_checksum")

# The module's spec: what the action validates plus what it sends.
CONFIG_MODULE_SPEC = {**CONFIG_OPTIONS, **CONFIG_WRITE_OPTIONS}

# flink_cluster_info: the JobManager's REST API.
REST_OPTIONS = {
    "url": {"type": "str", "required": True},
    "timeout": {"type": "float", "default": 10},
    "validate_certs": {"type": "bool", "default": True},
    "headers": {"type": "dict", "default": {}},
}
