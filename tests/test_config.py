"""The settings: typing of --config strings, defaults from the schema (the one place they live), validation,
conflicts between settings, and the documentation that states the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kit.config import (
    ConfigError,
    coerce,
    cross_field_errors,
    load_config,
    lookup,
    read_schema,
    repository_schema,
    schema_defaults,
    typed_scalar,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = repository_schema()


@pytest.mark.parametrize(
    ("value", "types", "expected"),
    [
        ("6", ["integer"], 6),
        ("-3", ["integer"], -3),
        ("0.25", ["number"], 0.25),
        ("1e-3", ["number"], 0.001),
        ("true", ["boolean"], True),
        ("False", ["boolean"], False),
        ("null", ["integer", "null"], None),
        ("6", ["string"], "6"),  # a string the schema allows stays a string
        ("six", ["integer"], "six"),  # not a number: left for the schema to refuse, naming the key
        (6, ["integer"], 6),  # already typed
    ],
)
def test_typed_scalar(value: object, types: list[str], expected: object) -> None:
    assert typed_scalar(value, types) == expected
    assert type(typed_scalar(value, types)) is type(expected)


def test_coerce_follows_the_schema_into_nested_sections_and_model_refs() -> None:
    schema = read_schema(SCHEMA)
    raw = {"models": {"overfit": {"seeds": ["3", "1"], "epochs": "7", "batch_norm": "true", "dropout": "0.1"}}}
    typed = coerce(raw, schema, schema)
    assert typed == {"models": {"overfit": {"seeds": [3, 1], "epochs": 7, "batch_norm": True, "dropout": 0.1}}}


def test_an_empty_config_is_the_schema_defaults() -> None:
    config = load_config({}, SCHEMA)
    assert config == schema_defaults(SCHEMA)
    schema = read_schema(SCHEMA)
    for section, node in schema["properties"].items():
        assert section in config
        for key, child in node.get("properties", {}).items():
            if "default" in child and not isinstance(child["default"], dict):
                assert config[section][key] == child["default"], f"{section}.{key}"


def test_a_partial_model_section_keeps_that_models_other_defaults() -> None:
    defaults = schema_defaults(SCHEMA)
    config = load_config({"models": {"overfit": {"epochs": 7}}}, SCHEMA)
    assert config["models"]["overfit"] == {**defaults["models"]["overfit"], "epochs": 7}
    assert config["models"]["cnn"] == defaults["models"]["cnn"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"pca": {"n_components": -1}}, ["key 'pca.n_components'", "minimum"]),
        ({"pca": {"n_componets": 4}}, ["key 'pca'", "n_componets"]),
        ({"data": {"max_train": "many"}}, ["key 'data.max_train'", "not of type"]),
        ({"models": {"overfit": {"seeds": [1, 1]}}}, ["key 'models.overfit.seeds'"]),
        ({"models": {"cnn": {"seeds": []}}}, ["key 'models.cnn.seeds'"]),
        ({"models": {"cnn": {"seeds": [-2]}}}, ["key 'models.cnn.seeds.0'", "minimum"]),
        ({"report": {"page_size": "A5"}}, ["key 'report.page_size'", "A4"]),
        ({"models": {"overfit": {"schedule": "cosine"}}}, ["key 'models.overfit.schedule'"]),
    ],
)
def test_schema_errors_name_the_key_and_the_readme(raw: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(raw, SCHEMA)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert "config/README.md" in message and "\n" not in message


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ({"data": {"max_train": 2000}}, ["models.validation_size", "data.max_train"]),
        ({"data": {"max_train": 1500}, "models": {"validation_size": 1000}}, ["backprop.train_size"]),
        ({"convolutions": {"volume_kernel_depth": 8, "volume_frames": 8}},
         ["convolutions.volume_kernel_depth", "convolutions.volume_frames"]),
        ({"data": {"max_test": 500}, "convolutions": {"test_image": 500}},
         ["convolutions.test_image", "data.max_test"]),
        ({"data": {"max_test": 500}}, ["backprop.test_size", "data.max_test"]),
        ({"models": {"overfit": {"train_size": 55000}}}, ["models.overfit.train_size", "models.validation_size"]),
        ({"backprop": {"eval_every": 2000}}, ["backprop.eval_every", "backprop.steps"]),
        ({"backprop": {"batch_size": 3000}}, ["backprop.batch_size", "backprop.train_size"]),
    ],
    ids=["validation-vs-max-train", "backprop-vs-max-train", "kernel-vs-frames", "test-image-vs-max-test",
         "backprop-test-vs-max-test", "subset-vs-split", "eval-vs-steps", "batch-vs-subset"],
)  # fmt: skip
def test_conflicting_settings_are_refused_naming_both_keys(raw: dict, keys: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(raw, SCHEMA)
    for key in keys:
        assert key in str(info.value), str(info.value)


def test_the_small_test_config_and_the_defaults_have_no_conflicts() -> None:
    assert cross_field_errors(schema_defaults(SCHEMA)) == []
    small = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())
    load_config(small, SCHEMA)


def test_boundaries_of_the_conflict_checks() -> None:
    """Equal to the limit is the first refused value, one below is accepted (both directions are tested)."""
    ok = {"data": {"max_train": 2401}, "models": {"validation_size": 400, "overfit": {"train_size": 2001}}}
    load_config(ok, SCHEMA)
    with pytest.raises(ConfigError, match=r"models\.overfit\.train_size"):
        load_config({**ok, "models": {"validation_size": 400, "overfit": {"train_size": 2002}}}, SCHEMA)
    with pytest.raises(ConfigError, match=r"models\.validation_size"):
        load_config({**ok, "models": {"validation_size": 2401}}, SCHEMA)
    load_config({"convolutions": {"volume_kernel_depth": 7, "volume_frames": 8}}, SCHEMA)
    load_config({"data": {"max_test": 1000}, "convolutions": {"test_image": 999}}, SCHEMA)


def test_lookup_reads_dotted_keys_and_names_a_missing_one() -> None:
    config = schema_defaults(SCHEMA)
    assert lookup(config, "pca.n_components") == config["pca"]["n_components"]
    with pytest.raises(ConfigError, match=r"pca\.n_compnents"):
        lookup(config, "pca.n_compnents")


def test_config_file_sets_no_default() -> None:
    """config/config.yaml holds only what a site changes; the defaults live in the schema alone."""
    assert yaml.safe_load((ROOT / "config" / "config.yaml").read_text()) in ({}, None)


def documented_defaults() -> list[tuple[str, str]]:
    """(dotted key, documented default) from config/README.md's tables: "| `section.key` | `value` | ..." rows, and
    the model table's "| `key` | `cnn value` | `overfit value` | ..." rows."""
    rows = []
    for line in (ROOT / "config" / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z_.]+`", cells[0]):
            continue
        key = cells[0].strip("`")
        columns = (
            [(key, cells[1])] if "." in key else [(f"models.cnn.{key}", cells[1]), (f"models.overfit.{key}", cells[2])]
        )
        rows += [(full, cell.split("`")[1]) for full, cell in columns if re.match(r"`[^`]+`", cell)]
    return rows


def test_config_readme_states_the_schemas_defaults() -> None:
    """Every default config/README.md names in a table is the schema's, so the documentation cannot drift."""
    defaults = schema_defaults(SCHEMA)
    rows = documented_defaults()
    assert len(rows) > 30, "the README's tables were not found"
    for full, documented in rows:
        assert yaml.safe_load(documented) == lookup(defaults, full), f"{full}: README says {documented}"
