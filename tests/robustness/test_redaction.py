"""The redaction fixes found by test_secrets.py, pinned down one by one (hand-written expectations)."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import (
    redact_flink_conf_text,
    redact_fragment,
)
from ansible_collections.flinkops.flink.plugins.module_utils.options import is_sensitive_anywhere, redact_anywhere
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import redact_config_yaml_text


@pytest.mark.parametrize(("text", "shown"), [
    (" password: hunter2", " password: ******"),  # the first stretch, as before
    (" was: security.ssl.keystore-password: hunter2", " was: security.ssl.keystore-password: ******"),
    (" the password is: hunter2  ", " the password is: ******  "),
    (" s3.secret-key=hunter2", " s3.secret-key=******"),
    (" a: b: c", " a: b: c"),  # nothing sensitive: untouched
    (" password:", " password:"),  # nothing after it
    (" note: rotate the token monthly", " note: rotate the token monthly"),  # the word after the colon only
])
def test_redact_fragment_hides_after_any_sensitive_stretch(text, shown):
    assert redact_fragment(text, is_sensitive_anywhere) == shown


def test_legacy_hash_glued_to_a_secret_is_hidden_a_spaced_comment_is_kept():
    text = ("security.ssl.truststore-password: ab#cdSECRET\n"
            "s3.secret-key: abc   # rotated\n"
            "plain.key: ab#cd\n")
    assert redact_flink_conf_text(text, is_sensitive_anywhere) == (
        "security.ssl.truststore-password: ******#******\n"
        "s3.secret-key: ******   # rotated\n"
        "plain.key: ab#cd\n")


def test_yaml_comment_with_an_earlier_colon_is_hidden():
    text = "a: 1\n# old value: s3.secret-key: SECRET\n"
    assert redact_config_yaml_text(text, is_sensitive_anywhere) == "a: 1\n# old value: s3.secret-key: ******\n"


def test_duplicate_set_member_is_not_shown_in_the_error():
    with pytest.raises(ConfigFileError) as info:
        parse_config_yaml(b"security.ssl.keystore-password: !!set {SECRETX, y, SECRETX}\n", "/c/config.yaml")
    assert "SECRETX" not in str(info.value)
    assert "duplicate member in the set that starts on line 1" in str(info.value)
    assert info.value.line == 1
    # a duplicate map key is still named: keys are not secrets
    with pytest.raises(ConfigFileError, match="duplicate key 'a'"):
        parse_config_yaml(b"a: 1\na: 2\n", "/c/config.yaml")


def test_gather_hides_keys_that_any_flink_line_deems_sensitive():
    config = {"metrics.reporter.dd.api-key": "k", "user.artifacts.http-headers": "h", "S3.SECRET-KEY": "s",
              "taskmanager.memory.process.size": "2g"}
    assert redact_anywhere(config) == {"metrics.reporter.dd.api-key": "******",
                                       "user.artifacts.http-headers": "******", "S3.SECRET-KEY": "******",
                                       "taskmanager.memory.process.size": "2g"}
