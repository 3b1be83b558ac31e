/* Widgets of the convolutions explainer (templates/widgets/convolutions.js); the shared part is core.js.

   conv-slide-1d and conv-slide-2d: a kernel that steps across the page's 1D signal (moving average or edge
   kernel) or its test image (Sobel x or y). The reader moves the window; the widget outlines it, highlights the
   output cell it fills and shows that cell's value, which it computes itself as the sum of the products of the
   kernel's weights and the values under it (a cross-correlation, as torch computes it). The checks in
   scripts/convolutions/widgets.py are torch's own outputs at chosen positions.

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

  /** The output value of a 1D window starting at sample ``start`` (0-based): the sum of weight times sample. */
  function slide1d(signal, weights, start) {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i] * signal[start + i];
    return total;
  }

  /** The output value of a 2D window whose top-left pixel is (row, col) (0-based) in an image ``width`` wide. */
  function slide2d(image, width, weights, size, row, col) {
    let total = 0;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) total += weights[i * size + j] * image[(row + i) * width + col + j];
    }
    return total;
  }

  /** A value as the sliding widgets show it: three decimals, a true minus, and never "-0.000". */
  function valueText(value) {
    let text = W.format.fixed(value, 3);
    if (Number(text) === 0) text = W.format.fixed(0, 3);
    return text.replace("-", MINUS);
  }

  function windowText1d(position, width) {
    return `samples ${W.format.num(position)} to ${W.format.num(position + width - 1)} → output cell ${W.format.num(position)}`;
  }

  function windowText2d(row, col, size) {
    const n = W.format.num;
    return `rows ${n(row)} to ${n(row + size - 1)}, columns ${n(col)} to ${n(col + size - 1)} → output cell at row ${n(row)}, column ${n(col)}`;
  }

  W.expose("convolutions", {
    outputSize,
    outputShape,
    shapeText,
    axisText,
    slide1d,
    slide2d,
    valueText,
    windowText1d,
    windowText2d,
  });

  /** Whether the page is in its phone layout (the breakpoint of style.css's figures). */
  function phone() {
    const root = typeof window !== "undefined" ? window : null;
    return Boolean(root && root.matchMedia && root.matchMedia("(max-width: 36.5rem)").matches);
  }

  /** Fill and opacity of a value on the page's red (positive) to blue (negative) scale. */
  function diverging(value, top) {
    const share = top > 0 ? Math.min(1, Math.abs(value) / top) : 0;
    return `fill: ${value >= 0 ? "var(--bad)" : "var(--accent)"}; fill-opacity: ${share.toFixed(3)}`;
  }

  function weightsText(weights) {
    return Array.from(weights, (w) => valueText(w).replace(/\.?0+$/, "")).join(", ");
  }

  function mountSlide1d(element, data) {
    const signal = W.array(data.signal);
    const kernels = data.kernels.map((k) => ({ ...k, weights: W.array(k.weights) }));
    const n = signal.length;
    const kernelChoice = W.choice({
      name: "kernel",
      label: "Kernel",
      options: kernels.map((k) => ({ value: k.value, label: k.label })),
      value: data.start.kernel,
    });
    const current = () => kernels.find((k) => k.value === kernelChoice.value);
    const positionOpts = {
      name: "position",
      label: "Output cell",
      min: 1,
      max: n - current().weights.length + 1,
      value: data.start.position,
      page: 10,
      valuetext: (v) => `output cell ${v} of ${positionOpts.max}`,
    };
    const position = W.slider(positionOpts);
    // A kernel of another width has another number of positions: the slider's range follows at once (also while
    // the browser test sets several controls in one go).
    kernelChoice.onChange(() => {
      positionOpts.max = n - current().weights.length + 1;
      position.input.max = String(positionOpts.max);
      position.set(Math.min(position.value, positionOpts.max));
    });
    const picture = W.el("div", { class: "w-picture" });
    const windowOut = W.output("window");
    const valueOut = W.output("value", { class: "w-big" });
    const weightsOut = W.el("span");
    element.append(
      kernelChoice.element,
      position.element,
      picture,
      W.el("p", { class: "w-result" }, [windowOut, ": ", valueOut]),
      W.el("p", { class: "w-note" }, ["Kernel weights: ", weightsOut, ". Each output value is the sum of the weights times the samples under them."]),
    );

    function update() {
      const kernel = current();
      const k = kernel.weights.length;
      const count = n - k + 1;
      const start = position.value - 1;
      const outputs = new Float64Array(count);
      for (let m = 0; m < count; m++) outputs[m] = slide1d(signal, kernel.weights, m);
      const value = outputs[start];
      windowOut.textContent = windowText1d(position.value, k);
      valueOut.textContent = valueText(value);
      weightsOut.textContent = weightsText(kernel.weights);

      const width = 600;
      const panel = 90;
      const sx = W.scale(0, n - 1, 8, width - 8);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of signal) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const sy = W.scale(lo, hi, panel - 6, 6);
      let olo = Infinity;
      let ohi = -Infinity;
      for (const v of outputs) [olo, ohi] = [Math.min(olo, v), Math.max(ohi, v)];
      const sz = W.scale(Math.min(olo, 0), Math.max(ohi, 0), 2 * panel + 8, panel + 24);
      const xs = Array.from({ length: n }, (_, i) => i);
      const centres = Array.from({ length: count }, (_, m) => m + (k - 1) / 2);
      const parts = [
        W.svg("rect", {
          x: sx(start) - 4,
          y: 1,
          width: sx(start + k - 1) - sx(start) + 8,
          height: panel - 2,
          style: "fill: var(--accent); fill-opacity: 0.15; stroke: var(--accent); stroke-width: 1.5",
        }),
        W.svg("path", { d: W.linePath(xs, Array.from(signal), sx, sy), style: "fill: none; stroke: var(--ink); stroke-width: 1.2" }),
        W.svg("line", { x1: 8, x2: width - 8, y1: sz(0), y2: sz(0), style: "stroke: var(--rule); stroke-width: 1" }),
        W.svg("path", { d: W.linePath(centres, Array.from(outputs), sx, sz), style: "fill: none; stroke: var(--muted); stroke-width: 1.2" }),
        W.svg("line", {
          x1: sx(start + (k - 1) / 2),
          x2: sx(start + (k - 1) / 2),
          y1: panel - 2,
          y2: sz(value),
          style: "stroke: var(--accent); stroke-width: 1; stroke-dasharray: 3 2",
        }),
        W.svg("circle", { cx: sx(start + (k - 1) / 2), cy: sz(value), r: 5, style: "fill: var(--bad); stroke: var(--paper); stroke-width: 1.5" }),
      ];
      for (let i = 0; i < k; i++) {
        parts.push(W.svg("circle", { cx: sx(start + i), cy: sy(signal[start + i]), r: 3.5, style: "fill: var(--accent)" }));
      }
      parts.push(W.svg("text", { x: 8, y: panel + 16, style: "fill: var(--muted); font-size: 18px", text: "output" }));
      const label = `The signal's ${n} samples with the ${kernel.label} kernel's window over samples ${start + 1} to ${start + k}; below, the ${count} outputs with cell ${start + 1} marked, value ${valueText(value)}.`;
      picture.replaceChildren(
        W.svg("svg", { viewBox: `0 0 ${width} ${2 * panel + 14}`, class: "w-strip", role: "img", "aria-label": label }, parts),
      );
    }

    return { controls: [kernelChoice, position], update };
  }

  function mountSlide2d(element, data) {
    const image = W.array(data.image);
    const [height, width] = data.image.shape;
    const kernels = data.kernels.map((k) => ({ ...k, weights: W.array(k.weights), size: k.weights.shape[0] }));
    const size = kernels[0].size;
    const rows = height - size + 1;
    const cols = width - size + 1;
    const kernelChoice = W.choice({
      name: "kernel",
      label: "Kernel",
      options: kernels.map((k) => ({ value: k.value, label: k.label })),
      value: data.start.kernel,
    });
    const row = W.slider({ name: "row", label: "Output row", min: 1, max: rows, value: data.start.row, page: 5 });
    const column = W.slider({ name: "column", label: "Output column", min: 1, max: cols, value: data.start.column, page: 5 });
    const picture = W.el("div", { class: "w-picture" });
    const windowOut = W.output("window");
    const valueOut = W.output("value", { class: "w-big" });
    element.append(
      kernelChoice.element,
      row.element,
      column.element,
      picture,
      W.el("p", { class: "w-result" }, [windowOut, ": ", valueOut]),
      W.el("p", {
        class: "w-note",
        text:
          "The test image with the kernel's window outlined; the window's pixel values, times the kernel's weights " +
          "(red positive, blue negative); and the output on the same colours, with the cell the window fills " +
          "outlined.",
      }),
    );

    function update() {
      const kernel = kernels.find((k) => k.value === kernelChoice.value);
      const r = row.value - 1;
      const c = column.value - 1;
      const outputs = new Float64Array(rows * cols);
      let top = 0;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          outputs[i * cols + j] = slide2d(image, width, kernel.weights, size, i, j);
          top = Math.max(top, Math.abs(outputs[i * cols + j]));
        }
      }
      const value = outputs[r * cols + c];
      windowOut.textContent = windowText2d(row.value, column.value, size);
      valueOut.textContent = valueText(value);

      // Wide: image, window's pixels over the kernel's weights, output side by side. Phone: the two maps side by
      // side, the pixels and weights below them, larger, so their numbers stay readable.
      const narrow = phone();
      const cell = 7;
      const zoom = narrow ? 40 : 30;
      const gap = 18;
      const mapsHigh = height * cell;
      const layout = narrow
        ? {
            image: [2, 2],
            output: [2 + width * cell + gap, 2 + cell],
            pixels: [2, 2 + mapsHigh + gap],
            weights: [2 + size * zoom + 2 * gap, 2 + mapsHigh + gap],
            times: [2 + size * zoom + gap, 2 + mapsHigh + gap + (size * zoom) / 2 + 5],
            total: 2 + width * cell + gap + cols * cell + 2,
            high: 2 + mapsHigh + gap + size * zoom + 2,
          }
        : {
            image: [2, 2],
            pixels: [2 + width * cell + gap, 2],
            weights: [2 + width * cell + gap, 2 + (size + 1) * zoom],
            times: [2 + width * cell + gap + (size * zoom) / 2, 2 + size * zoom + zoom / 2 + 5],
            output: [2 + width * cell + 2 * gap + size * zoom, 2 + cell],
            total: 2 + width * cell + 2 * gap + size * zoom + cols * cell + 2,
            high: Math.max(mapsHigh, (2 * size + 1) * zoom) + 4,
          };
      const font = narrow ? 13 : 10;
      const parts = [];
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of image) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const span = hi - lo || 1;
      const [ix, iy] = layout.image;
      parts.push(W.svg("rect", { x: ix, y: iy, width: width * cell, height: mapsHigh, style: "fill: var(--paper); stroke: var(--rule)" }));
      for (let i = 0; i < height; i++) {
        for (let j = 0; j < width; j++) {
          const t = (image[i * width + j] - lo) / span;
          if (t > 0.01) {
            parts.push(W.svg("rect", { x: ix + j * cell, y: iy + i * cell, width: cell, height: cell, style: `fill: var(--ink); fill-opacity: ${t.toFixed(3)}` }));
          }
        }
      }
      parts.push(
        W.svg("rect", {
          x: ix + c * cell,
          y: iy + r * cell,
          width: size * cell,
          height: size * cell,
          style: "fill: none; stroke: var(--accent); stroke-width: 2.5",
        }),
      );
      const [px, py] = layout.pixels;
      const [kx, ky] = layout.weights;
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          const pixel = image[(r + i) * width + c + j];
          const weight = kernel.weights[i * size + j];
          const x = px + j * zoom;
          const y = py + i * zoom;
          parts.push(W.svg("rect", { x, y, width: zoom, height: zoom, style: "fill: var(--paper); stroke: var(--muted)" }));
          parts.push(W.svg("text", { x: x + zoom / 2, y: y + zoom / 2 + font / 3, "text-anchor": "middle", style: `fill: var(--ink); font-size: ${font}px`, text: W.format.fixed(pixel, 2) }));
          const wx = kx + j * zoom;
          const wy = ky + i * zoom;
          parts.push(W.svg("rect", { x: wx, y: wy, width: zoom, height: zoom, style: diverging(weight, 4) + "; stroke: var(--muted)" }));
          parts.push(W.svg("text", { x: wx + zoom / 2, y: wy + zoom / 2 + font / 3, "text-anchor": "middle", style: `fill: var(--ink); font-size: ${font + 1}px`, text: weightsText([weight]) }));
        }
      }
      parts.push(W.svg("text", { x: layout.times[0], y: layout.times[1], "text-anchor": "middle", style: `fill: var(--muted); font-size: ${font + 4}px`, text: "×" }));
      const [ox, oy] = layout.output;
      parts.push(W.svg("rect", { x: ox, y: oy, width: cols * cell, height: rows * cell, style: "fill: var(--paper); stroke: var(--rule)" }));
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const v = outputs[i * cols + j];
          if (Math.abs(v) > 1e-12) {
            parts.push(W.svg("rect", { x: ox + j * cell, y: oy + i * cell, width: cell, height: cell, style: diverging(v, top) }));
          }
        }
      }
      parts.push(
        W.svg("rect", {
          x: ox + c * cell - 1,
          y: oy + r * cell - 1,
          width: cell + 2,
          height: cell + 2,
          style: "fill: none; stroke: var(--ink); stroke-width: 2",
        }),
      );
      const label =
        `The ${width} by ${height} test image with the ${kernel.label} kernel's ${size} by ${size} window at rows ` +
        `${r + 1} to ${r + size}, columns ${c + 1} to ${c + size}; the window's pixels and the kernel's weights; ` +
        `and the ${cols} by ${rows} output with the cell it fills marked, value ${valueText(value)}.`;
      picture.replaceChildren(
        W.svg(
          "svg",
          {
            viewBox: `0 0 ${layout.total} ${layout.high}`,
            class: "w-strip",
            role: "img",
            "aria-label": label,
            "shape-rendering": "crispEdges",
          },
          parts,
        ),
      );
    }

    if (typeof window !== "undefined" && window.matchMedia) {
      window.matchMedia("(max-width: 36.5rem)").addEventListener("change", () => update());
    }
    return { controls: [kernelChoice, row, column], update };
  }

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

  W.register("conv-slide-1d", "convolutions", mountSlide1d);
  W.register("conv-slide-2d", "convolutions", mountSlide2d);
  W.register("conv-shape", "convolutions", mount);
})((typeof window !== "undefined" ? window : globalThis).Widgets);
