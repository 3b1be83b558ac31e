// The browser half of the site check tier: open every page in headless Chromium (Debian's build, driven by
// playwright-core) at a phone and a desktop width, in the light and the dark colour scheme, and for each:
// run axe-core, measure the layout (sideways scrolling, each figure's shown and natural width and which file the
// browser picked, the tables' scrolling boxes), record every request that leaves file:// (and block it), every
// script error, the colours dark mode gives, save a full-page screenshot, and replay the checks of the page's
// widgets (results/widgets/<explainer>.checks.json): some with real key presses, the rest through the widget's
// own controls, comparing the text each widget shows with the text the pipeline computed.
//
// Usage (check_site.py calls it; the tools live in .tools/ after `make test-site` installed them):
//
//   NODE_PATH=.tools/node_modules node tests/site/browser_checks.mjs --chromium /usr/bin/chromium \
//       --axe .tools/node_modules/axe-core/axe.min.js --screenshots results/screenshots \
//       --widths 390,1280 --schemes light,dark --checks results/reports/convolutions.html=results/widgets/x.json \
//       --report /tmp/browser.json results/index.html results/reports/pca.html
//
// Writes one JSON report: for each page, width and scheme, axe's violations, the measurements, the widget check
// results and the screenshot's path. It exits 0 whatever it finds; check_site.py judges the report, so a failure
// message can name every problem at once instead of the first.

import { createRequire } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// NODE_PATH is not consulted by ES module imports, so load playwright-core through require.
const require = createRequire(resolve(process.env.NODE_PATH || ".tools/node_modules", "noop.js"));
const { chromium } = require("playwright-core");

// The rule sets the issue asks for: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

function parseArgs(argv) {
  const args = { widths: [390, 1280], schemes: ["light", "dark"], pages: [], checks: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === "--chromium") args.chromium = value();
    else if (flag === "--axe") args.axe = value();
    else if (flag === "--screenshots") args.screenshots = value();
    else if (flag === "--report") args.report = value();
    else if (flag === "--widths") args.widths = value().split(",").map(Number);
    else if (flag === "--schemes") args.schemes = value().split(",");
    else if (flag === "--checks") {
      const [page, file] = value().split("=");
      args.checks[resolve(page)] = file;
    } else if (flag.startsWith("--")) throw new Error(`unknown flag ${flag}`);
    else args.pages.push(flag);
  }
  for (const key of ["chromium", "axe", "screenshots", "report"]) {
    if (!args[key]) throw new Error(`--${key} is required`);
  }
  if (args.pages.length === 0) throw new Error("give at least one HTML page");
  if (args.widths.some((w) => !Number.isInteger(w) || w < 200)) throw new Error("--widths: whole pixels >= 200");
  if (args.schemes.some((s) => s !== "light" && s !== "dark")) throw new Error("--schemes: light and/or dark");
  return args;
}

// A screenshot's file name: the page's name (index, pca, ...), the width and, in dark mode, "-dark".
function shotName(page, width, scheme) {
  return `${basename(page).replace(/\.html?$/, "")}-${width}${scheme === "dark" ? "-dark" : ""}.png`;
}

// Run axe in the page and keep what a person needs to find and fix each violation.
async function runAxe(page, axeSource) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  }, AXE_TAGS);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    count: v.nodes.length,
  }));
}

// What the page looks like: figures (shown vs natural width, the file picked), tables' boxes, colours.
async function measure(page) {
  return page.evaluate(() => {
    const figures = [...document.querySelectorAll("figure img")].map((img) => ({
      figure: img.closest("figure").id || null,
      src: img.currentSrc || img.src,
      shown_px: Math.round(img.getBoundingClientRect().width * 10) / 10,
      natural_px: img.naturalWidth,
      filter: getComputedStyle(img).filter,
      // Shown whole only by scrolling its own box sideways (a figure without a narrow variant, on a phone).
      scrolls: (() => {
        const box = img.closest(".figure-scroll, .scroll-x");
        return box !== null && box.scrollWidth > box.clientWidth + 1;
      })(),
    }));
    const boxes = [...document.querySelectorAll(".table-wrap, .figure-scroll, .scroll-x")].map((box) => ({
      kind: box.className,
      label: box.getAttribute("aria-label") || "",
      overflows: box.scrollWidth > box.clientWidth + 1,
      scrolls: ["auto", "scroll"].includes(getComputedStyle(box).overflowX),
      // The hint: the edge shadows of style.css (a gradient background) and, where scripts run, a line of text.
      shadow: getComputedStyle(box).backgroundImage.includes("gradient"),
      text: box.classList.contains("overflows") && getComputedStyle(box, "::before").content !== "none",
    }));
    const style = getComputedStyle(document.body);
    return {
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      broken: [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.src),
      figures,
      boxes,
      colours: { background: style.backgroundColor, text: style.color },
      widgets: [...document.querySelectorAll("[data-widget]")].map((el) => ({
        name: el.getAttribute("data-widget"),
        shown: !el.hidden,
        loaded: "Widgets" in window,
      })),
    };
  });
}

