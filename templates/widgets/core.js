/* Interactive widgets of the explainer pages: the part every widget shares (templates/widgets/core.js).

   A page with widgets loads, in this order: its data file (results/widgets/<explainer>.js, written by
   scripts/<explainer>/widgets.py through kit.widgets; it sets window.WIDGET_DATA[<explainer>]), this file, and its
   explainer's code (templates/widgets/<explainer>.js), which calls Widgets.register(name, mount) once per widget.
   When the page has loaded, every element <div data-widget="NAME" hidden> (the hook the widget() macro of
   templates/widgets/macros.html.j2 writes) is mounted: mount(element, data, W) builds the controls and outputs,
   then the element is shown. Without scripts, or when a widget fails, the hook stays hidden and the page keeps
   its static figures (the printed handout never runs scripts).

   What this file gives a widget (W below, also window.Widgets):
   - W.array(encoded): the typed array of a {"$array": dtype, "shape", "b64"} value (kit.widgets.encode_array).
   - W.format: pct, num, fixed, signed, measure, duration, scientific, upperBound, lowerBound, plural: the same
     text as scripts/kit/formats.py for the same number (tests/test_widgets.py checks them under node).
   - W.stepper, W.slider, W.choice: labelled, keyboard-operable controls (native inputs, aria-valuetext).
   - W.output(name): an <output> the browser test reads (data-output="name").
   - W.svg, W.scale, W.ticks, W.linePath, W.drawImage: small drawing helpers in the page's colours.
   - W.expose(namespace, functions): pure functions the node tests call (tests/widgets/run.mjs).
   Plain JavaScript with no library and no network access: the pages work from file://.
   This file is included into the page through Jinja2, so it must not contain Jinja2's delimiters (a test checks). */
