// Opens every test vector of tests/vectors (docs/FORMAT.md) with the page's own reader
// (`scelleReader.open`) in headless Chromium, from a copy of OUVRIR.html. Called by
// tests/page_browser.rs, which compares each outcome with the vector's `.expect` file.
//
//   node vectors.mjs --page OUVRIR.html --vectors DIR
//
// Prints one JSON object: vector name -> { sha256, length, metadata } or { key, args }.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const dir = resolve(opt.vectors);
const names = readdirSync(dir).filter((n) => n.endsWith('.scelle')).sort();
const browser = await puppeteer.launch({
  executablePath: opt.executable || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const out = {};
try {
  const page = await browser.newPage();
  await page.goto(`file://${resolve(opt.page)}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  await (await page.$('#pick-files')).uploadFile(...names.map((n) => join(dir, n)));
  for (const name of names) {
    const expect = readFileSync(join(dir, name.replace(/\.scelle$/, '.expect')), 'utf8');
    const password = /^password: ?(.*)$/m.exec(expect)[1];
    out[name] = await page.evaluate(async (n, pw) => {
      const file = [...document.getElementById('pick-files').files].find((f) => f.name === n);
      return globalThis.scelleReader.open(file, pw);
    }, name, password);
  }
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
