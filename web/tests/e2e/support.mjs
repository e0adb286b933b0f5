// Test harness for the web app: boots the real `ringhouse up` (API, Kamailio,
// rtpengine) on free ports with the built app (web/dist), talks to its API as
// the operator, and drives Debian's Chromium with playwright-core.
//
// Environment: RINGHOUSE_BIN (the binary; default ../build/dev/ringhouse),
// RINGHOUSE_WEB_OUT (screenshots and logs; default web/test-output),
// RINGHOUSE_WEB_KEEP=1 keeps the data directory.
import { spawn, execFileSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));
export const webRoot = resolve(here, '../..');
export const repoRoot = resolve(webRoot, '..');
export const outDir = process.env.RINGHOUSE_WEB_OUT ?? join(webRoot, 'test-output');
export const binary = process.env.RINGHOUSE_BIN ?? join(repoRoot, 'build/dev/ringhouse');

export function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

// Why these tests cannot run here, or null.
export function missing() {
  if (!existsSync(binary)) return `no ringhouse binary at ${binary} (build it, or set RINGHOUSE_BIN)`;
  if (!existsSync(join(webRoot, 'dist/index.html'))) return 'the web app is not built (npm --prefix web run build)';
  for (const c of ['chromium', 'kamailio', 'rtpengine']) if (!which(c)) return `${c} is not installed`;
  return null;
}

export async function freePort() {
  // A port free for both TCP and UDP (SIP listens on both), picked below the
  // kernel's ephemeral range (32768-60999 by default) as the C++ tests do
  // (tests/support/sip_peers.cpp): a port the kernel handed out and that was
  // released may meanwhile become some connection's local port, and then
  // Kamailio cannot bind it.
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * 9999);
    const tcpFree = await new Promise((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!tcpFree) continue;
    const udpFree = await new Promise((res) => {
      const u = createSocket('udp4');
      u.once('error', () => res(false));
      u.bind(port, '127.0.0.1', () => u.close(() => res(true)));
    });
    if (udpFree) return port;
  }
}

export async function eventually(fn, { timeout = 15000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(interval);
  }
}

