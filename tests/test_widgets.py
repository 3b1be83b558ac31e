"""The widgets framework and the phone figures, without a browser (the site tier drives them in Chromium).

- kit.widgets: array encodings, the data file (deterministic, parsed back, within budget), the checks, the
  ``widgets:`` key of the declarations and the generic rule;
- templates/widgets/core.js under node: every number format equals kit.formats' text for the same value, and
  arrays decode to the values Python encoded;
- the convolutions calculator: its export against torch (small grid) and, on the pipeline's own 1,264 formula
  cases (the config's default grid and seed), the formula reimplemented in JavaScript against the Python one;
- the figure frame's narrow variant, the figure macro's <picture>, the page's scripts and its weight.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_script
from conv_inputs import write_slide_arrays
from kit import formats, plotstyle, widgets
from kit.cli import PipelineError
from kit.config import load_config
from kit.figure import Input, figure_main

sys.path.insert(0, str(ROOT / "tests" / "site"))

import check_site

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: apt-get install nodejs)")
TEMPLATES = ROOT / "templates"
CORE_JS = TEMPLATES / "widgets" / "core.js"
CONV_JS = TEMPLATES / "widgets" / "convolutions.js"
NODE_EVAL = ROOT / "tests" / "widgets" / "node_eval.mjs"


def special(value: object) -> object:
    """A Python value as node_eval.mjs reads it (NaN, infinities and -0.0 have no JSON form)."""
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        if value == 0 and math.copysign(1, value) < 0:
            return {"$float": "-0"}
    if isinstance(value, (list, tuple)):
        return [special(item) for item in value]
    return value


def run_js(calls: list[tuple[str, list]], scripts: tuple[Path, ...] = (CORE_JS, CONV_JS)) -> list:
    """Call widget functions under node (tests/widgets/node_eval.mjs) and return their results in order."""
    request = {"scripts": [str(path) for path in scripts], "calls": [{"fn": fn, "args": special(a)} for fn, a in calls]}
    result = subprocess.run(
        [NODE, str(NODE_EVAL)], input=json.dumps(request), capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"]


# --------------------------------------------------------------------------------------------------------
# Number formats: JavaScript against kit.formats
# --------------------------------------------------------------------------------------------------------


def sample_values() -> list[float]:
    """Values that catch rounding differences: exact ties, near-ties, signs, zeros, magnitudes, specials."""
    rng = np.random.default_rng(14)
    values = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, -0.125, 0.0625, 1.005, 2.675, 0.045, 1e-3, 9.995]
    values += [0.0005, 0.00049999, 99.95, 999.5, 9999.5, 1e4, 123456.5, 1e21, 1.5e300, 5e-324, 1.39e-16]
    values += [59.95, 60.0, 3599.5, 3600.0, 86399.7, 0.28971, 0.95, 0.9999, 1.0, -1e-9, 7.0, 1268.0, 60000.0]
    values += [float("nan"), float("inf"), float("-inf")]
    for exponent in range(-20, 22, 3):
        values += list(rng.uniform(-1, 1, 6) * 10.0**exponent)
    values += list(np.round(rng.uniform(0, 100, 20), 3))  # decimal-looking values such as 12.345
    values += [k / 8 for k in range(-20, 20)]  # exact binary ties at 1 to 3 decimals
    return [float(v) for v in values]


@needs_node
def test_number_formats_in_javascript_equal_kit_formats() -> None:
    cases: list[tuple[str, list, str]] = []
    for value in sample_values():
        for digits in (0, 1, 2, 3):
            cases.append(("format.pct", [value, digits], formats.pct(value, digits)))
            cases.append(("format.num", [value, digits], formats.num(value, digits)))
            cases.append(("format.fixed", [value, digits + 1], formats.fixed(value, digits + 1)))
            cases.append(("format.signed", [value, digits], formats.signed(value, digits)))
            cases.append(("format.measure", [value, "nats", digits], formats.measure(value, "nats", digits)))
        for digits in (1, 2, 3):
            cases.append(("format.scientific", [value, digits], formats.scientific(value, digits)))
            if not 0 < abs(value) < 1e-300:  # kit.formats' bounds divide by 10**exponent, which underflows there
                cases.append(("format.upperBound", [value, digits], formats.upper_bound(value, digits)))
                cases.append(("format.lowerBound", [value, digits], formats.lower_bound(value, digits)))
        cases.append(("format.measure", [value], formats.measure(value)))
        if not math.isnan(value) and abs(value) < 1e9:
            cases.append(("format.duration", [abs(value)], formats.duration(abs(value))))
    for count in (0, 1, 2, 1268, 60000, 1234567):
        cases.append(("format.num", [count, 0], formats.num(count)))  # a Python int: num(x, 0) in JavaScript
        cases.append(("format.plural", [count, "image"], formats.plural(count, "image")))
        cases.append(("format.plural", [count, "class", "classes"], formats.plural(count, "class", "classes")))
    cases.append(("format.pct", [None], formats.pct(None)))
    cases.append(("format.measure", ["28 × 28", "px"], formats.measure("28 × 28", "px")))
    got = run_js([(fn, args) for fn, args, _ in cases], scripts=(CORE_JS,))
    wrong = [
        f"{fn}{tuple(args)}: JS {js!r}, Python {py!r}"
        for (fn, args, py), js in zip(cases, got, strict=True)
        if js != py
    ]
    assert not wrong, f"{len(wrong)} of {len(cases)} differ:\n" + "\n".join(wrong[:30])
    assert len(cases) > 2000


# --------------------------------------------------------------------------------------------------------
# kit.widgets: arrays, the data file, the checks
# --------------------------------------------------------------------------------------------------------


def test_arrays_encode_compactly_and_round_trip() -> None:
    values = np.linspace(-1, 1, 12).reshape(3, 4)
    encoded = widgets.encode_array(values)
    assert encoded["$array"] == "float32" and encoded["shape"] == [3, 4]
    assert np.array_equal(widgets.decode_array(encoded), values.astype(np.float32))
    assert np.array_equal(widgets.decode_array(widgets.encode_array(values, "float64")), values)
    pixels = np.arange(256).reshape(16, 16)
    assert np.array_equal(widgets.decode_array(widgets.encode_array(pixels, "uint8")), pixels)
    with pytest.raises(PipelineError, match="outside uint8's range"):
        widgets.encode_array([256], "uint8")
    with pytest.raises(PipelineError, match="whole numbers"):
        widgets.encode_array([0.5], "int16")
    with pytest.raises(PipelineError, match="dtype"):
        widgets.encode_array([1], "float16")
    quantised = widgets.quantize(values, bits=8)
    assert quantised["range"] == [-1.0, 1.0]
    assert np.abs(widgets.decode_array(quantised) - values).max() <= 1 / 255 + 1e-6  # half a step of 2/255
    # base64 float32 is about a fifth of the same numbers as JSON text.
    many = np.random.default_rng(1).normal(size=10_000)
    assert len(json.dumps(widgets.encode_array(many))) < len(json.dumps(many.tolist())) / 2.5


@needs_node
def test_arrays_decode_in_javascript_to_the_values_python_encoded() -> None:
    rng = np.random.default_rng(2)
    arrays = {
        "float32": rng.normal(size=(5, 7)),
        "float64": rng.normal(size=9),
        "uint8": rng.integers(0, 256, size=(4, 4)),
        "int16": rng.integers(-300, 300, size=11),
        "uint16": rng.integers(0, 65536, size=3),
        "int32": rng.integers(-(2**31), 2**31 - 1, size=5),
    }
    encoded = {dtype: widgets.encode_array(values, dtype) for dtype, values in arrays.items()}
    encoded["quantised"] = widgets.quantize(arrays["float32"], bits=16)
    got = run_js([("array", [value]) for value in encoded.values()], scripts=(CORE_JS,))
    for (name, value), result in zip(encoded.items(), got, strict=True):
        expected = widgets.decode_array(value)
        assert result["shape"] == list(expected.shape), name
        assert np.array_equal(np.asarray(result["values"], dtype=expected.dtype), expected.ravel()), name


def test_data_file_is_deterministic_safe_and_reads_back(tmp_path, monkeypatch) -> None:
    export = widgets.Export(
        widgets={"demo-widget": {"b": [1, 2.5], "a": "</script><b>", "pixels": widgets.encode_array([1, 2], "uint8")}},
        checks=[widgets.check("demo-widget", {"k": 4}, {"share": "58.1 %"}, keys=True, note="k = 4")],
    )
    for folder in ("a", "b"):
        widgets.write_export(tmp_path / folder / "demo.js", tmp_path / folder / "demo.checks.json", "demo", export)
    for name in ("demo.js", "demo.checks.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["demo.checks.json", "demo.js"]  # no temp files
    text = (tmp_path / "a" / "demo.js").read_text()
    assert (
        text.startswith("/* Widget data of the demo explainer")
        and '(window.WIDGET_DATA = window.WIDGET_DATA || {})["demo"]' in text
    )
    assert "</script" not in text and text.isascii()
    explainer, data = widgets.read_data(tmp_path / "a" / "demo.js")
    assert explainer == "demo" and data["demo-widget"]["a"] == "</script><b>" and data["demo-widget"]["b"] == [1, 2.5]
    checks = json.loads((tmp_path / "a" / "demo.checks.json").read_text())
    assert checks == {"explainer": "demo", "data": "demo.js", "checks": [export.checks[0]]}
    # Over the budget, or a check of a widget without data, or NaN: refused, nothing written.
    monkeypatch.setattr(widgets, "MAX_DATA_BYTES", 100)
    with pytest.raises(PipelineError, match="over the page budget of 100"):
        widgets.write_export(tmp_path / "c" / "demo.js", tmp_path / "c" / "demo.checks.json", "demo", export)
    monkeypatch.undo()
    bad = widgets.Export(widgets={"w": {}}, checks=[widgets.check("other", {"k": 1}, {"x": "1"})])
    with pytest.raises(PipelineError, match="names widget 'other'"):
        widgets.write_export(tmp_path / "c" / "demo.js", tmp_path / "c" / "demo.checks.json", "demo", bad)
    with pytest.raises(PipelineError, match="JSON cannot carry"):
        widgets.write_export(
            tmp_path / "c" / "d.js", tmp_path / "c" / "d.json", "d", widgets.Export({"w": float("nan")})
        )
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())
    with pytest.raises(PipelineError, match="not a widget data file"):
        widgets.read_data(tmp_path / "a" / "demo.checks.json")
    with pytest.raises(PipelineError, match="expected outputs are the text shown"):
        widgets.check("w", {"k": 1}, {"x": 1})  # type: ignore[dict-item]


def test_convolutions_declares_its_widgets_and_the_rule_is_generic() -> None:
    config = load_config({}, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    steps = widgets.load_widget_steps(ROOT / "workflow" / "explainers", config)
    assert "convolutions" in steps
    step = steps["convolutions"]
    assert step.script == ROOT / "scripts" / "convolutions" / "widgets.py"
    assert step.command_args() == [
        "--metrics",
        "results/convolutions/metrics.json",
        "--arrays",
        "results/convolutions/arrays.npz",
    ]
    smk = (ROOT / "workflow" / "rules" / "explainers.smk").read_text()
    assert (
        'data="results/widgets/{explainer}.js"' in smk
        and 'narrow="results/figures/{explainer}/{figure}.narrow.svg"' in smk
    )


def test_a_declaration_with_a_bad_widgets_key_is_refused(tmp_path) -> None:
    source = (ROOT / "workflow" / "explainers" / "convolutions.yaml").read_text()
    (tmp_path / "convolutions.yaml").write_text(source + "  colour: blue\n")
    config = load_config({}, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    with pytest.raises(PipelineError, match="key 'widgets'"):
        widgets.load_widget_steps(tmp_path, config)
    (tmp_path / "convolutions.yaml").write_text(source.replace("widgets:\n", "widgets:\n  script: missing_one\n"))
    with pytest.raises(PipelineError, match=r"missing_one\.py does not exist"):
        widgets.load_widget_steps(tmp_path, config)


# --------------------------------------------------------------------------------------------------------
# The convolutions calculator
# --------------------------------------------------------------------------------------------------------


def formula_metrics(grid_settings: dict, seed: int) -> dict:
    """A metrics.json as compute.py writes it, with only what the calculator reads: the formula check (by torch)."""
    from convolutions import compute

    grid = compute.Grid(**{key: tuple(v) if isinstance(v, list) else v for key, v in grid_settings.items()})
    return {
        "formula_check": compute.formula_check(grid, seed),
        "settings": {"seed": seed, "grid": grid_settings},
        "thread_cases": {"multichannel": {"side": 28, "channels": 6, "kernel": 3}},
        "torch_version": "test",
    }


@needs_node
def test_calculator_export_matches_torch_and_javascript_on_a_small_grid(tmp_path) -> None:
    from convolutions import compute

    grid = {"sizes": [1, 2, 5, 28], "kernels": [1, 3], "strides": [1, 2], "paddings": [0, 1], "dilations": [1, 2]}
    metrics = formula_metrics({**grid, "samples": 15}, seed=5)
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    arrays = write_slide_arrays(tmp_path / "arrays.npz")
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        run_script("convolutions/widgets.py", "--metrics", tmp_path / "metrics.json", "--arrays", arrays,
                   "--output", out / "convolutions.js", "--checks", out / "c.json")  # fmt: skip
        outputs.append(((out / "convolutions.js").read_bytes(), (out / "c.json").read_bytes()))
    assert outputs[0] == outputs[1], "two runs give the same bytes"
    _, data = widgets.read_data(tmp_path / "a" / "convolutions.js")
    assert data["conv-shape"]["start"]["size"] == [28, 28, 28]
    checks = [c for c in json.loads((tmp_path / "a" / "c.json").read_text())["checks"] if c["widget"] == "conv-shape"]
    assert len(checks) == 1 + metrics["formula_check"]["cases"] == 1 + 64 + 30
    assert 1 <= sum(bool(c.get("keys")) for c in checks) <= 4
    # Each expected shape is torch's own: run torch again on every case.
    for entry in checks[1:]:
        values = entry["set"]
        dims = values["dims"]
        axes = [
            [values[f"{p}-{i}"] for p in ("size", "kernel", "stride", "padding", "dilation")]
            for i in range(1, dims + 1)
        ]
        got = compute.torch_positions(dims, *[list(column) for column in zip(*axes, strict=True)])
        expected = "none: the kernel does not fit" if got is None else " × ".join(str(v) for v in got)
        assert entry["expect"]["shape"] == expected, entry
    # And the JavaScript formula gives the expected text for each.
    assert replay_js_all(checks) == []


def replay_js_all(checks: list[dict]) -> list[str]:
    """Each formula case's shape and per-axis text, computed by the calculator's JavaScript, against the checks."""
    calls, expected = [], []
    for entry in checks:
        values = entry["set"]
        if "axis-1" not in entry["expect"]:
            continue
        dims = values["dims"]
        axes = [
            [values[f"{p}-{i}"] for p in ("size", "kernel", "stride", "padding", "dilation")]
            for i in range(1, dims + 1)
        ]
        calls.append(("convolutions.outputShape", [list(column) for column in zip(*axes, strict=True)]))
        expected.append(("shape", entry))
        for i, axis in enumerate(axes, start=1):
            calls.append(("convolutions.axisText", axis))
            expected.append((f"axis-{i}", entry))
    got = run_js(calls)
    # outputShape returns numbers: turn them into the shape text with the JavaScript too.
    shape_calls = [
        ("convolutions.shapeText", [result]) for (key, _), result in zip(expected, got, strict=True) if key == "shape"
    ]
    shapes = iter(run_js(shape_calls))
    wrong = []
    for (key, entry), result in zip(expected, got, strict=True):
        shown = next(shapes) if key == "shape" else result
        if shown != entry["expect"][key]:
            wrong.append(f"{entry['note']} {key}: JS {shown!r}, expected {entry['expect'][key]!r}")
    return wrong


@needs_node
def test_calculator_formula_in_javascript_on_the_pipelines_1264_cases(tmp_path) -> None:
    """The config's default grid and seed: the very cases the pipeline checks against torch."""
    config = load_config({}, ROOT / "workflow" / "schemas" / "config.schema.yaml")["convolutions"]
    metrics = formula_metrics(config["formula_grid"], config["seed"])
    assert metrics["formula_check"]["cases"] == 1264 and metrics["formula_check"]["matched"] == 1264
    from convolutions import widgets as conv_widgets

    export = conv_widgets.build(metrics)
    assert len(export.checks) == 1265
    assert export.checks[0]["expect"]["shape"] == "26 × 26"
    assert replay_js_all(export.checks) == []


