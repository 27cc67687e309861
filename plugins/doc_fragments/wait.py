# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# How a task that reads and waits for its O(wait_for) conditions waits (flink_cluster_info, flink_zookeeper_info).
# Each module documents its own wait_for and gives wait_interval its default (1 and 0.5: the option's fields
# given in the module win over the fragment's).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait_timeout:
    description: Seconds to wait for O(wait_for); V(0) checks once.
    type: float
    default: 0
  wait_interval:
    description: Seconds between two looks while waiting.
    type: float
"""