// A running `ringhouse up`.
export class Platform {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'rh-web-'));
    this.child = null;
    this.port = 0;
    this.operatorToken = '';
    this.ports = {};
  }

  async start(extra = []) {
    const p = this.ports;
    for (const k of ['sip', 'tls', 'ws', 'wss', 'rpc', 'rtpengine']) p[k] = await freePort();
    // Above the range the C++ voice tests use (20000-59999).
    const rtpBase = 60100 + (process.pid % 8) * 100;
    const args = [
      'up', '--data-dir', this.dir, '--http-port', '0',
      '--set', `web.dir=${join(webRoot, 'dist')}`,
      '--set', 'voice.sip_domain=localhost',
      '--set', `voice.sip_port=${p.sip}`,
      '--set', `voice.tls_port=${p.tls}`,
      '--set', `voice.ws_port=${p.ws}`,
      '--set', `voice.wss_port=${p.wss}`,
      '--set', `voice.rpc_port=${p.rpc}`,
      '--set', `voice.rtpengine_port=${p.rtpengine}`,
      '--set', `voice.rtp_port_min=${rtpBase}`,
      '--set', `voice.rtp_port_max=${rtpBase + 99}`,
      '--set', 'voice.edge_children=2',
      '--set', 'voice.allowed_countries=US',
      ...extra,
    ];
    mkdirSync(outDir, { recursive: true });
    this.logPath = join(this.dir, 'up.log');
    const fd = openSync(this.logPath, 'a');
    this.child = spawn(binary, args, { stdio: ['ignore', fd, fd], detached: true });
    const run = join(this.dir, 'run/http.json');
    await eventually(() => existsSync(run) && JSON.parse(readFileSync(run, 'utf8')).port, {
      timeout: 30000,
      what: `ringhouse up to serve (log: ${this.logPath})`,
    });
    this.port = JSON.parse(readFileSync(run, 'utf8')).port;
    this.base = `http://localhost:${this.port}`;
    this.operatorToken = readFileSync(join(this.dir, 'secrets/operator-token'), 'utf8').trim();
    await eventually(async () => (await fetch(`${this.base}/readyz`)).ok, { timeout: 30000, what: 'readyz' });
    // The edge is up when Kamailio accepts WebSocket connections.
    if (!extra.includes('voice.edge=false'))
      await eventually(() => tcpOpen(p.ws), { timeout: 30000, what: 'Kamailio WebSocket listener' });
    return this;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(failed = false) {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((res) => this.child.once('exit', res));
      try {
        process.kill(this.child.pid, 'SIGTERM');
      } catch {}
      await Promise.race([exited, sleep(15000)]);
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {}
    }
    if (failed) {
      writeFileSync(join(outDir, `ringhouse-up-${Date.now()}.log`), this.log());
    } else if (!process.env.RINGHOUSE_WEB_KEEP) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  async api(method, path, { body, token, headers = {}, contentType = 'application/json' } = {}) {
    const h = { Host: 'localhost', ...headers };
    if (token !== null) h['Authorization'] = `Bearer ${token ?? this.operatorToken}`;
    let data;
    if (body !== undefined) {
      h['Content-Type'] = contentType;
      data = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await fetch(`${this.base}${path}`, { method, headers: h, body: data });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: r.status, json, text, headers: r.headers };
  }

  async mustApi(method, path, opts = {}) {
    const r = await this.api(method, path, opts);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  // Prices, a pool of local numbers and (optionally) an SMPP route.
  async tenantId() {
    this.tenant ??= (await this.mustApi('GET', '/v1/admin/tenants')).data.find((t) => t.is_default).id;
    return this.tenant;
  }

  async seed({ numbers = 6 } = {}) {
    const tenant = await this.tenantId();
    await this.mustApi('POST', `/v1/admin/rate-decks?name=Default&tenant_id=${tenant}`, {
      body: 'prefix,description,per_minute,increment,sms,mms\n1,US,0.60,1/1,0.01,0.02\n',
      contentType: 'text/csv',
    });
    let csv = 'number,trunk,messaging_route,features,monthly_price,upfront_price,region,city\n';
    for (let i = 0; i < numbers; i++) csv += `+1212555${String(100 + i).padStart(4, '0')},trunk1,smpp-a,sms;mms;voice,1.00,0,NY,New York\n`;
    await this.mustApi('POST', `/v1/admin/numbers/import?tenant_id=${tenant}`, { body: csv, contentType: 'text/csv' });
  }

  // The link a mail to `to` carries (the mail log is what `up` writes mail to).
  async mailedLink(to, path) {
    return eventually(
      () => {
        const log = readFileSync(join(this.dir, 'mail.log'), 'utf8');
        const mails = log.split(/^From /m).filter((m) => m.includes(`To: ${to}`) || m.includes(`<${to}>`));
        const last = mails.at(-1) ?? '';
        const m = new RegExp(`(https?://[^\\s]+${path}\\?token=[A-Za-z0-9_-]+)`).exec(last);
        return m?.[1] ?? null;
      },
      { what: `a mail to ${to} with a ${path} link` },
    );
  }

  // A verified user with a balance, through the API (for the other party).
  async user(email, { credit = '20.00', number } = {}) {
    const password = `a long enough password for ${email}`;
    await this.mustApi('POST', '/v1/auth/signup', { body: { email, password }, token: null });
    const link = await this.mailedLink(email, '/verify-email');
    const token = new URL(link).searchParams.get('token');
    await this.mustApi('POST', '/v1/auth/verify-email', { body: { token }, token: null });
    const login = await this.mustApi('POST', '/v1/auth/login', { body: { email, password }, token: null });
    const u = { email, password, id: login.user.id, token: login.access_token };
    if (credit) await this.credit(u.id, credit);
    if (number) {
      const r = await this.mustApi('POST', '/v1/numbers', {
        body: { phone_number: number },
        token: u.token,
        headers: { 'Idempotency-Key': `buy-${email}` },
      });
      u.number = number;
      u.numberId = r.number?.id;
    }
    return u;
  }

  async credit(userId, amount) {
    await this.mustApi('POST', `/v1/admin/users/${userId}/balance-adjustments`, {
      body: { amount, reason: 'test credit' },
    });
  }
}

export function tcpOpen(port) {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

// Chromium, headless, with fake microphone and camera that need no prompt.
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: which('chromium'),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      // Tenants' own host names (phone.acme.test) reach the local server.
      '--host-resolver-rules=MAP *.test 127.0.0.1',
    ],
  });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function newPage(browser, platform, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, baseURL: platform.base, serviceWorkers: 'block' });
  await context.grantPermissions(['microphone'], { origin: platform.base });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.consoleLog = [];
  page.on('console', (m) => page.consoleLog.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => page.consoleLog.push(`[pageerror] ${e.message}`));
  return page;
}

// Screenshots of a screen at phone and desktop width.
export async function screenshots(page, name) {
  const dir = join(outDir, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const original = page.viewportSize();
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(size);
    await sleep(150);
    await page.screenshot({ path: join(dir, `${name}-${label}.png`), fullPage: false });
  }
  await page.setViewportSize(original);
}

// axe-core on the current page: the serious and critical violations.
export async function axe(page) {
  const source = readFileSync(join(webRoot, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source); // not a <script>: the app's CSP allows none inline
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// Imports one of the app's TypeScript modules (no imports of its own) into
// Node: TypeScript strips the types, the result loads as a data: module.
export async function importTs(relPath) {
  const ts = (await import('typescript')).default;
  const source = readFileSync(join(webRoot, relPath), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
}