def test_calculator_refuses_metrics_it_cannot_trust(tmp_path) -> None:
    from convolutions import widgets as conv_widgets

    grid = {"sizes": [3], "kernels": [1, 5], "strides": [1], "paddings": [0], "dilations": [1], "samples": 2}
    metrics = formula_metrics(grid, seed=1)
    bad = json.loads(json.dumps(metrics))
    bad["formula_check"]["mismatches"] = [{"dims": 1}]
    bad["formula_check"]["matched"] -= 1
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(PipelineError, match="disagreed with torch in 1 of 6 cases"):
        conv_widgets.read_metrics(path)
    other_seed = json.loads(json.dumps(metrics))
    other_seed["formula_check"]["cases"] = 7
    with pytest.raises(PipelineError, match="give 6 formula cases, the file counts 7"):
        conv_widgets.build(other_seed)
    path.write_text(json.dumps({"settings": {"seed": 1}}))
    arrays = write_slide_arrays(tmp_path / "a.npz")
    result = run_script("convolutions/widgets.py", "--metrics", path, "--arrays", arrays,
                        "--output", tmp_path / "w.js", "--checks", tmp_path / "c.json", check=False)  # fmt: skip
    assert result.returncode == 1 and "has no complete 'formula_check'" in result.stderr
    assert not (tmp_path / "w.js").exists() and not (tmp_path / "c.json").exists()


