"""The one sensitive-key rule (options.py): Flink's words per line, lowered as any JVM locale lowers them.

Hand-written expectations; tests/oracle/test_sensitive_keys_oracle.py checks the same rule against
Flink's own GlobalConfiguration.isSensitive in several locales.
"""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts

TURKISH_ONLY = ["metrics.reporter.x.APİKEY", "rest.client.BASİC-AUTH", "fs.gs.auth.SERVİCE-KEY",
                "security.kafka.sasl.JAAS.CONFİG"]


@pytest.mark.parametrize("key", TURKISH_ONLY)
def test_keys_flink_hides_under_a_turkish_locale_are_hidden(key):
    assert opts.is_sensitive_anywhere(key)
    hiding = [line for line in opts.SUPPORTED_LINES if opts.is_sensitive(key, line)]
    assert hiding == list(opts.SUPPORTED_LINES if "APİKEY" in key else opts.SUPPORTED_LINES[3:])  # 1.17 on
    assert opts.redact_anywhere({key: "s", "a": "b"}) == {key: opts.REDACTED, "a": "b"}
    assert opts.redact({key: "s"}, "1.17") == {key: opts.REDACTED}
    assert opts.redact_value(key, "s") == opts.REDACTED


@pytest.mark.parametrize("key", ["metrics.reporter.x.APIKEY", "S3.SECRET-KEY", "a.PassWord"])
def test_keys_hidden_in_other_locales_stay_hidden(key):
    assert opts.is_sensitive_anywhere(key)


@pytest.mark.parametrize("key", ["taskmanager.memory.process.size", "api.key", "se\u0307cret", "apı-key"])
def test_other_keys_are_shown(key):
    assert not opts.is_sensitive_anywhere(key)
    assert opts.redact_value(key, "v") == "v"


def test_api_key_per_line():
    assert [line for line in opts.SUPPORTED_LINES if opts.is_sensitive("x.api-key", line)] == ["2.1", "2.2", "2.3"]
    assert opts.is_sensitive_anywhere("x.api-key")
    assert opts.redact_value("x.api-key", None) is None  # nothing to hide


def test_lines_before_1_17_hide_four_words():
    # 1.14 to 1.16 ship password, secret, fs.azure.account.key and apikey only (the jars' SENSITIVE_KEYS).
    for line in ("1.14", "1.15", "1.16"):
        assert opts.is_sensitive("s3.secret-key", line) and opts.is_sensitive("x.apikey", line)
        assert not opts.is_sensitive("rest.auth-token", line) and not opts.is_sensitive("x.jaas.config", line)
    assert opts.is_sensitive("rest.auth-token", "1.17")
    assert opts.redact_value("rest.auth-token", "t") == opts.REDACTED  # never shown: some line hides it


def test_every_importer_uses_the_one_rule():
    import re
    from pathlib import Path

    from ansible_collections.flinkops.flink.plugins.plugin_utils import report

    assert report._is_sensitive is opts.is_sensitive_anywhere
    # no other file of the collection defines a rule of its own (the copies lint.is_secret,
    # config_edit.redact_value and fleet's alias were removed)
    plugins = Path(opts.__file__).resolve().parents[1]
    own = re.compile(r"^\s*def (is_secret|is_sensitive\w*|redact_value|redact_anywhere)\(|^SENSITIVE\w* = ", re.M)
    copies = [str(p.relative_to(plugins)) for p in plugins.rglob("*.py")
              if p.name != "options.py" and own.search(p.read_text())]
    assert copies == []
