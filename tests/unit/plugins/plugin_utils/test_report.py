"""The audit report model and its renderers, on hand-made fleets whose memory is computed by the real model."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp

GIB = 1 << 30
SECRET = "pw-Zq81-never-shown"


def gathered(config: dict, version: str = "1.20.5", processes=("taskmanager",), **extra) -> dict:
    """A result shaped like flink_config_info's, memory from the real model."""
    result = {
        "changed": False,
        "config": redact(config, version),
        "config_file": "/opt/flink/conf/flink-conf.yaml",
        "config_format": "legacy",
        "config_lines": {k: i + 1 for i, k in enumerate(config)},
        "ignored_files": [],
        "skipped_lines": [],
        "checksum": "0" * 64,
        "flink_version": version,
        "processes": list(processes),
        "mem_total_bytes": 16 * GIB,
        "cgroup_memory_limit_bytes": None,
        "cpu_count": 4,
        "memory": {p: compute(config, p, version) for p in processes},
    }
    result.update(extra)
    return result


def finding(severity, code, key=None, line=None, message="m", fix="f"):
    return {"severity": severity, "code": code, "key": key, "line": line, "message": message, "fix": fix}


def fleet():
    results = {
        "jm1": gathered({"jobmanager.memory.process.size": "1600m"}, processes=("jobmanager",)),
        "tm2": gathered({"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "4"}),
        "tm10": gathered({"taskmanager.memory.process.size": "1.5g"}),
        "tm1": gathered({"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "4"}),
        "tm3": {"failed": True, "msg": "tm3: flink_home /opt/flink does not exist"},
        "tm4": {"unreachable": True, "msg": "Failed to connect to the host via ssh", "changed": False},
    }
    findings = {
        "tm10": [finding("error", "invalid-memory", "taskmanager.memory.process.size", 1, "Flink refuses 1.5g"),
                 finding("info", "note-x")],
        "jm1": [finding("warning", "imaginary-key", "jobmanager.memory.managed.fraction", 7)],
    }
    return results, findings


def test_hosts_sorted_naturally_and_statuses():
    results, findings = fleet()
    report = rp.build_report(results, findings)
    assert [h["name"] for h in report["hosts"]] == ["jm1", "tm1", "tm2", "tm3", "tm4", "tm10"]
    status = {h["name"]: h["status"] for h in report["hosts"]}
    assert status == {"jm1": "warning", "tm1": "ok", "tm2": "ok", "tm3": "failed", "tm4": "unreachable",
                      "tm10": "error"}
    assert report["schema_version"] == 1
    assert report["status"] == "error"
    summary = report["summary"]
    # tm10's error plus one synthetic error per host that was not audited.
    assert summary["findings"] == {"error": 3, "warning": 1, "info": 1}
    assert summary["hosts_with"]["error"] == ["tm3", "tm4", "tm10"]
    assert summary["hosts_by_status"]["failed"] == 1 and summary["hosts_by_status"]["unreachable"] == 1
    assert summary["codes"] == {"gather-failed": 1, "host-unreachable": 1, "imaginary-key": 1, "invalid-memory": 1,
                                "note-x": 1}
    tm4 = next(h for h in report["hosts"] if h["name"] == "tm4")
    assert tm4["gather"] == {"ok": False, "unreachable": True, "msg": "Failed to connect to the host via ssh"}
    assert tm4["findings"][0]["code"] == "host-unreachable"


def test_memory_entries_come_from_the_gathered_model():
    results, findings = fleet()
    report = rp.build_report(results, findings)
    tm1 = next(h for h in report["hosts"] if h["name"] == "tm1")
    expected = compute({"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "4"},
                       "taskmanager", "1.20.5")
    mem = tm1["memory"]["taskmanager"]
    assert mem["sizes"] == expected["sizes"]
    assert mem["sizes"]["total_process"] == 2 * GIB
    assert mem["managed_per_slot"] == expected["sizes"]["managed"] // 4
    assert mem["sizing_path"] == "total-process"
    tm10 = next(h for h in report["hosts"] if h["name"] == "tm10")
    assert tm10["memory"]["taskmanager"]["valid"] is False
    assert "1.5g" in tm10["memory"]["taskmanager"]["error"]
    assert tm10["memory"]["taskmanager"]["sizes"] is None


def test_findings_sorted_by_severity_then_line():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"})}
    findings = {"tm1": [finding("info", "c", "k", 1), finding("warning", "b", "z", 9), finding("warning", "b", "a", 3),
                        finding("error", "a", None, None)]}
    report = rp.build_report(results, findings)
    got = [(f["severity"], f["line"]) for f in report["hosts"][0]["findings"]]
    assert got == [("error", None), ("warning", 3), ("warning", 9), ("info", 1)]


def test_bad_severity_is_refused_with_the_accepted_values():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"})}
    with pytest.raises(rp.ReportError, match="error, warning, info"):
        rp.build_report(results, {"tm1": [finding("fatal", "x")]})


def test_bad_fail_on_is_refused():
    with pytest.raises(rp.ReportError, match="error, warning, drift, never"):
        rp.build_report({}, fail_on="sometimes")


@pytest.mark.parametrize(
    ("fail_on", "with_warning", "with_drift", "fails"),
    [
        ("error", True, True, False),
        ("warning", True, False, True),
        ("warning", False, True, False),
        ("drift", False, True, True),
        ("drift", False, False, False),
        ("never", True, True, False),
    ],
)
def test_gate_levels_include_the_ones_before(fail_on, with_warning, with_drift, fails):
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"}),
               "tm2": gathered({"taskmanager.memory.process.size": "3g" if with_drift else "2g"})}
    findings = {"tm1": [finding("warning", "w")]} if with_warning else {}
    drift = rp_drift(results)
    report = rp.build_report(results, findings, drift, fail_on=fail_on)
    assert report["gate"]["failed"] is fails, report["gate"]
    assert report["summary"]["drift"] is with_drift


def test_gate_fails_on_errors_and_names_the_hosts():
    results, findings = fleet()
    report = rp.build_report(results, findings, fail_on="error")
    assert report["gate"]["failed"] is True
    assert report["gate"]["reason"] == "3 errors on tm3, tm4, tm10"
    assert rp.build_report(results, findings, fail_on="never")["gate"]["failed"] is False


def rp_drift(results):
    from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift

    return fleet_drift(results)


def test_drift_groups_from_fleet_drift():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": "0.4"}),
               "tm2": gathered({"taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": "0.6"}),
               "tm3": gathered({"taskmanager.memory.process.size": "2048 mb",
                                "taskmanager.memory.managed.fraction": "0.4"})}
    report = rp.build_report(results, {}, rp_drift(results))
    (group,) = report["drift"]["groups"]
    assert group["name"] == "taskmanager" and group["drift"] is True
    keys = {k["key"]: k for k in group["keys"]}
    fraction = keys["taskmanager.memory.managed.fraction"]
    assert fraction["values"] == [{"value": "0.4", "hosts": ["tm1", "tm3"], "majority": True},
                                  {"value": "0.6", "hosts": ["tm2"], "majority": False}]
    assert fraction["memory_key"] is True and fraction["equivalent"] is False
    assert fraction["kind"] == "memory" and fraction["counted"] is True and fraction["outliers"] == ["tm2"]
    assert keys["taskmanager.memory.process.size"]["equivalent"] is True
    managed = next(m for m in group["memory"] if m["component"] == "managed")
    assert [v["hosts"] for v in managed["values"]] == [["tm1", "tm3"], ["tm2"]]
    assert group["memory_status"] == {"taskmanager": "different_memory"}
    assert all(h["in_drift"] for h in report["hosts"])


def _all_renders(report):
    return {fmt: rp.render(report, fmt) for fmt in rp.FORMATS}


def test_sensitive_values_never_reach_any_report():
    # Results built by other means than the gather may hold clear secrets: the report redacts them.
    leaky = gathered({"taskmanager.memory.process.size": "2g"})
    leaky["config"]["s3.secret-key"] = SECRET
    leaky["config"]["security.ssl.keystore-password"] = SECRET + "2"
    other = gathered({"taskmanager.memory.process.size": "2g"})
    other["config"]["security.ssl.keystore-password"] = "another-" + SECRET
    results = {"tm1": leaky, "tm2": other}
    report = rp.build_report(results, {}, rp_drift(results))
    for fmt, text in _all_renders(report).items():
        assert SECRET not in text, fmt
    assert report["hosts"][0]["config"]["s3.secret-key"] == "******"
    # The drift table still says the key differs, without its values.
    keys = {k["key"]: k for k in report["drift"]["groups"][0]["keys"]}
    assert keys["s3.secret-key"]["sensitive"] is True
    assert {v["value"] for v in keys["s3.secret-key"]["values"]} == {"******"}


def test_junit_one_suite_per_host_same_cases_everywhere():
    results, findings = fleet()
    report = rp.build_report(results, findings, rp_drift(results), fail_on="error")
    root = ET.fromstring(rp.render_junit(report))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["jm1", "tm1", "tm2", "tm3", "tm4", "tm10"]
    names = [[c.get("name") for c in s.findall("testcase")] for s in suites]
    assert all(n == names[0] for n in names)
    assert names[0] == ["gather", "memory", "lint.imaginary-key", "lint.invalid-memory", "lint.note-x", "drift"]
    by_host = {s.get("name"): {c.get("name"): c for c in s.findall("testcase")} for s in suites}
    assert by_host["tm10"]["memory"].find("failure") is not None
    assert by_host["tm10"]["lint.invalid-memory"].find("failure") is not None
    # A warning is not a failure under fail_on=error...
    assert by_host["jm1"]["lint.imaginary-key"].find("failure") is None
    assert by_host["tm4"]["gather"].find("error") is not None
    assert by_host["tm4"]["memory"].find("skipped") is not None
    assert int(root.get("failures")) == sum(len(s.findall("testcase/failure")) for s in suites)
    assert int(root.get("errors")) == 2
    # ...but it is under fail_on=warning.
    strict = ET.fromstring(rp.render_junit(rp.build_report(results, findings, fail_on="warning")))
    jm1 = strict.find("testsuite[@name='jm1']")
    assert jm1.find("testcase[@name='lint.imaginary-key']/failure") is not None


class _Page(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.external, self.text, self.bars = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            if value and not value.startswith("#"):
                self.external.append(value)
        if tag == "link":
            self.external.append(attrs)
        if "seg" in (attrs.get("class") or "").split():
            self.bars.append(float(re.search(r"width:([\d.]+)%", attrs["style"]).group(1)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_balanced_and_names_every_host():
    results, findings = fleet()
    results["tm5"] = gathered({"jobmanager.memory.process.size": "2g", "taskmanager.memory.process.size": "4g"},
                              processes=("jobmanager", "taskmanager"), cgroup_memory_limit_bytes=3 * GIB)
    findings["tm1"] = [finding("warning", "odd", "k<script>", 2, "a <b>bold</b> & 'quoted' message", "x|y")]
    report = rp.build_report(results, findings, rp_drift(results))
    page = rp.render_html(report)
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert parser.external == []
    assert "url(" not in page and "@import" not in page
    text = "".join(parser.text)
    for host in results:
        assert re.search(rf"\b{host}\b", text), host
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    # The stacked bar of each valid process: its segments fill the bar exactly.
    valid = sum(len(h["memory"]) - sum(not m["valid"] for m in h["memory"].values()) for h in report["hosts"])
    # Segments: 8 per TM minus the empty task off-heap, 4 per JM; group them back per bar by summing to 100.
    total, bars = 0.0, 0
    for width in parser.bars:
        total += width
        if abs(total - 100) < 0.01:
            bars, total = bars + 1, 0.0
    assert bars == valid and total == 0.0
    assert "cgroup limit 3 GiB" in text  # tm5's limit is drawn on its bars
    assert "Flink would refuse to start this TaskManager" in text


def test_markdown_tables_escape_pipes():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"})}
    report = rp.build_report(results, {"tm1": [finding("warning", "w", "k", 1, "a|b", "c|d")]})
    md = rp.render_markdown(report)
    row = next(line for line in md.splitlines() if line.startswith("| warning"))
    assert "a\\|b" in row and "c\\|d" in row
    assert row.count(" | ") == 4  # five cells: the escaped pipes did not add any


def test_summary_lines_one_per_host_plus_totals():
    results, findings = fleet()
    report = rp.build_report(results, findings)
    lines = rp.summary_lines(report, {"html": "/x/flink-audit.html"})
    assert len(lines) == len(results) + 3
    assert lines[0].startswith("jm1 ") and "WARNING" in lines[0] and "[imaginary-key]" in lines[0]
    assert lines[-3].startswith("TOTAL  6 hosts (4 audited, 1 failed, 1 unreachable): 3 errors, 1 warning")
    assert lines[-2].startswith("GATE   audit_fail_on=error: FAIL")
    assert lines[-1] == "REPORT html: /x/flink-audit.html"


def test_write_reports_atomically_and_idempotently(tmp_path):
    results, findings = fleet()
    report = rp.build_report(results, findings, generated_at="2025-01-01T00:00:00Z")
    target = tmp_path / "out" / "nested"
    paths, changed = rp.write_reports(report, str(target))
    assert changed is True
    assert sorted(os.listdir(target)) == sorted(rp.FILE_NAMES.values())
    assert json.loads((target / "flink-audit.json").read_text()) == report
    paths2, changed2 = rp.write_reports(report, str(target))
    assert paths2 == paths and changed2 is False
    assert not [n for n in os.listdir(target) if n.startswith(".flink-audit.")]
    only, _ = rp.write_reports(report, str(tmp_path / "only"), ["html"])
    assert list(only) == ["html"] and os.listdir(tmp_path / "only") == ["flink-audit.html"]
    planned, _ = rp.write_reports(report, str(tmp_path / "dry"), write=False)
    assert not (tmp_path / "dry").exists() and set(planned) == set(rp.FORMATS)


def test_write_reports_in_two_processes_writes_the_same_files(tmp_path, monkeypatch):
    """From PARALLEL_MIN_HOSTS hosts a forked child writes the HTML and JUnit files: same bytes, same changed."""
    results, findings = fleet()
    report = rp.build_report(results, findings, generated_at="2025-01-01T00:00:00Z")
    rp.write_reports(report, str(tmp_path / "one"))
    monkeypatch.setattr(rp, "PARALLEL_MIN_HOSTS", 1)
    paths, changed = rp.write_reports(report, str(tmp_path / "two"))
    assert changed is True and set(paths) == set(rp.FORMATS)
    for name in rp.FILE_NAMES.values():
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert rp.write_reports(report, str(tmp_path / "two"))[1] is False
    (tmp_path / "two" / "flink-audit-junit.xml").write_text("stale")  # only the child's file differs
    assert rp.write_reports(report, str(tmp_path / "two"))[1] is True


def test_a_failure_in_the_child_fails_the_write_with_its_cause(tmp_path, monkeypatch):
    results, findings = fleet()
    report = rp.build_report(results, findings, generated_at="2025-01-01T00:00:00Z")
    monkeypatch.setattr(rp, "PARALLEL_MIN_HOSTS", 1)
    (tmp_path / "flink-audit.html").mkdir()  # the child's file cannot replace a directory
    with pytest.raises(rp.ReportError, match="flink-audit.html"):
        rp.write_reports(report, str(tmp_path))
    assert (tmp_path / "flink-audit.json").is_file()  # this process's half was written
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".flink-audit.")]


def test_write_reports_refuses_bad_targets(tmp_path):
    report = rp.build_report({"tm1": gathered({"taskmanager.memory.process.size": "2g"})})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(rp.ReportError, match="not a directory"):
        rp.write_reports(report, str(blocker))
    with pytest.raises(rp.ReportError, match="pdf"):
        rp.write_reports(report, str(tmp_path / "d"), ["pdf"])


def test_memory_limit_from_inventory_wins_over_cgroup_and_ram():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"}, cgroup_memory_limit_bytes=8 * GIB),
               "tm2": gathered({"taskmanager.memory.process.size": "2g"}, cgroup_memory_limit_bytes=8 * GIB),
               "tm3": gathered({"taskmanager.memory.process.size": "2g"})}
    report = rp.build_report(results, memory_limits={"tm1": 3 * GIB})
    res = {h["name"]: h["resources"] for h in report["hosts"]}
    assert (res["tm1"]["memory_limit_bytes"], res["tm1"]["memory_limit_source"]) == (3 * GIB, "inventory")
    assert (res["tm2"]["memory_limit_bytes"], res["tm2"]["memory_limit_source"]) == (8 * GIB, "cgroup")
    assert (res["tm3"]["memory_limit_bytes"], res["tm3"]["memory_limit_source"]) == (16 * GIB, "ram")


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (GIB, "1 GiB"),
                                            (1677721600, "1.56 GiB"), (1000 * (1 << 20), "1000 MiB"), (None, "n/a")])
def test_human_bytes(size, text):
    assert rp.human_bytes(size) == text


def test_a_key_sensitive_on_any_flink_line_is_redacted_on_every_host():
    # 'api-key' is sensitive from Flink 2.1 on; a 2.0 host must not show the same secret in clear.
    old = gathered({"taskmanager.memory.process.size": "2g", "metrics.reporter.x.api-key": SECRET}, version="2.0.2")
    assert old["config"]["metrics.reporter.x.api-key"] == SECRET  # Flink 2.0 itself would show it
    report = rp.build_report({"tm1": old})
    assert report["hosts"][0]["config"]["metrics.reporter.x.api-key"] == "******"
    for fmt, text in _all_renders(report).items():
        assert SECRET not in text, fmt


HOSTILE_KEYS = ("bad\x01key", "nul\x00key", "vt\x0bkey", "<script>alert(1)</script>", "tick`key|pipe",
                "[click](javascript:alert(2))")


def _hostile_report():
    from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift
    from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint

    base = {"taskmanager.memory.process.size": "2g"}
    results = {
        "tm1": gathered({**base, **{k: "v1" for k in HOSTILE_KEYS}}),
        "tm2": gathered({**base, **{k: "<b>v2</b>" for k in HOSTILE_KEYS}}),
    }
    findings = {h: config_lint(r["config"], r["flink_version"], facts=r) for h, r in results.items()}
    assert any(f["key"] == "<script>alert(1)</script>" for f in findings["tm1"])  # the lint names the key
    return rp.build_report(results, findings, fleet_drift(results))


def test_junit_is_xml_whatever_the_keys_hold():
    text = rp.render_junit(_hostile_report())
    root = ET.fromstring(text.encode("utf-8"))  # expat refuses any character XML forbids
    shown = "".join(root.itertext()) + "".join(v for e in root.iter() for v in e.attrib.values())
    assert "bad\\x01key" in shown and "nul\\x00key" in shown and "vt\\x0bkey" in shown
    assert "<script>alert(1)</script>" in shown  # as text, escaped in the file


def test_markdown_shows_keys_and_never_makes_markup_of_them():
    from markdown_it import MarkdownIt

    md = rp.render_markdown(_hostile_report())
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script" not in html and "<b>" not in html and "javascript:" not in html.replace(
        "(javascript:alert(2))", "")  # no link made of the key
    assert "<a " not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # shown: drift table and findings
    assert "tick`key|pipe" in html.replace("\\|", "|")
    # Outside code spans the raw Markdown never holds the tag either.
    outside = re.sub(r"(`+).*?\1", "", md)
    assert "<script>" not in outside