# --------------------------------------------------------------------------------------------------------
# Figures for phones
# --------------------------------------------------------------------------------------------------------


def draw_panels(data, info, args):
    """A two-panel chart that stacks its panels on a phone."""
    fig = plotstyle.new_figure(2.4 * (2 if plotstyle.is_narrow() else 1))
    for ax in np.atleast_1d(fig.subplots(*plotstyle.panel_grid(2))).ravel():
        ax.plot([0, 1, 2], [1, 3, 2])
        ax.set_xlabel("epoch")
    plotstyle.set_title(fig, info["title"])
    return fig


def tiny_figure(argv: list[str], narrow: bool = True) -> None:
    figure_main(
        argv,
        "A tiny figure.",
        inputs=[Input("numbers", "any file")],
        describe=lambda d, a: {"title": "Two panels", "alt": "Two line charts."},
        draw=draw_panels,
        narrow=narrow,
    )


def test_figure_frame_draws_a_narrow_variant_for_phones(tmp_path) -> None:
    (tmp_path / "in.txt").write_text("1\n")
    args = ["--numbers", str(tmp_path / "in.txt")]
    for name in ("a", "b"):
        out = tmp_path / name
        tiny_figure(
            [
                *args,
                "--output",
                str(out / "f.svg"),
                "--meta",
                str(out / "f.json"),
                "--narrow",
                str(out / "f.narrow.svg"),
            ]
        )
    for file in ("f.svg", "f.json", "f.narrow.svg"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    desktop = (tmp_path / "a" / "f.svg").read_text()
    narrow = (tmp_path / "a" / "f.narrow.svg").read_text()
    assert 'width="453.6pt"' in desktop and 'width="270pt"' in narrow  # 6.3 in and 3.75 in
    assert check_site.svg_text_pt(narrow) == check_site.svg_text_pt(desktop) == 8.0  # same type sizes
    # The narrow one is taller: its panels are stacked.
    assert float(narrow.split('height="')[1].split("pt")[0]) > float(desktop.split('height="')[1].split("pt")[0])
    # Without --narrow (the figure tests' way) nothing more is written; narrow=False copies the desktop drawing.
    tiny_figure([*args, "--output", str(tmp_path / "c" / "f.svg"), "--meta", str(tmp_path / "c" / "f.json")])
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["f.json", "f.svg"]
    tiny_figure([*args, "--output", str(tmp_path / "d" / "f.svg"), "--meta", str(tmp_path / "d" / "f.json"),
                 "--narrow", str(tmp_path / "d" / "f.narrow.svg")], narrow=False)  # fmt: skip
    assert (tmp_path / "d" / "f.narrow.svg").read_bytes() == (tmp_path / "d" / "f.svg").read_bytes()


def side_by_side(data, info, args):
    """Two panels side by side whatever the width (a figure not yet laid out for phones)."""
    fig = plotstyle.new_figure(2.4)
    for ax in fig.subplots(1, 2):
        ax.plot([0, 1, 2], [1, 3, 2])
    return fig


def one_chart(data, info, args):
    """One chart with a colour bar: it narrows by itself."""
    fig = plotstyle.new_figure(2.4)
    ax = fig.subplots()
    fig.colorbar(ax.imshow(np.arange(12.0).reshape(3, 4)), ax=ax)
    return fig


def with_phone_drawing(tmp_path: Path, draw) -> dict[str, str]:
    """Run the figure frame with ``draw`` and ``--narrow``; the paths of its SVG, sidecar and phone drawing."""
    (tmp_path / "in.txt").write_text("1\n")
    out = {suffix: str(tmp_path / f"f{suffix}") for suffix in (".svg", ".json", ".narrow.svg")}
    figure_main(
        ["--numbers", str(tmp_path / "in.txt"), "--output", out[".svg"], "--meta", out[".json"], "--narrow",
         out[".narrow.svg"]],
        "A figure.",
        inputs=[Input("numbers", "any file")],
        describe=lambda d, a: {"title": "T", "alt": "A."},
        draw=draw,
    )  # fmt: skip
    return out


@pytest.mark.parametrize(("draw", "narrowed"), [(side_by_side, False), (one_chart, True)])
def test_by_default_the_frame_keeps_a_phone_drawing_only_in_one_column(tmp_path, draw, narrowed) -> None:
    out = with_phone_drawing(tmp_path, draw)
    narrow = Path(out[".narrow.svg"]).read_text()
    assert ('width="270pt"' in narrow) is narrowed
    assert (narrow == Path(out[".svg"]).read_text()) is not narrowed  # else the desktop drawing: a phone scrolls it


def small_text(data, info, args):
    """One chart whose tick labels and note are under 7 pt (numbers written in small cells, say)."""
    fig = plotstyle.new_figure(2.4)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2])
    ax.tick_params(labelsize=5)
    ax.text(1, 2, "+0.25", fontsize=plotstyle.text_pt(5.5))
    ax.set_title("a title", fontsize=9)
    return fig


