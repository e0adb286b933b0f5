#!/usr/bin/env node
// A scriptable SMSC for the SMPP session tests, played by the real SMPP 3.4
// server of npm `smpp` 0.5.1 (contracts/smpp.md, "Test peers"): it is a real
// peer, not a fake of the protocol; only its behaviour is scripted.
//
// Usage: node smsc-fake.js --system-id ID --password PW
// Listens on 127.0.0.1, SMPP on a free port and a control HTTP server on
// another, then prints one line on stdout:
//   READY <smpp_port> <control_port>
// It exits when its parent dies (process.ppid changes) or on SIGTERM.
//
// SMPP behaviour:
//  * bind_transceiver/_transmitter/_receiver: ESME_ROK when system_id and
//    password match the command line, ESME_RINVPASWD (0x0E) otherwise.
//    Connections are numbered from 1 ("conn" below) in the order they come.
//  * submit_sm: submit_sm_resp with message_id "m<n>" (n counts from 1 over
//    the process's life), unless scripted otherwise (below). A submit_sm on
//    a receiver bind gets ESME_RINVBNDSTS (0x04) and counts in
//    "submits_on_receiver" only.
//  * deliver_sm ("mo", "deliver", receipts) go to transceiver and receiver
//    binds only, never to a transmitter.
//  * enquire_link: enquire_link_resp (unless "ignore_enquire").
//  * unbind: unbind_resp, then the socket is closed.
//  * Every PDU received is recorded (GET /state).
//
// Control: POST /script with a JSON object; its keys set modes, merged into
// the current script (a key with value null clears it):
//   {"submit_status": 88, "count": 2}   the next 2 submit_sm_resp carry status
//                                       0x58 and no message_id (count
//                                       defaults to 1)
//   {"delay_ms": 3000}                  every response to submit_sm waits
//                                       3 s (0 or null: immediate)
//   {"drop_after": 5}                   the 5th submit_sm from now is not
//                                       answered: the SMSC closes the socket
//                                       (responses still delayed are dropped)
//   {"receipt": "before"|"after"}       a delivery receipt deliver_sm
//                                       (esm_class 0x04, receipted_message_id
//                                       and message_state TLVs, text
//                                       "id:... stat:DELIVRD ...") for each
//                                       submit_sm, sent before or after its
//                                       submit_sm_resp; null: none
//   {"ignore_enquire": true}            enquire_link goes unanswered
//   {"mo": {"source": "...", "dest": "...", "text": "..."}}
//                                       sends one deliver_sm (MO) to every
//                                       bound receiving session now (not kept)
//   {"deliver": {...} or [{...}, ...]}  sends each deliver_sm, in order, to
//                                       one receiving session (the one with
//                                       "conn" if given, else the first
//                                       bound), now (not kept). Fields, all
//                                       optional: source, dest, source_ton,
//                                       source_npi, dest_ton, dest_npi,
//                                       esm_class, data_coding (default 0),
//                                       text (a string, sent as its UTF-8
//                                       bytes) or hex (short_message bytes),
//                                       payload_hex (message_payload TLV),
//                                       sar: {ref, total, seq},
//                                       receipted_message_id, message_state,
//                                       network_error_code: {type, code}
//   {"unbind": true}                    sends unbind to every bound session
//                                       now (not kept)
//   {"raw_hex": "..."}                  writes these bytes to every bound
//                                       session now (not kept)
// GET /state returns what was received so far:
//   {"binds": n, "bind_failures": n, "bound_sessions": n, "connections": n,
//    "binds_by_mode": {"transceiver": n, "transmitter": n, "receiver": n},
//    "submits": n, "submits_on_receiver": n, "outstanding": n,
//    "max_outstanding": n,
//    "enquire_links": n, "unbinds": n, "unbind_resps": n,
//    "deliver_sm_sent": n, "deliver_sm_resps": [{"seq": s, "status": st}],
//    "generic_nacks": [{"seq": s, "status": st}], "message_ids": [...],
//    "pdus": [{"command": "...", "seq": s, "status": st}],  (last 2000)
//    "submitted": [{"conn": c, "mode": "transceiver", "source": "...",
//                   "source_ton": t, "source_npi": n, "dest": "...",
//                   "dest_ton": t, "dest_npi": n, "esm_class": e,
//                   "data_coding": d, "registered_delivery": r,
//                   "udh_hex": "050003..." or "", "text": "..."}]}  (last 2000;
//    text is the part after the UDH, decoded by its data_coding)
// outstanding counts submit_sm received and not yet answered on live links.
// GET /texts returns {"<text>": times submitted, ...} over the process's life.
'use strict';

const http = require('http');
const smpp = require('smpp');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const systemId = arg('--system-id', 'ringhouse');
const password = arg('--password', 'secret');

