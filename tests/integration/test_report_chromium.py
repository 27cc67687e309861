"""The demo's HTML report in a real headless Chromium (Debian's ``chromium``), driven by playwright.

Checks what a person opening the page gets: every host, no console errors, no request leaving
the file (the page is self-contained), the "hosts with problems" filter working. Keeps a
full-page screenshot under tests/output/ as an artifact.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "examples" / "demo-fleet" / "inventory.yml"
CHROMIUM = Path("/usr/bin/chromium")
# Flags from /work/shared/TOOLING.md: no sandbox (root), no GPU, no network side traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "tests" / "output" / "audit-demo-report.png"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing (the test machines run as root)."""
    if not CHROMIUM.exists():
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True, timeout=600)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True, timeout=900)
    assert CHROMIUM.exists(), "apt-get install chromium did not provide /usr/bin/chromium"
    return CHROMIUM


@pytest.fixture(scope="module")
def demo_html(tmp_path_factory, ansible_env, ansible_bin) -> tuple:
    out = tmp_path_factory.mktemp("chromium") / "report"
    proc = subprocess.run(
        [str(ansible_bin / "ansible-playbook"), "-i", str(INVENTORY), "flinkops.flink.audit",
         "-e", f"audit_report_dir={out}", "-e", "audit_fail_on=never"],
        env=ansible_env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads((out / "flink-audit.json").read_text())
    assert [h["name"] for h in report["hosts"] if not h["gather"]["ok"]] == [], proc.stdout[-4000:]
    return out / "flink-audit.html", report


def test_demo_report_in_headless_chromium(chromium, demo_html, tmp_path):
    from playwright.sync_api import sync_playwright

    page_path, report = demo_html
    url = page_path.as_uri()
    console, errors, requests = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load")
            body = page.inner_text("body")
            hosts = [h["name"] for h in report["hosts"]]
            heads = page.eval_on_selector_all(".host h3", "els => els.map(e => e.textContent)")
            bars = page.eval_on_selector_all(".host .bar", "els => els.length")
            refused = page.inner_text("section.host:has(#host-tm4) .refused")
            problems_button = page.locator("button[data-mode=problems]")
            problems_button.click()
            visible_after = page.eval_on_selector_all(
                "section.host", "els => els.filter(e => e.offsetParent !== null).map(e => e.querySelector('h3').id)")
            page.locator("button[data-mode=all]").click()
            visible_all = page.eval_on_selector_all("section.host", "els => els.filter(e => e.offsetParent !== null)"
                                                                    ".length")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert [m for m in console if m[0] in ("error", "warning")] == []
    assert requests == [url], "the page loaded something besides itself"
    assert heads == hosts
    for name in hosts:
        assert name in body
    # A bar per valid process: jm1, tm1, tm2, tm3 (tm4's config is refused and says so instead).
    assert bars == 4
    assert "Flink would refuse to start this TaskManager" in refused and "1.5g" in refused
    # The filter hides the hosts without errors or warnings (tm1, the reference TaskManager).
    assert visible_after == ["host-jm1", "host-tm2", "host-tm3", "host-tm4"]
    assert visible_all == len(hosts)
    assert SCREENSHOT.stat().st_size > 50_000


def test_chromium_is_the_debian_package(chromium):
    version = subprocess.run([str(chromium), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("Chromium "), version.stdout + version.stderr
    assert shutil.which("chromium") == str(chromium)