def test_a_phone_drawing_has_no_text_under_7_pt(tmp_path) -> None:
    out = with_phone_drawing(tmp_path, small_text)
    desktop, narrow = Path(out[".svg"]).read_text(), Path(out[".narrow.svg"]).read_text()
    assert check_site.svg_text_pt(desktop) == pytest.approx(5.0)  # the page keeps the sizes it was given
    assert check_site.svg_text_pt(narrow) == pytest.approx(plotstyle.NARROW_MIN_TEXT_PT)
    # At its natural width (360 CSS px for 270 pt) that is 9.3 CSS px, over the site tier's 9.
    assert plotstyle.NARROW_MIN_TEXT_PT * 360 / 270 >= check_site.MIN_LABEL_PX
    with plotstyle.layout_width(plotstyle.NARROW_WIDTH_IN):
        assert plotstyle.text_pt(5.5) == plotstyle.NARROW_MIN_TEXT_PT and plotstyle.text_pt(9) == 9
    assert plotstyle.text_pt(5.5) == 5.5


def test_layout_width_and_panel_grid() -> None:
    assert plotstyle.figure_width() == plotstyle.PAGE_WIDTH_IN and not plotstyle.is_narrow()
    assert plotstyle.panel_grid(3) == (1, 3) and plotstyle.panel_grid(5, columns=2) == (3, 2)
    with plotstyle.layout_width(plotstyle.NARROW_WIDTH_IN):
        assert plotstyle.is_narrow() and plotstyle.panel_grid(3) == (3, 1)
        assert plotstyle.new_figure(2.0).get_figwidth() == plotstyle.NARROW_WIDTH_IN
        assert plotstyle.new_figure(2.0, width_in=5.0).get_figwidth() == 5.0
    assert plotstyle.figure_width() == plotstyle.PAGE_WIDTH_IN
    with pytest.raises(PipelineError, match="not a figure width"), plotstyle.layout_width(0.1):
        pass


