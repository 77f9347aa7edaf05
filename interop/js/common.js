// Shared part of the Node.js interop drivers (autobahn.js, wampy.js).
//
// Each driver supplies connect(h, opts) returning an adapter with one small
// API (register/call/subscribe/publish/close, info); the cases below are
// written once against it. Usage and output are as for python/client.py:
//
//   node [--experimental-websocket] js/<driver>.js SPEC_JSON
//
// One JSON line per case: {"case": NAME, "result": ...} or {"case": NAME,
// "error": "..."}. Bytes are written as {"$bytes": HEX}. The expectations
// live in interop/cases_test.go.
'use strict';

const crypto = require('crypto');

const CASE_TIMEOUT_MS = 15000;

const SPEC_TOPICS = ['com.myapp.topic.emergency.11', 'com.myapp.topic.emergency-low',
  'com.myapp.topic.emergency.category.severe', 'com.myapp.topic.emergency'];

// WampError is an application error in either direction.
class WampError extends Error {
  constructor(uri, args, kwargs) {
    super(uri + (args && args.length ? ': ' + JSON.stringify(norm(args)) : ''));
    this.uri = uri;
    this.args = args || [];
    this.kwargs = kwargs || {};
  }
}

// Aborted: the router refused the session, or closed it before WELCOME.
class Aborted extends Error {
  constructor(reason, message) {
    super(reason + ': ' + message);
    this.reason = reason;
    this.wampMessage = message;
  }
}

function isBytes(v) {
  return v instanceof Uint8Array || v instanceof ArrayBuffer;
}

// denorm: spec JSON -> JS value ({"$bytes": HEX} -> Buffer).
function denorm(v) {
  if (Array.isArray(v)) return v.map(denorm);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$bytes') return Buffer.from(v.$bytes, 'hex');
    const o = {};
    for (const k of keys) o[k] = denorm(v[k]);
    return o;
  }
  return v;
}

// norm: JS value -> JSON-able value (bytes -> {"$bytes": HEX}).
function norm(v) {
  if (isBytes(v)) return { $bytes: Buffer.from(v).toString('hex') };
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[k] = norm(x);
    return o;
  }
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = norm(v[k]);
    return o;
  }
  return v;
}

// The JS clients' JSON serializers know nothing of WAMP's binary
// convention (a string starting with \u0000 carries Base64 bytes): a Buffer
// would be sent as {"type": "Buffer", "data": [...]}. We apply the
// convention ourselves, at the edge, when the serializer is JSON.
//
// With CBOR, both node-cbor (Autobahn|JS) and cbor-x (wampy) encode a plain
// Uint8Array as a tagged typed array (tag 64, d8 40 ...), which the router
// refuses; a Buffer is encoded as a plain byte string. cbor-x decodes byte
// strings to Uint8Array when given one, so everything binary is made a
// Buffer both ways.
function mapValues(v, leaf) {
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[k] = mapValues(x, leaf);
    return o;
  }
  if (isBytes(v)) return leaf(Buffer.from(v));
  if (Array.isArray(v)) return v.map((x) => mapValues(x, leaf));
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = mapValues(v[k], leaf);
    return o;
  }
  return leaf(v);
}

function toWire(h, v) {
  const json = h.spec.serializer === 'json';
  return mapValues(v, (x) => (json && Buffer.isBuffer(x) ? '\u0000' + x.toString('base64') : x));
}

function fromWire(h, v) {
  const json = h.spec.serializer === 'json';
  return mapValues(v, (x) => (json && typeof x === 'string' && x.charCodeAt(0) === 0
    ? Buffer.from(x.slice(1), 'base64') : x));
}

function digest(v) {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  return {
    type: typeof v === 'string' ? 'str' : 'bytes',
    len: b.length,
    sha256: crypto.createHash('sha256').update(b).digest('hex'),
  };
}

function bigStr(n) {
  return '0123456789abcdef'.repeat(Math.ceil(n / 16) + 1).slice(0, n);
}

function bigBytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met within ' + ms + 'ms');
    await sleep(10);
  }
}

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(what + ': timed out after ' + ms + 'ms')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ cases

function errResult(e) {
  if (e instanceof WampError) return { error: e.uri, args: norm(e.args), kwargs: norm(e.kwargs) };
  throw e;
}