def test_drift_tables_shorten_long_values_and_label_keys():
    """Issue 15.12: a 1,000-character env.java.opts.all is shortened (the whole value on demand), the
    majority value is marked, slots are labelled as slots, keys drift does not count say so."""
    opts_a, opts_b = "-XX:+UseG1GC " + "-Dx=" + "a" * 1000, "-XX:+UseG1GC"
    results = {h: gathered({"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": slots,
                            "env.java.opts.all": java})
               for h, slots, java in (("tm1", "2", opts_a), ("tm2", "2", opts_a), ("tm3", "4", opts_b))}
    report = rp.build_report(results, {}, rp_drift(results))
    html, md = rp.render_html(report), rp.render_markdown(report)
    assert opts_a not in md and "(1017 characters)" in md
    assert '<details class="long"><summary>' in html and opts_a in html  # shortened, the whole value on demand
    assert "`2` (majority)" in md
    row = next(line for line in md.splitlines() if "numberOfTaskSlots" in line and "`4`" in line)
    assert "task slots" in row and "memory key" not in row and "outliers: tm3" in row
    java_row = next(line for line in md.splitlines() if "env.java.opts.all" in line)
    assert "not counted as drift" in java_row


def test_hosts_outside_the_flink_groups_are_said_to_have_an_unknown_process():
    """Issue 15.14: a gathered host with no known process: the memory column and the drift section say why."""
    results = {"node1": gathered({"taskmanager.memory.process.size": "2g"}, processes=())}
    report = rp.build_report(results, {}, rp_drift(results))
    host = report["hosts"][0]
    assert rp._host_memory_text(host) == "process unknown (in neither flink_jobmanager nor flink_taskmanager)"
    assert report["drift"]["unknown_process"] == ["node1"]
    md, html = rp.render_markdown(report), rp.render_html(report)
    assert "No drift analysis: no audited host's process is known. Not compared (process unknown: in neither " \
           "flink_jobmanager nor flink_taskmanager): node1." in md
    assert "process unknown" in html and "No drift analysis: no audited host" in html