# --------------------------------------------------------------------------------------------------------
# The page: figure macro, widget hooks, scripts, weight
# --------------------------------------------------------------------------------------------------------


def svg_file(path: Path, width_pt: float, title: str = "A figure") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_pt}pt" height="100pt"/>', encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps({"title": title, "alt": f"Alt of {title}"}), encoding="utf-8")
    return path


def render_page(tmp_path: Path, widgets_file: Path | None, template: str = "page.html.j2") -> str:
    templates = tmp_path / "templates"
    if not templates.exists():
        shutil.copytree(TEMPLATES, templates)
        (templates / "page.html.j2").write_text(
            '{% extends "base.html.j2" %}{% from "macros.html.j2" import figure %}'
            '{% from "widgets/macros.html.j2" import widget %}{% block title %}A page{% endblock %}'
            "{% block content %}{{ figure(figures.wide) }}{{ figure(figures.plain) }}{{ figure(figures.small) }}"
            '{% call widget("conv-shape", "Output-shape calculator") %}Try it.{% endcall %}{% endblock %}'
            '{% block widget_code %}<script>\n{% include "widgets/convolutions.js" %}\n</script>{% endblock %}',
            encoding="utf-8",
        )
    figures = tmp_path / "results" / "figures" / "demo"
    wide = svg_file(figures / "wide.svg", 453.6, "Wide")
    svg_file(figures / "wide.narrow.svg", 270)
    plain = svg_file(figures / "plain.svg", 453.6, "Plain")
    small = svg_file(figures / "small.svg", 250, "Small")
    out = tmp_path / "results" / "reports" / "page.html"
    args = ["--template", template, "--templates-dir", templates, "--output", out, "--site-title", "T"]
    args += [
        "--site-author",
        "A",
        "--figure",
        f"wide={wide}",
        "--figure",
        f"plain={plain}",
        "--figure",
        f"small={small}",
    ]
    if widgets_file is not None:
        args += ["--widgets", widgets_file]
    run_script("publish/render_html.py", *args)
    return out.read_text(encoding="utf-8")


