"""Which file Flink reads per version (checked against GlobalConfiguration's bytecode and the oracle)."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import (
    LEGACY_NAME,
    YAML_NAME,
    ConfigFileChoice,
    ConfigFileError,
    ParsedConfig,
    choose_config_file,
)

ONE_OLD = ["1.17", "1.18", "1.17.2", "1.18.1"]
ONE_NEW = ["1.19", "1.20", "1.19.3", "1.20.5"]
TWO = ["2.0", "2.1", "2.2", "2.3", "2.3.0"]
OTHER = ["workers", "masters", "log4j.properties", "config.yml", "CONFIG.YAML"]


def test_names():
    assert LEGACY_NAME == "flink-conf.yaml"
    assert YAML_NAME == "config.yaml"


@pytest.mark.parametrize("version", ONE_OLD)
def test_old_lines_read_only_the_legacy_file(version):
    both = choose_config_file(version, [LEGACY_NAME, YAML_NAME, *OTHER])
    assert (both.name, both.format) == (LEGACY_NAME, "legacy")
    assert [i["name"] for i in both.ignored] == [YAML_NAME]
    alone = choose_config_file(version, [LEGACY_NAME])
    assert (alone.name, alone.format, alone.ignored) == (LEGACY_NAME, "legacy", [])
    with pytest.raises(ConfigFileError) as err:
        choose_config_file(version, [YAML_NAME], "/opt/flink/conf")
    assert err.value.path == "/opt/flink/conf/flink-conf.yaml"
    assert "The Flink config file '/opt/flink/conf/flink-conf.yaml' does not exist." in str(err.value)
    assert "1.19" in str(err.value)  # says config.yaml only counts from 1.19 on


@pytest.mark.parametrize("version", ONE_NEW)
def test_1_19_and_1_20_prefer_the_legacy_file(version):
    both = choose_config_file(version, [YAML_NAME, LEGACY_NAME])
    assert (both.name, both.format) == (LEGACY_NAME, "legacy")
    assert both.ignored[0]["name"] == YAML_NAME and "silently" in both.ignored[0]["reason"]
    only_yaml = choose_config_file(version, [YAML_NAME, *OTHER])
    assert (only_yaml.name, only_yaml.format, only_yaml.ignored) == (YAML_NAME, "yaml", [])
    with pytest.raises(ConfigFileError) as err:
        choose_config_file(version, OTHER, "conf")
    # Flink names config.yaml as the missing file
    assert err.value.path == "conf/config.yaml"
    assert str(err.value).startswith("conf/config.yaml: neither flink-conf.yaml nor config.yaml exists")


@pytest.mark.parametrize("version", TWO)
def test_2_x_reads_only_config_yaml(version):
    both = choose_config_file(version, [LEGACY_NAME, YAML_NAME])
    assert (both.name, both.format) == (YAML_NAME, "yaml")
    assert [i["name"] for i in both.ignored] == [LEGACY_NAME]
    with pytest.raises(ConfigFileError) as err:
        choose_config_file(version, [LEGACY_NAME])
    message = str(err.value)
    assert "The Flink config file 'config.yaml' does not exist." in message
    assert "migrate-config-file.sh" in message and "refuses to start" in message
    assert err.value.line is None and err.value.key is None


def test_present_may_be_any_iterable():
    choice = choose_config_file("2.3", (n for n in [YAML_NAME]))
    assert choice == ConfigFileChoice(YAML_NAME, "yaml", [])


@pytest.mark.parametrize("version", ["1.13", "3.0", "2", "2.3.0.1", "abc", ""])
def test_unsupported_version(version):
    with pytest.raises(ValueError, match="1.17"):
        choose_config_file(version, [YAML_NAME])


def test_error_string_forms():
    assert str(ConfigFileError("bad", "/c/config.yaml", 7, "a.b")) == "/c/config.yaml line 7, key 'a.b': bad"
    assert str(ConfigFileError("bad", "/c/config.yaml", 7)) == "/c/config.yaml line 7: bad"
    assert str(ConfigFileError("bad", "/c/config.yaml", key="k")) == "/c/config.yaml, key 'k': bad"
    assert str(ConfigFileError("bad", "/c/config.yaml")) == "/c/config.yaml: bad"
    assert str(ConfigFileError("bad")) == "bad"
    err = ConfigFileError("m", "p", 3, "k")
    assert (err.message, err.path, err.line, err.key) == ("m", "p", 3, "k")


def test_parsed_config_defaults():
    parsed = ParsedConfig(config={"a": "1"}, lines={"a": 1}, skipped_lines=[], format="legacy", path="p")
    assert parsed.overridden == []
