# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The options of every task that talks to a JobManager's REST API from the controller (flink_cluster_info,
# flink_job): the address, the HTTP client and basic auth. Their argument spec is REST_OPTIONS in
# plugins/module_utils/task_options.py plus user and password in each of the two actions.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description: The JobManager's REST address as the controller reaches it (V(http://jm.example.com:8081)).
    type: str
    required: true
  timeout:
    description: Seconds each HTTP request may take.
    type: float
    default: 10
  validate_certs:
    description: Verify the TLS certificate of an C(https) address.
    type: bool
    default: true
  headers:
    description: HTTP headers sent with every request (for example an C(Authorization) header of a proxy).
    type: dict
    default: {}
  user:
    description:
      - User for HTTP basic auth. Without it, the userinfo of O(url) (V(http://user:secret@jm:8081)) is used.
      - The credentials go only into an C(Authorization) header; no message, log or result shows them.
    type: str
  password:
    description: Password for HTTP basic auth (with O(user)).
    type: str
seealso:
  - name: Flink REST API
    description: The JobManager's REST endpoints.
    link: https://nightlies.apache.org/flink/flink-docs-stable/docs/ops/rest_api/
"""