def test_figure_macro_serves_phones_and_pages_load_their_widgets(tmp_path) -> None:
    data = tmp_path / "results" / "widgets" / "convolutions.js"
    export = widgets.Export({"conv-shape": {"x": 1}})
    widgets.write_export(data, data.with_name("convolutions.checks.json"), "convolutions", export)
    html = render_page(tmp_path, data)
    # A narrow variant: <picture> with the phone's source; none: a box that scrolls; small: a bare image.
    assert '<figure id="fig-wide" class="phone-narrow">' in html
    assert '<source media="(max-width: 36.5rem)" srcset="../figures/demo/wide.narrow.svg">' in html
    assert '<img src="../figures/demo/wide.svg" alt="Alt of Wide"></picture>' in html
    assert '<div class="figure-scroll" role="group" tabindex="0" aria-label="Figure 2 (scrolls sideways' in html
    assert '<figure id="fig-small" class="phone-fits">\n  <img src="../figures/demo/small.svg"' in html
    # The data file by <script src>, then core.js and the explainer's code inline, verbatim.
    assert '<script src="../widgets/convolutions.js"></script>' in html
    assert CORE_JS.read_text() in html and CONV_JS.read_text() in html
    assert (
        html.index('src="../widgets/convolutions.js"')
        < html.index(CORE_JS.read_text())
        < html.index(CONV_JS.read_text())
    )
    assert 'data-widget="conv-shape" role="group" aria-labelledby="widget-conv-shape-title" hidden>' in html
    # Without --widgets: the hook stays hidden and no widget code is loaded.
    bare = render_page(tmp_path, None)
    assert "WIDGET_DATA" not in bare and "<script src=" not in bare and "W.register(" not in bare
    assert 'data-widget="conv-shape"' in bare and CORE_JS.read_text() not in bare