def _drifting_fleet():
    tm = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "2",
          "taskmanager.memory.managed.fraction": "0.4"}
    return {"tm1": gathered(tm), "tm2": gathered(tm),
            "tm3": gathered({**tm, "taskmanager.memory.process.size": "4g",
                             "taskmanager.memory.managed.fraction": "0.6",
                             "taskmanager.memory.jvm-metaspace.size": "512m"})}


def test_an_ok_host_in_a_drifting_group_has_no_error_stripe():
    """Issue 15.16: the overview stripe follows the host's own status."""
    results = _drifting_fleet()
    report = rp.build_report(results, {}, rp_drift(results))
    assert [h["status"] for h in report["hosts"]] == ["ok", "ok", "ok"] and report["summary"]["drift"]
    html = rp.render_html(report)
    assert 'class="sev-error"' not in html
    assert html.count('<tr class="sev-ok">') == 3


def test_every_bar_segment_size_is_shown_without_hovering():
    """Issue 15.16: small segments (Network, JVM Overhead) were cut ("Net..."); the legend shows every size."""
    results = _drifting_fleet()
    html = rp.render_html(rp.build_report(results, {}, rp_drift(results)))
    model = compute({"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "2"},
                    "taskmanager", "1.20.5")
    for part, label in (("network", "Network"), ("jvm_overhead", "JVM Overhead"), ("framework_heap", "Framework Heap")):
        assert f"</i>{label} {rp.human_bytes(model['sizes'][part])}</span>" in html, part


def test_the_fleet_gets_the_policy_that_removes_its_drift():
    """Issue 15.16: a next step for the fleet, the enforce_policy that removes the drift, checked with
    memory_plan; applied, the fleet no longer drifts."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan

    results = _drifting_fleet()
    report = rp.build_report(results, {}, rp_drift(results))
    step = report["drift"]["next_step"]
    assert step["valid"] and step["groups"] == ["taskmanager"]
    assert step["policy"] == {"taskmanager": {"process_size": "1728m", "managed_fraction": "0.4",
                                              "options": {"taskmanager.memory.jvm-metaspace.size": "256m"}}}
    plan = memory_plan(results, step["policy"])
    after = {}
    for host, result in results.items():
        config = {k: v for k, v in result["config"].items() if k not in plan["hosts"][host]["remove"]}
        config.update(plan["hosts"][host]["set"])
        after[host] = gathered(config)
    assert not fleet_drift(after)["summary"]["drift"]
    md, html = rp.render_markdown(report), rp.render_html(report)
    for text in (md.replace("\\_", "_"), html):
        assert "Next step for the fleet" in text and "memory_plan checked it on every host" in text
        assert "flinkops.flink.enforce -e @policy.yml" in text
    assert '"process_size": "1728m"' in md
    # No drift, no next step.
    same = {h: results["tm1"] for h in ("tm1", "tm2")}
    assert rp.build_report(same, {}, rp_drift(same))["drift"]["next_step"] is None


# --- Failures (diagnose's result, from the logs Flink wrote when each failure was provoked on loopback) ------

DIAGNOSE_FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "diagnose")


def captured(line: str, case: str, rename: str = "") -> dict:
    """Gather results of a captured case (tests/unit/plugins/plugin_utils/fixtures/diagnose/): each host's real
    config, memory from the model, and its log files as ``logs``; host names prefixed with ``rename``."""
    folder = os.path.join(DIAGNOSE_FIXTURES, line, case)
    with open(os.path.join(folder, "case.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    results = {}
    for host, record in data["hosts"].items():
        logs = []
        for entry in record["logs"]:
            with open(os.path.join(folder, entry["fixture"]), encoding="utf-8", errors="replace") as handle:
                logs.append({"file": entry["file"], "text": handle.read()})
        results[rename + host] = gathered(record["config"], record["flink_version"], tuple(record["processes"]),
                                          logs=logs, mem_total_bytes=8 * GIB)
    return results


def diagnosed(*cases) -> tuple:
    from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import diagnose

    results, merged = {}, {"hosts": {}, "unattributed": []}
    for line, case, prefix in cases:
        part = captured(line, case, prefix)
        out = diagnose(part)
        results.update(part)
        merged["hosts"].update(out["hosts"])
        merged["unattributed"] += out["unattributed"]
    return results, merged


def fixture_line(line: str, case: str, path: str, number: int) -> str:
    folder = os.path.join(DIAGNOSE_FIXTURES, line, case)
    with open(os.path.join(folder, "case.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    name = next(e["fixture"] for r in data["hosts"].values() for e in r["logs"] if e["file"] == path)
    with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as handle:
        return handle.read().splitlines()[number - 1]


def test_failures_section_from_real_logs_with_evidence_line_and_group_fix():
    results, diagnoses = diagnosed(("2.3", "network-buffers", ""))
    report = rp.build_report(results, diagnoses=diagnoses)
    failures = report["failures"]
    assert [(f["code"], f["host"], f["process"]) for f in failures] == [("network-buffers", "tm1", "taskmanager")]
    f = failures[0]
    ev = f["evidence"]
    assert "Insufficient number of network buffers: required 1, but only 0 available" in ev["message"]
    assert ev["message"] in fixture_line("2.3", "network-buffers", ev["file"], ev["line"])  # file:line is real
    assert ev["time"].startswith("20")
    assert f["fix"]["valid"] and f["fix"]["group"] == "taskmanager" and f["fix"]["hosts"] == ["tm1"]
    assert "taskmanager.memory.network.max" in f["fix"]["settings"]
    assert report["summary"]["failures"] == 1 and report["summary"]["failure_codes"] == {"network-buffers": 1}
    assert report["summary"]["hosts_with_failures"] == ["tm1"]


def test_failures_newest_first_across_hosts():
    results, diagnoses = diagnosed(("2.3", "network-buffers", "a-"), ("1.20", "heap-oom", "b-"),
                                   ("2.3", "refused-config", "c-"))
    failures = rp.build_report(results, diagnoses=diagnoses)["failures"]
    assert len(failures) >= 3
    times = [f["evidence"]["time"] or "" for f in failures]
    assert times == sorted(times, reverse=True)
    assert {"network-buffers", "heap-oom", "refused-config"} <= {f["code"] for f in failures}


def test_no_logs_read_is_null_not_an_empty_section():
    results, _unused = fleet()
    report = rp.build_report(results)
    assert report["failures"] is None and report["summary"]["failures"] is None
    assert "failure" not in " ".join(rp.summary_lines(report)).lower()
    assert "The logs were not read" in rp.render_markdown(report)
    results, diagnoses = diagnosed(("2.3", "network-buffers", ""))
    diagnoses["hosts"] = {h: [] for h in diagnoses["hosts"]}
    report = rp.build_report(results, diagnoses=diagnoses)
    assert report["failures"] == [] and report["summary"]["failures"] == 0
    assert "No failures in the logs." in rp.render_html(report)


@pytest.mark.parametrize(("fail_on", "fails"), [("failure", True), ("error", False), ("warning", False),
                                                ("drift", False), ("never", False)])
def test_gate_failure_trips_on_failures_only_when_asked(fail_on, fails):
    results, diagnoses = diagnosed(("2.3", "network-buffers", ""))
    report = rp.build_report(results, diagnoses=diagnoses, fail_on=fail_on)
    assert report["gate"]["failed"] is fails, report["gate"]
    if fails:
        assert report["gate"]["reason"] == "1 failure in the logs on tm1"
    clean = rp.build_report(results, diagnoses={"hosts": {}}, fail_on="failure")
    assert clean["gate"]["failed"] is False
    # failure includes error: a config error fails it without any failure in the logs
    erring = rp.build_report(results, {"tm1": [finding("error", "rejected-config")]}, diagnoses={"hosts": {}},
                             fail_on="failure")
    assert erring["gate"]["failed"] is True


def test_failures_in_every_format_and_console():
    results, diagnoses = diagnosed(("2.3", "network-buffers", "a-"), ("2.3", "oom-killed", "b-"))
    report = rp.build_report(results, diagnoses=diagnoses, fail_on="failure")
    failures = report["failures"]
    n = len(failures)
    assert n >= 2
    lines = rp.summary_lines(report)
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.endswith(f", {n} failures in the logs")
    assert sum(line.startswith("FAILURE ") for line in lines) == n
    md = rp.render_markdown(report)
    section = md.split("## Failures", 1)[1].split("## Findings", 1)[0]
    assert section.count("\n| ") == n + 1  # header + one row per failure
    for f in failures:
        assert f"{f['evidence']['file']}:{f['evidence']['line']}" in section
    html_text = rp.render_html(report)
    assert '<h2 id="failures">Failures</h2>' in html_text
    assert html_text.split('id="failures"', 1)[1].split("</table>", 1)[0].count("<tr class=") == n
    assert json.loads(rp.render(report, "json"))["failures"] == failures
    root = ET.fromstring(rp.render_junit(report))  # valid XML
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "failures")
    cases = suite.findall("testcase")
    assert len(cases) == n and int(suite.get("failures")) == n
    assert all(c.find("failure") is not None for c in cases)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.iter("testsuite"))
    # Under another gate the same cases are listed, passing.
    lenient = rp.render_junit(rp.build_report(results, diagnoses=diagnoses, fail_on="error"))
    suite = next(s for s in ET.fromstring(lenient).iter("testsuite") if s.get("name") == "failures")
    assert len(suite.findall("testcase")) == n and suite.get("failures") == "0"


def test_secrets_in_a_failure_message_never_reach_any_report():
    results, diagnoses = diagnosed(("2.3", "network-buffers", ""))
    evidence = diagnoses["hosts"]["tm1"][0]["evidence"]
    evidence["message"] += f" fs.s3a.secret.key: {SECRET}"
    evidence["cause"] = f"s3.secret-key={SECRET}"
    report = rp.build_report(results, diagnoses=diagnoses)
    for fmt in rp.FORMATS:
        assert SECRET not in rp.render(report, fmt), fmt
    assert SECRET not in "\n".join(rp.summary_lines(report))


def test_console_tells_the_newest_failures_and_counts_the_rest():
    results, diagnoses = diagnosed(("2.3", "network-buffers", ""))
    one = diagnoses["hosts"]["tm1"][0]
    diagnoses["hosts"]["tm1"] = [dict(one, evidence=dict(one["evidence"], time=f"2026-12-02 05:{i:02d}:00,000"))
                                 for i in range(rp.CONSOLE_FAILURES + 5)]
    lines = rp.summary_lines(rp.build_report(results, diagnoses=diagnoses))
    told = [line for line in lines if line.startswith("FAILURE ")]
    assert len(told) == rp.CONSOLE_FAILURES + 1
    assert "(2026-12-02 05:24:00,000)" in told[0]  # newest first
    assert told[-1] == "FAILURE ... and 5 more (the newest shown; all in the reports)"
    assert lines[-1].startswith("GATE")


def test_summary_lines_of_a_large_fleet_list_its_worst_hosts_and_count_the_rest(monkeypatch):
    results, findings = fleet()
    report = rp.build_report(results, findings, fail_on="never")
    statuses = {h["name"]: h["status"] for h in report["hosts"]}
    monkeypatch.setattr(rp, "CONSOLE_HOSTS", 3)
    lines = rp.summary_lines(report)
    listed = [line.split()[0] for line in lines[:3]]
    # the three worst, in report order: the failed and the unreachable host first, then the errors
    ranked = sorted(statuses, key=lambda h: (rp.STATUSES.index(statuses[h]), list(statuses).index(h)))[:3]
    assert listed == [h for h in statuses if h in ranked]
    assert {statuses[h] for h in listed} <= {"failed", "unreachable", "error"}
    more = lines[3]
    left = len(statuses) - 3
    assert more.startswith(f"HOSTS  {left} more hosts not listed here (") and "every host is in the reports" in more
    assert lines[4].startswith(f"TOTAL  {len(statuses)} hosts")
    monkeypatch.setattr(rp, "CONSOLE_HOSTS", len(statuses))
    assert len(rp.summary_lines(report)) == len(statuses) + 2 and not any(
        line.startswith("HOSTS ") for line in rp.summary_lines(report))