async function errURI(p) {
  try {
    await p;
    return 'no error';
  } catch (e) {
    if (e instanceof WampError) return e.uri;
    throw e;
  }
}

const CASES = {
  async join(h) {
    const s = await h.connect();
    const i = s.info;
    return {
      session_id_ok: Number.isInteger(i.session) && i.session > 0,
      realm: i.realm, authrole: i.authrole, authmethod: i.authmethod,
      router_roles: [...i.roles].sort(),
    };
  },

  async rpc_args(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    await callee.register('com.interop.echo', (inv) => ({ args: inv.args, kwargs: inv.kwargs }));
    const r = await caller.call('com.interop.echo', h.data.args, h.data.kwargs);
    return { args: norm(r.args), kwargs: norm(r.kwargs) };
  },

  async rpc_large(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    await callee.register('com.interop.echo_large', (inv) => ({ args: inv.args }));
    const s = await caller.call('com.interop.echo_large', [bigStr(h.data.large_str)]);
    const b = await caller.call('com.interop.echo_large', [bigBytes(h.data.large_bytes)]);
    return { str: digest(s.args[0]), bytes: digest(b.args[0]) };
  },

  async pubsub(h) {
    const sub = await h.connect();
    const pub = await h.connect();
    const got = [];
    await sub.subscribe('com.interop.topic', (ev) => got.push({ args: norm(ev.args), kwargs: norm(ev.kwargs) }));
    await pub.publish('com.interop.topic', h.data.args, h.data.kwargs);
    await waitUntil(() => got.length > 0);
    return got[0];
  },

  async pubsub_large(h) {
    const sub = await h.connect();
    const pub = await h.connect();
    const got = [];
    await sub.subscribe('com.interop.large', (ev) => got.push(ev.args[0]));
    await pub.publish('com.interop.large', [bigStr(h.data.large_str)]);
    await pub.publish('com.interop.large', [bigBytes(h.data.large_bytes)]);
    await waitUntil(() => got.length === 2);
    return { str: digest(got[0]), bytes: digest(got[1]) };
  },

  async progressive(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    const seen = {};
    await callee.register('com.interop.progressive', async (inv) => {
      seen.receive_progress = !!inv.progress;
      if (inv.progress) {
        for (let i = 1; i <= inv.args[0]; i++) {
          inv.progress([i]);
          await sleep(10);
        }
      }
      return { args: ['done'] };
    });
    const progress = [];
    const r = await caller.call('com.interop.progressive', [3], null, {
      onProgress: (args) => progress.push(args[0]),
    });
    return { progress, final: r.args[0], callee_saw_receive_progress: seen.receive_progress };
  },

  async cancel(h) {
    const state = {};
    const callee = await h.connect();
    await callee.register('com.interop.slow_cancel', async (inv) => {
      state.invoked = true;
      await sleep(3000);
      state.finished = true;
      return { args: ['finished'] };
    });
    const caller = await h.connect();
    const c = caller.callCancellable('com.interop.slow_cancel');
    await waitUntil(() => state.invoked);
    c.cancel();
    let callerSaw;
    try {
      await c.promise;
      callerSaw = 'result';
    } catch (e) {
      callerSaw = e instanceof WampError ? e.uri : 'local: ' + e.message;
    }
    await sleep(100);
    return { caller: callerSaw, caller_session_alive: caller.isOpen() };
  },

  async call_timeout(h) {
    const callee = await h.connect();
    await callee.register('com.interop.slow_timeout', async () => {
      await sleep(3000);
      return { args: ['finished'] };
    });
    const caller = await h.connect();
    return { error: await errURI(caller.call('com.interop.slow_timeout', null, null, { timeout: 300 })) };
  },

  async disclosure(h) {
    // The config's permission on com.interop.disclosed.* discloses; the
    // client's disclose_me (sent here on the hidden ones) is ignored, as in
    // Crossbar.
    const callee = await h.connect();
    const caller = await h.connect();
    const who = (inv) => ({ args: [inv.details.caller ?? null, inv.details.caller_authrole ?? null] });
    await callee.register('com.interop.disclosed.who', who);
    await callee.register('com.interop.who', who);
    const disclosed = (await caller.call('com.interop.disclosed.who')).args;
    const hidden = (await caller.call('com.interop.who', null, null, { disclose_me: true })).args;
    const got = {};
    const on = (ev) => {
      got[ev.details.topic] = [ev.details.publisher ?? null, ev.details.publisher_authrole ?? null];
    };
    await callee.subscribe('com.interop.disclosed.ev', on, { match: 'prefix' });
    await callee.subscribe('com.interop.hidden_ev', on, { match: 'prefix' });
    await caller.publish('com.interop.disclosed.ev.x', [], null);
    await caller.publish('com.interop.hidden_ev.x', [], null, { disclose_me: true });
    await waitUntil(() => Object.keys(got).length === 2);
    const me = caller.info.session;
    const ev = got['com.interop.disclosed.ev.x'];
    return {
      call_caller_is_caller: disclosed[0] === me, call_caller_authrole: disclosed[1],
      call_hidden: hidden[0],
      event_publisher_is_publisher: ev[0] === me, event_publisher_authrole: ev[1],
      event_hidden: got['com.interop.hidden_ev.x'][0],
    };
  },

  async pattern(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    const which = (kind) => (inv) => ({ args: [kind, inv.details.procedure] });
    await callee.register('com.interop.pfx', which('prefix'), { match: 'prefix' });
    await callee.register('com.interop..wild', which('wildcard'), { match: 'wildcard' });
    const out = {
      prefix_call: (await caller.call('com.interop.pfx.a.b')).args,
      wildcard_call: (await caller.call('com.interop.x.wild')).args,
    };
    const events = {};
    await callee.subscribe('com.interop.evpfx', (ev) => { events.prefix = ev.details.topic; }, { match: 'prefix' });
    await callee.subscribe('com.interop..evwild', (ev) => { events.wildcard = ev.details.topic; }, { match: 'wildcard' });
    await caller.publish('com.interop.evpfx.one', [], null);
    await caller.publish('com.interop.two.evwild', [], null);
    await waitUntil(() => Object.keys(events).length === 2);
    out.prefix_event = events.prefix;
    out.wildcard_event = events.wildcard;
    return out;
  },

  // The spec's prefix-matching examples (pattern-based subscription and
  // registration), on realm "spec" (loose URIs: "emergency-low").
  async spec_pubsub(h) {
    const sub = await h.connect({ realm: 'spec' });
    const pub = await h.connect({ realm: 'spec' });
    const topics = [];
    let done = false;
    await sub.subscribe('com.myapp.topic.emergency', (ev) => topics.push(ev.details.topic), { match: 'prefix' });
    await sub.subscribe('com.myapp.done', () => { done = true; });
    // Events of one publisher arrive in order: a wrong match for "emerge"
    // would show up before "done".
    for (const t of ['com.myapp.topic.emerge', ...SPEC_TOPICS, 'com.myapp.done']) await pub.publish(t, [], null);
    await waitUntil(() => done);
    return { topics };
  },

  async spec_rpc(h) {
    const callee = await h.connect({ realm: 'spec' });
    const caller = await h.connect({ realm: 'spec' });
    await callee.register('com.myapp.myobject1', (inv) => ({ args: [inv.details.procedure] }), { match: 'prefix' });
    const calls = [];
    for (const p of ['com.myapp.myobject1.myprocedure1', 'com.myapp.myobject1-mysubobject1',
      'com.myapp.myobject1.mysubobject1.myprocedure1', 'com.myapp.myobject1']) {
      calls.push((await caller.call(p)).args[0]);
    }
    const errors = [];
    for (const p of ['com.myapp.myobject2', 'com.myapp.myobject']) errors.push(await errURI(caller.call(p)));
    return { calls, errors };
  },

  async shared(h) {
    const c1 = await h.connect();
    const c2 = await h.connect();
    const caller = await h.connect();
    const policies = ['roundrobin', 'first', 'last'];
    for (const p of policies) {
      await c1.register('com.interop.shared.' + p, () => ({ args: ['c1'] }), { invoke: p });
      await c2.register('com.interop.shared.' + p, () => ({ args: ['c2'] }), { invoke: p });
    }
    const out = {};
    for (const p of policies) {
      const res = [];
      for (let i = 0; i < 4; i++) res.push((await caller.call('com.interop.shared.' + p)).args[0]);
      out[p] = p === 'roundrobin' ? res.sort() : res;
    }
    return out;
  },

  async blackwhite(h) {
    const s1 = await h.connect();
    const s2 = await h.connect();
    const pub = await h.connect();
    const got = { s1: [], s2: [] };
    await s1.subscribe('com.interop.bw', (ev) => got.s1.push(ev.args[0]));
    await s2.subscribe('com.interop.bw', (ev) => got.s2.push(ev.args[0]));
    const id1 = s1.info.session;
    const a2 = s2.info.authid;
    const t = 'com.interop.bw';
    await pub.publish(t, ['exclude_s1'], null, { exclude: [id1] });
    await pub.publish(t, ['eligible_s1'], null, { eligible: [id1] });
    await pub.publish(t, ['eligible_authid_s2'], null, { eligible_authid: [a2] });
    await pub.publish(t, ['exclude_authid_s2'], null, { exclude_authid: [a2] });
    await pub.publish(t, ['exclude_authrole_anonymous'], null, { exclude_authrole: ['anonymous'] });
    await pub.publish(t, ['eligible_authrole_anonymous'], null, { eligible_authrole: ['anonymous'] });
    await pub.publish(t, ['end'], null);
    await waitUntil(() => got.s1[got.s1.length - 1] === 'end' && got.s2[got.s2.length - 1] === 'end');
    return got;
  },

  async errors(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    const other = await h.connect();
    const e = h.data.error;
    const fail = () => { throw new WampError(e.uri, e.args, e.kwargs); };
    await callee.register('com.interop.fail', fail);
    const out = {};
    try {
      await caller.call('com.interop.fail');
      out.app = 'no error';
    } catch (err) {
      out.app = errResult(err);
    }
    out.no_such_procedure = await errURI(caller.call('com.interop.nothing_here'));
    out.procedure_already_exists = await errURI(other.register('com.interop.fail', fail));
    return out;
  },

  async not_authorized(h) {
    const s = await h.connect();
    return {
      publish: await errURI(s.publish('com.denied.topic', [], null)),
      register: await errURI(s.register('com.denied.proc', () => ({}))),
    };
  },

  async meta(h) {
    const watcher = await h.connect();
    const joins = [];
    await watcher.subscribe('wamp.session.on_join', (ev) => joins.push(ev.args[0]));
    const s = await h.connect();
    const sid = s.info.session;
    await waitUntil(() => joins.some((j) => j && j.session === sid), 2000);
    const count = (await s.call('wamp.session.count')).args[0];
    const info = (await s.call('wamp.session.get', [sid])).args[0];
    const regID = await s.register('com.interop.meta.proc', () => ({}));
    const lookup = (await s.call('wamp.registration.lookup', ['com.interop.meta.proc'])).args[0];
    return {
      count_at_least_2: Number.isInteger(count) && count >= 2,
      get_session: info.session === sid, get_authrole: info.authrole,
      on_join_seen: true, lookup_matches: lookup === regID,
    };
  },

  async auth_ticket(h) {
    const a = h.data.auth;
    return joinedAs(h, { authmethods: ['ticket'], authid: a.ticket_authid, ticket: a.ticket });
  },

  async auth_wampcra(h) {
    const a = h.data.auth;
    return joinedAs(h, { authmethods: ['wampcra'], authid: a.cra_authid, secret: a.cra_secret });
  },

  async auth_wampcra_salted(h) {
    const a = h.data.auth;
    return joinedAs(h, { authmethods: ['wampcra'], authid: a.cra_salted_authid, secret: a.cra_salted_secret });
  },

  async auth_cryptosign(h) {
    const a = h.data.auth;
    return joinedAs(h, { authmethods: ['cryptosign'], authid: a.cryptosign_authid, seed: a.cryptosign_seed });
  },

  async auth_abort(h) {
    const a = h.data.auth;
    return {
      bad_ticket: await abortReason(h, { authmethods: ['ticket'], authid: a.ticket_authid, ticket: 'wrong' }),
      bad_cra_secret: await abortReason(h, { authmethods: ['wampcra'], authid: a.cra_authid, secret: 'wrong' }),
      unknown_authid: await abortReason(h, { authmethods: ['wampcra'], authid: 'nobody', secret: 'x' }),
      unknown_cryptosign_key: await abortReason(h, {
        authmethods: ['cryptosign'], authid: a.cryptosign_authid, seed: '01'.repeat(32),
      }),
      anonymous_not_offered: await abortReason(h, { authmethods: ['anonymous'] }),
    };
  },

  async abort_no_such_realm(h) {
    return { reason: await abortReason(h, { realm: 'com.interop.no_such_realm' }) };
  },

  // Stock client behaviour that the drivers otherwise work around.
  // wampy sends SUBSCRIBE.Options {match: undefined, get_retained: undefined}.
  async stock_subscribe(h) {
    const sub = await h.connect();
    const pub = await h.connect();
    const got = [];
    await sub.subscribe('com.interop.stock', (ev) => got.push(ev.args[0]), { stock: true });
    await pub.publish('com.interop.stock', ['x'], null);
    await waitUntil(() => got.length > 0);
    return { event: got[0] };
  },

  // A plain Uint8Array argument, as the application gave it (CBOR: tag 64).
  async stock_uint8array(h) {
    const callee = await h.connect();
    const caller = await h.connect();
    await callee.register('com.interop.echo_u8', (inv) => ({ args: inv.args }));
    const r = await caller.call('com.interop.echo_u8', [new Uint8Array([1, 2, 3])], null, { raw: true });
    return { args: norm(r.args) };
  },

  // Mixed sessions: a callee in another process (python/client.py serve).
  async mixed_echo(h) {
    const s = await h.connect();
    const r = await s.call('com.interop.mixed.echo', h.data.args, h.data.kwargs);
    return { args: norm(r.args), kwargs: norm(r.kwargs) };
  },

  async mixed_types(h) {
    const s = await h.connect();
    return (await s.call('com.interop.mixed.types', h.data.args)).args[0];
  },

  async mixed_progressive(h) {
    const s = await h.connect();
    const progress = [];
    const r = await s.call('com.interop.mixed.progressive', [3], null, {
      onProgress: (args) => progress.push(args[0]),
    });
    return { progress, final: r.args[0] };
  },

  async mixed_error(h) {
    const s = await h.connect();
    try {
      await s.call('com.interop.mixed.fail');
      return 'no error';
    } catch (e) {
      return errResult(e);
    }
  },
};