def test_widget_scripts_survive_jinja_and_html() -> None:
    """The widget code is included through Jinja2 into a <script>: no Jinja2 delimiter, no end tag inside."""
    for path in sorted((TEMPLATES / "widgets").glob("*.js")):
        text = path.read_text(encoding="utf-8")
        for token in ("{{", "{%", "{#", "</script", "<!--"):
            assert token not in text, f"{path.name} contains {token!r}"
        for loader in ("fetch(", "XMLHttpRequest", "import(", "https://"):  # offline: nothing is fetched
            assert loader not in text, f"{path.name} contains {loader!r}"
        assert text.replace('"http://www.w3.org/2000/svg"', "").count("http://") == 0, path.name


def test_preview_page_weighs_within_budget(tmp_path) -> None:
    data = tmp_path / "results" / "widgets" / "convolutions.js"
    pixels = widgets.encode_array(np.zeros((100, 784)), "uint8")
    export = widgets.Export({"conv-shape": {"pixels": pixels}, "conv-other": {"x": 1}})
    widgets.write_export(data, data.with_name("convolutions.checks.json"), "convolutions", export)
    render_page(tmp_path, data)  # copies the templates
    out = tmp_path / "results" / "reports" / "preview.html"
    run_script("publish/render_html.py", "--template", "widgets/preview.html.j2",
               "--templates-dir", tmp_path / "templates", "--output", out, "--site-title", "T", "--site-author", "A",
               "--widgets", data)  # fmt: skip
    # A hook for every widget in the data file, in name order: the preview names no explainer's widget itself.
    html = out.read_text(encoding="utf-8")
    assert html.count('<div class="widget" id="widget-') == 2
    assert html.index('data-widget="conv-other"') < html.index('data-widget="conv-shape"')
    weight = check_site.page_weight(out)
    assert weight["data_files"] == ["../widgets/convolutions.js"]
    assert 5_000 < weight["script_gzip_bytes"] <= check_site.SCRIPT_BUDGET_GZIP
    assert 100_000 < weight["data_bytes"] <= check_site.DATA_BUDGET
    assert weight["external_requests"] == []
    print(json.dumps(weight))


# --------------------------------------------------------------------------------------------------------
# The site check's own measures (tests/site/check_site.py), on hand-made inputs
# --------------------------------------------------------------------------------------------------------


def test_svg_text_sizes_are_read_from_matplotlib_and_graphviz_files() -> None:
    matplotlib_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="270pt" height="100pt" viewBox="0 0 270 100">'
        '<g transform="translate(1 2) scale(0.08 -0.08)"><use xlink:href="#a" transform="scale(0.7)"/></g>'
        '<g transform="translate(1 2) rotate(-90) scale(0.095 -0.095)"/></svg>'
    )
    assert check_site.svg_text_pt(matplotlib_svg) == 8.0  # the exponent's scale(0.7) is not a label size
    assert check_site.svg_width_units(matplotlib_svg) == 270.0
    graphviz_svg = '<svg width="1167pt" viewBox="0.00 0.00 1167.00 630.00"><text font-size="14.00">a</text></svg>'
    assert check_site.svg_text_pt(graphviz_svg) == 14.0 and check_site.svg_width_units(graphviz_svg) == 1167.0
    assert check_site.svg_text_pt("<svg/>") is None


