// The browser half of the site check tier: open every page in headless Chromium (Debian's build, driven by
// playwright-core), run axe-core on it at a phone and a desktop width, and save a full-page screenshot at each.
//
// Usage (check_site.py calls it; the tools live in .tools/ after `make test-site` installed them):
//
//   NODE_PATH=.tools/node_modules node tests/site/browser_checks.mjs --chromium /usr/bin/chromium \
//       --axe .tools/node_modules/axe-core/axe.min.js --screenshots results/screenshots \
//       --widths 390,1280 --report /tmp/axe.json results/index.html results/reports/pca.html
//
// Writes one JSON report: for each page and width, axe's violations (rule id, impact, help, the offending
// elements) and the screenshot's path. It exits 0 whatever axe finds; check_site.py judges the report, so a
// failure message can name every problem at once instead of the first.

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
  const args = { widths: [390, 1280], pages: [] };
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
    else if (flag.startsWith("--")) throw new Error(`unknown flag ${flag}`);
    else args.pages.push(flag);
  }
  for (const key of ["chromium", "axe", "screenshots", "report"]) {
    if (!args[key]) throw new Error(`--${key} is required`);
  }
  if (args.pages.length === 0) throw new Error("give at least one HTML page");
  if (args.widths.some((w) => !Number.isInteger(w) || w < 200)) throw new Error("--widths: whole pixels >= 200");
  return args;
}

// A screenshot's file name: the page's name (index, pca, ...) and the width, e.g. pca-390.png.
function shotName(page, width) {
  return `${basename(page).replace(/\.html?$/, "")}-${width}.png`;
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
      const url = pathToFileURL(resolve(file)).href;
      for (const width of args.widths) {
        const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
        const page = await context.newPage();
        const problems = [];
        page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
        page.on("requestfailed", (req) => problems.push(`failed to load ${req.url()}`));
        await page.goto(url, { waitUntil: "load" });
        const violations = await runAxe(page, axeSource);
        report.axe_version ??= await page.evaluate(() => axe.version); // eslint-disable-line no-undef
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        const brokenImages = await page.evaluate(() =>
          [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.src),
        );
        const screenshot = join(args.screenshots, shotName(file, width));
        await page.screenshot({ path: screenshot, fullPage: true });
        report.pages.push({
          page: file,
          width,
          violations,
          horizontal_overflow_px: overflow,
          broken_images: brokenImages,
          problems,
          screenshot,
        });
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  writeFileSync(args.report, JSON.stringify(report, null, 2) + "\n");
}

main().catch((err) => {
  console.error(`browser_checks.mjs: ${err.message}`);
  process.exit(2);
});