const script = {};
const state = {
  binds: 0,
  bind_failures: 0,
  connections: 0,
  binds_by_mode: {transceiver: 0, transmitter: 0, receiver: 0},
  submits: 0,
  submits_on_receiver: 0,
  outstanding: 0,
  max_outstanding: 0,
  enquire_links: 0,
  unbinds: 0,
  unbind_resps: 0,
  deliver_sm_sent: 0,
  deliver_sm_resps: [],
  generic_nacks: [],
  message_ids: [],
  pdus: [],
  submitted: [],
};
let nextMessageId = 1;
const bound = new Set();

function log(...a) {
  process.stderr.write(`smsc-fake: ${a.join(' ')}\n`);
}

function sendReceipt(session, messageId) {
  // On a transmitter bind the receipt goes to a receiving bind (a pair's RX).
  if (!receiving(session)) {
    session = null;
    for (const s of bound) {
      if (receiving(s)) {
        session = s;
        break;
      }
    }
    if (!session) return;
  }
  const text =
    `id:${messageId} sub:001 dlvrd:001 submit date:2401011200 ` +
    `done date:2401011201 stat:DELIVRD err:000 text:`;
  state.deliver_sm_sent++;
  session.deliver_sm({
    source_addr: '15550001111',
    destination_addr: '15550002222',
    esm_class: 0x04,
    short_message: text,
    receipted_message_id: messageId,
    message_state: 2,
  });
}

// Every submitted text with how often it came (GET /texts): for loss and
// duplicate counts over runs longer than the `submitted` log.
const textCounts = new Map();

function recordSubmit(session, pdu) {
  const sm = pdu.short_message || {};
  let udhHex = '';
  if (sm.udh && sm.udh.length) {
    const ies = Buffer.concat(sm.udh);
    udhHex = Buffer.concat([Buffer.from([ies.length]), ies]).toString('hex');
  }
  let text = sm.message;
  if (Buffer.isBuffer(text)) text = text.toString('hex');
  state.submitted.push({
    conn: session.conn,
    mode: session.mode,
    source: pdu.source_addr,
    source_ton: pdu.source_addr_ton,
    source_npi: pdu.source_addr_npi,
    dest: pdu.destination_addr,
    dest_ton: pdu.dest_addr_ton,
    dest_npi: pdu.dest_addr_npi,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery,
    udh_hex: udhHex,
    text: text === undefined ? '' : text,
  });
  if (state.submitted.length > 2000) state.submitted.shift();
  textCounts.set(text === undefined ? '' : text, (textCounts.get(text === undefined ? '' : text) || 0) + 1);
}

function receiving(session) {
  return session.mode === 'transceiver' || session.mode === 'receiver';
}

function sendDeliver(v) {
  let target = null;
  for (const s of bound) {
    if (!receiving(s)) continue;
    if (v.conn !== undefined && s.conn !== v.conn) continue;
    target = s;
    break;
  }
  if (!target) throw new Error('no bound receiving session');
  const pdu = {
    source_addr: v.source || '15550001111',
    source_addr_ton: v.source_ton === undefined ? 1 : v.source_ton,
    source_addr_npi: v.source_npi === undefined ? 1 : v.source_npi,
    destination_addr: v.dest || '15550002222',
    dest_addr_ton: v.dest_ton === undefined ? 1 : v.dest_ton,
    dest_addr_npi: v.dest_npi === undefined ? 1 : v.dest_npi,
    esm_class: v.esm_class || 0,
    data_coding: v.data_coding || 0,
    short_message: v.hex !== undefined ? Buffer.from(v.hex, 'hex') : Buffer.from(v.text || '', 'utf8'),
  };
  if (v.payload_hex !== undefined) {
    pdu.short_message = Buffer.alloc(0);
    pdu.message_payload = Buffer.from(v.payload_hex, 'hex');
  }
  if (v.sar) {
    pdu.sar_msg_ref_num = v.sar.ref;
    pdu.sar_total_segments = v.sar.total;
    pdu.sar_segment_seqnum = v.sar.seq;
  }
  if (v.receipted_message_id !== undefined) pdu.receipted_message_id = v.receipted_message_id;
  if (v.message_state !== undefined) pdu.message_state = v.message_state;
  if (v.network_error_code) {
    const c = v.network_error_code;
    pdu.network_error_code = Buffer.from([c.type, (c.code >> 8) & 0xff, c.code & 0xff]);
  }
  state.deliver_sm_sent++;
  target.deliver_sm(pdu);
}