(function (root) {
  "use strict";

  const registry = new Map(); // widget name -> mount function
  const instances = new Map(); // widget name -> mounted instance (the browser test drives these)
  const exposed = {}; // "namespace.name" -> pure function (the node tests call these)
  let uid = 0;

  // ------------------------------------------------------------------------------------------------------------
  // Data
  // ------------------------------------------------------------------------------------------------------------

  /** The data the pipeline exported for one explainer (window.WIDGET_DATA[explainer]). */
  function data(explainer) {
    const all = root.WIDGET_DATA || {};
    if (!Object.prototype.hasOwnProperty.call(all, explainer)) {
      throw new Error(`no widget data for "${explainer}": is results/widgets/${explainer}.js loaded?`);
    }
    return all[explainer];
  }

  function base64Bytes(text) {
    if (typeof atob === "function") {
      const binary = atob(text);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    }
    return new Uint8Array(Buffer.from(text, "base64")); // node, for the tests
  }

  const TYPED = {
    float64: Float64Array,
    float32: Float32Array,
    int32: Int32Array,
    uint32: Uint32Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int8: Int8Array,
    uint8: Uint8Array,
  };
  const decoded = new WeakMap();

  /** Decode {"$array": dtype, "shape": [...], "b64": little-endian bytes} into a typed array with .shape; a
      quantised array ("range": [lo, hi], uint8 or uint16) comes back as Float32Array of lo + q / max * (hi - lo). */
  function array(encoded) {
    if (decoded.has(encoded)) return decoded.get(encoded);
    const Type = TYPED[encoded && encoded.$array];
    if (!Type) throw new Error(`not an encoded array: ${JSON.stringify(encoded).slice(0, 80)}`);
    const bytes = base64Bytes(encoded.b64);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes); // aligned copy: typed arrays need an offset that is a multiple of their element size
    let values = new Type(copy.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
    if (encoded.range) {
      const [lo, hi] = encoded.range;
      const top = encoded.$array === "uint8" ? 255 : 65535;
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = lo + (values[i] / top) * (hi - lo);
      values = out;
    }
    values.shape = encoded.shape.slice();
    decoded.set(encoded, values);
    return values;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Number formats: scripts/kit/formats.py, digit for digit. Python rounds the exact binary value half to even
  // (f"{0.125:.2f}" is "0.12", JavaScript's toFixed gives "0.13"), so the digits are computed here exactly, with
  // BigInt, from the double's mantissa and exponent.
  // ------------------------------------------------------------------------------------------------------------

  const MISSING = "n/a";
  const view = new DataView(new ArrayBuffer(8));

  function isMissing(value) {
    return value === null || value === undefined || (typeof value === "number" && !Number.isFinite(value));
  }

  /** |x| = mant * 2^exp exactly, and the sign bit (so -0 is negative, as in Python's formatting). */
  function decompose(x) {
    view.setFloat64(0, x);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const biased = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    if (biased !== 0) mant |= 1n << 52n;
    return { neg: hi >>> 31 === 1, mant, exp: biased === 0 ? -1074 : biased - 1075 };
  }

  /** round(|x| * 10^shift) to an integer, half to even, exactly (shift may be negative). */
  function roundScaled(x, shift) {
    const { mant, exp } = decompose(x);
    let num = mant;
    let den = 1n;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    if (exp >= 0) num <<= BigInt(exp);
    else den <<= BigInt(-exp);
    let q = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
    return q;
  }

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /** Python's f"{x:.{digits}f}" (with ``comma``: f"{x:,.{digits}f}"; with ``plus``: f"{x:+.{digits}f}"). */
  function formatFixed(x, digits, comma = false, plus = false) {
    const neg = decompose(x).neg;
    const text = roundScaled(x, digits).toString().padStart(digits + 1, "0");
    const whole = text.slice(0, text.length - digits);
    const frac = digits > 0 ? "." + text.slice(text.length - digits) : "";
    const sign = neg ? "-" : plus ? "+" : "";
    return sign + (comma ? group(whole) : whole) + frac;
  }

  /** The decimal exponent E and the p+1 significant digits of |x| rounded half to even (10^p <= q < 10^(p+1)). */
  function significant(x, p) {
    if (x === 0) return { e: 0, q: 0n };
    let e = Math.floor(Math.log10(Math.abs(x)));
    for (let tries = 0; tries < 4; tries++) {
      const q = roundScaled(x, p - e);
      const low = 10n ** BigInt(p);
      if (q >= low * 10n) e += 1;
      else if (q < low) e -= 1;
      else return { e, q };
    }
    throw new Error(`cannot find the exponent of ${x}`);
  }

  /** Python's f"{x:.{p}e}": "1.4e-16", "1e+04". */
  function formatExp(x, p) {
    const neg = decompose(x).neg;
    const { e, q } = significant(x, p);
    const digits = q.toString();
    const mantissa = p > 0 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponent = `${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
    return `${neg ? "-" : ""}${mantissa}e${exponent}`;
  }

  /** Python's f"{x:.{p}g}": fixed or exponential by the exponent after rounding, trailing zeros dropped. */
  function formatGeneral(x, precision) {
    const p = precision === 0 ? 1 : precision;
    const neg = decompose(x).neg;
    if (x === 0) return neg ? "-0" : "0";
    const { e } = significant(x, p - 1);
    const strip = (text) => (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text);
    if (e >= -4 && e < p) return strip(formatFixed(x, p - 1 - e));
    const [mantissa, exponent] = formatExp(x, p - 1).split("e");
    return `${strip(mantissa)}e${exponent}`;
  }

  /** Python's round() to an integer: half to even. */
  function roundHalfEven(x) {
    const floor = Math.floor(x);
    const diff = x - floor;
    if (diff > 0.5) return floor + 1;
    if (diff < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

  const format = {
    /** A ratio as a percentage: 0.29 -> "29.0 %". */
    pct(ratio, digits = 1) {
      return isMissing(ratio) ? MISSING : `${formatFixed(100 * ratio, digits)} %`;
    },
    /** Thousands separators: 60000 -> "60,000"; ``digits`` decimals (Python's num of a float; for a Python int
        the text is num(x, 0)'s). */
    num(value, digits = 0) {
      return isMissing(value) ? MISSING : formatFixed(value, digits, true);
    },
    /** Exactly ``digits`` decimals, no separators. */
    fixed(value, digits = 2) {
      return isMissing(value) ? MISSING : formatFixed(value, digits);
    },
    /** A change with its sign and a true minus: 0.32 -> "+0.32", -1.4 -> "−1.40". */
    signed(value, digits = 2) {
      return isMissing(value) ? MISSING : formatFixed(value, digits, false, true).replace("-", "\u2212");
    },
    /** A quantity with its unit: whole numbers without decimals ("84 components"), others with ``digits``. */
    measure(value, unit = "", digits = 1) {
      if (typeof value === "string") return value;
      if (isMissing(value)) return MISSING;
      const text = Number.isInteger(value) ? group(BigInt(value).toString()) : formatFixed(value, digits, true);
      return unit ? `${text} ${unit}` : text;
    },
    /** Run time: 0.42 -> "0.4 s", 83 -> "1 min 23 s", 4000 -> "1 h 6 min". */
    duration(seconds) {
      if (isMissing(seconds)) return MISSING;
      if (seconds < 60) return `${formatFixed(seconds, 1)} s`;
      const total = roundHalfEven(seconds);
      const minutes = Math.floor(total / 60);
      if (minutes < 60) return `${minutes} min ${total - 60 * minutes} s`;
      return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    },
    /** Scientific notation for people: 1.4e-16 -> "1.4 × 10⁻¹⁶"; plain for 0.001 to 9999. */
    scientific(value, digits = 2) {
      if (isMissing(value)) return MISSING;
      if (value === 0 || (Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4)) return formatGeneral(value, digits);
      const [mantissa, exponent] = formatExp(value, digits - 1).split("e");
      const power = String(parseInt(exponent, 10)).replace(/[-0-9]/g, (c) => SUPERSCRIPT[c]);
      return `${mantissa} × 10${power}`;
    },
    /** A measured maximum, rounded up so "at most X" stays true. */
    upperBound(value, digits = 2) {
      return isMissing(value) ? MISSING : format.scientific(roundedBound(value, digits, true), digits);
    },
    /** A measured minimum, rounded down so "at least X" stays true. */
    lowerBound(value, digits = 2) {
      return isMissing(value) ? MISSING : format.scientific(roundedBound(value, digits, false), digits);
    },
    /** A count with its noun: "1 image", "2 images", "1,268 images". */
    plural(count, singular, many) {
      return `${format.num(count)} ${count === 1 ? singular : many || singular + "s"}`;
    },
  };

  function roundedBound(value, digits, up) {
    if (value === 0) return 0;
    const exponent = Math.floor(Math.log10(Math.abs(value))) - digits + 1;
    const scale = Number(`1e${exponent}`); // correctly rounded, like Python's 10.0 ** exponent
    let steps = value / scale;
    steps = up ? Math.ceil(steps - 1e-9) : Math.floor(steps + 1e-9);
    return steps * scale;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Elements
  // ------------------------------------------------------------------------------------------------------------

  /** An HTML element: el("p", {class: "x", text: "Hello"}, [children]). */
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    return node;
  }

  function newId(prefix) {
    uid += 1;
    return `${prefix}-${uid}`;
  }

  /** An <output> the widget writes its results into; the browser test reads it by name. */
  function output(name, attrs = {}) {
    return el("output", { "data-output": name, ...attrs });
  }

  function clamp(value, min, max) {
    return Math.min(max, Math.max(min, value));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Controls. Each is a native input (so keyboards, screen readers and phones know it) with a visible label, and
  // the same small interface: name, value, set(value), focusTarget(), keys(target) (the key presses that move it
  // from its value to ``target``: the browser test presses them), onChange(fn).
  // ------------------------------------------------------------------------------------------------------------

  function control(kind, name, element, input) {
    const listeners = [];
    return {
      kind,
      name,
      element,
      input,
      listeners,
      onChange(fn) {
        listeners.push(fn);
        return this;
      },
      changed() {
        for (const fn of listeners) fn(this.value, this);
      },
    };
  }

  /** A whole number (or a multiple of ``step``) in [min, max]: a number field with − and + buttons.
      Keys: ArrowUp/ArrowDown one step, PageUp/PageDown ``page`` steps; typing works too.
      Options: name, label (text), min, max, step = 1, page = 10, value, valuetext(value) -> spoken text,
      labelledby (ids that label it instead of ``label``), fullLabel (names the buttons when ``label`` alone is
      ambiguous), unit (shown after the field). */
  function stepper(opts) {
    const step = opts.step || 1;
    const page = opts.page || 10;
    const id = newId(`w-${opts.name}`);
    const input = el("input", {
      type: "number",
      id,
      min: opts.min,
      max: opts.max,
      step,
      value: opts.value,
      "aria-labelledby": opts.labelledby || null,
      "data-control": opts.name,
    });
    const label = opts.labelledby ? null : el("label", { for: id, text: opts.label });
    // The buttons serve touch and mouse; keyboards use the field's own keys, so they stay out of the tab order.
    const named = opts.fullLabel || opts.label;
    const minus = el("button", { type: "button", tabindex: "-1", "aria-label": `Decrease ${named}`, text: "−" });
    const plus = el("button", { type: "button", tabindex: "-1", "aria-label": `Increase ${named}`, text: "+" });
    const unit = opts.unit ? el("span", { class: "w-unit", text: opts.unit }) : null;
    const element = el("div", { class: "w-stepper" }, [label, el("span", { class: "w-field" }, [minus, input, plus, unit])]);
    let current = clamp(Number(opts.value), opts.min, opts.max);
    const c = control("stepper", opts.name, element, input);
    const show = () => {
      input.value = String(current);
      input.removeAttribute("aria-invalid");
      if (opts.valuetext) input.setAttribute("aria-valuetext", opts.valuetext(current));
      minus.disabled = current <= opts.min;
      plus.disabled = current >= opts.max;
    };
    const commit = (value) => {
      const next = clamp(Math.round(value / step) * step, opts.min, opts.max);
      const moved = next !== current;
      current = next;
      show();
      if (moved) c.changed();
    };
    input.addEventListener("input", () => {
      const typed = input.value === "" ? NaN : Number(input.value);
      if (!Number.isFinite(typed) || typed < opts.min || typed > opts.max || Math.round(typed / step) * step !== typed) {
        input.setAttribute("aria-invalid", "true"); // keep the last valid value until the field is left
        return;
      }
      input.removeAttribute("aria-invalid");
      if (typed !== current) {
        current = typed;
        if (opts.valuetext) input.setAttribute("aria-valuetext", opts.valuetext(current));
        minus.disabled = current <= opts.min;
        plus.disabled = current >= opts.max;
        c.changed();
      }
    });
    input.addEventListener("change", () => show());
    input.addEventListener("blur", () => show());
    input.addEventListener("keydown", (event) => {
      if (event.key === "PageUp" || event.key === "PageDown") {
        event.preventDefault();
        commit(current + (event.key === "PageUp" ? page : -page) * step);
      }
    });
    minus.addEventListener("click", () => commit(current - step));
    plus.addEventListener("click", () => commit(current + step));
    Object.defineProperty(c, "value", { get: () => current });
    c.set = (value) => commit(Number(value));
    c.focusTarget = () => input;
    c.keys = (target) => {
      const moves = Math.round((clamp(Number(target), opts.min, opts.max) - current) / step);
      return keyPresses(moves, page, "ArrowUp", "ArrowDown");
    };
    show();
    return c;
  }

  /** The key presses that move a control by ``moves`` steps: PageUp/PageDown for each ``page`` steps, then the
      arrow keys (``up`` and ``down`` name them) for the rest; the browser test presses them. */
  function keyPresses(moves, page, up, down) {
    const keys = [];
    let left = Math.abs(moves);
    const [big, small] = moves > 0 ? ["PageUp", up] : ["PageDown", down];
    while (left >= page) {
      keys.push(big);
      left -= page;
    }
    for (let i = 0; i < left; i++) keys.push(small);
    return keys;
  }

  /** A value on a range with a slider and the value shown beside it. Keys: arrows one step, PageUp/PageDown
      ``page`` steps, Home/End the ends. Options: name, label, min, max, step = 1, page = 10, value,
      format(value) -> shown text, valuetext(value) -> spoken text. */
  function slider(opts) {
    const step = opts.step || 1;
    const page = opts.page || 10;
    const id = newId(`w-${opts.name}`);
    const fmt = opts.format || ((v) => format.num(v, 0));
    const input = el("input", {
      type: "range",
      id,
      min: opts.min,
      max: opts.max,
      step,
      value: opts.value,
      "data-control": opts.name,
    });
    const shown = el("output", { for: id, class: "w-value", "aria-hidden": "true" });
    const element = el("div", { class: "w-slider" }, [el("label", { for: id, text: opts.label }), input, shown]);
    const c = control("slider", opts.name, element, input);
    let current = clamp(Number(opts.value), opts.min, opts.max);
    const show = () => {
      input.value = String(current);
      shown.textContent = fmt(current);
      input.setAttribute("aria-valuetext", opts.valuetext ? opts.valuetext(current) : fmt(current));
    };
    const commit = (value) => {
      const next = clamp(opts.min + Math.round((value - opts.min) / step) * step, opts.min, opts.max);
      const moved = next !== current;
      current = next;
      show();
      if (moved) c.changed();
    };
    input.addEventListener("input", () => commit(Number(input.value)));
    input.addEventListener("keydown", (event) => {
      if (event.key === "PageUp" || event.key === "PageDown") {
        event.preventDefault();
        commit(current + (event.key === "PageUp" ? page : -page) * step);
      }
    });
    Object.defineProperty(c, "value", { get: () => current });
    c.set = (value) => commit(Number(value));
    c.focusTarget = () => input;
    c.keys = (target) => {
      const goal = clamp(Number(target), opts.min, opts.max);
      if (goal === opts.min) return current === goal ? [] : ["Home"];
      if (goal === opts.max) return current === goal ? [] : ["End"];
      const moves = Math.round((goal - current) / step);
      return keyPresses(moves, page, "ArrowRight", "ArrowLeft");
    };
    show();
    return c;
  }

  /** One of a few options: radio buttons in a fieldset with a legend. Keys: arrows move to the next option.
      Options: name, label (the legend), options [{value, label}], value. */
  function choice(opts) {
    const group = newId(`w-${opts.name}`);
    const radios = [];
    const labels = opts.options.map((option, index) => {
      const id = `${group}-${index}`;
      const radio = el("input", {
        type: "radio",
        id,
        name: group,
        value: String(option.value),
        checked: option.value === opts.value,
        "data-control": opts.name,
      });
      radios.push(radio);
      return el("label", { for: id, class: "w-option" }, [radio, ` ${option.label}`]);
    });
    const element = el("fieldset", { class: "w-choice" }, [el("legend", { text: opts.label }), ...labels]);
    const c = control("choice", opts.name, element, radios[0]);
    let index = Math.max(0, opts.options.findIndex((option) => option.value === opts.value));
    const commit = (next) => {
      const moved = next !== index;
      index = next;
      radios.forEach((radio, i) => (radio.checked = i === index));
      if (moved) c.changed();
    };
    radios.forEach((radio, i) => radio.addEventListener("change", () => radio.checked && commit(i)));
    Object.defineProperty(c, "value", { get: () => opts.options[index].value });
    c.set = (value) => {
      const next = opts.options.findIndex((option) => String(option.value) === String(value));
      if (next < 0) throw new Error(`${opts.name}: no option ${value}`);
      commit(next);
    };
    c.focusTarget = () => radios[index];
    c.keys = (target) => {
      const goal = opts.options.findIndex((option) => String(option.value) === String(target));
      const moves = goal - index;
      return Array(Math.abs(moves)).fill(moves > 0 ? "ArrowRight" : "ArrowLeft");
    };
    return c;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Drawing: SVG built in the page (so the page's colours, dark mode included, apply through CSS classes and
  // currentColor) and grey-scale images on a canvas in the page's ink and paper colours.
  // ------------------------------------------------------------------------------------------------------------

  const SVG_NS = "http://www.w3.org/2000/svg";

  /** An SVG element: svg("rect", {x: 0, y: 0, width: 10, height: 10, class: "w-accent"}). */
  function svg(tag, attrs = {}, children = []) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /** A linear map from [d0, d1] onto [r0, r1]. */
  function scale(d0, d1, r0, r1) {
    const span = d1 - d0 || 1;
    const f = (value) => r0 + ((value - d0) / span) * (r1 - r0);
    f.invert = (pixel) => d0 + ((pixel - r0) / (r1 - r0)) * span;
    return f;
  }

  /** About ``count`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
  function ticks(lo, hi, count = 5) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  /** An SVG path's "d" through the points (xs[i], ys[i]) under the scales sx and sy; gaps at non-finite values. */
  function linePath(xs, ys, sx, sy) {
    let d = "";
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${sx(xs[i]).toFixed(2)},${sy(ys[i]).toFixed(2)}`;
      pen = true;
    }
    return d;
  }

  /** A colour of the page's palette (a CSS custom property such as --ink), for a canvas. */
  function cssColor(name, element = document.documentElement) {
    return getComputedStyle(element).getPropertyValue(name).trim() || "#000";
  }

  function rgb(color) {
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = color;
    const hex = probe.fillStyle; // the browser normalises any CSS colour to #rrggbb here
    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }

  /** Draw a height x width array of values on ``canvas`` as grey levels in the page's colours: ``lo`` (default
      the smallest value) as paper, ``hi`` as ink, pixels kept square (one canvas pixel per value). */
  function drawImage(canvas, values, height, width, opts = {}) {
    let lo = opts.lo;
    let hi = opts.hi;
    if (lo === undefined || hi === undefined) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < height * width; i++) {
        min = Math.min(min, values[i]);
        max = Math.max(max, values[i]);
      }
      lo = lo === undefined ? min : lo;
      hi = hi === undefined ? max : hi;
    }
    const paper = rgb(cssColor("--paper", canvas));
    const ink = rgb(cssColor("--ink", canvas));
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    const span = hi - lo || 1;
    for (let i = 0; i < height * width; i++) {
      const t = clamp((values[i] - lo) / span, 0, 1);
      for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round(paper[c] + t * (ink[c] - paper[c]));
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  /** Call ``fn`` again when the reader's colour scheme changes (canvas drawings use fixed colours). */
  function onSchemeChange(fn) {
    if (root.matchMedia) root.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", fn);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Registration, mounting and the test interface
  // ------------------------------------------------------------------------------------------------------------

  /** Register a widget: mount(element, data, W) builds it inside its hook and returns
      {controls: [control, ...], update()}; update() is called once now and after every change. */
  function register(name, explainer, mount) {
    registry.set(name, { explainer, mount });
  }

  /** Pure functions a widget computes with, published for the node tests (W.expose("convolutions", {...})). */
  function expose(namespace, functions) {
    for (const [name, fn] of Object.entries(functions)) exposed[`${namespace}.${name}`] = fn;
  }

  function readOutputs(element) {
    const shown = {};
    for (const node of element.querySelectorAll("[data-output]")) {
      shown[node.getAttribute("data-output")] = node.textContent.replace(/\s+/g, " ").trim();
    }
    return shown;
  }

  function mountOne(element) {
    const name = element.getAttribute("data-widget");
    const entry = registry.get(name);
    if (!entry) throw new Error(`no code registered for widget "${name}"`);
    const built = entry.mount(element, data(entry.explainer)[name], W);
    const controls = {};
    let batching = false;
    for (const c of built.controls) {
      controls[c.name] = c;
      c.onChange(() => batching || built.update());
    }
    built.update();
    const instance = {
      name,
      element,
      controls,
      /** Set controls by name ({"size-1": 5, ...}; in the order of ``order`` when given), update once, and
          return what the widget shows. The browser test sets most checks this way, the rest with the keyboard. */
      set(values, order) {
        batching = true;
        try {
          for (const key of order || Object.keys(values)) {
            if (!controls[key]) throw new Error(`widget ${name} has no control "${key}"`);
            controls[key].set(values[key]);
          }
        } finally {
          batching = false;
        }
        built.update();
        return readOutputs(element);
      },
      outputs: () => readOutputs(element),
      values: () => Object.fromEntries(Object.entries(controls).map(([key, c]) => [key, c.value])),
    };
    instances.set(name, instance);
    element.hidden = false;
    element.classList.add("w-live");
    return instance;
  }

  function mountAll() {
    for (const element of document.querySelectorAll("[data-widget]")) {
      try {
        mountOne(element);
      } catch (error) {
        element.hidden = true; // the static figure stays; the error goes to the console (the browser test fails on it)
        console.error(`widget ${element.getAttribute("data-widget")}: ${error.message}`);
      }
    }
    root.dispatchEvent(new Event("widgets-ready"));
  }

  /** For the browser test: the key presses that set a control to ``value`` and the id of the element to focus. */
  function keyPlan(widget, name, value) {
    const c = instances.get(widget).controls[name];
    const target = c.focusTarget();
    return { id: target.id, keys: c.keys(value) };
  }

  const W = {
    version: 1,
    data,
    array,
    format,
    el,
    output,
    newId,
    stepper,
    slider,
    choice,
    svg,
    scale,
    ticks,
    linePath,
    cssColor,
    drawImage,
    onSchemeChange,
    register,
    expose,
    exposed,
    instances,
    keyPlan,
    ready: false,
  };
  root.Widgets = W;

  if (typeof document !== "undefined") {
    const start = () => {
      mountAll();
      W.ready = true;
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else setTimeout(start, 0); // after the explainer's own script, which follows this one, has registered
  }
})(typeof window !== "undefined" ? window : globalThis);
