# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the task runs as the action plugin plugins/action/flink_job.py, which talks to the
# JobManager's REST API from the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_job
short_description: Stop Flink jobs with a savepoint and resubmit them from it, over the JobManager's REST API
version_added: 0.3.0
description:
  - Job operations of a running Flink cluster, from the controller, as the savepoint mode of the
    flinkops.flink.rolling_restart role uses them around a JobManager restart without high availability.
  - V(inspect) reads every RUNNING job (C(/jobs/overview), C(/jobs/<id>/config), C(/jobs/<id>)) and the
    uploaded jars (C(/jars)) and says, for each job, what it would be resubmitted with - its jar, entry class,
    arguments (from O(job_jars), since Flink's REST API does not tell them) and parallelism (the job's own) -
    and every problem that forbids the savepoint mode (RV(problems)). Reads only.
  - V(stop) stops each job of O(jobs), one after the other, with a savepoint into O(savepoint_dir)
    (C(POST /jobs/<id>/stop) without drain) and waits for it (C(/jobs/<id>/savepoints/<request-id>)). The
    first savepoint that fails ends the task with the jobs stopped so far in RV(stopped); the failed job keeps
    running.
  - V(resubmit) runs each job of O(jobs) (the RV(stopped) of V(stop)) from its savepoint -
    C(POST /jars/<jar-id>/run) with C(savepointPath), the jar kept in C(web.upload.dir) when the JobManager
    still lists it, else uploaded from the controller (C(POST /jars/upload)) - and waits until each new job
    is RUNNING with all its tasks and restored from that savepoint (C(/jobs/<id>/checkpoints), C(restored)).
  - Nothing runs on the managed host; the task needs the controller to reach the REST address.
options:
  command:
    description: What to do (see the description).
    type: str
    required: true
    choices: [inspect, stop, resubmit]
  jobs:
    description:
      - For V(stop), the job records of V(inspect) (RV(jobs)); for V(resubmit), the RV(stopped) of V(stop)
        (each with its C(savepoint)).
    type: list
    elements: dict
    default: []
  job_jars:
    description:
      - Job name to its jar - a path on the controller, or a mapping with C(jar) (that path), C(entry_class),
        C(args) (a list, or one string split as a shell would) and C(parallelism).
      - When the JobManager's file sets C(web.upload.dir), a jar it still lists under the same file name is
        run without uploading it again.
      - Program arguments are never shown in results or messages (RV(jobs) counts them).
    type: dict
    default: {}
  savepoint_dir:
    description:
      - For V(inspect), the directory asked for (empty - the JobManager file's
        C(execution.checkpointing.savepoint-dir) or C(state.savepoints.dir)); for V(stop), the directory.
    type: str
    default: ""
  jobmanager_config:
    description:
      - For V(inspect), the JobManager file's configuration (RV(flinkops.flink.flink_config_info#module:config)).
    type: dict
    default: {}
  savepoint_timeout:
    description: Seconds each savepoint may take (V(stop)); also checked by V(inspect).
    type: float
    default: 300
  taskmanagers_after:
    description: For V(inspect), the role's C(rolling_restart_taskmanagers_after_jobmanager), checked.
    type: str
    default: restart
  upload_dir:
    description: For V(resubmit), the JobManager's C(web.upload.dir) (RV(upload_dir) of V(inspect)); empty - jars
      are always uploaded from the controller.
    type: str
    default: ""
  wait_timeout:
    description: For V(resubmit), seconds to wait until every job runs and restored from its savepoint.
    type: float
    default: 180
  wait_interval:
    description: Seconds between two looks while waiting.
    type: float
    default: 0.5
extends_documentation_fragment:
  - flinkops.flink.rest
  - flinkops.flink.controller
  - action_common_attributes
attributes:
  check_mode:
    support: partial
    details: V(inspect) runs unchanged; V(stop) and V(resubmit) do nothing in check mode.
  diff_mode:
    support: none
notes:
  - Flink's REST API tells a running job's name and parallelism, not the jar, entry class or program arguments
    it started with (checked on Flink 2.3.0); O(job_jars) gives them.
  - A savepoint that did not complete within O(savepoint_timeout) may still complete in Flink and end the job;
    the message says so.
seealso:
  - module: flinkops.flink.flink_cluster_info
author:
  - flinkops developers (@flinkops)
"""

EXAMPLES = r"""
- name: What each job would be resubmitted with, and what forbids stopping them
  flinkops.flink.flink_job:
    url: http://jm.example.com:8081
    command: inspect
    job_jars:  # Flink's REST API does not tell the jar and the program arguments a job started with
      orders: {jar: /srv/jobs/orders.jar, args: [orders]}
    # The JobManager's file as flinkops.flink.flink_config_info read it (register: flink): its savepoint
    # directory (state.savepoints.dir) and web.upload.dir.
    jobmanager_config: "{{ hostvars[groups['flink_jobmanager'][0]].flink.config }}"
  delegate_to: localhost
  run_once: true
  register: inspected

- name: Stop only when nothing forbids it
  ansible.builtin.assert:
    that: inspected.problems == []
    fail_msg: "{{ inspected.problems | join('; ') }}"
  run_once: true

- name: Stop every job with a savepoint
  flinkops.flink.flink_job:
    url: http://jm.example.com:8081
    command: stop
    jobs: "{{ inspected.jobs }}"
    savepoint_dir: "{{ inspected.savepoint_dir }}"
  delegate_to: localhost
  run_once: true
  register: stopped

- name: Resubmit them from their savepoints
  flinkops.flink.flink_job:
    url: http://jm.example.com:8081
    command: resubmit
    jobs: "{{ stopped.stopped }}"
    job_jars:
      orders: {jar: /srv/jobs/orders.jar, args: [orders]}
    upload_dir: "{{ inspected.upload_dir or '' }}"
  delegate_to: localhost
  run_once: true
  register: resubmitted
"""

RETURN = r"""
problems:
  description: Every problem that forbids the savepoint mode, in words (V(inspect)); empty when it may go.
  returned: command is inspect
  type: list
  elements: str
savepoint_dir:
  description: Where the savepoints go (V(inspect)); null when neither O(savepoint_dir) nor the file says.
  returned: command is inspect
  type: str
upload_dir:
  description: The JobManager file's C(web.upload.dir) (V(inspect)); null when unset.
  returned: command is inspect
  type: str
jobs:
  description:
    - V(inspect) - per RUNNING job, C(id), C(name), C(parallelism), C(max_parallelism), C(jar), C(entry_class),
      C(args_count).
    - V(resubmit) - per job, C(id) (the old one), C(name), C(savepoint), C(new_id), C(jar_source)
      (C(uploaded) - kept in web.upload.dir, or C(controller)), C(jar_id), C(restored) (true when it runs
      restored from its savepoint), C(reason) and C(error).
  returned: command is inspect or resubmit
  type: list
  elements: dict
jars:
  description: The jars the JobManager lists (C(id), C(name)) (V(inspect)).
  returned: command is inspect
  type: list
  elements: dict
stopped:
  description: The jobs stopped with a savepoint - the records given, each with C(savepoint) (its location) and
    C(savepoint_seconds).
  returned: command is stop
  type: list
  elements: dict
failed_job:
  description: The job whose savepoint failed (V(stop)); it keeps running.
  returned: when a savepoint failed
  type: dict
"""
