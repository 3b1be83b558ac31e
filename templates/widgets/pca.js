/* Widgets of the PCA explainer (templates/widgets/pca.js); the shared part is core.js.

   pca-redraw: a slider over k (1 to all components) redraws the test images of the reconstruction figure from
   their first k scores: mean + sum over j < k of score_j * component_j, with the components rebuilt from their
   int16 steps and per-row scales. It shows the share of the training variance the first k components carry and
   the mean squared error per pixel over the whole test set (and its square root), which the pipeline computed in
   full precision for every k (scripts/pca/widgets.py), formatted as Table 3 prints them.

   pca-modes: the reader picks a component and a multiple t of the standard deviation sd of its scores; the widget
   draws the mean image plus t * sd * component, clipped to no ink ... full ink as the variation-modes figure
   draws it, and shows the component's share of the variance, sd and the score added (t * sd). */
(function (W) {
  "use strict";

  /** Component j (0-based) of the int16 steps, times its scale: a row of doubles. */
  function component(steps, scales, j, d) {
    const row = new Float64Array(d);
    const scale = scales[j];
    for (let i = 0; i < d; i++) row[i] = steps[j * d + i] * scale;
    return row;
  }

  /** The image rebuilt from its first k scores: mean + sum_{j < k} scores[j] * component_j (steps * scale). */
  function reconstruct(mean, steps, scales, scores, k, d) {
    const out = Float64Array.from(mean);
    for (let j = 0; j < k; j++) {
      const weight = scores[j] * scales[j];
      if (weight === 0) continue;
      const offset = j * d;
      for (let i = 0; i < d; i++) out[i] += weight * steps[offset + i];
    }
    return out;
  }

  /** The mean image moved along component j by ``multiple`` standard deviations ``sd``, clipped to [0, 1]. */
  function mode(mean, steps, scales, j, sd, multiple, d) {
    const row = component(steps, scales, j, d);
    const amount = multiple * sd;
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) out[i] = Math.min(1, Math.max(0, mean[i] + amount * row[i]));
    return out;
  }

  /** The redraw widget's three outputs for k (1-based), as Table 3 prints them. */
  function redrawText(variance, mse, k) {
    const error = mse[k - 1];
    return {
      variance: W.format.pct(variance[k - 1]),
      mse: W.format.fixed(error, 4),
      rmse: W.format.fixed(Math.sqrt(error), 3),
    };
  }

  /** The modes widget's three outputs for component j (0-based) at ``multiple`` standard deviations. */
  function modeText(ratios, sd, j, multiple) {
    return {
      share: W.format.pct(ratios[j]),
      sd: W.format.fixed(sd[j], 2),
      score: W.format.signed(multiple * sd[j], 2),
    };
  }

  W.expose("pca", { reconstruct, mode, redrawText, modeText });

  /** A canvas showing a side x side picture at ``size`` CSS pixels, pixels kept square and sharp. */
  function picture(label, size) {
    return W.el("canvas", {
      role: "img",
      "aria-label": label,
      style: `display:block;margin:0 auto 2px;width:${size}px;height:${size}px;image-rendering:pixelated;border:1px solid var(--rule)`,
    });
  }

  function cell(canvas, caption) {
    return W.el("figure", { style: "margin:0;text-align:center;font-size:0.8rem;width:96px" }, [
      canvas,
      W.el("figcaption", { text: caption }),
    ]);
  }

  function grid(children) {
    return W.el(
      "div",
      { style: "display:flex;flex-wrap:wrap;gap:0.5rem 0.6rem;margin:0.6rem 0" },
      children,
    );
  }

  function mountRedraw(element, data) {
    const side = data.side;
    const d = side * side;
    const m = data.n_components;
    const mean = W.array(data.mean);
    const steps = W.array(data.steps);
    const scales = W.array(data.scales);
    const scores = W.array(data.scores);
    const originals = W.array(data.originals);
    const variance = W.array(data.variance);
    const mse = W.array(data.mse);
    const n = data.classes.length;
    const slider = W.slider({
      name: "k",
      label: "Components k",
      min: 1,
      max: m,
      value: data.start,
      page: 10,
      valuetext: (k) => W.format.plural(k, "component"),
    });
    const shown = [];
    const pairs = [];
    for (let i = 0; i < n; i++) {
      const original = picture(`Test image ${i + 1}, a ${data.classes[i]}: the original`, 52);
      const redrawn = picture(`Test image ${i + 1}, a ${data.classes[i]}, redrawn`, 52);
      pairs.push(
        W.el("figure", { style: "margin:0;text-align:center;font-size:0.75rem;width:4.6rem" }, [
          original,
          redrawn,
          W.el("figcaption", { text: data.classes[i] }),
        ]),
      );
      shown.push({ original, redrawn, originalPixels: originals.subarray(i * d, (i + 1) * d) });
    }
    const variance_ = W.output("variance", { class: "w-big" });
    const error = W.output("mse", { class: "w-big" });
    const rmse = W.output("rmse", { class: "w-big" });
    element.append(
      slider.element,
      W.el("p", { class: "w-note", text: "Each test image: the original (top) and redrawn from its first k scores (below)." }),
      grid(pairs),
      W.el("p", { class: "w-result" }, ["Share of the training variance in the first k components: ", variance_]),
      W.el("p", { class: "w-result" }, [
        `Mean squared error per pixel over the ${W.format.num(data.n_test)} test images: `,
        error,
        "; typical pixel error: ",
        rmse,
      ]),
      W.el("p", { class: "w-note", text: data.note }),
    );

    /** The originals, in the page's colours (a canvas takes them from the document, so after it is attached). */
    function drawOriginals() {
      for (let i = 0; i < n; i++) {
        W.drawImage(shown[i].original, Float64Array.from(shown[i].originalPixels, (v) => v / 255), side, side, {
          lo: 0,
          hi: 1,
        });
      }
    }
    drawOriginals();

    function draw() {
      const k = slider.value;
      for (let i = 0; i < n; i++) {
        const values = reconstruct(mean, steps, scales, scores.subarray(i * m, (i + 1) * m), k, d);
        W.drawImage(shown[i].redrawn, values, side, side, { lo: 0, hi: 1 });
        shown[i].redrawn.setAttribute(
          "aria-label",
          `Test image ${i + 1}, a ${data.classes[i]}, redrawn from ${W.format.plural(k, "component")}`,
        );
      }
    }

    function update() {
      const text = redrawText(variance, mse, slider.value);
      variance_.textContent = text.variance;
      error.textContent = text.mse;
      rmse.textContent = text.rmse;
      draw();
    }

    W.onSchemeChange(() => {
      drawOriginals();
      draw();
    });
    return { controls: [slider], update };
  }

  function mountModes(element, data) {
    const side = data.side;
    const d = side * side;
    const redraw = W.data("pca")["pca-redraw"];
    const mean = W.array(redraw.mean);
    const steps = W.array(redraw.steps);
    const scales = W.array(redraw.scales);
    const ratios = W.array(data.ratios);
    const sd = W.array(data.sd);
    const choice = W.choice({
      name: "component",
      label: "Component",
      options: Array.from({ length: data.n_components }, (_, j) => ({ value: j + 1, label: String(j + 1) })),
      value: 1,
    });
    const slider = W.slider({
      name: "multiple",
      label: "Multiple t",
      min: -data.limit,
      max: data.limit,
      step: data.step,
      page: 4,
      value: data.spread,
      format: (t) => W.format.signed(t, 2),
      valuetext: (t) => `${W.format.signed(t, 2)} standard deviations`,
    });
    const meanCanvas = picture("The mean training image", 96);
    const movedCanvas = picture("The mean image moved along the component", 96);
    const weightsCanvas = picture("The component's weights", 96);
    const share = W.output("share", { class: "w-big" });
    const deviation = W.output("sd", { class: "w-big" });
    const score = W.output("score", { class: "w-big" });
    element.append(
      choice.element,
      slider.element,
      grid([
        cell(meanCanvas, "mean image"),
        cell(movedCanvas, "mean + t·sd·component"),
        cell(weightsCanvas, "the component"),
      ]),
      W.el("p", { class: "w-result" }, ["Share of the variance: ", share, "; standard deviation of its scores, sd: ", deviation]),
      W.el("p", { class: "w-result" }, ["Score added, t × sd: ", score]),
      W.el("p", {
        class: "w-note",
        text:
          "t counts standard deviations of the component's scores. Pixel values beyond no ink and full ink are " +
          "clipped, as in the static figure.",
      }),
    );
    W.drawImage(meanCanvas, mean, side, side, { lo: 0, hi: 1 }); // attached now: the page's colours apply

    function update() {
      const j = choice.value - 1;
      const t = slider.value;
      const text = modeText(ratios, sd, j, t);
      share.textContent = text.share;
      deviation.textContent = text.sd;
      score.textContent = text.score;
      W.drawImage(movedCanvas, mode(mean, steps, scales, j, sd[j], t, d), side, side, { lo: 0, hi: 1 });
      const weights = component(steps, scales, j, d);
      let peak = 0;
      for (let i = 0; i < d; i++) peak = Math.max(peak, Math.abs(weights[i]));
      W.drawImage(weightsCanvas, weights, side, side, { lo: -peak || -1, hi: peak || 1 });
      movedCanvas.setAttribute(
        "aria-label",
        `The mean image plus ${W.format.signed(t, 2)} standard deviations of component ${j + 1}`,
      );
    }

    W.onSchemeChange(() => {
      W.drawImage(meanCanvas, mean, side, side, { lo: 0, hi: 1 });
      update();
    });
    return { controls: [choice, slider], update };
  }

  W.register("pca-redraw", "pca", mountRedraw);
  W.register("pca-modes", "pca", mountModes);
})((typeof window !== "undefined" ? window : globalThis).Widgets);
