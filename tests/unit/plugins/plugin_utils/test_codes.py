"""The one registry of finding codes: what the sources emit, and what every doc and sample shows."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.flinkops.flink.plugins.plugin_utils import codes
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp

ROOT = Path(__file__).resolve().parents[4]
EMITTED = re.compile(r'"(error|warning|info)",\s*"([a-z0-9]+(?:-[a-z0-9]+)+)"|"code":\s*"([a-z0-9-]+)"')


def emitted(path: str) -> dict:
    """code -> severities, for every finding literal in a source file."""
    out: dict = {}
    for severity, code, bare in EMITTED.findall((ROOT / path).read_text()):
        out.setdefault(code or bare, set()).add(severity or None)
    return out


def test_every_code_the_sources_emit_is_registered_with_its_severity():
    lint = emitted("plugins/plugin_utils/lint.py")
    lint.pop("warning", None)  # a tuple of severities, not a finding
    unregistered = set(lint) - set(codes.LINT)
    assert not unregistered, (f"{sorted(unregistered)}: register each new code in plugins/plugin_utils/codes.py, "
                              "list it in plugins/filter/config_lint.yml and regenerate docs/reports.md's table")
    assert set(codes.LINT) <= set(lint), f"registered but never emitted: {sorted(set(codes.LINT) - set(lint))}"
    for code, severities in lint.items():
        assert severities <= set(codes.LINT[code].severities), code
    live = emitted("plugins/plugin_utils/live.py")
    assert set(live) == set(codes.LIVE)
    assert set(rp.GATHER_CODES.values()) == set(codes.GATHER)


def test_reports_doc_carries_the_registry():
    doc = (ROOT / "docs" / "reports.md").read_text()
    block = doc.split("<!-- codes:begin -->\n", 1)[1].split("<!-- codes:end -->", 1)[0]
    assert block == codes.markdown_table()


def _sample_codes(text: str) -> set:
    """Codes shown in console samples (``... 1 warning [blog-only-key]``) and ``code: x`` samples."""
    found = set(re.findall(r"warnings?(?: drift)? \[([a-z0-9-]+)(?:, [a-z0-9-]+)*\]", text))
    found |= set(re.findall(r"\bcode: ([a-z][a-z0-9]*(?:-[a-z0-9]+)+)", text))
    found |= set(re.findall(r'"code": "([a-z0-9-]+)"', text))
    return found


def test_docs_and_samples_show_only_registered_codes():
    for path in ("README.md", "docs/reports.md", "plugins/filter/config_lint.yml", "plugins/modules/audit_report.py",
                 "roles/audit/README.md"):
        file = ROOT / path
        if file.exists():
            shown = _sample_codes(file.read_text())
            assert shown <= set(codes.CODES), (path, sorted(shown - set(codes.CODES)))
    # the reports doc's console sample does show some (the test above must be able to fail)
    assert _sample_codes((ROOT / "docs" / "reports.md").read_text()) >= {"blog-only-key", "exceeds-host-memory"}


def test_config_lint_doc_lists_exactly_the_lint_codes():
    doc = yaml.safe_load((ROOT / "plugins" / "filter" / "config_lint.yml").read_text())
    text = " ".join(doc["RETURN"]["_value"]["contains"]["code"]["description"])
    listed = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)+", text.split("-", 1)[1])
    assert sorted(listed) == sorted(codes.LINT)


def test_every_failure_code_diagnose_emits_is_registered():
    text = (ROOT / "plugins" / "plugin_utils" / "diagnose.py").read_text()
    found = set(re.findall(r'(?:Rule|Hit)\("([a-z0-9]+(?:-[a-z0-9]+)+)"', text))
    assert "network-buffers" in found and "oom-killed" in found  # the pattern does see the rules
    assert found == set(codes.DIAGNOSE), sorted(found ^ set(codes.DIAGNOSE))
