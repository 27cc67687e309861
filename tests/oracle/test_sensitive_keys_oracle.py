"""The sensitive-key rule against Flink's own ``GlobalConfiguration.isSensitive`` in several JVM locales.

Flink lowers the key with ``String.toLowerCase()``, which follows the JVM's default locale: under
Turkish ``APİKEY`` becomes ``apikey`` (hidden) and ``APIKEY`` becomes ``apıkey`` (shown).  We must
hide at least what Flink hides in any locale: ``options.is_sensitive(key, line)`` equals "some
locale hides it" on that line, and ``is_sensitive_anywhere`` equals "some line hides it".
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import flink_dist
import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts

PROGRAM = r"""
import java.util.Base64;
import java.util.Locale;
import org.apache.flink.configuration.GlobalConfiguration;

public class Sensitive {
    public static void main(String[] args) throws Exception {
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, "UTF-8"));
        String line;
        StringBuilder out = new StringBuilder();
        while ((line = in.readLine()) != null) {
            String key = new String(Base64.getDecoder().decode(line), "UTF-8");
            for (String tag : args) {
                Locale.setDefault(Locale.forLanguageTag(tag));
                out.append(GlobalConfiguration.isSensitive(key) ? '1' : '0');
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
"""
LOCALES = ["en-US", "tr-TR", "az-AZ", "lt-LT", "und"]
KEYS = [
    # the issue's keys: hidden by Flink under Turkish only
    "metrics.reporter.x.APİKEY", "rest.client.BASİC-AUTH", "fs.gs.auth.SERVİCE-KEY",
    "security.kafka.sasl.JAAS.CONFİG", "metrics.reporter.x.API-KEY",
    # hidden in most locales, not under Turkish
    "metrics.reporter.x.APIKEY", "rest.client.BASIC-AUTH", "S3.SECRET-KEY", "security.PASSWORD",
    "fs.gs.auth.SERVICE-KEY", "security.kafka.sasl.JAAS.CONFIG", "kubernetes.TOKEN",
    # every word as it is, mixed case, and near misses
    *sorted(opts.ALL_SENSITIVE_PATTERNS), "a.PassWord", "x.Http-Headers", "x.Auth-Params",
    "fs.AZURE.account.KEY.acct", "pass.word", "secre.t", "api.key", "apı-key", "apİ", "to\u212aen",
    "taskmanager.memory.process.size", "İ", "", "a" * 200 + "İ" * 3 + "secret",
    "se\u0307cret", "servi\u0307ce-key", "jaas.conf\u0130g", "BASİC-auth", "basİc-auth",
]


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if not shutil.which("java"):
        pytest.fail("the Flink oracle needs Java 17 (make bootstrap installs it)")
    path = tmp_path_factory.mktemp("sensitive") / "Sensitive.java"
    path.write_text(PROGRAM)
    return path


def flink_hides(version: str, program: Path) -> dict:
    """key -> {locale: hidden} from real Flink ``version``."""
    dist, _ = flink_dist.jars(version)
    stdin = "".join(base64.b64encode(k.encode()).decode() + "\n" for k in KEYS)
    proc = subprocess.run(["java", "-cp", str(dist), str(program), *LOCALES], input=stdin, capture_output=True,
                          text=True, timeout=300, check=True)
    rows = proc.stdout.splitlines()
    assert len(rows) == len(KEYS), proc.stderr
    return {key: dict(zip(LOCALES, (c == "1" for c in row), strict=True)) for key, row in zip(KEYS, rows, strict=True)}


@pytest.fixture(scope="module")
def answers(program) -> dict:
    return {line: flink_hides(full, program) for line, full in flink_dist.VERSIONS.items()}


@pytest.mark.parametrize("line", list(flink_dist.VERSIONS))
def test_we_hide_what_flink_hides_in_some_locale(answers, line):
    wrong = {key: (opts.is_sensitive(key, line), by_locale) for key, by_locale in answers[line].items()
             if opts.is_sensitive(key, line) != any(by_locale.values())}
    assert not wrong, wrong


def test_the_issues_keys_really_depend_on_the_locale(answers):
    """The oracle is only a test if the locale matters: Turkish hides APİKEY and shows APIKEY."""
    got = answers["2.3"]
    assert got["metrics.reporter.x.APİKEY"]["tr-TR"] and not got["metrics.reporter.x.APİKEY"]["en-US"]
    assert got["metrics.reporter.x.APIKEY"]["en-US"] and not got["metrics.reporter.x.APIKEY"]["tr-TR"]


def test_anywhere_is_any_line(answers):
    for key in KEYS:
        expected = any(any(answers[line][key].values()) for line in answers)
        assert opts.is_sensitive_anywhere(key) == expected, key
        assert (opts.redact_anywhere({key: "v"})[key] == opts.REDACTED) == expected, key
