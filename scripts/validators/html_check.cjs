// Loads a trailseal HTML report in a real headless browser (Debian's chromium, driven by
// playwright-core) and checks it as a user would:
//   - the page loads with no console error, no page error and no network request (it is one
//     self-contained file);
//   - every finding is there, and the filters change what is visible: each status, check,
//     account and Region shown alone shows exactly the findings that have it;
//   - screenshots at phone (390x844) and desktop (1280x900) widths into OUT_DIR: the top of the
//     page, and the first failing finding with its details open.
// Usage: node html_check.cjs REPORT.html OUT_DIR
// Needs TRAILSEAL_VALIDATORS_DIR (playwright-core under node/) and chromium on PATH (or
// CHROMIUM=/path). Prints a JSON summary; exits 1 with the problems.
"use strict";
const path = require("path");
const fs = require("fs");
const { chromium } = require(require.resolve("playwright-core", {
  paths: [path.join(process.env.TRAILSEAL_VALIDATORS_DIR || "", "node")],
}));

async function main() {
  const [report, outDir] = process.argv.slice(2);
  const url = "file://" + path.resolve(report);
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const problems = [];
  const summary = {};
  for (const [name, viewport] of [["phone", { width: 390, height: 844 }], ["desktop", { width: 1280, height: 900 }]]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on("request", (r) => { if (r.url() !== url) problems.push(`${name}: network request: ${r.url()}`); });
    await page.goto(url, { waitUntil: "load" });
    const total = await page.locator("article.finding").count();
    const visible = () => page.evaluate(() =>
      Array.from(document.querySelectorAll("article.finding")).filter((a) => !a.hidden && a.offsetParent !== null).length);
    if (total === 0) problems.push(`${name}: no finding on the page`);
    if ((await visible()) !== total) problems.push(`${name}: not every finding is visible before filtering`);
    for (const key of ["status", "check", "account", "region", "severity"]) {
      const values = await page.evaluate((k) =>
        Array.from(document.querySelectorAll(`#f-${k} option`)).map((o) => o.value).filter((v) => v), key);
      if (values.length === 0) { problems.push(`${name}: the ${key} filter offers nothing`); continue; }
      for (const value of values) {
        await page.selectOption(`#f-${key}`, value);
        const expected = await page.evaluate(([k, v]) =>
          document.querySelectorAll(`article.finding[data-${k}="${v}"]`).length, [key, value]);
        const shown = await visible();
        if (shown !== expected || expected === 0) problems.push(`${name}: ${key}=${value} shows ${shown}, expected ${expected}`);
      }
      await page.selectOption(`#f-${key}`, "");
    }
    if ((await visible()) !== total) problems.push(`${name}: clearing the filters does not show everything again`);
    // Two filters at once: the first failing finding's check and account.
    const first = await page.evaluate(() => {
      const f = document.querySelector('article.finding[data-status="fail"]');
      return f && { check: f.dataset.check, account: f.dataset.account };
    });
    if (first) {
      await page.selectOption("#f-status", "fail");
      await page.selectOption("#f-check", first.check);
      const expected = await page.evaluate((c) =>
        document.querySelectorAll(`article.finding[data-status="fail"][data-check="${c}"]`).length, first.check);
      const shown = await visible();
      if (shown !== expected) problems.push(`${name}: status=fail and check=${first.check} shows ${shown}, expected ${expected}`);
      await page.selectOption("#f-status", "");
      await page.selectOption("#f-check", "");
    }
    // No horizontal scrolling of the page on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (name === "phone" && overflow > 2) problems.push(`phone: the page scrolls sideways by ${overflow}px`);
    await page.screenshot({ path: path.join(outDir, `report-${name}.png`) });
    // The findings, with the first problem's details open.
    await page.evaluate(() => {
      const d = document.querySelector("article.finding.fail details");
      if (d) { d.open = true; d.closest("section.resource").scrollIntoView(); }
    });
    await page.screenshot({ path: path.join(outDir, `report-${name}-findings.png`) });
    summary[name] = { findings: total, overflow };
    await context.close();
  }
  await browser.close();
  console.log(JSON.stringify({ summary, problems }));
  if (problems.length) { for (const p of problems.slice(0, 20)) console.error(p); process.exit(1); }
}
main().catch((e) => { console.error(e); process.exit(1); });
