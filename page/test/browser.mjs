// Drives a real headless browser (Debian's chromium, or firefox-esr through WebDriver BiDi) on
// OUVRIR.html opened from file:// in an export folder, as a recipient would use it. Called by
// tests/page_browser.rs, which makes the export through the daemon and checks the results.
//
//   node browser.mjs SCENARIO --browser chromium|firefox --folder DIR --password PW --out DIR
//
// SCENARIO is `open` (hashes, password, manifest, every chunk, save, play, seek), `wrong-password`,
// `damaged` (a folder with a flipped byte) or `h265` (play --video NAME, which the browser cannot
// decode). Prints one JSON object on stdout; screenshots of
// each step go to --out. Any request other than the page itself is refused and reported.

import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';

function args() {
  const a = process.argv.slice(2);
  const out = { scenario: a[0], browser: 'chromium' };
  for (let i = 1; i < a.length; i += 2) {
    out[a[i].replace(/^--/, '')] = a[i + 1];
  }
  return out;
}

const opt = args();
const folder = resolve(opt.folder);
const pageUrl = `file://${join(folder, 'OUVRIR.html')}`;
const result = { scenario: opt.scenario, browser: opt.browser, requests: [], steps: [], console: [] };
const TIMEOUT = Number(opt.timeout || 120000);

async function launch() {
  if (opt.browser === 'firefox') {
    return puppeteer.launch({
      browser: 'firefox',
      executablePath: opt.executable || '/usr/bin/firefox-esr',
      headless: true,
      extraPrefsFirefox: {
        'media.autoplay.default': 0,
        'media.autoplay.blocking_policy': 0,
      },
    });
  }
  return puppeteer.launch({
    executablePath: opt.executable || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--mute-audio',
    ],
  });
}

