# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the task runs as the action plugin plugins/action/flink_cluster_info.py, which
# queries the JobManager's REST API from the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_cluster_info
short_description: Read a running Flink cluster from its JobManager's REST API, and wait for it
version_added: 0.1.0
description:
  - Reads, from the controller, the JobManager's REST API (C(/overview), C(/taskmanagers), C(/jobs/overview)) -
    the registered TaskManagers with their ids, slots and the memory each one runs with (its
    C(memoryConfiguration), in bytes), and the jobs with their state.
  - Optionally waits (O(wait_for), O(wait_timeout)) until TaskManagers are registered or gone, until they run
    with the slots and memory their configuration file gives, until jobs are RUNNING again, or until the
    cluster has a number of slots. A registered TaskManager whose memory differs from the expectation fails at
    once, since waiting cannot change it.
  - Nothing runs on the managed host; the task needs the controller to reach the REST address.
options:
  jobmanager:
    description:
      - Also read the JobManager's own memory (C(/jobmanager/config) and the JVM arguments in
        C(/jobmanager/environment)), returned as RV(jobmanager). Default - true when reading once, false while
        waiting.
    type: bool
  checkpoints:
    description: Also read each RUNNING job's last completed checkpoint (returned in RV(jobs) as C(checkpoint)).
    type: bool
    default: false
  exceptions:
    description:
      - Also read each job's exception history (C(/jobs/<id>/exceptions)), returned in RV(jobs) as C(exceptions) -
        the failures Flink recorded, newest first, each with the TaskManager it happened on (C(taskmanager_id),
        C(endpoint)), so that flinkops.flink.diagnose can tie a failure to the TaskManager and its host.
      - Reading once only (not while waiting); one request per job the JobManager lists.
    type: bool
    default: false
  wait_for:
    description:
      - Conditions to wait for; all must hold. Without it the task reads the cluster once.
      - An unreachable REST API counts as not yet (a JobManager may be restarting) until O(wait_timeout).
    type: dict
    suboptions:
      registered:
        description: TaskManager ids (C(taskmanager.resource-id)) that must be registered and have reported their slots.
        type: list
        elements: str
      absent:
        description: TaskManager ids that must no longer be registered.
        type: list
        elements: str
      expect:
        description:
          - TaskManager id to the memory model result its file gives (RV(flinkops.flink.flink_config_info#module:memory)
            C(.taskmanager)); the TaskManager must be registered with that many slots and exactly that memory,
            component by component, in bytes.
        type: dict
      jobs_running:
        description:
          - V(true) - every job that is not finished, cancelled or failed must be RUNNING with all its tasks
            running; or a list of job ids that must be. A job that ends up FAILED fails the wait at once.
        type: raw
      min_slots:
        description: The cluster must have at least this many task slots in total.
        type: int
      new_checkpoint:
        description:
          - Job ids; once every other condition holds, each of these jobs that checkpoints must complete a
            checkpoint newer than the last one it had then (a job without checkpointing is not waited for).
        type: list
        elements: str
  wait_interval:
    default: 1
extends_documentation_fragment:
  - flinkops.flink.controller.read_only
  - flinkops.flink.controller
  - flinkops.flink.rest
  - flinkops.flink.wait
  - action_common_attributes
notes:
  - TaskManagers are matched by the id they register under - C(taskmanager.resource-id) when set, else an id
    Flink makes up such as C(10.0.0.5:35001-a96259). Set C(taskmanager.resource-id) to each host's inventory
    hostname to map TaskManagers to hosts.
  - The memory a TaskManager reports is what Flink derived from its configuration when it started - the same
    numbers flinkops.flink.memory_model computes from that file.
seealso:
  - module: flinkops.flink.flink_config_info
author:
  - flinkops developers (@flinkops)
"""

EXAMPLES = r"""
- name: Read the cluster
  flinkops.flink.flink_cluster_info:
    url: http://jm.example.com:8081
  delegate_to: localhost
  run_once: true
  register: cluster

- name: Show slots per TaskManager
  ansible.builtin.debug:
    msg: "{{ cluster.taskmanagers | items2dict(key_name='id', value_name='slots') }}"
  run_once: true

- name: Wait until tm1 runs with what its new file gives, and jobs run again
  flinkops.flink.flink_cluster_info:
    url: http://jm.example.com:8081
    wait_for:
      expect:
        tm1: "{{ hostvars['tm1'].gathered.memory.taskmanager }}"
      jobs_running: true
    wait_timeout: 180
  delegate_to: localhost
"""

RETURN = r"""
url:
  description: The REST address read.
  returned: success
  type: str
flink_version:
  description: The JobManager's Flink version.
  returned: success
  type: str
  sample: 2.3.0
slots_total:
  description: Task slots of all registered TaskManagers.
  returned: success
  type: int
slots_available:
  description: Free task slots.
  returned: success
  type: int
taskmanager_count:
  description: Number of registered TaskManagers.
  returned: success
  type: int
taskmanagers:
  description: The registered TaskManagers, sorted by id.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The id it registered under (its C(taskmanager.resource-id) when set).
      type: str
    address:
      description: Host and RPC port it is reached at.
      type: str
    data_port:
      description: Its data port.
      type: int
    slots:
      description: Its task slots.
      type: int
    free_slots:
      description: Its free task slots.
      type: int
    cpu_cores:
      description: CPU cores the TaskManager's JVM sees.
      type: int
    physical_memory:
      description: Physical memory of its machine, in bytes.
      type: int
    memory:
      description:
        - The memory it runs with, in bytes, under the memory model's names - C(framework_heap), C(task_heap),
          C(framework_off_heap), C(task_off_heap), C(network), C(managed), C(jvm_metaspace), C(jvm_overhead),
          C(total_flink), C(total_process).
      type: dict
  sample: [{"id": "tm1", "slots": 2, "free_slots": 1, "memory": {"total_process": 1073741824, "managed": 241591914}}]
jobs:
  description:
    - The jobs the JobManager knows, with C(id), C(name), C(state), C(tasks_total), C(tasks_running).
    - With O(exceptions), C(exceptions) - C(entries), the job's exception history newest first, each with
      C(exception) (the class), C(causes) (the message lines of the stack trace, the exception and each
      C(Caused by), without frames; sensitive values hidden), C(timestamp) (epoch ms), C(task), C(endpoint)
      (host and port of the TaskManager), C(taskmanager_id), C(failure_labels) and C(concurrent) (failures
      that came with it, same shape); and C(truncated) (Flink kept more than it sent).
  returned: success
  type: list
  elements: dict
  sample: [{"id": "bf332f99280b7b5d04fe3f2c9c3fd914", "name": "etl", "state": "FAILED",
            "exceptions": {"truncated": false, "entries": [{"exception": "java.lang.OutOfMemoryError",
            "causes": ["java.lang.OutOfMemoryError: Java heap space"], "timestamp": 1796187459575,
            "task": "Map (1/1)", "endpoint": "127.0.0.1:43075", "taskmanager_id": "tm1",
            "failure_labels": {}, "concurrent": []}]}}]
jobmanager:
  description:
    - The running JobManager's memory - C(memory.sizes) (C(heap), C(off_heap), C(jvm_metaspace), C(jvm_overhead),
      C(total_flink), C(total_process) in bytes, from the sizes Flink derived at its start) and C(memory.jvm)
      (C(heap) from -Xmx, C(metaspace), C(direct)), as flinkops.flink.memory_model names them.
  returned: when O(jobmanager) is true
  type: dict
rest_failures:
  description: The REST failures seen while waiting (at most five), for example while the JobManager restarted.
  returned: when O(wait_for) is given
  type: list
  elements: str
waited:
  description: Seconds spent waiting for O(wait_for).
  returned: when O(wait_for) is given
  type: float
unmet:
  description: The conditions of O(wait_for) still not true at the end, in words.
  returned: when O(wait_for) is given
  type: list
  elements: str
checks:
  description:
    - For every TaskManager id named in O(wait_for) - C(registered) (with its slots reported), its C(slots),
      C(matches) (whether it runs with the slots and memory of its O(wait_for.expect) entry; null without one)
      and C(differences), a list of C(component), C(running) and C(file) values.
  returned: when O(wait_for) is given
  type: dict
  sample: {"tm2": {"registered": true, "slots": 2, "matches": false,
           "differences": [{"component": "managed", "running": 241591914, "file": 322122552}]}}
fatal:
  description: What made the wait fail at once (memory that differs from the expectation, a job that failed).
  returned: when O(wait_for) is given
  type: list
  elements: str
"""
