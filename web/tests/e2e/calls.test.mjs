// Calls in the browser against the real edge: two users' browsers register
// to Kamailio over WebSocket with their own SIP credentials (JsSIP), call each
// other through rtpengine with Chromium's fake microphone, see the call
// connected and audio packets flowing both ways (RTCPeerConnection stats),
// hang up and find both call-log entries; a browser calls a baresip desk
// phone; a declined call is a missed call; the call rules editor saves a DND
// schedule that the API returns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Platform, axe, eventually, freePort, launchBrowser, missing, newPage, screenshots, which, PHONE } from './support.mjs';

const why = missing() ?? (which('baresip') ? null : 'baresip is not installed');

async function login(page, user) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/messages');
}

async function phoneReady(page) {
  await page.goto('/calls/keypad');
  await page.getByText('Ready for calls').waitFor({ timeout: 20000 });
}

async function packets(page) {
  const text = await page.getByTestId('call-stats').textContent();
  const m = /sent (\d+), received (\d+)/.exec(text ?? '');
  return m ? { sent: Number(m[1]), received: Number(m[2]) } : { sent: 0, received: 0 };
}

// baresip as a desk phone: registers with its credential and answers itself.
// Its SIP port (and TLS on the next one) is picked free but may be taken by
// the time it binds: it is started again on other ports, as the C++ harness
// does (tests/support/sip_peers.cpp).
async function startBaresip(platform, cred) {
  const modules = ['/usr/lib/baresip/modules', '/usr/lib/x86_64-linux-gnu/baresip/modules'].find((d) => existsSync(join(d, 'g711.so')));
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'rh-baresip-'));
    const sipPort = await freePort();
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll', `sip_listen 127.0.0.1:${sipPort}`, 'net_interface 127.0.0.1',
        'audio_source ausine,440', 'audio_alert none,none', 'audio_player none,none',
        'ausrc_srate 48000', 'ausrc_channels 2', 'rtcp_mux no', `module_path ${modules}`,
        'module g711.so', 'module ausine.so', 'module_app account.so', 'module_app menu.so', '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'accounts'),
      `<sip:${cred.username}@localhost>;auth_user=${cred.username};auth_pass=${cred.password};` +
        `outbound="sip:127.0.0.1:${platform.ports.sip}";regint=120;answermode=auto\n`,
    );
    const child = spawn('baresip', ['-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const started = await eventually(
      () => (/Address already in use/.test(log) ? 'clash' : /baresip is ready/.test(log) ? 'ready' : child.exitCode !== null ? 'exited' : null),
      { timeout: 10000, what: 'baresip to start' },
    );
    if (started === 'ready') return { child, log: () => log };
    child.kill();
    if (started !== 'clash' || attempt === 5) throw new Error(`baresip did not start:\n${log}`);
  }
}

