/* Widgets of the overfitting explainer (templates/widgets/overfitting.js); the shared part is core.js.

   overfit-epochs, an epoch slider: the loss and accuracy curves of the first seed's run with the chosen epoch
   marked, the histogram of the per-image validation loss at that epoch (right and wrong apart, counts on a log
   scale) and its reliability diagram. The histograms and reliability bins of every epoch are computed by
   scripts/overfitting/widgets.py from the run's per-epoch validation logits; the numbers printed are the run's
   history.

   overfit-temperature, a temperature slider: the last epoch's validation logits divided by T; the validation
   loss, accuracy and expected calibration error are computed here, in the browser, for the chosen T, and the loss
   is drawn against T with the fitted temperature marked. Its checks (written by widgets.py) compare the loss at
   T = 1 and at the fitted T with the pipeline's. */
(function (W) {
  "use strict";

  const STYLE = {
    train: "stroke: var(--accent); fill: none; stroke-width: 1.6",
    val: "stroke: var(--bad); fill: none; stroke-width: 1.6; stroke-dasharray: 5 3",
    marker: "stroke: var(--ink); stroke-width: 1.2",
    best: "stroke: var(--muted); stroke-width: 1; stroke-dasharray: 2 2",
    axis: "stroke: var(--muted); stroke-width: 1",
    text: "fill: var(--ink); font-size: 11px; font-family: var(--sans)",
    right: "fill: var(--accent); fill-opacity: 0.35; stroke: var(--accent); stroke-width: 0.6",
    wrong: "fill: none; stroke: var(--bad); stroke-width: 1.4",
    bar: "fill: var(--accent); fill-opacity: 0.35; stroke: var(--accent); stroke-width: 0.8",
    gap: "fill: var(--bad); fill-opacity: 0.18; stroke: var(--bad); stroke-width: 0.8",
  };

  /** Loss, accuracy and ECE of softmax(z / T) over n examples of k classes (z flat, row-major), computed the way
      scripts/models/calibration.py does: stable log-softmax, bins (b/nBins, (b+1)/nBins] by confidence. */
  function temperatureStats(z, labels, k, T, nBins) {
    const n = labels.length;
    const hits = new Float64Array(nBins);
    const conf = new Float64Array(nBins);
    let loss = 0;
    let right = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      let arg = 0;
      for (let j = 0; j < k; j++) {
        const v = z[i * k + j] / T;
        if (v > max) {
          max = v;
          arg = j;
        }
      }
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(z[i * k + j] / T - max);
      const lse = Math.log(sum);
      loss += lse - (z[i * k + labels[i]] / T - max);
      const c = Math.exp(-lse);
      let b = 0;
      while (b < nBins - 1 && !(c <= (b + 1) / nBins)) b++;
      const hit = arg === labels[i] ? 1 : 0;
      right += hit;
      hits[b] += hit;
      conf[b] += c;
    }
    let gaps = 0;
    for (let b = 0; b < nBins; b++) gaps += Math.abs(hits[b] - conf[b]);
    return { loss: loss / n, accuracy: right / n, ece: gaps / n };
  }

  W.expose("overfitting", { temperatureStats });

  function axisText(x, y, text, anchor = "middle") {
    return W.svg("text", { x, y, style: STYLE.text, "text-anchor": anchor, text });
  }

  /** A small line chart: series [{values, style}], x = epochs, a marker at ``epoch`` and one at ``best``. */
  function curveChart(epochs, series, epoch, best, title, fmtTick) {
    const w = 300;
    const h = 180;
    const m = { l: 44, r: 8, t: 18, b: 26 };
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) for (const v of s.values) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    const pad = (hi - lo) * 0.05 || 0.05;
    const sx = W.scale(epochs[0], epochs[epochs.length - 1], m.l, w - m.r);
    const sy = W.scale(lo - pad, hi + pad, h - m.b, m.t);
    const parts = [axisText(m.l, 12, title, "start")];
    for (const t of W.ticks(lo - pad, hi + pad, 4)) {
      parts.push(W.svg("line", { x1: m.l - 3, x2: m.l, y1: sy(t), y2: sy(t), style: STYLE.axis }));
      parts.push(axisText(m.l - 5, sy(t) + 4, fmtTick(t), "end"));
    }
    for (const t of W.ticks(epochs[0], epochs[epochs.length - 1], 5)) {
      if (Number.isInteger(t)) parts.push(axisText(sx(t), h - m.b + 14, String(t)));
    }
    parts.push(W.svg("line", { x1: m.l, x2: m.l, y1: m.t, y2: h - m.b, style: STYLE.axis }));
    parts.push(W.svg("line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b, style: STYLE.axis }));
    parts.push(W.svg("line", { x1: sx(best), x2: sx(best), y1: m.t, y2: h - m.b, style: STYLE.best }));
    for (const s of series) parts.push(W.svg("path", { d: W.linePath(epochs, s.values, sx, sy), style: s.style }));
    parts.push(W.svg("line", { x1: sx(epoch), x2: sx(epoch), y1: m.t, y2: h - m.b, style: STYLE.marker }));
    return W.svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "w-chart", role: "img", "aria-label": title }, parts);
  }

  /** The histogram of per-image losses at one epoch: right (filled) and wrong (outlined), log counts. */
  function histogram(edges, right, wrong, top, epoch) {
    const w = 300;
    const h = 180;
    const m = { l: 36, r: 8, t: 18, b: 26 };
    const sx = W.scale(edges[0], edges[edges.length - 1], m.l, w - m.r);
    const logTop = Math.log10(Math.max(10, top));
    const sy = (count) => (count > 0 ? h - m.b - ((Math.log10(count) + 0.3) / (logTop + 0.3)) * (h - m.b - m.t) : h - m.b);
    const parts = [axisText(m.l, 12, `Per-image loss, epoch ${epoch} (log count)`, "start")];
    for (let b = 0; b < edges.length - 1; b++) {
      const x = sx(edges[b]);
      const width = Math.max(0.5, sx(edges[b + 1]) - x);
      if (right[b] > 0) parts.push(W.svg("rect", { x, y: sy(right[b]), width, height: h - m.b - sy(right[b]), style: STYLE.right }));
      if (wrong[b] > 0) parts.push(W.svg("rect", { x, y: sy(wrong[b]), width, height: h - m.b - sy(wrong[b]), style: STYLE.wrong }));
    }
    for (let p = 0; p <= logTop; p++) {
      const y = sy(10 ** p);
      parts.push(W.svg("line", { x1: m.l - 3, x2: m.l, y1: y, y2: y, style: STYLE.axis }));
      parts.push(axisText(m.l - 5, y + 4, W.format.num(10 ** p), "end"));
    }
    for (const t of W.ticks(edges[0], edges[edges.length - 1], 5)) parts.push(axisText(sx(t), h - m.b + 14, String(t)));
    parts.push(W.svg("line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b, style: STYLE.axis }));
    parts.push(axisText(w - m.r, h - 2, "loss (nats)", "end"));
    const label = `Histogram of the per-image validation loss at epoch ${epoch}: right predictions filled, wrong ones outlined.`;
    return W.svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "w-chart", role: "img", "aria-label": label }, parts);
  }

  /** A reliability diagram: each bin's accuracy as a bar, the gap to its mean confidence shaded, the diagonal. */
  function reliability(count, hits, confidence, epoch) {
    const w = 300;
    const h = 180;
    const m = { l: 36, r: 20, t: 18, b: 26 };
    const nBins = count.length;
    const sx = W.scale(0, 1, m.l, w - m.r);
    const sy = W.scale(0, 1, h - m.b, m.t);
    const parts = [axisText(m.l, 12, `Reliability, epoch ${epoch}`, "start")];
    parts.push(W.svg("line", { x1: sx(0), y1: sy(0), x2: sx(1), y2: sy(1), style: STYLE.best }));
    for (let b = 0; b < nBins; b++) {
      if (count[b] === 0) continue;
      const acc = hits[b] / count[b];
      const x = sx(b / nBins);
      const width = sx((b + 1) / nBins) - x;
      parts.push(W.svg("rect", { x, y: sy(acc), width, height: sy(0) - sy(acc), style: STYLE.bar }));
      const top = Math.max(acc, confidence[b]);
      const low = Math.min(acc, confidence[b]);
      parts.push(W.svg("rect", { x, y: sy(top), width, height: sy(low) - sy(top), style: STYLE.gap }));
    }
    for (const t of [0, 0.5, 1]) {
      parts.push(axisText(sx(t), h - m.b + 14, W.format.pct(t, 0)));
      parts.push(axisText(m.l - 5, sy(t) + 4, W.format.pct(t, 0), "end"));
    }
    parts.push(W.svg("line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b, style: STYLE.axis }));
    parts.push(axisText(w - m.r, h - 2, "confidence", "end"));
    const label = `Reliability diagram at epoch ${epoch}: accuracy in each confidence bin, the gap to its mean confidence shaded.`;
    return W.svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "w-chart", role: "img", "aria-label": label }, parts);
  }

  function grid(children) {
    return W.el("div", { style: "display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 0.5rem" }, children);
  }

  function mountEpochs(element, data) {
    const epochs = data.epochs;
    const c = data.curves;
    const right = W.array(data.right);
    const wrong = W.array(data.wrong);
    const binCount = W.array(data.bin_count);
    const binHits = W.array(data.bin_hits);
    const binConf = W.array(data.bin_confidence);
    const nEdges = data.edges.length - 1;
    const nBins = data.n_bins;
    let top = 1;
    for (let i = 0; i < right.length; i++) top = Math.max(top, right[i], wrong[i]);
    const slider = W.slider({
      name: "epoch",
      label: "Epoch",
      min: epochs[0],
      max: epochs[epochs.length - 1],
      value: data.best,
      page: 5,
      valuetext: (v) => `epoch ${v}${v === data.best ? ", lowest validation loss" : ""}`,
    });
    const out = {
      loss: W.output("val-loss", { class: "w-big" }),
      accuracy: W.output("val-accuracy", { class: "w-big" }),
      wrong: W.output("wrong", { class: "w-big" }),
      ece: W.output("ece", { class: "w-big" }),
    };
    const pictures = W.el("div");
    element.append(
      slider.element,
      W.el("p", { class: "w-result" }, [
        "Validation loss ", out.loss, " nats · accuracy ", out.accuracy, " · ", out.wrong,
        ` of ${W.format.num(data.n)} images wrong · ECE `, out.ece,
      ]),
      pictures,
      W.el("p", {
        class: "w-note",
        text:
          "Curves: training solid, validation dashed; the thin dotted line marks the epoch of lowest validation loss. " +
          "Histogram: right predictions filled, wrong ones outlined. Reliability: bars are each bin's accuracy, the " +
          "shaded part the gap to its mean confidence.",
      }),
    );

    function update() {
      const e = slider.value;
      const i = epochs.indexOf(e);
      out.loss.textContent = W.format.fixed(c.val_loss[i], 3);
      out.accuracy.textContent = W.format.pct(c.val_accuracy[i], 2);
      out.wrong.textContent = W.format.num(c.val_n_wrong[i]);
      out.ece.textContent = W.format.pct(c.val_ece[i], 1);
      pictures.replaceChildren(
        grid([
          curveChart(epochs, [{ values: c.train_loss, style: STYLE.train }, { values: c.val_loss, style: STYLE.val }], e, data.best, "Loss (nats)", (t) => W.format.fixed(t, 2)),
          curveChart(epochs, [{ values: c.train_accuracy, style: STYLE.train }, { values: c.val_accuracy, style: STYLE.val }], e, data.best, "Accuracy", (t) => W.format.pct(t, 0)),
          histogram(data.edges, right.subarray(i * nEdges, (i + 1) * nEdges), wrong.subarray(i * nEdges, (i + 1) * nEdges), top, e),
          reliability(binCount.subarray(i * nBins, (i + 1) * nBins), binHits.subarray(i * nBins, (i + 1) * nBins), binConf.subarray(i * nBins, (i + 1) * nBins), e),
        ]),
      );
    }

    return { controls: [slider], update };
  }

  function mountTemperature(element, data) {
    const z = W.array(data.logits);
    const labels = W.array(data.labels);
    const k = data.logits.shape[1];
    const temps = data.temperatures;
    const fittedIndex = temps.indexOf(data.fitted);
    const curve = temps.map((T) => temperatureStats(z, labels, k, T, data.n_bins).loss);
    const slider = W.slider({
      name: "temperature",
      label: "Temperature T",
      min: 0,
      max: temps.length - 1,
      value: temps.indexOf(1),
      page: 10,
      format: (i) => W.format.fixed(temps[i], 2),
      valuetext: (i) => `T = ${W.format.fixed(temps[i], 2)}${i === fittedIndex ? ", the fitted temperature" : ""}`,
    });
    const out = {
      temperature: W.output("temperature", { class: "w-big" }),
      loss: W.output("loss", { class: "w-big" }),
      accuracy: W.output("accuracy", { class: "w-big" }),
      ece: W.output("ece", { class: "w-big" }),
    };
    const picture = W.el("div");
    const fitted = W.el("button", { type: "button", text: `Go to the fitted T = ${W.format.fixed(data.fitted, 2)}` });
    fitted.addEventListener("click", () => slider.set(fittedIndex));
    element.append(
      slider.element,
      W.el("p", {}, [fitted]),
      W.el("p", { class: "w-result" }, [
        "At T = ", out.temperature, `, epoch ${data.epoch}: validation loss `, out.loss, " nats · accuracy ",
        out.accuracy, " · ECE ", out.ece,
      ]),
      picture,
    );

    function update() {
      const i = slider.value;
      const T = temps[i];
      const s = temperatureStats(z, labels, k, T, data.n_bins);
      out.temperature.textContent = W.format.fixed(T, 2);
      out.loss.textContent = W.format.fixed(s.loss, 3);
      out.accuracy.textContent = W.format.pct(s.accuracy, 2);
      out.ece.textContent = W.format.pct(s.ece, 1);
      const w = 600;
      const h = 200;
      const m = { l: 48, r: 10, t: 14, b: 30 };
      const lx = temps.map((t) => Math.log(t));
      const sx = W.scale(lx[0], lx[lx.length - 1], m.l, w - m.r);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of curve) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      const sy = W.scale(lo, hi, h - m.b, m.t);
      const parts = [
        W.svg("path", { d: W.linePath(lx, curve, sx, sy), style: STYLE.val }),
        W.svg("line", { x1: sx(lx[fittedIndex]), x2: sx(lx[fittedIndex]), y1: m.t, y2: h - m.b, style: STYLE.best }),
        W.svg("circle", { cx: sx(Math.log(T)), cy: sy(s.loss), r: 4.5, style: "fill: var(--ink)" }),
        W.svg("line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b, style: STYLE.axis }),
        W.svg("line", { x1: m.l, x2: m.l, y1: m.t, y2: h - m.b, style: STYLE.axis }),
        axisText(w - m.r, h - 2, "temperature T (log scale)", "end"),
        axisText(m.l + 4, m.t + 4, "validation loss (nats)", "start"),
      ];
      for (const t of [0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]) {
        if (t >= temps[0] && t <= temps[temps.length - 1]) parts.push(axisText(sx(Math.log(t)), h - m.b + 14, String(t)));
      }
      for (const t of W.ticks(lo, hi, 4)) parts.push(axisText(m.l - 5, sy(t) + 4, W.format.fixed(t, 2), "end"));
      const label = `Validation loss against the temperature; at T = ${W.format.fixed(T, 2)} it is ${W.format.fixed(s.loss, 3)} nats.`;
      picture.replaceChildren(W.svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "w-chart", role: "img", "aria-label": label }, parts));
    }

    return { controls: [slider], update };
  }

  W.register("overfit-epochs", "overfitting", mountEpochs);
  W.register("overfit-temperature", "overfitting", mountTemperature);
})((typeof window !== "undefined" ? window : globalThis).Widgets);
