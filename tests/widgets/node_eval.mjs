// Run the widgets' JavaScript under node, outside a browser, for tests/test_widgets.py: load the given scripts
// (templates/widgets/core.js first, then an explainer's file) into a fresh context without a document, call the
// requested functions and print their results as JSON.
//
// Input (stdin): {"scripts": [paths], "calls": [{"fn": "format.pct", "args": [0.29, 1]}, ...]}
//   fn: "format.<name>" (Widgets.format), "array" (Widgets.array: the typed array as {shape, values}), or
//   "<namespace>.<name>" (a function an explainer's script published with Widgets.expose).
//   A number JSON cannot carry is written {"$float": "nan" | "inf" | "-inf" | "-0"}.
// Output (stdout): {"results": [value or {"error": message}, ...]}

import { readFileSync } from "node:fs";
import vm from "node:vm";

const request = JSON.parse(readFileSync(0, "utf8"));
const context = vm.createContext({ atob, console });
for (const path of request.scripts) vm.runInContext(readFileSync(path, "utf8"), context, { filename: path });
const W = context.Widgets;
if (!W) throw new Error("core.js did not define Widgets");

const SPECIAL = { nan: NaN, inf: Infinity, "-inf": -Infinity, "-0": -0 };
function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if (Object.keys(value).length === 1 && "$float" in value) return SPECIAL[value.$float];
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

function lookup(name) {
  if (name === "array") return (encoded) => {
    const values = W.array(encoded);
    return { shape: values.shape, values: Array.from(values) };
  };
  if (name.startsWith("format.")) return W.format[name.slice(7)];
  return W.exposed[name];
}

const results = request.calls.map(({ fn, args }) => {
  const f = lookup(fn);
  if (typeof f !== "function") return { error: `no function ${fn}` };
  try {
    return f(...revive(args));
  } catch (error) {
    return { error: String(error.message || error) };
  }
});
process.stdout.write(JSON.stringify({ results }));