async function shot(page, name) {
  const path = join(opt.out, `${opt.browser}-${opt.scenario}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.steps.push(name);
}

async function until(page, fn, arg, what) {
  try {
    await page.waitForFunction(fn, { timeout: TIMEOUT, polling: 100 }, arg);
  } catch (e) {
    const text = await page.evaluate(() => document.body.innerText).catch(() => '');
    throw new Error(`timed out waiting for ${what}\n--- page text ---\n${text}`);
  }
}

async function pick(page) {
  const files = readdirSync(folder)
    .map((n) => join(folder, n))
    .filter((p) => statSync(p).isFile());
  // The folder picker (webkitdirectory) where the driver can fill it (Chromium); the files
  // picker otherwise (Firefox's WebDriver BiDi refuses a directory).
  if (opt.browser === 'chromium' && opt.scenario === 'open') {
    await (await page.$('#pick-folder')).uploadFile(folder);
    result.picked = 'folder';
  } else {
    await (await page.$('#pick-files')).uploadFile(...files);
    result.picked = 'files';
  }
  await until(page, () => {
    const s = document.getElementById('hash-summary');
    return s && ['all-ok', 'mismatch', 'missing'].includes(s.dataset.kind);
  }, null, 'the SHA-256 checks');
  return page.evaluate(() => {
    const s = document.getElementById('hash-summary');
    const rows = [...document.querySelectorAll('#files tbody tr')].map((tr) => ({
      name: tr.dataset.name,
      status: tr.children[3].dataset.status,
      sha256: tr.children[2].textContent,
    }));
    return { kind: s.dataset.kind, ok: Number(s.dataset.ok), bad: Number(s.dataset.bad), text: s.textContent, rows };
  });
}

async function password(page, pw) {
  await page.focus('#password');
  await page.keyboard.type(pw);
  await page.keyboard.press('Enter');
  await until(page, () => {
    const s = document.getElementById('password-status');
    return s && ['keys', 'wrong-password', 'header-damaged', 'chunk-damaged', 'metadata-damaged', 'other'].includes(s.dataset.kind);
  }, null, 'the key derivation');
  return page.evaluate(() => {
    const s = document.getElementById('password-status');
    return { kind: s.dataset.kind, text: s.textContent };
  });
}

async function chunks(page) {
  await until(page, () => {
    const all = [...document.querySelectorAll('article.camera [data-role=chunks]')];
    return all.length > 0 && all.every((p) => ['chunks-ok', 'chunk-damaged', 'truncated', 'trailing-data'].includes(p.dataset.kind));
  }, null, 'every chunk authenticated');
  return page.evaluate(() => [...document.querySelectorAll('article.camera')].map((a) => {
    const p = a.querySelector('[data-role=chunks]');
    return { file: a.dataset.file, kind: p.dataset.kind, chunk: p.dataset.chunk, mbps: Number(p.dataset.mbps || 0), text: p.textContent };
  }));
}

// The request watch itself is checked: a page without the policy asks for an image on a closed
// loopback port, and the watch must see (and refuse) that request.
async function control(browser) {
  const page = await browser.newPage();
  const seen = [];
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    if (r.url().startsWith('http://127.0.0.1:59999/')) {
      seen.push(r.url());
      r.abort();
    } else {
      r.continue();
    }
  });
  await page.setContent('<img src="http://127.0.0.1:59999/probe.png">', { waitUntil: 'load' }).catch(() => {});
  for (let i = 0; i < 50 && seen.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.close();
  return seen.length > 0;
}

async function run() {
  const browser = await launch();
  try {
    result.watchWorks = await control(browser);
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    page.on('console', (m) => result.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => result.console.push(`pageerror: ${e.message}`));
    // Every request the page makes is seen here; only the page itself may load.
    page.on('request', (r) => {
      const url = r.url();
      if (url !== pageUrl && !url.startsWith('blob:') && !url.startsWith('data:')) {
        result.requests.push(url);
      }
    });
    {
      // Refused as well as seen (Chromium through CDP, Firefox through WebDriver BiDi).
      await page.setRequestInterception(true);
      page.on('request', (r) => {
        const url = r.url();
        if (url === pageUrl || url.startsWith('blob:') || url.startsWith('data:')) r.continue();
        else r.abort();
      });
    }
    // The save dialog cannot be clicked in a headless browser: a File System Access handle whose
    // writes reach this script (the page's own streaming path runs unchanged).
    let saved = null;
    let sink = null;
    let savedBytes = 0;
    await page.exposeFunction('__scelleTestWrite', (b64) => {
      const buf = Buffer.from(b64, 'base64');
      sink.write(buf);
      saved.update(buf);
      savedBytes += buf.length;
    });
    await page.exposeFunction('__scelleTestOpen', (name) => {
      saved = createHash('sha256');
      sink = createWriteStream(join(opt.out, `${opt.browser}-${name}`));
      result.savedName = name;
    });
    await page.evaluateOnNewDocument(() => {
      if (!('showSaveFilePicker' in window)) return;
      window.showSaveFilePicker = async (o) => {
        await window.__scelleTestOpen(o.suggestedName);
        return {
          createWritable: async () => ({
            write: async (chunk) => {
              let s = '';
              for (let i = 0; i < chunk.length; i += 0x8000) {
                s += String.fromCharCode.apply(null, chunk.subarray(i, i + 0x8000));
              }
              await window.__scelleTestWrite(btoa(s));
            },
            close: async () => {},
            abort: async () => {},
          }),
        };
      };
    });
    await page.goto(pageUrl);
    await until(page, () => document.body.dataset.ready === '1', null, 'the page to start');
    result.csp = await page.evaluate(() => document.querySelector('meta[http-equiv]').content);
    await shot(page, '01-start');
    if (opt.scenario === 'open') {
      // What a tampered page script would try: the policy must stop each request before it
      // leaves (the watch above would record it otherwise).
      result.blocked = await page.evaluate(async () => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective || e.violatedDirective));
        await fetch('http://127.0.0.1:59999/fetch').catch(() => {});
        const img = document.createElement('img');
        img.src = 'http://127.0.0.1:59999/img.png';
        document.body.append(img);
        const s = document.createElement('script');
        s.src = 'http://127.0.0.1:59999/script.js';
        document.body.append(s);
        await new Promise((r) => setTimeout(r, 1000));
        img.remove();
        s.remove();
        return [...new Set(seen)].sort();
      });
    }

    result.hashes = await pick(page);
    await shot(page, '02-hashes');
    if (opt.scenario === 'open') {
      await page.setViewport({ width: 640, height: 900 });
      await shot(page, '02-hashes-narrow');
      await page.setViewport({ width: 1200, height: 900 });
    }

    if (opt.scenario === 'wrong-password') {
      result.password = await password(page, opt.password);
      await shot(page, '03-wrong-password');
      return;
    }

    result.password = await password(page, opt.password);
    await until(page, () => document.querySelectorAll('article.camera').length > 0, null, 'the manifest');
    result.caseReference = await page.evaluate(() => document.querySelector('#manifest dl.facts dd').textContent);
    // Where SHA-256 and Argon2id ran: in workers, unless this browser refused them.
    result.workers = await page.evaluate(() => ({ sha256: document.body.dataset.sha256, argon2: document.body.dataset.argon2 }));
    await shot(page, '03-manifest');
    result.chunks = await chunks(page);
    await shot(page, '04-chunks');
    if (opt.scenario === 'damaged') {
      return;
    }
    if (opt.scenario === 'h265') {
      // The H.265 file: the browser cannot decode it; the page says so and offers the MP4.
      await page.click(`article.camera[data-file="${opt.video}"] [data-role=play]`);
      await until(page, () => {
        const s = document.getElementById('player-status');
        return ['codec-unsupported', 'playing', 'media-error', 'other'].includes(s.dataset.kind);
      }, null, 'the codec verdict');
      result.play = await page.evaluate(() => {
        const s = document.getElementById('player-status');
        return { status: s.dataset.kind, text: s.textContent };
      });
      await shot(page, '05-h265');
      return;
    }

    // English switch, then back.
    await page.click('#lang');
    result.english = await page.evaluate(() => document.querySelector('h1').textContent);
    await shot(page, '05-english');
    await page.click('#lang');

    // Save through the page's streaming path.
    if (opt.browser !== 'firefox') {
      await page.click('article.camera [data-role=save]');
      await until(page, () => {
        const s = document.querySelector('article.camera [data-role=save-status]');
        return s && ['saved', 'chunk-damaged', 'save-failed'].includes(s.dataset.kind);
      }, null, 'the save');
      result.save = await page.evaluate(() => document.querySelector('article.camera [data-role=save-status]').dataset.kind);
      sink.end();
      await new Promise((r) => sink.on('finish', r));
      result.savedSha256 = saved.digest('hex');
      result.savedBytes = savedBytes;

      // Without the File System Access API (as in Firefox): a Blob download.
      const downloads = join(opt.out, 'downloads');
      rmSync(downloads, { recursive: true, force: true });
      mkdirSync(downloads, { recursive: true });
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      await page.evaluate(() => { delete window.showSaveFilePicker; });
      await page.click('article.camera [data-role=save]');
      await until(page, () => {
        const s = document.querySelector('article.camera [data-role=save-status]');
        return s && s.dataset.memory && ['saved', 'chunk-damaged', 'too-big'].includes(s.dataset.kind);
      }, null, 'the Blob save');
      const target = join(downloads, result.savedName);
      for (let i = 0; i < 200 && !(existsSync(target) && statSync(target).size === savedBytes); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      result.blobSha256 = existsSync(target) ? createHash('sha256').update(readFileSync(target)).digest('hex') : null;
    }

    // Play, past 2 s, then seek to the middle.
    await page.click('article.camera [data-role=play]');
    await until(page, () => {
      const v = document.getElementById('video');
      const s = document.getElementById('player-status');
      return (v.currentTime > 2.2 && v.videoWidth > 0) || ['codec-unsupported', 'no-mse', 'media-error', 'other'].includes(s.dataset.kind);
    }, null, 'playback past 2 s');
    result.play = await page.evaluate(() => {
      const v = document.getElementById('video');
      const s = document.getElementById('player-status');
      return { status: s.dataset.kind, text: s.textContent, currentTime: v.currentTime, videoWidth: v.videoWidth, videoHeight: v.videoHeight, duration: v.duration, tracks: v.dataset.tracks };
    });
    await shot(page, '06-playing');
    if (result.play.status === 'playing') {
      await until(page, () => Number.isFinite(document.getElementById('video').duration), null, 'the duration');
      const target = await page.evaluate(() => {
        const v = document.getElementById('video');
        v.currentTime = v.duration / 2;
        return v.duration / 2;
      });
      await until(page, (t) => {
        const v = document.getElementById('video');
        return !v.seeking && v.currentTime > t + 1 && v.currentTime < v.duration;
      }, target, 'playback after seeking to the middle');
      result.seek = await page.evaluate((t) => {
        const v = document.getElementById('video');
        return { target: t, currentTime: v.currentTime, duration: v.duration, paused: v.paused };
      }, target);
      await shot(page, '07-seeked');
    }
  } finally {
    await browser.close();
  }
}

run().then(() => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}, (e) => {
  result.error = String(e && e.stack ? e.stack : e);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
});
