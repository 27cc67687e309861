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


def test_legacy_comment_after_a_secret_is_hidden_glued_or_spaced():
    # issue 13.4: a comment after a sensitive value was shown ('s3.secret-key: ****** #SECRETC')
    text = ("security.ssl.truststore-password: ab#cdSECRET\n"
            "s3.secret-key: abc   # rotated\n"
            "s3.secret-key: abc #SECRETC\n"
            "plain.key: ab#cd # kept\n")
    assert redact_flink_conf_text(text, is_sensitive_anywhere) == (
        "security.ssl.truststore-password: ******#******\n"
        "s3.secret-key: ******   # ******\n"
        "s3.secret-key: ****** #******\n"
        "plain.key: ab#cd # kept\n")


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


# issue 13.4: !!set members, a comment after a secret and block scalars, in the config.yaml diff
YAML_SECRETS = ("set.password: !!set {SECRETA, SECRETB}\n"
                "s3.secret-key: SECRETQ #SECRETC\n"
                "s3.access.secret: 'SECRETQ'   # SECRETD\n"
                "pulsar.client.auth-params: |\n  SECRETL1\n  SECRETL2\n"
                "x: 1\n"
                "fs.gs.auth.service-key: >-\n  SECRETF1\n\n  SECRETF2\n\n"
                "y: 2 # plain comment\n"
                "a.token:\n  - SECRETLIST1\n  # SECRETLC1\n  - SECRETLIST2 # SECRETLC2\n"
                "b:\n  password: \"SECRETML1\n    SECRETML2\"\n"
                "set2.password: !!set\n  ? SECRETS1\n  ? SECRETS2\n"
                "d: 5\n")


def test_yaml_sets_comments_and_block_scalars_of_secrets_are_hidden_line_by_line():
    assert redact_config_yaml_text(YAML_SECRETS, is_sensitive_anywhere) == (
        "set.password: ******\n"
        "s3.secret-key: ****** #******\n"
        "s3.access.secret: ******   # ******\n"
        "pulsar.client.auth-params: ******\n  ******\n  ******\n"
        "x: 1\n"
        "fs.gs.auth.service-key: ******\n  ******\n\n  ******\n\n"
        "y: 2 # plain comment\n"
        "a.token:\n  ******\n  ******\n  ****** # ******\n"
        "b:\n  password: ******\n    ******\n"
        "set2.password: ******\n  ******\n  ******\n"
        "d: 5\n")
    # and Flink really reads these as the sensitive keys hidden above
    config = parse_config_yaml(YAML_SECRETS.encode(), "/c/config.yaml").config
    assert config["set.password"] == "!!set {SECRETA: null, SECRETB: null}"
    assert config["pulsar.client.auth-params"] == "SECRETL1\nSECRETL2\n"


@pytest.mark.parametrize("text", [YAML_SECRETS, YAML_SECRETS.replace("\n", "\r\n"),
                                  "k.password: [a,\n  b] # c\nz: 1", "k.password: |-\n  a\n\n  b"])
def test_yaml_redaction_keeps_every_line_break(text):
    shown = redact_config_yaml_text(text, is_sensitive_anywhere)
    assert shown.splitlines(keepends=True) and len(shown.splitlines()) == len(text.splitlines())
    assert [line[len(line.rstrip("\r\n")):] for line in shown.splitlines(keepends=True)] == \
        [line[len(line.rstrip("\r\n")):] for line in text.splitlines(keepends=True)]
    assert "SECRET" not in shown


def test_a_set_is_one_value_to_the_editor():
    from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import edit_config_yaml

    data = b"set.password: !!set {SECRETA, SECRETB}\nz: 1\n"
    result = edit_config_yaml(data, "/c/config.yaml", {"set.password": "new"})
    assert result.content == b"set.password: new\nz: 1\n"
    result = edit_config_yaml(data, "/c/config.yaml", remove=["set.password"])
    assert result.content == b"z: 1\n"
