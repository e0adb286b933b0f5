#!/usr/bin/env node
// Web app figures: the production bundle's size (JS and CSS, gzip; what the
// first page load needs and everything), and timings measured in Debian's
// Chromium against a real `ringhouse up`:
//  * first contentful paint of the conversation list (cold cache);
//  * the conversation list with 1,000 conversations: time until it is shown
//    and the main thread is quiet (no long task for 500 ms after it; the
//    Lighthouse-style "time to interactive");
//  * a 10,000-message thread: all messages loaded by scrolling up, then a
//    scroll from the newest to the oldest at 60 px a frame, counting frames
//    that took longer than 1.5 × the median frame (dropped frames), and the
//    number of message rows in the page while scrolling (list windowing).
//
// Usage: node bench/web_bench.mjs [--conversations N] [--messages N]
// Needs build/release/ringhouse (or RINGHOUSE_BIN) and web/dist.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Platform, launchBrowser, newPage, webRoot, repoRoot } from '../web/tests/e2e/support.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CONVERSATIONS = arg('conversations', 1000);
const MESSAGES = arg('messages', 10000);
process.env.RINGHOUSE_BIN ??= join(repoRoot, 'build/release/ringhouse');

// ---- bundle size --------------------------------------------------------------
const dist = join(webRoot, 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const gz = (p) => gzipSync(readFileSync(join(dist, p)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const all = readdirSync(join(dist, 'assets')).filter((f) => /\.(js|css)$/.test(f));
const sum = (files, ext) => files.filter((f) => f.endsWith(ext)).reduce((n, f) => n + gz(f), 0);
const allPaths = all.map((f) => `/assets/${f}`);
console.log('bundle (gzip -9)');
console.log(`  initial JS   ${kb(sum(initial, '.js'))}  (${initial.filter((f) => f.endsWith('.js')).length} files: entry and its static imports)`);
console.log(`  initial CSS  ${kb(sum(initial, '.css'))}`);
console.log(`  all JS       ${kb(sum(allPaths, '.js'))}  (${allPaths.filter((f) => f.endsWith('.js')).length} files, lazy screens and JsSIP included)`);
console.log(`  all CSS      ${kb(sum(allPaths, '.css'))}`);
console.log(`  raw total    ${kb(allPaths.reduce((n, f) => n + statSync(join(dist, f)).size, 0))}`);

// ---- data ---------------------------------------------------------------------
const platform = await new Platform().start([
  '--set', 'voice.edge=false',
  '--set', 'messaging.user_rate_per_minute=1000000',
  '--set', 'messaging.allowed_countries=US',
]);
let browser;
try {
  await platform.seed({ numbers: 4 });
  await platform.mustApi('PATCH', `/v1/admin/tenants/${await platform.tenantId()}`, {
    body: { limits: { max_messages_per_day: 1000000 } },
  });
  const alice = await platform.user('alice@example.com', { number: '+12125550100', credit: '100000.00' });
  const bob = await platform.user('bob@example.com', { number: '+12125550101', credit: '10.00' });
  let n = 0;
  const send = async (to, text) => {
    const r = await platform.api('POST', '/v1/messages', {
      body: { from: alice.number, to, text },
      token: alice.token,
      headers: { 'Idempotency-Key': `k${n++}` },
    });
    if (r.status !== 201) throw new Error(`send: ${r.status} ${r.text}`);
  };
  const pool = async (count, fn, width = 16) => {
    let i = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (i < count) await fn(i++);
    }));
  };
  let t0 = Date.now();
  await pool(CONVERSATIONS - 1, (i) => send(`+1646555${String(i).padStart(4, '0')}`, `Conversation ${i}: see you at ${i % 12 + 1} pm?`));
  await pool(MESSAGES, (i) => send(bob.number, `Message ${i} ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}`));
  console.log(`\ndata: ${CONVERSATIONS} conversations and a ${MESSAGES}-message thread in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---- timings ------------------------------------------------------------------
  browser = await launchBrowser();
  const page = await newPage(browser, platform);
  await page.goto('/login');
  await page.getByLabel('Email').fill(alice.email);
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/messages');

  const samples = [];
  for (let run = 0; run < 5; run++) {
    await page.goto('about:blank');
    await page.evaluate(() => 0);
    await page.goto('/messages', { waitUntil: 'commit' });
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push(e.startTime + e.duration))).observe({ type: 'longtask', buffered: true });
    });
    await page.locator('.conv').first().waitFor();
    const shown = await page.evaluate(() => performance.now());
    await page.waitForTimeout(700);
    const m = await page.evaluate((shownAt) => {
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null;
      const last = Math.max(shownAt, ...window.__longTasks);
      return { fcp, shown: shownAt, tti: last, rows: document.querySelectorAll('.conv').length };
    }, shown);
    samples.push(m);
  }
  const med = (k) => samples.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
  console.log(`\nconversation list, ${CONVERSATIONS} conversations (median of ${samples.length} loads, warm HTTP cache)`);
  console.log(`  first contentful paint  ${med('fcp').toFixed(0)} ms`);
  console.log(`  list shown              ${med('shown').toFixed(0)} ms`);
  console.log(`  interactive (TTI)       ${med('tti').toFixed(0)} ms`);
  console.log(`  rows in the page        ${samples[0].rows} (of the first page of 200)`);

  // Cold: a new context, nothing cached.
  const cold = await newPage(browser, platform);
  await cold.goto('/login');
  const coldFcp = await cold.evaluate(() => new Promise((res) => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    if (e) res(e.startTime);
    else new PerformanceObserver((l) => res(l.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
  }));
  console.log(`  first contentful paint, cold cache, login page  ${coldFcp.toFixed(0)} ms`);

  // ---- the long thread ------------------------------------------------------------
  const conv = await platform.mustApi('GET', `/v1/conversations?participant=${encodeURIComponent(bob.number.slice(2))}`, { token: alice.token });
  await page.goto(`/messages/${conv.data[0].id}`);
  await page.locator('.msg').first().waitFor({ timeout: 30000 });
  // Scroll to the top until the thread stops growing (the app pages older
  // messages in as the top comes into view).
  t0 = Date.now();
  let height = 0;
  for (let still = 0; still < 2 && Date.now() - t0 < 240000; ) {
    const h = await page.evaluate(async () => {
      const el = document.querySelector('.bubbles');
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
      await new Promise((r) => setTimeout(r, 250));
      return el.scrollHeight;
    });
    still = h === height ? still + 1 : 0;
    height = h;
  }
  console.log(`\nthread of ${MESSAGES} messages: all loaded by scrolling up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const scroll = await page.evaluate(async () => {
    const el = document.querySelector('.bubbles');
    el.scrollTop = el.scrollHeight;
    await new Promise((r) => setTimeout(r, 300));
    const frames = [];
    let maxRows = 0;
    let last = performance.now();
    await new Promise((resolve) => {
      const step = (t) => {
        frames.push(t - last);
        last = t;
        maxRows = Math.max(maxRows, el.querySelectorAll('.msg').length);
        el.scrollTop -= 60;
        if (el.scrollTop <= 0 || frames.length > 20000) resolve();
        else requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    frames.shift();
    const sorted = [...frames].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const dropped = frames.filter((f) => f > median * 1.5).length;
    return { frames: frames.length, median, p99: sorted[Math.floor(sorted.length * 0.99)], dropped, maxRows, height: el.scrollHeight };
  });
  console.log(`  scroll newest → oldest: ${scroll.frames} frames, median ${scroll.median.toFixed(1)} ms, p99 ${scroll.p99.toFixed(1)} ms, dropped (> 1.5 × median) ${scroll.dropped}`);
  console.log(`  message rows in the page while scrolling: at most ${scroll.maxRows}; thread height ${(scroll.height / 1000).toFixed(0)}k px`);
} finally {
  await browser?.close();
  await platform.stop();
}
