"""The convolutions explainer's sliding-kernel widgets (conv-slide-1d, conv-slide-2d), without a browser.

scripts/convolutions/widgets.py exports the page's signal, test image and kernels, and checks that hold torch's
outputs at chosen positions; templates/widgets/convolutions.js computes each output value itself. Here, under node,
the JavaScript's value and window text at every position equal the text of torch's own output (a tiny compute.py
run), so the checks the browser test replays hold wherever the reader moves the window. The output-shape
calculator is tested in tests/test_widgets.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import ROOT, run_script
from conv_inputs import TINY_ARGS, slide_arrays, write_dataset, write_slide_arrays, write_weights
from kit import widgets
from kit.cli import PipelineError

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: apt-get install nodejs)")
SCRIPTS = [ROOT / "templates" / "widgets" / "core.js", ROOT / "templates" / "widgets" / "convolutions.js"]


def run_js(calls: list[tuple[str, list]]) -> list:
    """Call the widgets' exposed functions under node (tests/widgets/node_eval.mjs)."""
    request = {"scripts": [str(p) for p in SCRIPTS], "calls": [{"fn": fn, "args": args} for fn, args in calls]}
    result = subprocess.run(
        [NODE, str(ROOT / "tests" / "widgets" / "node_eval.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"]


@pytest.fixture(scope="module")
def torch_arrays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The arrays of one tiny compute.py run: torch's own outputs."""
    from convolutions import compute as conv

    folder = tmp_path_factory.mktemp("conv-widgets")
    data, weights = write_dataset(folder / "data.npy"), write_weights(folder / "weights.npz")
    argv = ["--data", data, "--weights", weights, "--arrays", "a", "--metrics", "m", *TINY_ARGS]
    settings = conv.settings_from(conv.build_parser().parse_args([str(a) for a in argv]))
    arrays, _ = conv.compute(data, weights, settings)
    return {key: np.asarray(value) for key, value in arrays.items()}


def test_value_text_rounds_like_the_page_and_never_shows_minus_zero() -> None:
    from convolutions.widgets import value_text

    assert value_text(0.28149) == "0.281"
    assert value_text(-1.23456) == "\u22121.235"
    assert value_text(-0.0004) == "0.000" and value_text(-0.0) == "0.000"
    assert value_text(3.7185) in ("3.718", "3.719")


def test_slide_checks_hold_torchs_outputs(torch_arrays) -> None:
    from convolutions import widgets as conv_widgets

    conv_widgets.check_outputs(torch_arrays)
    export = conv_widgets.build_slides(torch_arrays)
    assert set(export.widgets) == {"conv-slide-1d", "conv-slide-2d"}
    one = [c for c in export.checks if c["widget"] == "conv-slide-1d"]
    two = [c for c in export.checks if c["widget"] == "conv-slide-2d"]
    assert one and two and any(c.get("keys") for c in one) and any(c.get("keys") for c in two)
    outputs = {"smooth": "signal_smooth", "edge": "signal_edge"}
    for entry in one:
        position = entry["set"]["position"]
        expected = conv_widgets.value_text(torch_arrays[outputs[entry["set"]["kernel"]]][position - 1])
        assert entry["expect"]["value"] == expected
    outputs = {"sobel-x": "sobel_x_output", "sobel-y": "sobel_y_output"}
    for entry in two:
        row, col = entry["set"]["row"], entry["set"]["column"]
        expected = conv_widgets.value_text(torch_arrays[outputs[entry["set"]["kernel"]]][row - 1, col - 1])
        assert entry["expect"]["value"] == expected
    # The strongest response of each output is among the checks.
    edge = torch_arrays["signal_edge"]
    assert any(c["set"] == {"kernel": "edge", "position": int(np.argmax(edge)) + 1} for c in one)
    # The arrays travel exactly (float64), so the browser sums the very numbers torch summed.
    decoded = widgets.decode_array(export.widgets["conv-slide-2d"]["image"])
    assert np.array_equal(decoded, torch_arrays["image"])


@needs_node
def test_javascript_gives_torchs_value_at_every_position(torch_arrays) -> None:
    """Every output cell of both widgets, computed by the widget's JavaScript, shows torch's value."""
    from convolutions.widgets import KERNELS_1D, KERNELS_2D, value_text, window_text_1d, window_text_2d

    signal = torch_arrays["signal"].tolist()
    calls, expected = [], []
    for _, _, kernel, output in KERNELS_1D:
        weights = torch_arrays[kernel].tolist()
        for start, value in enumerate(torch_arrays[output]):
            calls.append(("convolutions.slide1d", [signal, weights, start]))
            expected.append(value_text(value))
    image = torch_arrays["image"]
    for _, _, kernel, output in KERNELS_2D:
        weights = torch_arrays[kernel].ravel().tolist()
        out = torch_arrays[output]
        for row in range(out.shape[0]):
            for col in range(out.shape[1]):
                calls.append(("convolutions.slide2d", [image.ravel().tolist(), image.shape[1], weights, 3, row, col]))
                expected.append(value_text(out[row, col]))
    values = run_js(calls)
    shown = run_js([("convolutions.valueText", [v]) for v in values])
    wrong = [(i, s, e) for i, (s, e) in enumerate(zip(shown, expected, strict=True)) if s != e]
    assert not wrong, wrong[:5]
    texts = run_js([("convolutions.windowText1d", [7, 5]), ("convolutions.windowText2d", [3, 12, 3])])
    assert texts == [window_text_1d(7, 5), window_text_2d(3, 12, 3)]


def test_arrays_that_are_not_torchs_outputs_are_refused(tmp_path) -> None:
    from convolutions import widgets as conv_widgets

    arrays = slide_arrays()
    conv_widgets.check_outputs(arrays)
    arrays["sobel_y_output"] = arrays["sobel_y_output"] + 0.01
    with pytest.raises(PipelineError, match="'sobel_y_output' is not the image convolved with 'sobel_y'"):
        conv_widgets.check_outputs(arrays)
    arrays = slide_arrays()
    arrays["signal_edge"] = arrays["signal_edge"][::-1].copy()
    with pytest.raises(PipelineError, match="'signal_edge' is not the signal convolved"):
        conv_widgets.check_outputs(arrays)


def test_the_script_writes_all_three_widgets_within_budget(tmp_path) -> None:
    from test_widgets import formula_metrics

    grid = {"sizes": [3, 28], "kernels": [1, 3], "strides": [1], "paddings": [0], "dilations": [1], "samples": 2}
    (tmp_path / "metrics.json").write_text(json.dumps(formula_metrics(grid, seed=1)))
    arrays = write_slide_arrays(tmp_path / "arrays.npz")
    run_script("convolutions/widgets.py", "--metrics", tmp_path / "metrics.json", "--arrays", arrays,
               "--output", tmp_path / "w.js", "--checks", tmp_path / "c.json")  # fmt: skip
    explainer, data = widgets.read_data(tmp_path / "w.js")
    assert explainer == "convolutions" and set(data) == {"conv-slide-1d", "conv-slide-2d", "conv-shape"}
    assert (tmp_path / "w.js").stat().st_size < 100_000
    checks = json.loads((tmp_path / "c.json").read_text())["checks"]
    assert {c["widget"] for c in checks} == set(data)
    broken = slide_arrays()
    broken["signal_smooth"] = broken["signal_smooth"] * 2
    bad = write_slide_arrays(tmp_path / "bad.npz", broken)
    result = run_script("convolutions/widgets.py", "--metrics", tmp_path / "metrics.json", "--arrays", bad,
                        "--output", tmp_path / "x.js", "--checks", tmp_path / "x.json", check=False)  # fmt: skip
    assert result.returncode == 1 and "signal_smooth" in result.stderr and not (tmp_path / "x.js").exists()
