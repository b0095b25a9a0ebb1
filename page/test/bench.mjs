// Measures OUVRIR.html in headless Chromium on an export folder (made by
// examples/page_bench.rs): SHA-256 throughput without the password, Argon2id time per file,
// chunk authentication throughput (decrypt + verify of every chunk), and the browser's memory:
// the renderer's resident memory sampled while the chunks are authenticated (the Argon2id
// worker's memory is gone by then) and every process's peak (VmHWM); the CPU seconds all the
// browser's processes spent authenticating (the machine may be shared: wall time is noisy).
//
//   node bench.mjs --folder DIR --password PW [--executable /usr/bin/chromium] [--out DIR]
//
// Prints one JSON object.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const folder = resolve(opt.folder);

function statusKiB(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch (e) {
    return 0;
  }
}

// The browser's process tree: pid -> command line.
function tree(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch (e) { /* gone */ }
  }
  const out = new Map();
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    try {
      out.set(p, readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' '));
    } catch (e) { continue; }
    for (const c of children.get(p) || []) stack.push(c);
  }
  return out;
}

const browser = await puppeteer.launch({
  executablePath: opt.executable || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'],
});
const result = {};
try {
  const page = await browser.newPage();
  await page.goto(`file://${join(folder, 'OUVRIR.html')}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  const files = readdirSync(folder).map((n) => join(folder, n)).filter((p) => statSync(p).isFile());
  const total = files.filter((p) => p.endsWith('.scelle')).reduce((n, p) => n + statSync(p).size, 0);
  const input = await page.$('#pick-files');
  let t0 = Date.now();
  await input.uploadFile(...files);
  await page.waitForFunction(() => ['all-ok', 'mismatch', 'missing'].includes(document.getElementById('hash-summary').dataset.kind), { timeout: 0, polling: 50 });
  const hashSeconds = (Date.now() - t0) / 1000;
  result.sha256 = { kind: await page.$eval('#hash-summary', (e) => e.dataset.kind), bytes: total, seconds: hashSeconds, mbps: total / 1e6 / hashSeconds };

  const rendererRss = () => [...tree(browser.process().pid)]
    .filter(([, cmd]) => cmd.includes('--type=renderer'))
    .reduce((n, [p]) => n + statusKiB(p, 'VmRSS'), 0) / 1024;
  result.rendererRssBeforePasswordMiB = rendererRss();
  await page.focus('#password');
  await page.keyboard.type(opt.password);
  t0 = Date.now();
  await page.keyboard.press('Enter');
  if (opt.out) {
    // The key derivation's progress bar, half way through the first file.
    await new Promise((r) => setTimeout(r, 700));
    await page.screenshot({ path: join(opt.out, 'bench-argon2-progress.png') });
  }
  await page.waitForFunction(() => ['keys', 'wrong-password', 'other'].includes(document.getElementById('password-status').dataset.kind), { timeout: 0, polling: 50 });
  result.argon2 = await page.evaluate(() => ({
    where: document.body.dataset.argon2,
    ms: document.body.dataset.argon2Ms.trim().split(' ').map(Number),
  }));
  result.keysSeconds = (Date.now() - t0) / 1000;

  // Sample the renderer's memory while the chunks are authenticated.
  const pids = tree(browser.process().pid);
  const renderers = [...pids].filter(([, cmd]) => cmd.includes('--type=renderer')).map(([p]) => p);
  const cpu = () => [...tree(browser.process().pid).keys()].reduce((n, p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return n + (Number(f[11]) + Number(f[12])) / 100;
    } catch (e) {
      return n;
    }
  }, 0);
  const cpu0 = cpu();
  let peakRenderer = 0;
  const sampler = setInterval(() => {
    const rss = renderers.reduce((n, p) => n + statusKiB(p, 'VmRSS'), 0);
    peakRenderer = Math.max(peakRenderer, rss);
  }, 100);
  await page.waitForFunction(() => {
    const all = [...document.querySelectorAll('[data-role=chunks]')];
    return all.length > 0 && all.every((p) => ['chunks-ok', 'chunk-damaged'].includes(p.dataset.kind));
  }, { timeout: 0, polling: 50 });
  clearInterval(sampler);
  result.decryptCpuSeconds = cpu() - cpu0;
  result.loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  result.chunks = await page.evaluate(() => [...document.querySelectorAll('[data-role=chunks]')].map((p) => ({
    kind: p.dataset.kind, mbps: Number(p.dataset.mbps), seconds: Number(p.dataset.seconds),
  })));
  result.rendererRssDuringDecryptMiB = peakRenderer / 1024;
  const all = tree(browser.process().pid);
  result.peakMiB = {};
  for (const [p, cmd] of all) {
    const m = /--type=([a-z-]+)/.exec(cmd);
    const kind = m ? m[1] : 'browser';
    result.peakMiB[kind] = (result.peakMiB[kind] || 0) + statusKiB(p, 'VmHWM') / 1024;
  }
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
