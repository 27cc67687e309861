# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The attributes every task of this collection shares: it runs as an action plugin on the controller, once per
# host, without async, on POSIX hosts. Each module adds its own (check_mode, diff_mode, become, ...), or takes
# READ_ONLY (flinkops.flink.controller.read_only) when it only reads.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  action:
    description: Runs mostly on the controller through an action plugin of the same name.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Runs once per host, not once for the whole play.
    support: none
  platform:
    platforms: posix
"""

    # A task that only reads (flink_cluster_info, flink_zookeeper_info, flink_config_info).
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details: Only reads; runs unchanged in check mode.
  diff_mode:
    support: none
"""
