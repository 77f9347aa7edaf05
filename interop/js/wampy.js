// Interop driver: wampy.js (npm "wampy", with the "wampy-cra" and
// "wampy-cryptosign" auth plugins) against a Tollgate router. See common.js
// for usage and output.
//
// wampy needs a WebSocket class in Node: we give it the global one (Node 22,
// or Node 20 with --experimental-websocket). wampy 8's own wampy/wampcra
// export is an ES module that Node 20 cannot require(), hence the separate
// plugin packages.
'use strict';

const { Wampy } = require('wampy');
const { JsonSerializer } = require('wampy/JsonSerializer.js');
const { MsgpackSerializer } = require('wampy/MsgpackSerializer.js');
const { CborSerializer } = require('wampy/CborSerializer.js');
const wampyCra = require('wampy-cra');
const wampyCryptosign = require('wampy-cryptosign');
const nacl = require('tweetnacl');
const { Packr, Unpackr } = require('msgpackr');
const { WampError, Aborted, toWire, fromWire, main } = require('./common.js');

// wampy's MsgpackSerializer uses msgpackr's defaults, which decode every
// integer above 2^32 as a BigInt: most WAMP session ids (random up to 2^53)
// then arrive as BigInts and compare unequal to numbers. Same serializer
// with 64-bit integers decoded as numbers (exact up to 2^53, all WAMP ids).
class Msgpack64Serializer {
  constructor() {
    this.protocol = 'msgpack';
    this.isBinary = true;
    this.packr = new Packr({ useRecords: false });
    this.unpackr = new Unpackr({ useRecords: false, int64AsType: 'number' });
  }

  encode(data) {
    return this.packr.pack(data);
  }

  decode(data) {
    return this.unpackr.unpack(new Uint8Array(data));
  }
}

const SERIALIZERS = {
  json: () => new JsonSerializer(),
  msgpack: () => (process.env.TOLLGATE_WAMPY_STOCK_MSGPACK ? new MsgpackSerializer() : new Msgpack64Serializer()),
  cbor: () => new CborSerializer(),
};

function toError(h, e) {
  if (e && e.errorUri !== undefined && e.name !== 'AbortedError') {
    return new WampError(e.errorUri, fromWire(h, e.argsList || []), fromWire(h, e.argsDict || {}));
  }
  return e;
}

function payload(h, args, kwargs) {
  return { argsList: toWire(h, args || []), argsDict: toWire(h, kwargs || {}) };
}

async function connect(h, o) {
  if (!o.url.startsWith('ws')) throw new Error('wampy supports WebSocket only');
  if (typeof WebSocket === 'undefined') throw new Error('no global WebSocket: run node >= 22 or --experimental-websocket');
  const options = {
    realm: o.realm,
    ws: WebSocket,
    serializer: SERIALIZERS[h.spec.serializer](),
    autoReconnect: false,
    authid: o.authid || null,
    // wampy refuses to send authmethods without an onChallenge callback,
    // also for ["anonymous"]; no authmethods means anonymous all the same.
    authmethods: (o.authmethods || []).filter((m) => m !== 'anonymous'),
    // Our URIs follow the strict rules; pattern URIs are checked as such.
    uriValidation: 'strict',
  };
  if (o.ticket !== undefined) options.onChallenge = () => o.ticket;
  if (o.secret !== undefined) options.onChallenge = wampyCra.sign(o.secret);
  if (o.seed !== undefined) {
    const kp = nacl.sign.keyPair.fromSeed(Buffer.from(o.seed, 'hex'));
    // No TLS here, so no channel_binding.
    options.authextra = { pubkey: Buffer.from(kp.publicKey).toString('hex') };
    options.onChallenge = wampyCryptosign.sign(o.seed);
  }
  let closed = false;
  options.onClose = () => { closed = true; };
  const w = new Wampy(o.url, options);
  let details;
  try {
    details = await w.connect();
  } catch (e) {
    if (e && e.name === 'AbortedError') {
      throw new Aborted(e.errorUri, (e.details && e.details.message) || '');
    }
    throw e;
  }
  return {
    info: {
      session: w.getSessionId(),
      realm: o.realm,
      authid: details.authid,
      authrole: details.authrole,
      authmethod: details.authmethod,
      roles: Object.keys(details.roles || {}),
    },
    isOpen: () => !closed && w.getSessionId() !== null,

    async register(uri, fn, opts = {}) {
      const rpc = async ({ details: d, argsList, argsDict, result_handler: resultHandler }) => {
        const inv = {
          args: fromWire(h, argsList || []),
          kwargs: fromWire(h, argsDict || {}),
          details: d || {},
          progress: d && d.receive_progress
            ? (a) => resultHandler({ argsList: toWire(h, a), options: { progress: true } })
            : null,
        };
        try {
          const r = (await fn(inv)) || {};
          return payload(h, r.args, r.kwargs);
        } catch (e) {
          if (e instanceof WampError) {
            // wampy sends what the thrown object's error/argsList/argsDict say.
            throw { error: e.uri, argsList: toWire(h, e.args), argsDict: toWire(h, e.kwargs) };
          }
          throw e;
        }
      };
      try {
        const r = await w.register(uri, rpc, opts);
        return r.registrationId;
      } catch (e) {
        throw toError(h, e);
      }
    },

    async call(uri, args, kwargs, opts = {}) {
      const ao = {};
      if (opts.timeout) ao.timeout = opts.timeout;
      if (opts.disclose_me) ao.disclose_me = true;
      if (opts.onProgress) {
        ao.progress_callback = (r) => opts.onProgress(fromWire(h, r.argsList || []));
      }
      try {
        const p = opts.raw ? { argsList: args || [], argsDict: kwargs || {} } : payload(h, args, kwargs);
        const r = await w.call(uri, p, ao);
        return { args: fromWire(h, r.argsList || []), kwargs: fromWire(h, r.argsDict || {}) };
      } catch (e) {
        throw toError(h, e);
      }
    },

    callCancellable(uri) {
      const p = w.call(uri, payload(h, [], {}));
      const reqId = w.getOpStatus().reqId;
      return {
        cancel: () => w.cancel(reqId, { mode: 'killnowait' }),
        promise: p.then(
          (r) => ({ args: fromWire(h, r.argsList || []), kwargs: fromWire(h, r.argsDict || {}) }),
          (e) => { throw toError(h, e); }),
      };
    },

    async subscribe(uri, fn, opts = {}) {
      // wampy builds SUBSCRIBE.Options as {match, get_retained} even when
      // they are undefined. JSON drops undefined; msgpackr encodes it as
      // ext type 0 (fixext1 d4 00 00), which the router refuses (ABORT
      // protocol_violation), and cbor-x as simple value undefined (f7),
      // which the router reads as null (ERROR invalid_argument "unknown
      // match policy"). Always pass both.
      if (opts.stock) {
        opts = { ...opts };
        delete opts.stock;
      } else {
        opts = { match: 'exact', get_retained: false, ...opts };
      }
      try {
        await w.subscribe(uri, (ev) => fn({
          args: fromWire(h, ev.argsList || []), kwargs: fromWire(h, ev.argsDict || {}), details: ev.details || {},
        }), opts);
      } catch (e) {
        throw toError(h, e);
      }
    },

    async publish(uri, args, kwargs, opts = {}) {
      // wampy always asks for acknowledge.
      try {
        await w.publish(uri, payload(h, args, kwargs), opts);
      } catch (e) {
        throw toError(h, e);
      }
    },

    async close() {
      if (w.getSessionId() !== null) await w.disconnect();
    },
  };
}

main({ name: 'wampy', connect });
