# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the task runs as the action plugin plugins/action/flink_zookeeper_info.py, which
# reads ZooKeeper from the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_zookeeper_info
short_description: Read which Flink JobManager leads, and which take part in the election, from ZooKeeper
version_added: 0.1.0
author:
  - flinkops developers (@flinkops)
description:
  - Reads, from the controller, the nodes Flink's ZooKeeper high-availability services write under
    C(<path_root>/<cluster_id>/leader) - the leader's REST address and leader session id
    (C(rest_server/connection_info), also C(resource_manager) and C(dispatcher)) and the children of
    C(latch), one per JobManager in the leader election.
  - Optionally waits (O(wait_for), O(wait_timeout)) until enough JobManagers are in the election, or a new
    leader is elected; a leader that changes or whose REST port stops answering fails at once.
  - A small read-only client of ZooKeeper's own protocol, in the standard library; no ZooKeeper client library
    is needed. No SASL and no TLS.
options:
  quorum:
    description: The ZooKeeper connect string as the controller reaches it (V(zk1:2181,zk2:2181), optionally with
      a chroot V(/path) at the end), as in C(high-availability.zookeeper.quorum).
    type: str
    required: true
  path_root:
    description: C(high-availability.zookeeper.path.root).
    type: str
    default: /flink
  cluster_id:
    description: C(high-availability.cluster-id).
    type: str
    default: /default
  timeout:
    description: Seconds to connect to a server and for each answer.
    type: float
    default: 10
  wait_for:
    description: Conditions to wait for; all must hold. Without it the task reads once.
    type: dict
    suboptions:
      latch:
        description: At least this many JobManagers in the leader election.
        type: int
      leader_session:
        description: The leader's session id must stay this one; another leader, or none, fails at once.
        type: str
      new_leader_from:
        description: Wait until a leader whose session id differs from this one is elected.
        type: str
      leader_url:
        description: The leader's REST address; two refused connections in a row fail at once (a JobManager
          killed with -9 keeps its ZooKeeper node until its session expires).
        type: str
  wait_interval:
    default: 0.5
extends_documentation_fragment:
  - flinkops.flink.controller.read_only
  - flinkops.flink.controller
  - flinkops.flink.wait
  - action_common_attributes
seealso:
  - module: flinkops.flink.flink_cluster_info
  - name: Flink high availability with ZooKeeper
    description: The HA services whose nodes this module reads.
    link: https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/ha/zookeeper_ha/
"""

EXAMPLES = r"""
- name: Who leads the cluster
  flinkops.flink.flink_zookeeper_info:
    quorum: zk1.example.com:2181
    cluster_id: /prod
  delegate_to: localhost
  register: zk

- name: Wait until a new leader is elected
  flinkops.flink.flink_zookeeper_info:
    quorum: zk1.example.com:2181
    cluster_id: /prod
    wait_for:
      new_leader_from: "{{ zk.leader.session_id }}"
    # A leader killed with -9 keeps its node until its ZooKeeper session expires
    # (high-availability.zookeeper.client.session-timeout, 60 s by default); then a JobManager must start.
    wait_timeout: 180
  delegate_to: localhost
"""

RETURN = r"""
server:
  description: The ZooKeeper server that answered.
  returned: success
  type: str
paths:
  description: The nodes read (C(base), C(latch), C(rest_server), C(resource_manager), C(dispatcher)).
  returned: success
  type: dict
latch:
  description: The children of the leader latch, one per JobManager in the election; null when the node is absent.
  returned: success
  type: list
  elements: str
latch_count:
  description: How many JobManagers are in the election.
  returned: success
  type: int
leader:
  description: The REST server leader - C(address) (its REST URL) and C(session_id); null while none is elected.
  returned: success
  type: dict
components:
  description: The leader information of each component (C(rest_server), C(resource_manager), C(dispatcher)).
  returned: success
  type: dict
waited:
  description: Seconds waited.
  returned: with wait_for
  type: float
unmet:
  description: Conditions not met at the end.
  returned: with wait_for
  type: list
  elements: str
fatal:
  description: Conditions that failed for good (the leader changed or went away).
  returned: with wait_for
  type: list
  elements: str
"""
