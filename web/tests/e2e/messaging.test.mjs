// The user app against the real platform, in Chromium: sign-up with the
// emailed link, buying a number (refused, then bought once funded), SMS
// between two users seen live in both browsers, an off-net message with
// delivery receipts, a failed send with its reason, the segment counter
// against the server's count, screenshots and an axe scan of each screen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Platform, axe, importTs, launchBrowser, missing, newPage, repoRoot, screenshots, webRoot, PHONE } from './support.mjs';

const why = missing();

async function startSmsc() {
  const child = spawn('node', [join(repoRoot, 'tests/support/smsc/smsc-fake.js'), '--system-id', 'ringhouse', '--password', 'secret'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((res, rej) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', res);
    child.once('exit', () => rej(new Error('the SMSC exited')));
  });
  const [, smpp, control] = line.split(' ');
  return {
    child,
    smpp: Number(smpp),
    async script(s) {
      const r = await fetch(`http://127.0.0.1:${control}/script`, { method: 'POST', body: JSON.stringify(s) });
      assert.equal(r.status, 200);
    },
  };
}

describe('messaging in the browser', { skip: why ?? false }, () => {
  let platform, browser, smsc, bob;
  let failed = false;
  const alice = { email: 'alice@example.com', password: 'correct horse battery staple' };

  before(async () => {
    smsc = await startSmsc();
    await smsc.script({ receipt: 'after' });
    platform = await new Platform().start([
      '--set', `messaging.smpp_binds=smpp://ringhouse:secret@127.0.0.1:${smsc.smpp}?route=smpp-a&window=10`,
    ]);
    await platform.seed();
    bob = await platform.user('bob@example.com', { number: '+12125550105' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await platform?.stop(failed);
    smsc?.child.kill();
  });

  const track = (fn) => async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      throw e;
    }
  };

  let a, b; // Alice's and Bob's pages

  test('sign up, confirm the email from the mail log, log in', track(async () => {
    a = await newPage(browser, platform);
    await a.goto('/signup');
    assert.deepEqual(await axe(a), []);
    await screenshots(a, 'signup');
    await a.getByLabel('Email').fill(alice.email);
    await a.getByLabel('Password', { exact: true }).fill(alice.password);
    await a.getByRole('button', { name: 'Create account' }).click();
    await a.getByRole('heading', { name: 'Check your email' }).waitFor();
    const link = await platform.mailedLink(alice.email, '/verify-email');
    await a.goto(link.replace(/^https?:\/\/[^/]+/, ''));
    await a.getByText(/Your email is confirmed/).waitFor();
    await a.goto('/login');
    assert.deepEqual(await axe(a), []);
    await screenshots(a, 'login');
    await a.getByLabel('Email').fill(alice.email);
    await a.getByLabel('Password').fill(alice.password);
    await a.getByRole('button', { name: 'Log in' }).click();
    // No number yet: the app offers to pick one.
    await a.waitForURL('**/numbers/new');
  }));

  test('pick a number: refused while the balance is too low, then bought', track(async () => {
    await a.getByLabel('Area code').fill('212');
    await a.getByRole('button', { name: 'Search' }).click();
    const offer = a.getByRole('listitem').filter({ hasText: '(212) 555-0100' });
    await offer.waitFor();
    assert.deepEqual(await axe(a), []);
    await screenshots(a, 'pick-number');
    await offer.getByRole('button', { name: 'Get this number' }).click();
    await a.getByRole('alert').filter({ hasText: /too low/ }).waitFor();
    const me = await platform.mustApi('GET', '/v1/admin/users?q=alice%40example.com');
    await platform.credit((me.data ?? me)[0].id, '10.00');
    await offer.getByRole('button', { name: 'Get this number' }).click();
    await a.waitForURL('**/messages');
  }));

  test('an SMS to another user arrives live in their browser; the reply comes back', track(async () => {
    b = await newPage(browser, platform, PHONE);
    await b.goto('/login');
    await b.getByLabel('Email').fill(bob.email);
    await b.getByLabel('Password').fill(bob.password);
    await b.getByRole('button', { name: 'Log in' }).click();
    await b.waitForURL('**/messages');
    await b.getByText(/No conversations yet/).waitFor();

    await a.getByRole('link', { name: 'New message' }).click();
    await a.getByLabel('To').fill('(212) 555-0105');
    await a.getByLabel('Type a message').fill('Hello Bob, this is Alice');
    await a.getByTestId('segment-counter').getByText('24 characters · 1 SMS · GSM-7').waitFor();
    assert.deepEqual(await axe(a), []);
    await screenshots(a, 'new-message');
    await a.getByRole('button', { name: 'Send' }).click();
    await a.waitForURL(/\/messages\/cnv_/);
    await a.locator('.msg.out').filter({ hasText: 'Hello Bob' }).getByText('Delivered').waitFor();

    // Bob's list updates without a reload.
    const conv = b.getByRole('link').filter({ hasText: 'Hello Bob, this is Alice' });
    await conv.waitFor({ timeout: 10000 });
    await conv.getByLabel('1 unread').waitFor();
    await screenshots(b, 'conversations');
    assert.deepEqual(await axe(b), []);
    await conv.click();
    await b.locator('.msg.in').filter({ hasText: 'Hello Bob' }).waitFor();
    await b.getByLabel('Type a message').fill('Hi Alice 👋');
    await b.getByTestId('segment-counter').getByText('10 characters · 1 SMS · UCS-2').waitFor();
    await b.getByRole('button', { name: 'Send' }).click();
    await b.locator('.msg.out').filter({ hasText: 'Hi Alice' }).getByText('Delivered').waitFor();

    await a.locator('.msg.in').filter({ hasText: 'Hi Alice 👋' }).waitFor({ timeout: 10000 });
    await screenshots(a, 'thread');
    assert.deepEqual(await axe(a), []);
  }));

  test('a picture sent in a thread arrives as an MMS, shown to the recipient; search finds the thread', track(async () => {
    const png = readFileSync(join(webRoot, 'public/icons/icon-192.png'));
    await a.getByRole('button', { name: 'Attach a picture' }).click();
    await a.locator('input[type=file]').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
    await a.getByText('logo.png').waitFor();
    await a.getByLabel('Type a message').fill('Our logo');
    await a.getByRole('button', { name: 'Send' }).click();
    const sent = a.locator('.msg.out').filter({ hasText: 'Our logo' });
    await sent.getByText('Delivered').waitFor();
    await sent.getByRole('img', { name: 'Picture' }).waitFor();
    // Bob has the thread open: the picture arrives live, loaded with his token.
    const got = b.locator('.msg.in').filter({ hasText: 'Our logo' });
    await got.getByRole('img', { name: 'Picture' }).waitFor({ timeout: 10000 });
    const width = await got.getByRole('img', { name: 'Picture' }).evaluate((img) => img.naturalWidth);
    assert.equal(width, 192);
    // Search by text in the conversation list.
    await b.goto('/messages');
    await b.getByLabel('Search messages').fill('logo');
    await b.getByRole('link').filter({ hasText: 'Our logo' }).waitFor();
    await b.getByLabel('Search messages').fill('no such words');
    await b.getByText('No conversation matches “no such words”.').waitFor();
    await b.getByLabel('Search messages').fill('');
  }));

  test('an off-net SMS goes to the SMSC and shows delivered from its receipt', track(async () => {
    await a.goto('/messages/new');
    await a.getByLabel('To').fill('+12125559876');
    await a.getByLabel('Type a message').fill('Hello outside world {}');
    await a.getByRole('button', { name: 'Send' }).click();
    await a.waitForURL(/\/messages\/cnv_/);
    await a.locator('.msg.out').filter({ hasText: 'Hello outside world' }).getByText('Delivered').waitFor({ timeout: 15000 });
  }));

  test('a message the carrier refuses shows failed with its reason, and can be retried', track(async () => {
    await smsc.script({ submit_status: 0x0b, count: 1 });
    await a.getByLabel('Type a message').fill('This one will bounce');
    await a.getByRole('button', { name: 'Send' }).click();
    const bubble = a.locator('.msg.out').filter({ hasText: 'This one will bounce' });
    await bubble.getByText(/^Failed: .+/).waitFor({ timeout: 15000 });
    await bubble.getByRole('button', { name: 'Retry' }).click();
    await a.locator('.msg.out').filter({ hasText: 'This one will bounce' }).getByText('Delivered').waitFor({ timeout: 15000 });
  }));

  test('the segment counter counts as the server does', track(async () => {
    const samples = [
      '', 'plain', 'x'.repeat(160), 'x'.repeat(161), '€'.repeat(80), '€'.repeat(81), 'ç Ç é', 'ü'.repeat(70), 'ю'.repeat(71),
      '😀'.repeat(35), '😀'.repeat(36), 'a' + '😀'.repeat(33) + 'b', '[]{}\\~^|', 'x'.repeat(152) + '€' + 'y'.repeat(10),
    ];
    const { countSegments } = await importTs('src/lib/segments.ts');
    for (const text of samples) {
      const r = await platform.mustApi('POST', '/v1/messages/segments', { body: { text }, token: bob.token });
      const c = countSegments(text);
      assert.deepEqual(
        { encoding: c.encoding, segments: c.segments, characters: c.characters, units: c.units },
        { encoding: r.encoding, segments: r.segments, characters: r.characters, units: r.units },
        `for ${JSON.stringify(text)}`,
      );
    }
  }));

  test('the other main screens: screenshots and no serious accessibility problems', track(async () => {
    const numbers = await platform.mustApi('GET', '/v1/numbers', { token: bob.token });
    for (const [path, name, ready] of [
      ['/numbers', 'numbers', 'My numbers'],
      [`/numbers/${numbers.data[0].id}/rules`, 'call-rules', 'Do not disturb now'],
      ['/calls', 'calls', 'Calls'],
      ['/calls/keypad', 'keypad', 'Number to call'],
      ['/balance', 'balance', 'Balance'],
      ['/settings', 'settings', 'Settings'],
    ]) {
      await b.goto(path);
      await b.getByText(ready).first().waitFor();
      assert.deepEqual(await axe(b), [], `axe on ${path}`);
      await screenshots(b, name);
    }
    // Dark theme too.
    await b.goto('/settings');
    await b.getByLabel('Dark').check();
    await b.goto('/messages');
    assert.deepEqual(await axe(b), [], 'axe on /messages, dark');
    await screenshots(b, 'conversations-dark');
  }));

  test("installable: the brand's manifest, and a service worker that opens the app offline", track(async () => {
    const context = await browser.newContext({ baseURL: platform.base, serviceWorkers: 'allow' });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    await page.goto('/login');
    const href = await page.locator('link[rel=manifest]').getAttribute('href');
    const manifest = await (await page.request.get(href)).json();
    assert.equal(manifest.name, 'Ringhouse');
    assert.equal(manifest.display, 'standalone');
    assert.ok(manifest.icons.some((i) => i.sizes === '512x512' && i.type === 'image/png'));
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await context.setOffline(true);
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByText('You are offline').waitFor();
    await screenshots(page, 'offline');
    await context.close();
  }));

  test("each tenant's brand shows on its own host name, from the same build", track(async () => {
    await platform.mustApi('POST', '/v1/admin/tenants', {
      body: {
        slug: 'acme', name: 'Acme Phone', hostnames: ['phone.acme.test'],
        branding: { display_name: 'Acme Phone', primary_color: '#7a1f5c' },
      },
    });
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    await page.goto(`http://phone.acme.test:${platform.port}/login`);
    await page.getByRole('heading', { name: 'Acme Phone' }).waitFor();
    assert.equal(await page.title(), 'Acme Phone');
    const brand = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim());
    assert.equal(brand, '#7a1f5c');
    // Fetched by the page (the host name resolves only inside the browser).
    const manifest = await page.evaluate(async () => {
      const href = document.querySelector('link[rel=manifest]').getAttribute('href');
      return (await fetch(href)).json();
    });
    assert.equal(manifest.name, 'Acme Phone');
    assert.equal(manifest.theme_color, '#7a1f5c');
    assert.deepEqual(await axe(page), []);
    await screenshots(page, 'login-acme');
    await context.close();
  }));
});