describe('calls in the browser', { skip: why ?? false }, () => {
  let platform, browser, alice, bob, carol, a, b, desk;
  let failed = false;
  const track = (fn) => async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      for (const [n, p] of [['alice', a], ['bob', b]]) if (p) console.error(`${n} console:\n${p.consoleLog.join('\n')}`);
      if (desk) console.error(`baresip:\n${desk.log()}`);
      throw e;
    }
  };

  before(async () => {
    platform = await new Platform().start();
    await platform.seed();
    alice = await platform.user('alice@example.com', { number: '+12125550100' });
    bob = await platform.user('bob@example.com', { number: '+12125550101' });
    carol = await platform.user('carol@example.com', { number: '+12125550102' });
    browser = await launchBrowser();
  });
  after(async () => {
    desk?.child.kill();
    await browser?.close();
    await platform?.stop(failed);
  });

  test('browser to browser: ring, answer, audio both ways, hang up, call log', track(async () => {
    a = await newPage(browser, platform);
    b = await newPage(browser, platform, PHONE);
    await login(a, alice);
    await login(b, bob);
    await phoneReady(a);
    await phoneReady(b);
    // Both browsers show as online devices.
    const creds = await platform.mustApi('GET', '/v1/sip-credentials', { token: bob.token });
    assert.ok(creds.data.some((c) => c.online), JSON.stringify(creds));

    await a.getByLabel('Number to call').fill('2125550101');
    assert.equal(await a.getByLabel('Number to call').inputValue(), '(212) 555-0101');
    await a.getByRole('button', { name: 'Call', exact: true }).click();
    const incoming = b.getByRole('dialog', { name: 'Incoming call' });
    await incoming.waitFor({ timeout: 15000 });
    await incoming.getByText('(212) 555-0100').waitFor();
    assert.deepEqual(await axe(b), [], 'axe on the incoming call');
    await screenshots(b, 'incoming-call');
    await b.getByRole('button', { name: 'Answer' }).click();
    await a.getByRole('dialog').getByText(/^Connected/).waitFor({ timeout: 15000 });
    await b.getByRole('dialog').getByText(/^Connected/).waitFor();
    // Audio flows both ways through rtpengine.
    await eventually(async () => {
      const [pa, pb] = [await packets(a), await packets(b)];
      return pa.sent > 50 && pa.received > 50 && pb.sent > 50 && pb.received > 50;
    }, { timeout: 15000, what: 'audio packets both ways' });
    assert.deepEqual(await axe(a), [], 'axe in a call');
    await screenshots(a, 'in-call');
    // In-call controls: hold (the other side is told by re-INVITE), mute, DTMF.
    await a.getByRole('button', { name: 'Hold' }).click();
    await a.getByRole('dialog').getByText('On hold').waitFor();
    await b.getByRole('dialog').getByText('On hold').waitFor();
    await a.getByRole('button', { name: 'Resume' }).click();
    await a.getByRole('dialog').getByText(/^Connected/).waitFor();
    await b.getByRole('dialog').getByText(/^Connected/).waitFor();
    // Hold and Resume pressed in one go: the Resume comes while the hold's
    // re-INVITE is still being made, and JsSIP takes one INVITE transaction
    // at a time, so the app applies it once the hold's has ended. The call
    // comes back and audio flows again both ways.
    await a.getByRole('button', { name: 'Hold' }).evaluate((el) => {
      el.click();
      el.click();
    });
    await a.getByRole('dialog').getByText(/^Connected/).waitFor({ timeout: 10000 });
    const [pa0, pb0] = [await packets(a), await packets(b)];
    await eventually(async () => {
      const [pa, pb] = [await packets(a), await packets(b)];
      return pa.received > pa0.received + 50 && pb.received > pb0.received + 50;
    }, { timeout: 15000, what: 'audio both ways after hold and resume' });
    await a.getByRole('button', { name: 'Mute' }).click();
    await a.getByRole('button', { name: 'Unmute' }).waitFor();
    await a.getByRole('button', { name: 'Keypad' }).click();
    await a.getByRole('dialog').getByRole('button', { name: '5', exact: true }).click();
    await a.getByRole('dialog').getByText('5', { exact: true }).last().waitFor();
    await a.getByRole('button', { name: 'Hang up' }).click();
    await a.getByText('Call ended').waitFor();
    await b.getByText('Call ended').waitFor();

    // Both call logs: Alice's outgoing, Bob's incoming answered.
    await eventually(async () => {
      const r = await platform.mustApi('GET', '/v1/calls', { token: bob.token });
      return r.data.length === 1 && r.data[0].status === 'completed';
    }, { what: "Bob's completed call in the API" });
    await a.goto('/calls');
    await a.getByRole('listitem').filter({ hasText: '(212) 555-0101' }).filter({ hasText: 'Outgoing' }).waitFor();
    await b.goto('/calls');
    await b.getByRole('listitem').filter({ hasText: '(212) 555-0100' }).filter({ hasText: 'Incoming' }).waitFor();
  }));

  test('a declined call is missed, highlighted, and can be called back', track(async () => {
    await phoneReady(b);
    await a.goto('/calls/keypad');
    await a.getByLabel('Number to call').fill('+12125550101');
    await a.getByRole('button', { name: 'Call', exact: true }).click();
    await b.getByRole('dialog', { name: 'Incoming call' }).waitFor({ timeout: 15000 });
    await b.getByRole('button', { name: 'Decline' }).click();
    await a.getByText(/Call failed|Call ended/).waitFor({ timeout: 15000 });
    await eventually(async () => {
      const r = await platform.mustApi('GET', '/v1/calls', { token: bob.token });
      return r.data.some((c) => c.status !== 'completed');
    }, { what: "Bob's declined call in the API" });
    await b.goto('/calls');
    const missed = b.locator('li.missed').filter({ hasText: '(212) 555-0100' });
    await missed.waitFor();
    assert.ok(await missed.getByRole('button', { name: /Call back/ }).isVisible());
  }));

  test('browser to a baresip desk phone', track(async () => {
    const cred = await platform.mustApi('POST', '/v1/sip-credentials', { body: { label: 'desk phone' }, token: carol.token });
    desk = await startBaresip(platform, cred);
    await eventually(async () => {
      const r = await platform.mustApi('GET', '/v1/sip-credentials', { token: carol.token });
      return r.data.some((c) => c.online);
    }, { timeout: 20000, what: 'baresip registered' });
    await phoneReady(a);
    await a.getByLabel('Number to call').fill('+12125550102');
    await a.getByRole('button', { name: 'Call', exact: true }).click();
    await a.getByRole('dialog').getByText(/^Connected/).waitFor({ timeout: 20000 });
    await eventually(async () => {
      const p = await packets(a);
      return p.sent > 50 && p.received > 50;
    }, { timeout: 15000, what: 'audio packets from and to baresip' });
    await a.getByRole('button', { name: 'Hang up' }).click();
    await a.getByText('Call ended').waitFor();
  }));

  test('the call rules editor saves a DND schedule that the API returns', track(async () => {
    await a.goto(`/numbers/${alice.numberId}/rules`);
    await a.getByRole('button', { name: 'Add quiet hours' }).click();
    await a.getByLabel('Quiet hours 1 from').fill('22:00');
    await a.getByLabel('Quiet hours 1 to').fill('07:00');
    await a.getByRole('button', { name: 'Save' }).click();
    await a.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const rules = await platform.mustApi('GET', `/v1/numbers/${alice.numberId}/call-rules`, { token: alice.token });
    assert.equal(rules.dnd.schedule.length, 1);
    assert.equal(rules.dnd.schedule[0].start, '22:00');
    assert.equal(rules.dnd.schedule[0].end, '07:00');
  }));
});
