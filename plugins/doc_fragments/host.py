# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The options of every task that reads a host's Flink configuration (flink_config_info, flink_config).
# Their argument spec is HOST_OPTIONS in plugins/module_utils/task_options.py; a test keeps the two equal.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  flink_home:
    description:
      - Absolute path of the Flink installation on the host.
      - Required unless both O(conf_dir) and O(flink_version) are given.
      - Not set, the host variable C(flink_home) when the host has it (not for a delegated task, which sets
        it itself). The same holds for O(conf_dir) (C(flink_conf_dir)) and O(flink_version) (C(flink_version)),
        so a role's task templates none of them for every host.
    type: str
  conf_dir:
    description:
      - Absolute path of the directory holding Flink's configuration file.
      - Defaults to the host variable C(flink_conf_dir), else C(<flink_home>/conf).
    type: str
  flink_version:
    description:
      - Flink version of the host (V(1.20) or V(1.20.1)); one of the lines 1.14 to 2.3.
      - Defaults to the host variable C(flink_version), else to the version in the name of
        C(lib/flink-dist-*.jar) (on 1.14 C(lib/flink-dist_2.12-*.jar) or C(lib/flink-dist_2.11-*.jar)) under
        O(flink_home); the task fails and says what it looked for when
        there is none or more than one.
      - When given and O(flink_home) holds a jar of another line, the task warns and reads the file as the
        given version reads it.
    type: str
  max_file_size:
    description:
      - The largest configuration file read, in bytes (V(1048576)) or with a unit (V(2M)).
      - A bigger file fails the host with a message and is not transferred. At most O(max_file_size) plus one
        bytes of it are read to tell, so a file that never ends (a pseudo-file, a device behind a symlink)
        cannot hold up the task.
    type: bytes
    default: 1048576
notes:
  - Module defaults for these options can be set once for a play with the action group
    C(group/flinkops.flink.host) in C(module_defaults).
seealso:
  - name: Flink configuration
    description: Flink's documentation of its configuration file.
    link: https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/config/
"""