// Replay a page's widget checks: the keyboard ones with real key presses (focus the control, press the keys its
// plan gives, then read the value it reached), the others through the widget's own set() in the page.
async function replay(page, checks, full) {
  const failures = [];
  let keyboard = 0;
  for (const check of checks.filter((c) => c.keys)) {
    keyboard += 1;
    for (const name of check.order || Object.keys(check.set)) {
      const value = check.set[name];
      const plan = await page.evaluate(([w, n, v]) => window.Widgets.keyPlan(w, n, v), [check.widget, name, value]);
      await page.focus(`[id="${plan.id}"]`);
      for (const key of plan.keys) await page.keyboard.press(key);
      const reached = await page.evaluate(
        ([w, n]) => window.Widgets.instances.get(w).controls[n].value,
        [check.widget, name],
      );
      if (String(reached) !== String(value)) {
        failures.push(`${check.widget}, ${check.note}: the keys ${plan.keys.join(" ")} took ${name} to ${reached}, not ${value}`);
      }
    }
    const shown = await page.evaluate((w) => window.Widgets.instances.get(w).outputs(), check.widget);
    for (const [key, text] of Object.entries(check.expect)) {
      if (shown[key] !== text) failures.push(`${check.widget}, ${check.note} (keyboard): ${key} shows "${shown[key]}", expected "${text}"`);
    }
  }
  const rest = full ? checks.filter((c) => !c.keys) : [];
  const inPage = await page.evaluate((list) => {
    const wrong = [];
    for (const check of list) {
      const instance = window.Widgets.instances.get(check.widget);
      if (!instance) {
        wrong.push(`${check.widget}: not mounted`);
        continue;
      }
      let shown;
      try {
        shown = instance.set(check.set, check.order);
      } catch (error) {
        wrong.push(`${check.widget}, ${check.note}: ${error.message}`);
        continue;
      }
      for (const [key, text] of Object.entries(check.expect)) {
        if (shown[key] !== text) wrong.push(`${check.widget}, ${check.note}: ${key} shows "${shown[key]}", expected "${text}"`);
      }
    }
    return wrong;
  }, rest);
  failures.push(...inPage);
  return { replayed: keyboard + rest.length, keyboard, failures: failures.slice(0, 50), failed: failures.length };
}

async function checkPage(browser, args, axeSource, file, width, scheme, report) {
  const url = pathToFileURL(resolve(file)).href;
  const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1, colorScheme: scheme });
  const page = await context.newPage();
  const problems = [];
  const outside = [];
  // Nothing may leave file:// (data: and blob: URLs stay inside the page): such a request is recorded and blocked.
  await context.route("**/*", (route) => {
    const target = route.request().url();
    if (/^(file|data|blob):/.test(target)) return route.continue();
    outside.push(target);
    return route.abort();
  });
  page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()}`));
  // A load the page cancels itself (net::ERR_ABORTED: a <picture> whose source changed, a navigation) is not a
  // failure; a file that is missing or unreadable is (and a broken image is also caught after the load).
  page.on("requestfailed", (req) => {
    const why = (req.failure() && req.failure().errorText) || "unknown error";
    if (!outside.includes(req.url()) && !why.includes("ERR_ABORTED")) problems.push(`failed to load ${req.url()} (${why})`);
  });
  await page.goto(url, { waitUntil: "load" });
  // Lazy images (the index's thumbnails) load now, so none is measured before it has arrived.
  await page.evaluate(async () => {
    for (const img of document.images) img.loading = "eager";
    await Promise.all([...document.images].map((img) => img.decode().catch(() => null)));
  });
  const hasWidgets = await page.evaluate(() => document.querySelector("[data-widget]") !== null && "Widgets" in window);
  if (hasWidgets) await page.waitForFunction(() => window.Widgets.ready === true, null, { timeout: 10000 });
  const layout = await measure(page);
  const violations = await runAxe(page, axeSource);
  report.axe_version ??= await page.evaluate(() => axe.version); // eslint-disable-line no-undef
  const screenshot = join(args.screenshots, shotName(file, width, scheme));
  await page.screenshot({ path: screenshot, fullPage: true });
  let widgets = null;
  const checksFile = args.checks[resolve(file)];
  if (checksFile) {
    if (!hasWidgets) problems.push(`${checksFile} has checks, but the page loads no widget`);
    else {
      const { checks } = JSON.parse(readFileSync(checksFile, "utf8"));
      // In full at the widest light and the narrowest dark view; elsewhere the keyboard checks only.
      const full =
        (width === Math.max(...args.widths) && scheme === args.schemes[0]) ||
        (width === Math.min(...args.widths) && scheme === args.schemes[args.schemes.length - 1]);
      widgets = await replay(page, checks, full);
    }
  }
  report.pages.push({
    page: file,
    width,
    scheme,
    violations,
    horizontal_overflow_px: layout.overflow,
    broken_images: layout.broken,
    figures: layout.figures,
    boxes: layout.boxes,
    colours: layout.colours,
    widget_hooks: layout.widgets,
    widgets,
    outside_requests: outside,
    problems,
    screenshot,
  });
  await context.close();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const axeSource = readFileSync(args.axe, "utf8");
  mkdirSync(args.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox; the pages are our own files.
    args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
  });
  const report = { axe_version: null, tags: AXE_TAGS, pages: [] };
  try {
    for (const file of args.pages) {
      for (const scheme of args.schemes) {
        for (const width of args.widths) await checkPage(browser, args, axeSource, file, width, scheme, report);
      }
    }
  } finally {
    await browser.close();
  }
  writeFileSync(args.report, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err) => {
  console.error(`browser_checks.mjs: ${err.stack || err.message}`);
  process.exit(2);
});