async function joinedAs(h, opts) {
  const s = await h.connect({ url: h.spec.auth_url, ...opts });
  return { authid: s.info.authid, authrole: s.info.authrole, authmethod: s.info.authmethod };
}

async function abortReason(h, opts) {
  try {
    await h.connect(opts.authmethods ? { url: h.spec.auth_url, ...opts } : opts);
    return 'joined';
  } catch (e) {
    if (e instanceof Aborted) return e.reason;
    throw e;
  }
}

// main runs the cases named in the spec with the driver's connect.
async function main(driver) {
  const spec = JSON.parse(process.argv[2]);
  const h = { spec, data: denorm(spec.data || {}), sessions: [] };
  h.connect = async (opts = {}) => {
    const s = await driver.connect(h, {
      url: opts.url || spec.url, realm: opts.realm || spec.realm, ...opts,
    });
    h.sessions.push(s);
    return s;
  };
  for (const name of spec.cases) {
    const fn = CASES[name];
    if (!fn) {
      emit({ case: name, error: driver.name + ': unknown case ' + name });
      continue;
    }
    try {
      // A stock_* case may get its session aborted under a pending call,
      // which Autobahn|JS never settles: give those less time.
      const ms = name.startsWith('stock_') ? 5000 : CASE_TIMEOUT_MS;
      const result = await withTimeout(fn(h), ms, name);
      emit({ case: name, result });
    } catch (e) {
      emit({ case: name, error: (e && e.name ? e.name + ': ' : '') + (e && e.message ? e.message : String(e)), trace: e && e.stack });
    } finally {
      const ss = h.sessions;
      h.sessions = [];
      await Promise.all(ss.map((s) => withTimeout(s.close(), 2000, 'close').catch(() => {})));
    }
  }
  // Some transports keep timers alive; we are done.
  process.exit(0);
}

module.exports = { WampError, Aborted, norm, denorm, toWire, fromWire, sleep, waitUntil, withTimeout, main };
