// Shared pieces of the browser tests: a static server for target/web, headless Chromium with
// WebGPU, the page's state machine (body[data-state]) and the gpu-cnn command line.
//
// Not a test file itself (`node --test web/tests/` runs only *.test.mjs).
//
// Environment:
//   GPU_CNN_SITE     the built site (default: <repo>/target/web, from scripts/web/build.sh)
//   GPU_CNN_BIN      the command line (default: <repo>/target/release/gpu-cnn)
//   CHROMIUM         the browser (default: /usr/bin/chromium); never downloaded
//   CHROMIUM_ARGS    extra browser flags, space-separated (e.g. "--enable-features=Vulkan")
//   GPU_CNN_HEADED=1 show the browser window (needs a display)

import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SITE = path.resolve(process.env.GPU_CNN_SITE || path.join(ROOT, 'target', 'web'));
export const BIN = path.resolve(process.env.GPU_CNN_BIN || path.join(ROOT, 'target', 'release', 'gpu-cnn'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const MINUTE = 60_000;

// WebGPU in headless Chromium on Linux: --enable-unsafe-webgpu is what makes requestAdapter()
// answer (without it navigator.gpu exists but there is no adapter). On a machine without a GPU
// that adapter is SwiftShader (Dawn's CPU Vulkan, a "fallback adapter"). The network flags stop
// the background services (updates, sync, safe browsing lists) that otherwise keep failing on a
// machine without internet and fill the log.
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-dev-shm-usage',
  // A long training run must not be slowed down as a "background" page.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  // The MNIST files are served as the gzip bytes themselves (no Content-Encoding): the page
  // hands them to lab.loadMnist, which inflates them.
  '.gz': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.toml': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/// Serves `root` on 127.0.0.1 at a free port. Returns { url, close(), requests }, where
/// `requests` lists every request as "STATUS PATH" (for failure messages).
export async function serveSite(root = SITE) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const reply = (status, type, body) => {
      requests.push(`${status} ${req.method} ${req.url}`);
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'method not allowed\n');
      let rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(root, '.' + rel);
      if (file !== root && !file.startsWith(root + path.sep)) return reply(403, 'text/plain', 'forbidden\n');
      let info;
      try {
        info = await stat(file);
      } catch {
        return reply(404, 'text/plain', `not found: ${rel}\n`);
      }
      if (!info.isFile()) return reply(404, 'text/plain', `not a file: ${rel}\n`);
      requests.push(`200 ${req.method} ${req.url}`);
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-store',
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch (e) {
      reply(500, 'text/plain', `${e}\n`);
    }
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

/// Launches Chromium, with WebGPU unless `webgpu` is false. Returns { browser, context }.
export async function launchBrowser({ webgpu = true } = {}) {
  const extra = (process.env.CHROMIUM_ARGS || '').split(/\s+/).filter(Boolean);
  const headed = process.env.GPU_CNN_HEADED === '1';
  const flags = CHROMIUM_FLAGS
    .filter((f) => !(headed && f.startsWith('--headless')))
    .filter((f) => webgpu || f !== '--enable-unsafe-webgpu');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !headed,
    args: webgpu ? flags.concat(extra) : flags.concat(extra.filter((f) => !/webgpu/i.test(f))),
    timeout: 2 * MINUTE,
  });
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  return { browser, context };
}