def browser_entry(**changes: object) -> dict:
    """One page view as browser_checks.mjs reports it, all well."""
    entry = {
        "page": "results/reports/x.html",
        "width": 390,
        "scheme": "dark",
        "violations": [],
        "horizontal_overflow_px": 0,
        "broken_images": [],
        "figures": [],
        "boxes": [],
        "colours": {"background": "rgb(26, 26, 26)", "text": "rgb(230, 230, 230)"},
        "widget_hooks": [{"name": "w", "shown": True, "loaded": True}],
        "widgets": {"replayed": 3, "keyboard": 1, "failures": [], "failed": 0},
        "outside_requests": [],
        "problems": [],
        "screenshot": __file__,
    }
    return {**entry, **changes}


def test_site_check_reports_phone_dark_offline_and_widget_problems(tmp_path) -> None:
    svg = tmp_path / "f.narrow.svg"
    svg.write_text('<svg width="270pt" viewBox="0 0 270 200"><g transform="scale(0.06 -0.06)"/></svg>')
    good = browser_entry()
    assert check_site.problems_of({}, {"pages": [good]}) == []
    figure = {"figure": "fig-a", "src": svg.as_uri(), "shown_px": 300.0, "natural_px": 360, "filter": "none"}
    box = {"kind": "table-wrap", "label": "Table 1", "overflows": True, "scrolls": True, "shadow": False, "text": False}
    bad = browser_entry(
        figures=[figure],
        boxes=[box],
        colours={"background": "rgb(255, 255, 255)", "text": "rgb(0, 0, 0)"},
        widget_hooks=[{"name": "w", "shown": False, "loaded": True}],
        widgets={"replayed": 3, "keyboard": 1, "failures": ["w, case 1: k shows 3, expected 4"], "failed": 1},
        outside_requests=["https://cdn.example/x.js"],
    )
    weights = [{"page": "p", "script_gzip_bytes": 200_000, "data_bytes": 4_000_000, "external_requests": []}]
    problems = "\n".join(check_site.problems_of({}, {"pages": [bad]}, weights))
    for words in (
        "shows at 83% of its natural width",
        "smallest label is 6.67 CSS px",  # 6 pt = 8 px at its natural 360 px, shown at 300
        "overflows without scrolling and a hint",
        "stays light in dark mode",
        "fig-a is not darkened",
        "widget w did not mount",
        "k shows 3, expected 4",
        "a request left file://: https://cdn.example/x.js",
        "200,000 bytes of script (gzip), over 150 KB",
        "4,000,000 bytes of widget data, over 3 MB",
    ):
        assert words in problems, words


def test_site_check_wants_every_widget_checked_and_keyboard_checked(tmp_path) -> None:
    checks = tmp_path / "x.checks.json"
    listed = [widgets.check("w", {"k": 1}, {"x": "1"}, keys=True), widgets.check("v", {"k": 1}, {"x": "1"})]
    checks.write_text(json.dumps({"explainer": "x", "data": "x.js", "checks": listed}))
    hooks = [{"name": name, "shown": True, "loaded": True} for name in ("w", "v", "u")]
    entry = browser_entry(widget_hooks=hooks)
    problems = check_site.problems_of({}, {"pages": [entry]}, (), {Path(entry["page"]): checks})
    assert len(problems) == 2, problems
    assert "widget v has no keyboard check" in problems[0] and "widget u has no check" in problems[1]
    assert "have no checks file" in check_site.problems_of({}, {"pages": [entry]}, (), {})[0]


def test_style_sheets_hold_only_what_vnu_accepts() -> None:
    """vnu's CSS checker rejects ``vector-effect`` as a CSS property: SVG elements get it as an attribute."""
    for path in [TEMPLATES / "style.css", TEMPLATES / "lesson.css", *sorted((TEMPLATES / "widgets").glob("*.css"))]:
        assert not re.search(r"vector-effect\s*:", path.read_text(encoding="utf-8")), path.name


def test_page_weight_counts_inline_and_external_script_and_data(tmp_path) -> None:
    (tmp_path / "widgets").mkdir()
    (tmp_path / "widgets" / "demo.js").write_text("/* Widget data of the demo explainer */\nx = 1;\n")
    (tmp_path / "lib.js").write_text("var lib = 1;\n" * 100)
    page = tmp_path / "page.html"
    page.write_text(
        '<script>var a = 1;</script><script src="widgets/demo.js"></script><script src="lib.js"></script>'
        '<img src="https://cdn.example/i.png" alt=""><a href="https://example.org">a link is not loaded</a>'
    )
    weight = check_site.page_weight(page)
    assert weight["data_files"] == ["widgets/demo.js"] and weight["data_bytes"] == 47
    assert weight["script_bytes"] == len("var a = 1;") + 1300
    assert 0 < weight["script_gzip_bytes"] < weight["script_bytes"]
    assert weight["external_requests"] == ["https://cdn.example/i.png"]
