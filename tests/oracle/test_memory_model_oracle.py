"""Differential test: our memory model against real Flink, every supported minor line.

For each line, ``generate.py`` builds a fixed-seed batch of TaskManager and
JobManager configs (``FLINKOPS_ORACLE_CASES`` per version, default 4,000); the
real calculator answers them in one warm JVM (``oracle.py``) and
``memory_model.compute`` must agree on every case: the valid/invalid decision,
Flink's exception chain word for word, every component size, the JVM heap,
direct and metaspace limits, and the dynamic properties as a set.

On disagreement the test fails with the first cases side by side and writes
every differing case to ``tests/output/oracle-mismatches-<version>.json``.
``FLINKOPS_ORACLE_SEED`` explores other cases.
Coverage counts (cases, valid, invalid, per sizing path, per error kind) are
printed and written to ``tests/output/oracle-coverage-<version>.json``.
"""

from __future__ import annotations

import collections
import json
import os
import re
import time
from pathlib import Path

import flink_dist
import generate
import pytest
from oracle import oracle

VERSIONS = list(flink_dist.VERSIONS)
OUTPUT = Path(__file__).resolve().parents[1] / "output"
SHOW = 10


def _compute():
    # Imported late so the harness tests still run while the model is being written.
    from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

    return compute


def _ours(compute, config, process, version):
    try:
        return compute(config, process, version)
    except Exception as exc:  # the contract says never raise for a config: report it as a difference
        return {"raised": f"{type(exc).__name__}: {exc}"}


def compare(ours: dict, flink: dict) -> dict:
    """Field -> (ours, Flink's) for every field that differs; empty when they agree."""
    if "raised" in ours:
        return {"raised": (ours["raised"], "valid" if flink["valid"] else flink["error_chain"])}
    diff = {}
    if ours.get("valid") is not flink["valid"]:
        diff["valid"] = (ours.get("valid"), flink["valid"])
    if not flink["valid"]:
        if ours.get("error_chain") != flink["error_chain"]:
            diff["error_chain"] = (ours.get("error_chain"), flink["error_chain"])
        return diff
    if "valid" in diff:
        return diff
    our_sizes = ours.get("sizes") or {}
    for name, value in flink["sizes"].items():
        if our_sizes.get(name) != value:
            diff[f"sizes.{name}"] = (our_sizes.get(name), value)
    for name in sorted(set(our_sizes) - set(flink["sizes"])):
        diff[f"sizes.{name}"] = (our_sizes[name], None)
    our_jvm = ours.get("jvm") or {}
    for name in ("heap", "direct", "metaspace"):
        if name not in our_jvm or our_jvm[name] != flink["jvm"][name]:
            diff[f"jvm.{name}"] = (our_jvm.get(name, "<missing>"), flink["jvm"][name])
    our_dyn = set((ours.get("dynamic_properties") or {}).items())
    flink_dyn = set(flink["dynamic_properties"].items())
    if our_dyn != flink_dyn:
        diff["dynamic_properties"] = (sorted(our_dyn - flink_dyn), sorted(flink_dyn - our_dyn))
    return diff


def error_kind(chain: list[str]) -> str:
    """Flink's innermost message with numbers and quoted values blanked: one bucket per check."""
    text = re.sub(r"'[^']*'", "'…'", chain[-1])
    text = re.sub(r"\"[^\"]*\"", '"…"', text)
    text = re.sub(r"\d[\d.]*\s*(bytes|[kmgt]b)?", "N", text)
    return text[:110]


