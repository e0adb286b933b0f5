// The softphone: JsSIP registered to the SIP edge over (secure) WebSocket with
// this browser's own SIP credentials, calls with WebRTC audio through
// rtpengine, and the state the call screens show.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { UA } from 'jssip';
import type { EndEvent, RTCSession } from 'jssip/lib/RTCSession';
import type { RTCSessionEvent, UnRegisteredEvent } from 'jssip/lib/UA';
import { api, call } from '@/api/client';
import { useBranding } from './branding';
import { useSession } from './session';

export type PhoneState = 'off' | 'connecting' | 'ready' | 'error';
export type CallState = 'idle' | 'calling' | 'ringing' | 'incoming' | 'connected' | 'ended';

interface StoredCredential {
  id: string;
  username: string;
  password: string;
  domain: string;
}

export interface AudioStats {
  packetsSent: number;
  packetsReceived: number;
}

export const usePhone = defineStore('phone', () => {
  const state = ref<PhoneState>('off');
  const reason = ref('');
  const callState = ref<CallState>('idle');
  const remote = ref('');
  const direction = ref<'incoming' | 'outgoing'>('outgoing');
  const muted = ref(false);
  const held = ref(false); // we put the call on hold
  const remoteHeld = ref(false); // the other side did
  let wantHeld = false; // what the Hold/Resume button last asked for
  // Our hold or resume re-INVITE is in flight. Not JsSIP's refusal alone:
  // while it still builds the offer, hold()/unhold() accept a second one,
  // and the two re-INVITEs then end the call.
  let holdBusy = false;
  let holdRetry = 0;
  const answeredAt = ref<number | null>(null);
  const endReason = ref('');
  const stats = ref<AudioStats>({ packetsSent: 0, packetsReceived: 0 });
  const session = shallowRef<RTCSession | null>(null);
  let ua: UA | null = null;
  let statsTimer: number | undefined;
  let audio: HTMLAudioElement | null = null;
  let ringTone: { stop(): void } | null = null;
  let dtmfTransport: string | undefined;

  function credentialKey(): string {
    return `rh.sip.${useSession().user?.id ?? ''}`;
  }

  async function credential(fresh: boolean): Promise<StoredCredential> {
    const key = credentialKey();
    if (!fresh) {
      const c = JSON.parse(localStorage.getItem(key) ?? 'null') as StoredCredential | null;
      if (c?.password) return c;
    }
    const browser = /Firefox/.test(navigator.userAgent) ? 'Firefox' : /Chrome/.test(navigator.userAgent) ? 'Chrome' : 'Browser';
    const r = await call(() => api.POST('/v1/sip-credentials', { body: { label: `Web app (${browser})` } }));
    const c = { id: r.id, username: r.username, password: r.password, domain: r.domain };
    localStorage.setItem(key, JSON.stringify(c));
    return c;
  }

  function socketUrl(): string | null {
    const sip = useBranding().brand?.sip;
    if (!sip) return null;
    if (location.protocol === 'https:') return sip.wss_url ?? null;
    return sip.ws_url ?? sip.wss_url ?? null;
  }

  async function start(retried = false) {
    if (ua) return;
    const url = socketUrl();
    if (!url) {
      state.value = 'error';
      reason.value = 'calling is not set up on this service';
      return;
    }
    state.value = 'connecting';
    let c: StoredCredential;
    try {
      c = await credential(retried);
    } catch (e) {
      state.value = 'error';
      reason.value = (e as Error).message;
      return;
    }
    // JsSIP loads with the phone, not with the first screen.
    const { C, UA, WebSocketInterface } = await import('jssip');
    dtmfTransport = C.DTMF_TRANSPORT.RFC2833;
    if (ua || state.value !== 'connecting') return;
    ua = new UA({
      sockets: [new WebSocketInterface(url)],
      uri: `sip:${c.username}@${c.domain}`,
      authorization_user: c.username,
      password: c.password,
      register: true,
      register_expires: 300,
      session_timers: false,
      user_agent: 'Ringhouse Web',
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    ua.on('registered', () => {
      state.value = 'ready';
      reason.value = '';
    });
    ua.on('registrationFailed', (e: UnRegisteredEvent) => {
      const code = e.response?.status_code;
      state.value = 'error';
      reason.value = e.cause ?? 'registration failed';
      if ((code === 401 || code === 403 || e.cause === 'Authentication Error') && !retried) {
        // The credential was revoked or rotated elsewhere: get a new one.
        stop();
        void start(true);
      }
    });
    ua.on('disconnected', () => {
      if (state.value !== 'off') {
        state.value = 'connecting';
        reason.value = 'reconnecting';
      }
    });
    ua.on('newRTCSession', (e: RTCSessionEvent) => {
      const s = e.session;
      if (session.value && session.value !== s) {
        if (e.originator === 'remote') s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        return;
      }
      attach(s, e.originator === 'remote' ? 'incoming' : 'outgoing');
    });
    ua.start();
  }

  function stop() {
    session.value?.terminate();
    ua?.stop();
    ua = null;
    state.value = 'off';
  }

  function remoteAudio(): HTMLAudioElement {
    if (!audio) {
      audio = document.createElement('audio');
      audio.autoplay = true;
      document.body.appendChild(audio);
    }
    return audio;
  }

  function ring(on: boolean) {
    ringTone?.stop();
    ringTone = null;
    if (!on) return;
    try {
      const ctx = new AudioContext();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 440;
      gain.gain.value = 0.05;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      const t = window.setInterval(() => (gain.gain.value = gain.gain.value ? 0 : 0.05), 1000);
      ringTone = { stop: () => (window.clearInterval(t), osc.stop(), void ctx.close()) };
    } catch {
      /* no audio output */
    }
  }

  function attach(s: RTCSession, dir: 'incoming' | 'outgoing') {
    session.value = s;
    direction.value = dir;
    remote.value = dir === 'incoming' ? (s.remote_identity.uri.user ?? '') : remote.value;
    callState.value = dir === 'incoming' ? 'incoming' : 'calling';
    muted.value = false;
    held.value = false;
    remoteHeld.value = false;
    wantHeld = false;
    holdBusy = false;
    window.clearTimeout(holdRetry);
    answeredAt.value = null;
    endReason.value = '';
    stats.value = { packetsSent: 0, packetsReceived: 0 };
    if (dir === 'incoming') ring(true);
    const hookTracks = () => {
      s.connection?.addEventListener('track', (ev) => {
        remoteAudio().srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
      });
    };
    if (s.connection) hookTracks();
    else s.on('peerconnection', hookTracks);
    s.on('progress', () => {
      if (dir === 'outgoing') callState.value = 'ringing';
    });
    s.on('confirmed', () => {
      ring(false);
      callState.value = 'connected';
      answeredAt.value = Date.now();
      statsTimer = window.setInterval(() => void readStats(), 1000);
    });
    s.on('hold', (e) => {
      if (e.originator === 'local') held.value = true;
      else remoteHeld.value = true;
    });
    s.on('unhold', (e) => {
      if (e.originator === 'local') held.value = false;
      else remoteHeld.value = false;
    });
    const finish = (e: EndEvent) => {
      ring(false);
      window.clearInterval(statsTimer);
      endReason.value = (e.message as { reason_phrase?: string } | undefined)?.reason_phrase || e.cause || '';
      callState.value = 'ended';
      session.value = null;
      window.setTimeout(() => {
        if (!session.value) callState.value = 'idle';
      }, 2500);
    };
    s.on('ended', finish);
    s.on('failed', finish);
  }

  async function readStats() {
    const pc = session.value?.connection;
    if (!pc) return;
    const report = await pc.getStats();
    let sent = 0;
    let received = 0;
    report.forEach((r: { type: string; kind?: string; packetsSent?: number; packetsReceived?: number }) => {
      if (r.type === 'outbound-rtp' && r.kind === 'audio') sent += r.packetsSent ?? 0;
      if (r.type === 'inbound-rtp' && r.kind === 'audio') received += r.packetsReceived ?? 0;
    });
    stats.value = { packetsSent: sent, packetsReceived: received };
  }

  const callOptions = {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] as RTCIceServer[] },
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
  };

  // Calls a number (E.164 or national) from one of the user's numbers.
  function dial(to: string, from?: string) {
    if (!ua || state.value !== 'ready') throw new Error(reason.value || 'the phone is not connected');
    if (session.value) throw new Error('a call is already in progress');
    const domain = useBranding().brand?.sip?.domain ?? 'localhost';
    remote.value = to;
    ua.call(`sip:${to}@${domain}`, { ...callOptions, ...(from ? { fromUserName: from } : {}) });
  }

  function answer() {
    ring(false);
    session.value?.answer(callOptions);
  }
  function hangup() {
    const s = session.value;
    if (!s) return;
    if (callState.value === 'incoming') s.terminate({ status_code: 603, reason_phrase: 'Decline' });
    else s.terminate();
  }
  function toggleMute() {
    const s = session.value;
    if (!s) return;
    if (muted.value) s.unmute({ audio: true });
    else s.mute({ audio: true });
    muted.value = !muted.value;
  }
  // Hold and resume are re-INVITEs, one at a time: JsSIP refuses (returns
  // false) while another INVITE transaction of the call is in progress, e.g.
  // Resume pressed before the hold's re-INVITE was answered. So the button
  // sets what the user wants (wantHeld), and it is applied once the call
  // can take it.
  function applyHold() {
    const s = session.value;
    window.clearTimeout(holdRetry);
    if (!s || holdBusy || wantHeld === held.value) return;
    const done = () => {
      holdBusy = false;
      applyHold();
    };
    holdBusy = wantHeld ? s.hold({}, done) : s.unhold({}, done);
    // Not now (the other side's re-INVITE, or the media not ready): again shortly.
    if (!holdBusy) holdRetry = window.setTimeout(applyHold, 250);
  }
  function toggleHold() {
    if (!session.value) return;
    wantHeld = !held.value;
    applyHold();
  }
  function dtmf(tone: string) {
    session.value?.sendDTMF(tone, { transportType: dtmfTransport as never });
  }

  return {
    state, reason, callState, remote, direction, muted, held, remoteHeld, answeredAt, endReason, stats,
    inCall: computed(() => callState.value !== 'idle'),
    start, stop, dial, answer, hangup, toggleMute, toggleHold, dtmf,
  };
});
