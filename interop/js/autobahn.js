// Interop driver: Autobahn|JS (npm "autobahn") against a Tollgate router.
// See common.js for usage and output. Autobahn|JS 26 uses the global
// WebSocket of Node 22; on Node 20 run it with --experimental-websocket.
'use strict';

const autobahn = require('autobahn');
const { WampError, Aborted, toWire, fromWire, main } = require('./common.js');

const SERIALIZERS = {
  json: () => new autobahn.serializer.JSONSerializer(),
  msgpack: () => new autobahn.serializer.MsgpackSerializer(),
  cbor: () => new autobahn.serializer.CBORSerializer(),
};

// Autobahn|JS reports progressive results through the deferred's notify,
// which ES6 promises lack (and when.js's progress API is deprecated): give
// it a deferred whose promise carries the progress callbacks.
function deferredFactory() {
  const d = {};
  d.promise = new Promise((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  d.promise.onProgress = null;
  d.notify = (v) => {
    if (d.promise.onProgress) d.promise.onProgress(v);
  };
  return d;
}

// Autobahn|JS resolves a call with a single value when the result has one
// positional argument and no kwargs, and with an autobahn.Result otherwise.
function unwrap(h, r) {
  if (r instanceof autobahn.Result) return { args: fromWire(h, r.args || []), kwargs: fromWire(h, r.kwargs || {}) };
  if (r === undefined || r === null) return { args: [], kwargs: {} };
  return { args: [fromWire(h, r)], kwargs: {} };
}

function toError(h, e) {
  if (e instanceof autobahn.Error) return new WampError(e.error, fromWire(h, e.args), fromWire(h, e.kwargs));
  return e;
}

function connect(h, o) {
  const u = new URL(o.url);
  const options = {
    realm: o.realm,
    max_retries: 0,
    retry_if_unreachable: false,
    use_deferred: deferredFactory,
    authmethods: o.authmethods,
    authid: o.authid,
  };
  if (u.protocol === 'tcp:') {
    // Autobahn|JS's RawSocket transport speaks JSON only.
    if (h.spec.serializer !== 'json') throw new Error('autobahn-js rawsocket supports json only');
    options.transports = [{ type: 'rawsocket', host: u.hostname, port: Number(u.port) }];
  } else {
    options.url = o.url;
    options.serializers = [SERIALIZERS[h.spec.serializer]()];
  }
  let key = null;
  if (o.seed) {
    key = autobahn.nacl.sign.keyPair.fromSeed(Buffer.from(o.seed, 'hex'));
    options.authextra = { pubkey: autobahn.auth_cryptosign.public_key(key) };
  }
  options.onchallenge = (session, method, extra) => {
    switch (method) {
      case 'ticket':
        return o.ticket;
      case 'wampcra': {
        const k = extra.salt
          ? autobahn.auth_cra.derive_key(o.secret, extra.salt, extra.iterations, extra.keylen)
          : o.secret;
        return autobahn.auth_cra.sign(k, extra.challenge);
      }
      case 'cryptosign':
        // No TLS here, so no channel binding.
        return autobahn.auth_cryptosign.sign_challenge(key, extra);
      default:
        throw new Error('unexpected challenge method ' + method);
    }
  };
  const conn = new autobahn.Connection(options);
  return new Promise((resolve, reject) => {
    let opened = false;
    let closed = null;
    conn.onopen = (session, details) => {
      opened = true;
      resolve(adapter(h, conn, session, details, () => closed));
    };
    conn.onclose = (reason, details) => {
      closed = reason;
      if (!opened) {
        reject(new Aborted(details.reason || 'transport_' + reason, details.message || ''));
      }
      return true; // no reconnect
    };
    conn.open();
  });
}

function adapter(h, conn, session, details, closedReason) {
  return {
    info: {
      session: session.id,
      realm: session.realm,
      authid: details.authid,
      authrole: details.authrole,
      authmethod: details.authmethod,
      roles: Object.keys(details.roles || {}),
    },
    isOpen: () => session.isOpen && !closedReason(),

    async register(uri, fn, opts = {}) {
      const handler = async (args, kwargs, d) => {
        const inv = {
          args: fromWire(h, args || []),
          kwargs: fromWire(h, kwargs || {}),
          details: d,
          progress: d.progress ? (a) => d.progress(toWire(h, a)) : null,
        };
        try {
          const r = (await fn(inv)) || {};
          return new autobahn.Result(toWire(h, r.args || []), toWire(h, r.kwargs || {}));
        } catch (e) {
          if (e instanceof WampError) throw new autobahn.Error(e.uri, toWire(h, e.args), toWire(h, e.kwargs));
          throw e;
        }
      };
      try {
        const reg = await session.register(uri, handler, opts);
        return reg.id;
      } catch (e) {
        throw toError(h, e);
      }
    },

    async call(uri, args, kwargs, opts = {}) {
      const options = {};
      if (opts.timeout) options.timeout = opts.timeout;
      if (opts.disclose_me) options.disclose_me = true;
      if (opts.onProgress) options.receive_progress = true;
      const p = opts.raw
        ? session.call(uri, args || [], kwargs || {}, options)
        : session.call(uri, toWire(h, args || []), toWire(h, kwargs || {}), options);
      if (opts.onProgress) p.onProgress = (v) => opts.onProgress(unwrap(h, v).args);
      try {
        return unwrap(h, await p);
      } catch (e) {
        throw toError(h, e);
      }
    },

    callCancellable(uri) {
      const p = session.call(uri, [], {});
      return {
        // Autobahn|JS rejects a call cancelled with skip or killnowait
        // locally and forgets it; the router's ERROR wamp.error.canceled
        // then counts as a protocol violation ("CALL-ERROR received for
        // non-pending request ID") and kills the session. With mode kill it
        // waits for the router's answer.
        cancel: () => p.cancel({ mode: 'kill' }),
        promise: p.then((r) => unwrap(h, r), (e) => { throw toError(h, e); }),
      };
    },

    async subscribe(uri, fn, opts = {}) {
      opts = { ...opts };
      delete opts.stock; // Autobahn|JS sends only what it is given
      try {
        await session.subscribe(uri, (args, kwargs, d) => fn({
          args: fromWire(h, args || []), kwargs: fromWire(h, kwargs || {}), details: d,
        }), opts);
      } catch (e) {
        throw toError(h, e);
      }
    },

    async publish(uri, args, kwargs, opts = {}) {
      try {
        await session.publish(uri, toWire(h, args || []), toWire(h, kwargs || {}), { acknowledge: true, ...opts });
      } catch (e) {
        throw toError(h, e);
      }
    },

    async close() {
      if (session.isOpen) {
        await new Promise((resolve) => {
          const prev = conn.onclose;
          conn.onclose = (r, d) => {
            prev(r, d);
            resolve();
            return true;
          };
          conn.close();
        });
      }
    },
  };
}

main({ name: 'autobahn-js', connect });