def _report(version, mismatches, total) -> str:
    lines = [f"Flink {version}: {len(mismatches)} of {total} cases differ from real Flink "
             f"(all written to {OUTPUT / f'oracle-mismatches-{version}.json'}); first {SHOW}:"]
    for m in mismatches[:SHOW]:
        lines.append(f"- {m['process']} [{m['path']}] config={json.dumps(m['config'], ensure_ascii=False)}")
        for field, (ours, flinks) in m["diff"].items():
            if field == "dynamic_properties":
                lines.append(f"    {field}: only ours {ours}; only Flink's {flinks}")
            else:
                lines.append(f"    {field}: ours={ours!r}")
                lines.append(f"    {' ' * len(field)}  flink={flinks!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("version", VERSIONS)
def test_memory_model_matches_real_flink(version):
    compute = _compute()
    flink = oracle(version)
    total = generate.cases_per_version()
    seed = generate.seed()
    coverage = {"version": flink_dist.full_version(version), "seed": seed}
    mismatches = []
    timing = {}
    for process, count in generate.split(total).items():
        cases = generate.generate(process, version, count, seed)
        started = time.perf_counter()
        answers = flink.memory_many(process, [c.config for c in cases])
        timing[f"flink_{process}_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        ours = [_ours(compute, c.config, process, version) for c in cases]
        timing[f"ours_{process}_s"] = round(time.perf_counter() - started, 3)

        paths, kinds, tags = collections.Counter(), collections.Counter(), collections.Counter()
        for case, flink_answer, our_answer in zip(cases, answers, ours, strict=True):
            paths[f"{case.path} {'valid' if flink_answer['valid'] else 'invalid'}"] += 1
            tags.update(case.tags)
            if not flink_answer["valid"]:
                kinds[error_kind(flink_answer["error_chain"])] += 1
            diff = compare(our_answer, flink_answer)
            if diff:
                mismatches.append({"process": process, "path": case.path, "config": case.config,
                                   "diff": diff, "ours": our_answer, "flink": flink_answer})
        valid = sum(a["valid"] for a in answers)
        coverage[process] = {
            "cases": len(cases), "valid": valid, "invalid": len(cases) - valid,
            "paths": dict(sorted(paths.items())), "error_kinds": dict(kinds.most_common()),
            "tags": dict(sorted(tags.items())),
        }
        # The generator must keep exercising what it claims to: every path, both verdicts, many errors.
        path_names = {c.path for c in cases}
        assert len(path_names) == 8, path_names
        assert 0.3 < valid / len(cases) < 0.8, (process, valid, len(cases))
        assert len(kinds) >= 15, kinds
    coverage["timing"] = timing
    coverage["mismatches"] = len(mismatches)

    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"oracle-coverage-{version}.json").write_text(json.dumps(coverage, indent=1, ensure_ascii=False))
    mismatch_file = OUTPUT / f"oracle-mismatches-{version}.json"
    if mismatches:
        mismatch_file.write_text(json.dumps(mismatches, indent=1, ensure_ascii=False, default=str))
    elif mismatch_file.exists():
        mismatch_file.unlink()
    tm, jm = coverage["taskmanager"], coverage["jobmanager"]
    print(f"\nFlink {coverage['version']}: {tm['cases'] + jm['cases']} cases "
          f"(TM {tm['cases']}: {tm['valid']} valid / {tm['invalid']} invalid; "
          f"JM {jm['cases']}: {jm['valid']} valid / {jm['invalid']} invalid), "
          f"{len(mismatches)} mismatches; {timing}")
    assert total >= 2000 or "FLINKOPS_ORACLE_CASES" in os.environ
    assert not mismatches, _report(version, mismatches, tm["cases"] + jm["cases"])


def test_compare_catches_every_kind_of_difference():
    """The comparison itself must not be blind: perturb a real Flink answer field by field."""
    flink = oracle("2.3")
    good = flink.memory("taskmanager", {"taskmanager.memory.process.size": "1728m"})
    bad = flink.memory("taskmanager", {})
    assert compare(dict(good), good) == {}
    assert compare(dict(bad), bad) == {}

    def changed(**fields):
        ours = json.loads(json.dumps(good))
        for dotted, value in fields.items():
            target = ours
            *parents, leaf = dotted.split("__")
            for p in parents:
                target = target[p]
            target[leaf] = value
        return compare(ours, good)

    assert set(changed(valid=False)) == {"valid"}
    assert set(changed(sizes__managed=good["sizes"]["managed"] + 1)) == {"sizes.managed"}
    assert set(changed(sizes__jvm_overhead=None)) == {"sizes.jvm_overhead"}
    assert set(changed(jvm__direct=None)) == {"jvm.direct"}
    assert set(changed(jvm__heap=good["jvm"]["heap"] - 1)) == {"jvm.heap"}
    dyn = dict(good["dynamic_properties"])
    dyn["taskmanager.memory.managed.size"] = "1b"
    assert set(changed(dynamic_properties=dyn)) == {"dynamic_properties"}
    dyn = dict(good["dynamic_properties"])
    del dyn["external-resources"]
    assert set(changed(dynamic_properties=dyn)) == {"dynamic_properties"}

    chain = list(bad["error_chain"])
    assert set(compare({"valid": False, "error_chain": chain[:1]}, bad)) == {"error_chain"}
    assert set(compare({"valid": False, "error_chain": [c + " " for c in chain]}, bad)) == {"error_chain"}
    assert set(compare({"valid": True, "sizes": {}}, bad)) == {"valid", "error_chain"}
    assert set(compare({"raised": "KeyError: x"}, good)) == {"raised"}


def test_generator_is_seeded():
    """Same arguments, same cases (a failure report must be reproducible); another seed, other cases."""
    first = generate.generate("taskmanager", "1.20", 300)
    again = generate.generate("taskmanager", "1.20.5", 300)
    other = generate.generate("taskmanager", "1.20", 300, seed=generate.DEFAULT_SEED + 1)
    assert [c.config for c in first] == [c.config for c in again]
    assert [c.config for c in first] != [c.config for c in other]
    assert all(isinstance(k, str) and isinstance(v, str) for c in first for k, v in c.config.items())