/// Opens the site in a new page and keeps its console and errors for failure messages.
/// Returns { page, log } where `log` is an array of lines.
export async function openPage(context, url) {
  const page = await context.newPage();
  const log = [];
  const t0 = Date.now();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  page.on('console', (m) => log.push(`${stamp()} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`${stamp()} pageerror: ${e.stack || e.message || e}`));
  page.on('requestfailed', (r) => log.push(`${stamp()} requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('crash', () => log.push(`${stamp()} page crashed`));
  page.setDefaultTimeout(2 * MINUTE);
  await page.goto(url, { waitUntil: 'load', timeout: 2 * MINUTE });
  return { page, log };
}

/// The page's state and status line, for messages.
export async function pageState(page) {
  return page.evaluate(() => ({
    state: document.body?.dataset.state ?? null,
    status: document.querySelector('#status')?.textContent?.trim() ?? null,
    modelError: document.querySelector('#model-error')?.textContent?.trim() || null,
    noWebgpu: (() => {
      const e = document.querySelector('#no-webgpu');
      return e && e.offsetParent !== null ? e.textContent.trim() : null;
    })(),
  })).catch((e) => ({ state: null, status: `(page unreadable: ${e.message})` }));
}

/// Waits until body[data-state] is `want` (a string or a list of them). Fails at once, with the
/// page's status line, when the state becomes "error" or "no-webgpu" (unless wanted), and when
/// the page reports an error (an uncaught exception or console.error) while the state stays
/// unwanted for 5 s more (a failed call may leave the state as it was, the message in #status).
/// Prints the state, #status and #progress-text every minute, so a long wait shows progress.
export async function waitForState(page, want, timeout, log = []) {
  const wants = Array.isArray(want) ? want : [want];
  const t0 = Date.now();
  const from = log.length;
  let last = null;
  let errorSeen = 0;
  let beat = t0;
  for (;;) {
    const s = await pageState(page);
    if (s.state !== last?.state) {
      log.push(`  (harness) state ${s.state} after ${((Date.now() - t0) / 1000).toFixed(1)}s: ${s.status ?? ''}`);
    }
    last = s;
    if (wants.includes(s.state)) return s;
    const detail = () => `#status: ${JSON.stringify(s.status)}` +
      (s.modelError ? `; #model-error: ${JSON.stringify(s.modelError)}` : '') +
      (s.noWebgpu ? `; #no-webgpu: ${JSON.stringify(s.noWebgpu)}` : '');
    if (s.state === 'error' || s.state === 'no-webgpu') {
      throw new Error(`page state "${s.state}" while waiting for ${wants.join('|')}: ${detail()}`);
    }
    const pageError = pageErrors(log.slice(from))[0];
    if (pageError) {
      errorSeen ||= Date.now();
      if (Date.now() - errorSeen > 5000) {
        throw new Error(`the page reported an error while waiting for state ${wants.join('|')} ` +
          `(state ${JSON.stringify(s.state)}): ${pageError.trim().split('\n')[0]}; ${detail()}`);
      }
    }
    if (Date.now() - t0 > timeout) {
      throw new Error(`timed out after ${Math.round(timeout / 1000)}s waiting for state ${wants.join('|')}: ` +
        `state ${JSON.stringify(s.state)}, ${detail()}`);
    }
    if (Date.now() - beat >= MINUTE) {
      beat = Date.now();
      const progress = await page.textContent('#progress-text').catch(() => null);
      console.log(`  ... ${Math.round((beat - t0) / 1000)} s waiting for ${wants.join('|')}: state ${s.state}, ` +
        `#status ${JSON.stringify(s.status)}, #progress-text ${JSON.stringify(progress?.trim())}`);
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/// The errors the page reported (uncaught exceptions, console.error) in `log`; a missing favicon
/// ("Failed to load resource") is not one.
export const pageErrors = (log) => log.filter((l) => / (pageerror|console\.error): /.test(l) && !/Failed to load resource/.test(l));

/// Fails when the page reported an error: a flow that worked leaves no error behind in #status
/// (the page shows every error there and logs it with console.error).
export function assertNoPageErrors(log, what) {
  const errors = pageErrors(log);
  if (errors.length) {
    throw new Error(`the page reported ${errors.length} error(s) during ${what}:\n${errors.map((l) => l.split('\n').slice(0, 3).join('\n')).join('\n')}`);
  }
}

/// Sets a number/text input the way a user does (so input and change events fire).
export async function setValue(page, selector, value) {
  await page.fill(selector, String(value));
  await page.dispatchEvent(selector, 'change');
}

/// A temporary directory, removed by the returned cleanup.
export async function tempDir(prefix = 'gpu-cnn-web-') {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/// Runs the gpu-cnn command line. Resolves { code, stdout, stderr, seconds }; never rejects on a
/// non-zero exit (the test asserts it).
export function runCli(args, { timeout = 10 * MINUTE } = {}) {
  return new Promise((ok, fail) => {
    const t0 = Date.now();
    const env = { ...process.env };
    // Mesa's window-system probing complains on stderr when this is unset; it is harmless.
    if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = os.tmpdir();
    const child = spawn(BIN, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => { clearTimeout(timer); fail(new Error(`cannot run ${BIN}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code: code ?? `signal ${signal}`, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/// Runs the command line with --json and returns the parsed document; fails with its stderr on a
/// non-zero exit or output that is not JSON.
export async function cliJson(args, opts) {
  const r = await runCli([...args, '--json'], opts);
  const cmd = `gpu-cnn ${args.join(' ')} --json`;
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  try {
    return { doc: JSON.parse(r.stdout), ...r };
  } catch (e) {
    throw new Error(`${cmd}: stdout is not JSON (${e.message}):\n${r.stdout.slice(0, 2000)}`);
  }
}

/// Prints the page's console (last lines) and the server's non-200 requests, for a failed test.
export function dumpLog(title, log, server, lines = 80) {
  const bad = server ? server.requests.filter((r) => !r.startsWith('200 ')) : [];
  const out = [`---- ${title}: page log (last ${lines} lines) ----`, ...log.slice(-lines)];
  if (bad.length) out.push('---- requests that were not served ----', ...bad);
  out.push('----');
  console.error(out.join('\n'));
}

/// Runs `body` with a served site, a browser and an open page; on failure prints the page's log
/// and keeps a screenshot in the temp dir (its path is printed). Always closes everything.
export async function withPage(name, body, { webgpu = true } = {}) {
  const server = await serveSite();
  const { browser, context } = await launchBrowser({ webgpu });
  let page;
  let log = [];
  try {
    ({ page, log } = await openPage(context, server.url));
    return await body({ page, log, server, context });
  } catch (e) {
    if (page) {
      const s = await pageState(page);
      log.push(`  (harness) at failure: state ${JSON.stringify(s.state)}, #status ${JSON.stringify(s.status)}`);
      const shot = path.join(os.tmpdir(), `gpu-cnn-web-${name}-failure.png`);
      await page.screenshot({ path: shot, fullPage: true, timeout: 30_000 })
        .then(() => log.push(`  (harness) screenshot of the failure: ${shot}`))
        .catch(() => {});
    }
    dumpLog(name, log, server);
    throw e;
  } finally {
    await browser.close().catch(() => {});
    await server.close();
  }
}

/// Seconds since `t0` (Date.now()), for the timing lines the tests print.
export const since = (t0) => ((Date.now() - t0) / 1000).toFixed(1);
