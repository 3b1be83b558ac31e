/* Widgets of the convolutions explainer (templates/widgets/convolutions.js); the shared part is core.js.

   conv-shape, the output-shape calculator: the reader picks 1D, 2D or 3D and, along each axis, the input size n,
   kernel size k, stride s, padding p and dilation d; the widget shows the output size along each axis,
   floor((n + 2p - d(k - 1) - 1) / s) + 1, with the numbers put in, the output's shape, and a strip per axis
   showing the padded input, the kernel's taps at its first position and where each position starts. Its data
   (limits, starting values, what the pipeline checked against torch) comes from scripts/convolutions/widgets.py,
   which also writes the checks the browser test replays: the 1,264 formula cases the pipeline checked against
   torch, each with the shape and per-axis text the calculator must show. */
(function (W) {
  "use strict";

  /** The axes of a 1D, 2D and 3D convolution, in torch's order (depth, height, width). */
  const AXES = { 1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"] };
  /** The five settings of each axis: control name, label, and what its number counts (for screen readers). */
  const PARAMS = [
    ["size", "input size n", "cells"],
    ["kernel", "kernel size k", "taps"],
    ["stride", "stride s", "cells per step"],
    ["padding", "padding p", "cells on each side"],
    ["dilation", "dilation d", "cells from tap to tap"],
  ];
  const MINUS = "\u2212";

  /** PyTorch's output size along one axis: floor((n + 2p - d(k - 1) - 1) / s) + 1 (below 1: no output). */
  function outputSize(n, k, s, p, d) {
    return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  }

  /** The output size along every axis. */
  function outputShape(sizes, kernels, strides, paddings, dilations) {
    return sizes.map((n, i) => outputSize(n, kernels[i], strides[i], paddings[i], dilations[i]));
  }

  /** The shape as the page writes it ("26 × 26"), or that there is none (torch refuses the call). */
  function shapeText(positions) {
    if (positions.some((v) => v < 1)) return "none: the kernel does not fit";
    return positions.map((v) => W.format.num(v)).join(" × ");
  }

  function integer(value) {
    return value < 0 ? MINUS + W.format.num(-value) : W.format.num(value);
  }

  /** One axis's formula with its numbers put in, and the result. */
  function axisText(n, k, s, p, d) {
    const out = outputSize(n, k, s, p, d);
    const result = out >= 1 ? integer(out) : `${integer(out)}: the kernel does not fit`;
    return `⌊(${n} + 2·${p} ${MINUS} ${d}·(${k} ${MINUS} 1) ${MINUS} 1) / ${s}⌋ + 1 = ${result}`;
  }

  W.expose("convolutions", { outputSize, outputShape, shapeText, axisText });

  /** The strip of one axis: padded input cells, the kernel's taps at its first position, where positions start. */
  function strip(n, k, s, p, d, label) {
    const total = n + 2 * p;
    const out = outputSize(n, k, s, p, d);
    const width = 600;
    const cell = Math.min(40, (width - 4) / Math.max(total, d * (k - 1) + 1));
    const high = Math.max(14, Math.min(cell, 30)); // square cells while they are wide enough, else a band
    const x = (j) => 2 + j * cell;
    const parts = [
      W.svg("rect", { x: x(0), y: 2, width: p * cell, height: high, class: "w-pad" }),
      W.svg("rect", { x: x(p), y: 2, width: n * cell, height: high, class: "w-cell" }),
      W.svg("rect", { x: x(p + n), y: 2, width: p * cell, height: high, class: "w-pad" }),
    ];
    if (cell >= 4) {
      for (let j = 1; j < total; j++) {
        parts.push(W.svg("line", { x1: x(j), x2: x(j), y1: 2, y2: 2 + high, class: "w-grid" }));
      }
    }
    const inset = Math.min(3, cell / 6);
    for (let t = 0; t < k; t++) {
      const left = x(t * d) + inset;
      parts.push(W.svg("rect", { x: left, y: 2 + inset, width: Math.max(1, cell - 2 * inset), height: high - 2 * inset, class: "w-tap" }));
    }
    if (out >= 1 && out <= 300) {
      const tip = 5 + high;
      for (let m = 0; m < out; m++) {
        const c = x(m * s) + cell / 2;
        parts.push(W.svg("path", { d: `M${c.toFixed(2)},${tip}l-5,9h10z`, class: "w-start" }));
      }
    }
    const fits = out >= 1 ? `${W.format.plural(out, "position")}, ${s} apart` : "no position: the kernel does not fit";
    const spoken =
      `${label}: ${W.format.plural(n, "input cell")} and ${p} padding on each side; ` +
      `the kernel's ${W.format.plural(k, "tap")} ${d} apart; ${fits}`;
    return W.svg("svg", { viewBox: `0 0 ${width} ${high + 16}`, class: "w-strip", role: "img", "aria-label": spoken }, parts);
  }

  function mount(element, data) {
    const start = data.start;
    const dims = W.choice({
      name: "dims",
      label: "Convolution",
      options: [1, 2, 3].map((v) => ({ value: v, label: `${v}D` })),
      value: start.dims,
    });
    const controls = [dims];
    const axes = [];
    const grid = W.el("div", { class: "conv-axes" });
    for (let i = 1; i <= 3; i++) {
      const legend = W.el("legend");
      const steppers = PARAMS.map(([key, label, unit]) => {
        const c = W.stepper({
          name: `${key}-${i}`,
          label,
          fullLabel: `${label}, axis ${i}`,
          min: data.limits[key][0],
          max: data.limits[key][1],
          value: start[key][i - 1],
          valuetext: (v) => `${v} ${unit}`,
        });
        controls.push(c);
        return c;
      });
      const result = W.output(`axis-${i}`, { class: "w-formula" });
      const picture = W.el("div", { class: "w-picture" });
      const fieldset = W.el("fieldset", { class: "conv-axis" }, [legend, ...steppers.map((c) => c.element), result, picture]);
      grid.append(fieldset);
      axes.push({ legend, steppers, result, picture, fieldset });
    }
    const shape = W.output("shape", { class: "w-big" });
    const checked = W.output("checked");
    const key = W.el("p", {
      class: "w-note",
      text:
        "Each strip is one axis: the input's cells (padding shaded), the kernel's taps at its first position " +
        "(filled) and a mark where each position of the output starts.",
    });
    element.append(
      dims.element,
      grid,
      key,
      W.el("p", { class: "w-result" }, ["Output size: ", shape]),
      W.el("p", { class: "w-note" }, [checked]),
    );
    const summary = data.checked;
    checked.textContent =
      `The formula gave torch's own output size in ${W.format.num(summary.matched)} of ` +
      `${W.format.num(summary.cases)} cases the pipeline tried (${summary.by_dimension}), torch ${summary.torch}.`;

    function update() {
      const count = dims.value;
      const names = AXES[count];
      const positions = [];
      axes.forEach((axis, index) => {
        const live = index < count;
        axis.fieldset.hidden = !live;
        if (!live) {
          axis.result.textContent = "";
          return;
        }
        const [n, k, s, p, d] = axis.steppers.map((c) => c.value);
        axis.legend.textContent = `Axis ${index + 1}: ${names[index]}`;
        axis.result.textContent = axisText(n, k, s, p, d);
        axis.picture.replaceChildren(strip(n, k, s, p, d, `Axis ${index + 1}`));
        positions.push(outputSize(n, k, s, p, d));
      });
      shape.textContent = shapeText(positions);
    }

    return { controls, update };
  }

  W.register("conv-shape", "convolutions", mount);
})((typeof window !== "undefined" ? window : globalThis).Widgets);