function onSubmit(session, pdu) {
  if (session.mode === 'receiver') {
    state.submits_on_receiver++;
    session.send(pdu.response({command_status: smpp.ESME_RINVBNDSTS}));
    return;
  }
  state.submits++;
  recordSubmit(session, pdu);
  if (script.drop_after) {
    script.drop_after--;
    if (script.drop_after === 0) {
      delete script.drop_after;
      log('dropping the link at submit', state.submits);
      session.dropped = true;
      session.destroy();
      return;
    }
  }
  session.outstanding++;
  state.outstanding++;
  state.max_outstanding = Math.max(state.max_outstanding, state.outstanding);
  let status = 0;
  if (script.submit_status) {
    status = script.submit_status;
    script.count = (script.count || 1) - 1;
    if (script.count <= 0) {
      delete script.submit_status;
      delete script.count;
    }
  }
  const messageId = status === 0 ? `m${nextMessageId++}` : '';
  const receipt = status === 0 ? script.receipt : null;
  const answer = () => {
    if (session.dropped) return;
    session.outstanding--;
    state.outstanding--;
    if (receipt === 'before') sendReceipt(session, messageId);
    if (status === 0) state.message_ids.push(messageId);
    session.send(pdu.response({command_status: status, message_id: messageId}));
    if (receipt === 'after') sendReceipt(session, messageId);
  };
  if (script.delay_ms) {
    setTimeout(answer, script.delay_ms);
  } else {
    answer();
  }
}

const server = smpp.createServer((session) => {
  state.connections++;
  session.conn = state.connections;
  session.mode = null;
  session.outstanding = 0;
  session.dropped = false;
  session.on('error', (e) => log('session error:', e.message));
  session.on('close', () => {
    bound.delete(session);
    state.outstanding -= session.outstanding;
    session.outstanding = 0;
    session.dropped = true;
  });
  session.on('pdu', (pdu) => {
    state.pdus.push({command: pdu.command, seq: pdu.sequence_number, status: pdu.command_status});
    if (state.pdus.length > 2000) state.pdus.shift();
  });
  const onBind = (pdu) => {
    if (pdu.system_id === systemId && pdu.password === password) {
      state.binds++;
      session.mode = pdu.command.replace('bind_', '');
      state.binds_by_mode[session.mode]++;
      bound.add(session);
      session.send(pdu.response());
    } else {
      state.bind_failures++;
      session.send(pdu.response({command_status: smpp.ESME_RINVPASWD}));
    }
  };
  session.on('bind_transceiver', onBind);
  session.on('bind_transmitter', onBind);
  session.on('bind_receiver', onBind);
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => {
    state.enquire_links++;
    if (!script.ignore_enquire) session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    state.unbinds++;
    bound.delete(session);
    session.send(pdu.response());
    session.close();
  });
  session.on('unbind_resp', () => {
    state.unbind_resps++;
    session.close();
  });
  session.on('deliver_sm_resp', (pdu) => {
    state.deliver_sm_resps.push({seq: pdu.sequence_number, status: pdu.command_status});
  });
  session.on('generic_nack', (pdu) => {
    state.generic_nacks.push({seq: pdu.sequence_number, status: pdu.command_status});
  });
});

function applyScript(body) {
  for (const [k, v] of Object.entries(body)) {
    if (k === 'mo') {
      for (const s of bound) {
        if (!receiving(s)) continue;
        state.deliver_sm_sent++;
        s.deliver_sm({
          source_addr: v.source || '15550001111',
          destination_addr: v.dest || '15550002222',
          short_message: v.text || '',
        });
      }
    } else if (k === 'deliver') {
      for (const d of Array.isArray(v) ? v : [v]) sendDeliver(d);
    } else if (k === 'unbind') {
      for (const s of bound) s.unbind();
    } else if (k === 'raw_hex') {
      for (const s of bound) s.socket.write(Buffer.from(v, 'hex'));
    } else if (v === null) {
      delete script[k];
    } else {
      script[k] = v;
    }
  }
}

const control = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    let out = {ok: true};
    try {
      if (req.method === 'POST' && req.url === '/script') {
        applyScript(JSON.parse(data || '{}'));
      } else if (req.method === 'GET' && req.url === '/state') {
        out = Object.assign({bound_sessions: bound.size}, state);
      } else if (req.method === 'GET' && req.url === '/texts') {
        out = Object.fromEntries(textCounts);
      } else {
        res.writeHead(404, {'content-type': 'application/json'});
        res.end('{"error":"not found"}');
        return;
      }
    } catch (e) {
      res.writeHead(400, {'content-type': 'application/json'});
      res.end(JSON.stringify({error: e.message}));
      return;
    }
    res.writeHead(200, {'content-type': 'application/json'});
    res.end(JSON.stringify(out));
  });
});

server.listen(0, '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${server.address().port} ${control.address().port}\n`);
  });
});

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 200);
process.on('SIGTERM', () => process.exit(0));
