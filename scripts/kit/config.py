"""The pipeline's settings: typed from ``--config`` strings, completed from the schema, validated, cross-checked.

The schema (``workflow/schemas/config.schema.yaml``) is the one place defaults live. ``load_config`` is what the
workflow runs before planning any job, so that a bad or conflicting setting stops the run with one message that
names the key (or both keys) and says what to do. It is plain Python, so the tests call it directly.

    config = load_config(raw_config, "workflow/schemas/config.schema.yaml")
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kit.cli import PipelineError

#: What every config error message ends with, so the user knows where the settings are explained.
WHERE = "Fix it in config/config.yaml (or --config/--configfile); config/README.md lists every setting."

#: Image counts of the official dataset, the upper bounds when ``data.max_train``/``max_test`` are null.
FULL_TRAIN, FULL_TEST = 60000, 10000


class ConfigError(PipelineError):
    """A setting that the schema refuses, or two settings that contradict each other."""


def read_schema(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The config schema as a dict."""
    with open(path, encoding="utf-8") as handle:
        # libyaml's safe loader where PyYAML has it: the same document, parsed in C (the Snakefile reads it at
        # every start).
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_node(node: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """A schema node with its ``$ref`` (to ``#/$defs/...``) resolved."""
    ref = node.get("$ref", "")
    return schema["$defs"][ref.removeprefix("#/$defs/")] if ref.startswith("#/$defs/") else node


def typed_scalar(value: Any, types: list[str]) -> Any:
    """``value`` as the schema's type when it is a string the schema does not allow (else unchanged).

    Why: Snakemake parses the values inside ``--config 'pca={"n_components": 6}'`` with YAML's base loader,
    which keeps every scalar a string, so the schema would reject the 6 that the user typed.
    """
    if not isinstance(value, str) or "string" in types:
        return value
    text = value.strip()
    if "null" in types and text in ("null", "~", ""):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    return value


def coerce(value: Any, node: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
    """Turn the string scalars that ``--config`` produces into the types the schema asks for, recursively."""
    node = schema_node(node, schema)
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, dict):
        properties = node.get("properties", {})
        return {key: coerce(item, properties.get(key, {}), schema) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce(item, node.get("items", {}), schema) for item in value]
    return typed_scalar(value, types)


def fill_defaults(value: Any, node: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
    """``value`` with every missing key of an object taken from the schema's ``default``, recursively.

    A section that sets only some keys of an object whose default is a whole object (a model's settings) keeps
    the other keys of that default, so a config may set only what it changes.
    """
    node = schema_node(node, schema)
    if not isinstance(value, dict) or "properties" not in node:
        return value
    filled = dict(value)
    for key, child in node["properties"].items():
        default = child.get("default")
        if key not in filled:
            if "default" in child:
                filled[key] = copy.deepcopy(default)
        elif isinstance(filled[key], dict) and isinstance(default, dict):
            filled[key] = {**copy.deepcopy(default), **filled[key]}
        if key in filled:
            filled[key] = fill_defaults(filled[key], child, schema)
    return filled


def schema_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """One message per setting the schema refuses, each naming the key as ``section.key``."""
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        messages.append(f"key '{key}': {error.message}")
    return messages


def _train_images(config: Mapping[str, Any]) -> int:
    """Training images the prepare step keeps."""
    return config["data"]["max_train"] or FULL_TRAIN


def _test_images(config: Mapping[str, Any]) -> int:
    """Test images the prepare step keeps."""
    return config["data"]["max_test"] or FULL_TEST


def _model_checks(config: Mapping[str, Any]) -> list[str]:
    """The validation split must leave training images, and each model's subset must fit in what is left."""
    errors = []
    kept, validation = _train_images(config), config["models"]["validation_size"]
    if validation >= kept:
        errors.append(
            f"models.validation_size ({validation}) must be smaller than the training images kept by "
            f"data.max_train ({kept}); lower models.validation_size or raise data.max_train"
        )
        return errors
    for name in ("cnn", "overfit"):
        size = config["models"][name].get("train_size")
        if size is not None and size > kept - validation:
            errors.append(
                f"models.{name}.train_size ({size}) exceeds the {kept - validation} training images left by "
                f"data.max_train ({kept}) minus models.validation_size ({validation}); lower one of them"
            )
    return errors


def _convolution_checks(config: Mapping[str, Any]) -> list[str]:
    """The 3D kernel must be shallower than the video, and the chosen test image must exist."""
    conv, errors = config["convolutions"], []
    if conv["volume_kernel_depth"] >= conv["volume_frames"]:
        errors.append(
            f"convolutions.volume_kernel_depth ({conv['volume_kernel_depth']}) must be smaller than "
            f"convolutions.volume_frames ({conv['volume_frames']}) for the output to stay 3D"
        )
    image, available = conv["test_image"], _test_images(config)
    if image is not None and image >= available:
        errors.append(
            f"convolutions.test_image ({image}) must be smaller than the test images kept by data.max_test "
            f"({available}); choose a lower index or null"
        )
    return errors


def _backprop_checks(config: Mapping[str, Any]) -> list[str]:
    """The network's subsets must fit in the kept data, a batch in the subset, an evaluation in the steps."""
    bp, errors = config["backprop"], []
    if bp["train_size"] > _train_images(config):
        errors.append(
            f"backprop.train_size ({bp['train_size']}) exceeds the training images kept by data.max_train "
            f"({_train_images(config)})"
        )
    if bp["test_size"] > _test_images(config):
        errors.append(
            f"backprop.test_size ({bp['test_size']}) exceeds the test images kept by data.max_test "
            f"({_test_images(config)})"
        )
    if bp["batch_size"] > bp["train_size"]:
        errors.append(f"backprop.batch_size ({bp['batch_size']}) exceeds backprop.train_size ({bp['train_size']})")
    if bp["eval_every"] > bp["steps"]:
        errors.append(f"backprop.eval_every ({bp['eval_every']}) exceeds backprop.steps ({bp['steps']})")
    return errors


#: Checks of settings that depend on each other; each returns messages naming both keys.
CROSS_CHECKS: tuple[Callable[[Mapping[str, Any]], list[str]], ...] = (
    _model_checks,
    _convolution_checks,
    _backprop_checks,
)


def cross_field_errors(config: Mapping[str, Any]) -> list[str]:
    """Every conflict between settings of a complete, schema-valid config."""
    return [message for check in CROSS_CHECKS for message in check(config)]


def load_config(raw: Mapping[str, Any], schema_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The complete config: typed, defaults filled in, validated against the schema, cross-checked.

    Raises ``ConfigError`` naming every bad key (the schema's errors first; conflicts only once each value is
    valid on its own).
    """
    schema = read_schema(schema_path)
    config = fill_defaults(coerce(dict(raw), schema, schema), schema, schema)
    errors = schema_errors(config, schema)
    if not errors:
        errors = cross_field_errors(config)
    if errors:
        raise ConfigError("Invalid config: " + "; ".join(errors) + ". " + WHERE)
    return config


def schema_defaults(schema_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The config an empty config file gives: every default of the schema."""
    schema = read_schema(schema_path)
    return fill_defaults({}, schema, schema)


def lookup(config: Mapping[str, Any], key: str) -> Any:
    """The value of a dotted key such as ``pca.n_components``, with an error naming the key if it is absent."""
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise ConfigError(f"config has no setting '{key}'; check the name against config/README.md")
        value = value[part]
    return value


def repository_schema() -> Path:
    """The schema file of this checkout (scripts/kit/ -> workflow/schemas/)."""
    return Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
