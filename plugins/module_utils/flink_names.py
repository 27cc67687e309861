# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of Flink's two processes and of their memory components, in one table.

Every layer takes its names from here: the memory model's keys (``sizes`` of memory_model.compute),
the fields of the REST API's ``memoryConfiguration`` (``/taskmanagers/<id>``), and the labels the
reports, the drift and the upgrade messages show. Standard library only.
"""

from __future__ import annotations

from collections import namedtuple

# The two processes, as the memory model names them and as people read them.
PROCESS_NAMES = {"jobmanager": "JobManager", "taskmanager": "TaskManager"}

Component = namedtuple("Component", "process name rest label")

# One row per component, in the order memory_model.compute returns its sizes. ``rest`` is the
# TaskManager's memoryConfiguration field (the JobManager has no such REST view).
COMPONENTS = (
    Component("taskmanager", "framework_heap", "frameworkHeap", "Framework Heap"),
    Component("taskmanager", "task_heap", "taskHeap", "Task Heap"),
    Component("taskmanager", "framework_off_heap", "frameworkOffHeap", "Framework Off-Heap"),
    Component("taskmanager", "task_off_heap", "taskOffHeap", "Task Off-Heap"),
    Component("taskmanager", "managed", "managedMemory", "Managed Memory"),
    Component("taskmanager", "network", "networkMemory", "Network"),
    Component("taskmanager", "total_flink", "totalFlinkMemory", "Total Flink Memory"),
    Component("taskmanager", "jvm_metaspace", "jvmMetaspace", "JVM Metaspace"),
    Component("taskmanager", "jvm_overhead", "jvmOverhead", "JVM Overhead"),
    Component("taskmanager", "total_process", "totalProcessMemory", "Total Process Memory"),
    Component("jobmanager", "heap", None, "JVM Heap"),
    Component("jobmanager", "off_heap", None, "Off-Heap"),
    Component("jobmanager", "jvm_metaspace", None, "JVM Metaspace"),
    Component("jobmanager", "jvm_overhead", None, "JVM Overhead"),
    Component("jobmanager", "total_flink", None, "Total Flink Memory"),
    Component("jobmanager", "total_process", None, "Total Process Memory"),
)

# process -> the names of its sizes, in the model's order (what the drift compares)
SIZES = {p: tuple(c.name for c in COMPONENTS if c.process == p) for p in PROCESS_NAMES}
# REST memoryConfiguration field -> component name (TaskManagers)
REST_MEMORY = {c.rest: c.name for c in COMPONENTS if c.rest}
# component name -> label (the same component has the same label in both processes)
LABELS = {c.name: c.label for c in COMPONENTS}
# The JVM options the model returns under ``jvm`` and what Flink passes for them.
JVM_LABELS = {"heap": "-Xmx / -Xms", "direct": "-XX:MaxDirectMemorySize", "metaspace": "-XX:MaxMetaspaceSize"}
