/* Widgets of the backpropagation explainer (templates/widgets/backprop.js); the shared part is core.js.

   bp-puzzle, a stepper through the puzzle's rounds: the start and every round the pipeline simulated
   (scripts/backprop/puzzle.py), with each person's wrong pieces, the pieces fixed in the round, and the message as
   it travels Harry -> Dick -> Tom. bp-step, one training step forward then backward: the batch loss, then the size
   of the error signal at each hop back (history.npz), the factor of each hop and the gradient norm of the layer
   whose error signal it is. Their data and the checks the browser test replays come from
   scripts/backprop/widgets.py, whose puzzle_texts and step_texts build the same text as puzzleTexts and stepTexts
   here (tests/test_widgets_backprop.py compares them under node). */
(function (W) {
  "use strict";

  const ORDER = ["Harry", "Dick", "Tom"];

  /** What the puzzle stepper shows at state ``index`` (0: the start). */
  function puzzleTexts(data, index) {
    const state = data.states[index];
    const last = data.states.length - 1;
    const num = W.format.num;
    let total = 0;
    for (const p of data.people) total += state.wrong[p];
    const out = {
      round: index === 0 ? "the start, before any round" : `round ${num(index)} of ${num(last)}`,
      wrong: data.people.map((p) => `${p} ${num(state.wrong[p])}`).join(", "),
      total: `${num(total)} of ${num(data.n_pieces)} pieces wrong`,
    };
    if (index === 0) {
      out.fixed = "none yet";
      out.message = "The three have laid the puzzle; the instructions say how many pieces are wrong.";
    } else {
      out.fixed = ORDER.map((p) => `${p} ${num(state.fixes[p])}`).join(", ");
      const parts = state.steps.map((s) => {
        let got = `${s.person} receives “fix ${num(s.received[0])} of ${num(s.received[1])}” and fixes ${num(s.fixed)}`;
        if (s.passed !== null) got += `, then passes “fix ${num(s.passed[0])} of ${num(s.passed[1])}”`;
        return got;
      });
      out.message = parts.join("; ") + ".";
    }
    return out;
  }

  /** What the step widget shows at training step ``step`` (1-based) and stage ``stage`` (1 to 6); ``values``
      maps each series name to an array (or typed array) with one value per step. */
  function stepTexts(stages, values, step, stage) {
    const i = step - 1;
    const spec = stages[stage - 1];
    const sci = W.format.scientific;
    const people = { tom: "Tom", dick: "Dick", harry: "Harry" };
    const out = { "step-loss": `${sci(values.loss[i], 4)} nats`, stage: spec.name };
    if (spec.key === "loss") {
      out.value = `batch loss ${sci(values.loss[i], 4)} nats`;
      out.factor = "the backward pass starts from here";
      out.gradient = "no gradient yet";
      return out;
    }
    const value = values[spec.key][i];
    out.value = `size ${sci(value, 4)} per image`;
    if (stage === 2) {
      out.factor = "the start of the backward message";
    } else {
      const before = values[stages[stage - 2].key][i];
      out.factor = before ? `× ${sci(value / before, 3)} on this hop` : "the hop before carried 0";
    }
    out.gradient = spec.layer
      ? `${people[spec.layer]}'s gradient norm ${sci(values["grad_" + spec.layer][i], 4)}`
      : "a message between layers: no gradient of its own";
    return out;
  }

  W.expose("backprop", { puzzleTexts, stepTexts });

  /** The pieces as a row of squares, in the order laid (Tom's, Dick's, Harry's): wrong ones filled and crossed,
      the ones fixed in this round outlined with a tick. */
  function puzzleRow(data, state) {
    const n = data.n_pieces;
    const size = 22;
    const gap = 3;
    const width = n * (size + gap) + gap;
    const owner = {};
    for (const p of data.people) for (const i of data.positions[p]) owner[i] = p;
    const wrong = new Set();
    for (const p of data.people) for (const i of state.wrong_positions[p]) wrong.add(i);
    const fixed = new Set(state.fixed_positions);
    const parts = [];
    for (let i = 1; i <= n; i++) {
      const x = gap + (i - 1) * (size + gap);
      const bad = wrong.has(i);
      parts.push(W.svg("rect", { x, y: 24, width: size, height: size, class: bad ? "w-tap" : "w-cell", rx: 3 }));
      if (bad) {
        parts.push(W.svg("path", { d: `M${x + 6},30l10,10m0,-10l-10,10`, stroke: "var(--paper)", "stroke-width": 3 }));
      }
      if (fixed.has(i)) {
        parts.push(W.svg("rect", { x: x - 1.5, y: 22.5, width: size + 3, height: size + 3, fill: "none", stroke: "currentColor", "stroke-width": 3, rx: 4 }));
        parts.push(W.svg("path", { d: `M${x + 5},35l4,5l8,-10`, fill: "none", stroke: "currentColor", "stroke-width": 3 }));
      }
    }
    for (const p of data.people) {
      const first = Math.min(...data.positions[p]);
      const last = Math.max(...data.positions[p]);
      const x0 = gap + (first - 1) * (size + gap);
      const x1 = gap + last * (size + gap) - gap;
      parts.push(W.svg("text", { x: (x0 + x1) / 2, y: 15, "text-anchor": "middle", fill: "currentColor", "font-size": 16, text: p }));
      parts.push(W.svg("line", { x1: x0, x2: x1, y1: 19, y2: 19, stroke: "currentColor", "stroke-width": 1 }));
    }
    const wrongCount = wrong.size;
    return W.svg(
      "svg",
      { viewBox: `0 0 ${width} 50`, class: "w-strip", style: "max-width: 36rem", role: "img", "aria-label": `${wrongCount} of ${n} pieces wrong; ${fixed.size} fixed in this round` },
      parts,
    );
  }

  function mountPuzzle(element, data) {
    const last = data.states.length - 1;
    const round = W.stepper({
      name: "round",
      label: "Round (0 is the start)",
      min: 0,
      max: last,
      value: 0,
      page: 5,
      valuetext: (v) => (v === 0 ? "the start" : `round ${v}`),
    });
    const shown = {};
    for (const name of ["round", "wrong", "total", "fixed", "message"]) shown[name] = W.output(name);
    const picture = W.el("div", { class: "w-picture" });
    element.append(
      round.element,
      picture,
      W.el("p", { class: "w-result" }, ["Showing ", shown.round, ": ", shown.total, "."]),
      W.el("p", {}, ["Wrong pieces after it: ", shown.wrong, ". Fixed in it (in the order the message arrives): ", shown.fixed, "."]),
      W.el("p", {}, [shown.message]),
      W.el("p", { class: "w-note", text: "Filled squares with a cross are wrong pieces; an outline with a tick marks a piece fixed in the round shown." }),
    );
    function update() {
      const texts = puzzleTexts(data, round.value);
      for (const [name, text] of Object.entries(texts)) shown[name].textContent = text;
      picture.replaceChildren(puzzleRow(data, data.states[round.value]));
    }
    return { controls: [round], update };
  }

  /** Bars of the six stages at one step, on a log scale, the current stage in the accent colour and the stages
      not reached yet left empty. */
  function stageBars(stages, values, step, stage) {
    const i = step - 1;
    const width = 360;
    const row = 24;
    const left = 118;
    const numbers = stages.map((s) => values[s.key][i]);
    const positive = numbers.filter((v) => v > 0);
    const lo = Math.log10(Math.min(...positive, 1)) - 0.5;
    const hi = Math.log10(Math.max(...positive, 1)) + 0.2;
    const sx = W.scale(lo, hi, 0, width - left - 10);
    const short = ["batch loss", "δ Harry", "through W Harry", "δ Dick", "through W Dick", "δ Tom"];
    const parts = [];
    stages.forEach((s, k) => {
      const y = 4 + k * row;
      const reached = k < stage;
      parts.push(W.svg("text", { x: left - 6, y: y + 16, "text-anchor": "end", fill: "currentColor", "font-size": 13, text: short[k] }));
      const v = numbers[k];
      if (reached && v > 0) {
        parts.push(W.svg("rect", { x: left, y: y + 3, width: Math.max(2, sx(Math.log10(v))), height: row - 8, class: k === stage - 1 ? "w-tap" : "w-start" }));
      }
    });
    return W.svg(
      "svg",
      { viewBox: `0 0 ${width} ${4 + stages.length * row}`, class: "w-strip", style: "max-width: 28rem", role: "img", "aria-label": `sizes at step ${step}, stages 1 to ${stage} of ${stages.length}, logarithmic scale` },
      parts,
    );
  }

  function mountStep(element, data) {
    const values = {};
    for (const [key, encoded] of Object.entries(data.values)) values[key] = W.array(encoded);
    const stages = data.stages;
    const step = W.slider({ name: "step", label: "Training step", min: 1, max: data.steps, value: 1, page: Math.max(1, Math.round(data.steps / 10)) });
    const stage = W.stepper({
      name: "stage",
      label: "Stage of the step (1: forward, 2 to 6: backward)",
      min: 1,
      max: stages.length,
      value: 1,
      page: 5,
      valuetext: (v) => stages[v - 1].name,
    });
    const shown = {};
    for (const name of ["step-loss", "stage", "value", "factor", "gradient"]) shown[name] = W.output(name);
    const picture = W.el("div", { class: "w-picture" });
    element.append(
      step.element,
      stage.element,
      W.el("p", { class: "w-result" }, [shown.stage]),
      W.el("p", {}, [shown.value, "; ", shown.factor, "; ", shown.gradient, "."]),
      picture,
      W.el("p", { class: "w-note" }, ["This step's batch loss: ", shown["step-loss"], ". Bars: the sizes reached so far, on a logarithmic scale."]),
    );
    function update() {
      const texts = stepTexts(stages, values, step.value, stage.value);
      for (const [name, text] of Object.entries(texts)) shown[name].textContent = text;
      picture.replaceChildren(stageBars(stages, values, step.value, stage.value));
    }
    return { controls: [step, stage], update };
  }

  W.register("bp-puzzle", "backprop", mountPuzzle);
  W.register("bp-step", "backprop", mountStep);
})((typeof window !== "undefined" ? window : globalThis).Widgets);
