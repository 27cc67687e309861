# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error path of the collection's filters: a bad call becomes the filter's own error, named.

Filters pass Ansible's AnsibleFilterError as ``raise_as``, so this module needs no Ansible itself.
"""

from __future__ import annotations

from collections.abc import Mapping


def plain(value):
    """Ansible's lazy containers (hostvars) as plain data, only the keys asked for."""
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def filter_call(name: str, func, errors, raise_as, *args, **kwargs):
    """``func(*args, **kwargs)``; an exception of ``errors`` is raised again as ``raise_as`` with the
    filter's name in front (``flinkops.flink.<name>: <what is wrong>``) and without a traceback."""
    try:
        return func(*args, **kwargs)
    except errors as exc:
        raise raise_as(f"flinkops.flink.{name}: {exc}") from None
