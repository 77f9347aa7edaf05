#!/usr/bin/python3
"""Interop driver: Autobahn|Python (asyncio flavour) against a Tollgate router.

Usage:  client.py SPEC_JSON

SPEC is a JSON object written by interop/interop_test.go:

    url         ws://HOST:PORT or tcp://HOST:PORT (RawSocket)
    serializer  json | json.batched | msgpack | msgpack.batched | cbor | cbor.batched
    realm       realm to join
    cases       list of case names (see CASES below), or
    serve       true: register the mixed-session procedures, print {"ready": ...}
                and serve until stdin is closed
    data        test data (args, kwargs, sizes, credentials), bytes as {"$bytes": HEX}

Each case prints one JSON line {"case": NAME, "result": ...} or
{"case": NAME, "error": "..."}. The Go side holds the expectations; this file
only reports what the client saw, with bytes written as {"$bytes": HEX}.
"""

import asyncio
import binascii
import hashlib
import json
import ssl
import sys
import traceback
from urllib.parse import urlparse

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import (  # noqa: E402
    WampRawSocketClientFactory,
    WampRawSocketClientProtocol,
)
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp import auth as wamp_auth  # noqa: E402
from autobahn.wamp.cryptosign import CryptosignKey  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import (  # noqa: E402
    CBORSerializer,
    JsonSerializer,
    MsgPackSerializer,
)
from autobahn.wamp.types import (  # noqa: E402
    CallOptions,
    ComponentConfig,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402

CASE_TIMEOUT = 15.0


# ---------------------------------------------------------------- values


def denorm(v):
    """JSON spec value -> Python value ({"$bytes": HEX} -> bytes)."""
    if isinstance(v, dict):
        if set(v) == {"$bytes"}:
            return binascii.unhexlify(v["$bytes"])
        return {k: denorm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [denorm(x) for x in v]
    return v


def norm(v):
    """Python value -> JSON-able value (bytes -> {"$bytes": HEX})."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": binascii.hexlify(bytes(v)).decode()}
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    return v


def digest(v):
    """Length and SHA-256 of a large str or bytes value."""
    b = v.encode() if isinstance(v, str) else bytes(v)
    return {"type": "str" if isinstance(v, str) else "bytes", "len": len(b),
            "sha256": hashlib.sha256(b).hexdigest()}


def big_str(n):
    return ("0123456789abcdef" * (n // 16 + 1))[:n]


def big_bytes(n):
    return bytes(i % 251 for i in range(n))


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- sessions


class Aborted(Exception):
    """The router refused the session (ABORT) or closed it before WELCOME."""

    def __init__(self, reason, message):
        super().__init__("%s: %s" % (reason, message))
        self.reason = reason
        self.message = message


class FixedRawSocketClientProtocol(WampRawSocketClientProtocol):
    """Autobahn|Python 22.7's asyncio RawSocket client has no
    transport_details attribute, and ApplicationSession reads it on WELCOME
    (AttributeError, the session never joins). Expose the one it computed."""

    @property
    def transport_details(self):
        return self._transport_details


class Session(ApplicationSession):
    def __init__(self, config, opts, joined):
        super().__init__(config)
        self._opts = opts
        self._joined = joined
        self.left = txaio.create_future()

    def onConnect(self):
        o = self._opts
        self.join(self.config.realm, authmethods=o.get("authmethods"),
                  authid=o.get("authid"), authextra=o.get("authextra"))

    def onChallenge(self, challenge):
        o = self._opts
        if challenge.method == "ticket":
            return o["ticket"]
        if challenge.method == "wampcra":
            key = o["secret"].encode()
            if "salt" in challenge.extra:
                key = wamp_auth.derive_key(o["secret"], challenge.extra["salt"],
                                           challenge.extra.get("iterations", 1000),
                                           challenge.extra.get("keylen", 32))
            return wamp_auth.compute_wcs(key, challenge.extra["challenge"].encode()).decode()
        if challenge.method == "cryptosign":
            self.challenge_extra = dict(challenge.extra)
            cb = o.get("channel_binding")
            if cb:
                # Autobahn computes the channel id itself (SHA-256 of the TLS
                # Finished message) once TLS is up; on TLS 1.3 it silently
                # gives 32 zero bytes, as tls-unique does not exist there.
                channel_id = self._transport.transport_details.channel_id[cb]
                return o["key"].sign_challenge(challenge, channel_id=channel_id, channel_id_type=cb)
            return o["key"].sign_challenge(challenge)
        raise Exception("unexpected challenge method %r" % challenge.method)

    def onJoin(self, details):
        self.details = details
        if not self._joined.done():
            self._joined.set_result(self)

    def onLeave(self, details):
        if not self._joined.done():
            self._joined.set_exception(Aborted(details.reason, details.message))
        if not self.left.done():
            self.left.set_result(details)
        self.disconnect()

    def onDisconnect(self):
        if not self._joined.done():
            self._joined.set_exception(Aborted("transport_closed", "connection closed before WELCOME"))
        if not self.left.done():
            self.left.set_result(None)


def make_serializer(name):
    base, _, batched = name.partition(".")
    cls = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[base]
    return cls(batched=bool(batched))


class Harness:
    def __init__(self, spec):
        self.spec = spec
        self.data = denorm(spec.get("data", {}))
        self.sessions = []

    async def connect(self, url=None, realm=None, **opts):
        loop = asyncio.get_running_loop()
        url = url or self.spec["url"]
        realm = realm or self.spec["realm"]
        joined = loop.create_future()
        config = ComponentConfig(realm=realm)

        def make():
            return Session(config, opts, joined)

        u = urlparse(url)
        ser = make_serializer(self.spec["serializer"])
        tls = None
        if u.scheme in ("wss", "tls"):
            tls = ssl.create_default_context(cafile=self.spec["ca_file"])
            if opts.get("tls_max") == "1.2":
                tls.maximum_version = ssl.TLSVersion.TLSv1_2
        if u.scheme in ("ws", "wss"):
            factory = WampWebSocketClientFactory(make, url=url, serializers=[ser])
        elif u.scheme in ("tcp", "tls"):
            factory = WampRawSocketClientFactory(make, serializer=ser)
            factory.protocol = FixedRawSocketClientProtocol
        else:
            raise ValueError("unsupported url %r" % url)
        transport, _ = await loop.create_connection(factory, u.hostname, u.port, ssl=tls)
        try:
            s = await asyncio.wait_for(joined, 10)
        except BaseException:
            transport.close()
            raise
        self.sessions.append(s)
        return s

    async def close_all(self):
        for s in self.sessions:
            try:
                if s.is_attached():
                    s.leave()
                    await asyncio.wait_for(s.left, 2)
            except Exception:
                pass
        self.sessions = []


async def wait_until(cond, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise TimeoutError("condition not met within %.1fs" % timeout)
        await asyncio.sleep(0.01)


def error_result(e):
    if isinstance(e, ApplicationError):
        return {"error": e.error, "args": norm(list(e.args)), "kwargs": norm(e.kwargs or {})}
    raise e


# ---------------------------------------------------------------- cases


async def case_join(h):
    s = await h.connect()
    d = s.details
    return {"session_id_ok": isinstance(d.session, int) and d.session > 0,
            "realm": d.realm, "authrole": d.authrole, "authmethod": d.authmethod,
            "router_roles": sorted(s._router_roles.keys())}


async def case_rpc_args(h):
    callee = await h.connect()
    caller = await h.connect()
    seen = {}

    def echo(*args, **kwargs):
        seen["types"] = [type(a).__name__ for a in args]
        from autobahn.wamp.types import CallResult
        return CallResult(*args, **kwargs)

    await callee.register(echo, "com.interop.echo")
    res = await caller.call("com.interop.echo", *h.data["args"], **h.data["kwargs"])
    return {"args": norm(list(res.results)), "kwargs": norm(res.kwresults)}


async def case_rpc_large(h):
    callee = await h.connect()
    caller = await h.connect()

    def echo(v):
        return v

    await callee.register(echo, "com.interop.echo_large")
    out = {}
    s = await caller.call("com.interop.echo_large", big_str(h.data["large_str"]))
    out["str"] = digest(s)
    b = await caller.call("com.interop.echo_large", big_bytes(h.data["large_bytes"]))
    out["bytes"] = digest(b)
    return out


async def case_pubsub(h):
    sub = await h.connect()
    pub = await h.connect()
    got = []

    def on_event(*args, **kwargs):
        got.append({"args": norm(list(args)), "kwargs": norm(kwargs)})

    await sub.subscribe(on_event, "com.interop.topic")
    await pub.publish("com.interop.topic", *h.data["args"],
                      options=PublishOptions(acknowledge=True), **h.data["kwargs"])
    await wait_until(lambda: got)
    return got[0]


async def case_pubsub_large(h):
    sub = await h.connect()
    pub = await h.connect()
    got = []
    await sub.subscribe(lambda v: got.append(v), "com.interop.large")
    await pub.publish("com.interop.large", big_str(h.data["large_str"]),
                      options=PublishOptions(acknowledge=True))
    await pub.publish("com.interop.large", big_bytes(h.data["large_bytes"]),
                      options=PublishOptions(acknowledge=True))
    await wait_until(lambda: len(got) == 2)
    return {"str": digest(got[0]), "bytes": digest(got[1])}


async def case_progressive(h):
    callee = await h.connect()
    caller = await h.connect()
    seen = {}

    async def counter(n, details=None):
        seen["receive_progress"] = bool(details.progress)
        if details.progress:
            for i in range(1, n + 1):
                details.progress(i)
                await asyncio.sleep(0.01)
        return "done"

    await callee.register(counter, "com.interop.progressive",
                          options=RegisterOptions(details_arg="details"))
    progress = []
    final = await caller.call("com.interop.progressive", 3,
                              options=CallOptions(on_progress=lambda v: progress.append(v)))
    return {"progress": progress, "final": final,
            "callee_saw_receive_progress": seen.get("receive_progress")}


async def slow_callee(h, uri, state):
    callee = await h.connect()

    async def slow():
        state["invoked"] = True
        try:
            await asyncio.sleep(5)
            state["finished"] = True
            return "finished"
        except asyncio.CancelledError:
            # INTERRUPT from the router cancels this task.
            state["interrupted"] = True
            raise

    await callee.register(slow, uri)
    return callee


async def case_cancel(h):
    state = {}
    await slow_callee(h, "com.interop.slow_cancel", state)
    caller = await h.connect()
    f = asyncio.ensure_future(caller.call("com.interop.slow_cancel"))
    await wait_until(lambda: state.get("invoked"))
    # Autobahn|Python sends CANCEL (no mode: the router's default,
    # killnowait) and cancels the future locally; the router's ERROR
    # wamp.error.canceled then finds a cancelled future.
    f.cancel()
    caller_saw = None
    try:
        await f
    except asyncio.CancelledError:
        caller_saw = "cancelled"
    except ApplicationError as e:
        caller_saw = e.error
    try:
        await wait_until(lambda: state.get("interrupted"), 2)
    except TimeoutError:
        pass
    # The session must survive the router's late ERROR for the cancelled call.
    await asyncio.sleep(0.1)
    alive = caller.is_attached()
    return {"caller": caller_saw, "callee_interrupted": bool(state.get("interrupted")),
            "caller_session_alive": alive}


async def case_call_timeout(h):
    state = {}
    await slow_callee(h, "com.interop.slow_timeout", state)
    caller = await h.connect()
    # Autobahn|Python documents CallOptions.timeout in seconds but puts the
    # number into CALL.Options.timeout unchanged, and the router reads
    # milliseconds: pass milliseconds.
    try:
        await caller.call("com.interop.slow_timeout", options=CallOptions(timeout=300))
        err = None
    except ApplicationError as e:
        err = e.error
    try:
        await wait_until(lambda: state.get("interrupted"), 2)
    except TimeoutError:
        pass
    return {"error": err, "callee_interrupted": bool(state.get("interrupted"))}


async def case_disclosure(h):
    # Autobahn|Python 22.7 has no disclose_me option at all; the router
    # discloses by the role's permission (com.interop.disclosed.* in the
    # config), as Crossbar does.
    callee = await h.connect()
    caller = await h.connect()

    def who(details=None):
        return [details.caller, details.caller_authrole]

    opts = RegisterOptions(details_arg="details")
    await callee.register(who, "com.interop.disclosed.who", options=opts)
    await callee.register(who, "com.interop.who", options=opts)
    disclosed = await caller.call("com.interop.disclosed.who")
    hidden = await caller.call("com.interop.who")

    got = {}

    def on_event(details=None):
        got[details.topic] = [details.publisher, details.publisher_authrole]

    sopts = SubscribeOptions(match="prefix", details_arg="details")
    await callee.subscribe(on_event, "com.interop.disclosed.ev", options=sopts)
    await callee.subscribe(on_event, "com.interop.hidden_ev", options=sopts)
    await caller.publish("com.interop.disclosed.ev.x", options=PublishOptions(acknowledge=True))
    await caller.publish("com.interop.hidden_ev.x", options=PublishOptions(acknowledge=True))
    await wait_until(lambda: len(got) == 2)
    me = caller.details.session
    ev = got["com.interop.disclosed.ev.x"]
    return {
        "call_caller_is_caller": disclosed[0] == me, "call_caller_authrole": disclosed[1],
        "call_hidden": hidden[0],
        "event_publisher_is_publisher": ev[0] == me, "event_publisher_authrole": ev[1],
        "event_hidden": got["com.interop.hidden_ev.x"][0],
    }


async def case_pattern(h):
    callee = await h.connect()
    caller = await h.connect()

    def which(kind):
        def f(details=None):
            return [kind, details.procedure]
        return f

    await callee.register(which("prefix"), "com.interop.pfx",
                          options=RegisterOptions(match="prefix", details_arg="details"))
    await callee.register(which("wildcard"), "com.interop..wild",
                          options=RegisterOptions(match="wildcard", details_arg="details"))
    out = {"prefix_call": await caller.call("com.interop.pfx.a.b"),
           "wildcard_call": await caller.call("com.interop.x.wild")}

    events = {}

    def on(kind):
        def f(details=None):
            events[kind] = details.topic
        return f

    await callee.subscribe(on("prefix"), "com.interop.evpfx",
                           options=SubscribeOptions(match="prefix", details_arg="details"))
    await callee.subscribe(on("wildcard"), "com.interop..evwild",
                           options=SubscribeOptions(match="wildcard", details_arg="details"))
    await caller.publish("com.interop.evpfx.one", options=PublishOptions(acknowledge=True))
    await caller.publish("com.interop.two.evwild", options=PublishOptions(acknowledge=True))
    await wait_until(lambda: len(events) == 2)
    out["prefix_event"] = events["prefix"]
    out["wildcard_event"] = events["wildcard"]
    return out


# The spec's prefix-matching examples (pattern-based subscription and
# registration), on realm "spec" (loose URIs: "emergency-low").
SPEC_TOPICS = ["com.myapp.topic.emergency.11", "com.myapp.topic.emergency-low",
               "com.myapp.topic.emergency.category.severe", "com.myapp.topic.emergency"]


async def case_spec_pubsub(h):
    sub = await h.connect(realm="spec")
    pub = await h.connect(realm="spec")
    topics, done = [], []
    await sub.subscribe(lambda details=None: topics.append(details.topic), "com.myapp.topic.emergency",
                        options=SubscribeOptions(match="prefix", details_arg="details"))
    await sub.subscribe(lambda: done.append(True), "com.myapp.done")
    # Events of one publisher arrive in order: a wrong match for
    # "emerge" would show up before "done".
    for topic in ["com.myapp.topic.emerge"] + SPEC_TOPICS + ["com.myapp.done"]:
        await pub.publish(topic, options=PublishOptions(acknowledge=True))
    await wait_until(lambda: done)
    return {"topics": topics}


async def case_spec_rpc(h):
    callee = await h.connect(realm="spec")
    caller = await h.connect(realm="spec")
    await callee.register(lambda details=None: details.procedure, "com.myapp.myobject1",
                          options=RegisterOptions(match="prefix", details_arg="details"))
    calls = [await caller.call(p) for p in [
        "com.myapp.myobject1.myprocedure1", "com.myapp.myobject1-mysubobject1",
        "com.myapp.myobject1.mysubobject1.myprocedure1", "com.myapp.myobject1"]]
    errors = []
    for p in ["com.myapp.myobject2", "com.myapp.myobject"]:
        try:
            await caller.call(p)
            errors.append("no error")
        except ApplicationError as e:
            errors.append(e.error)
    return {"calls": calls, "errors": errors}


async def case_shared(h):
    c1 = await h.connect()
    c2 = await h.connect()
    caller = await h.connect()
    for policy in ("roundrobin", "first", "last"):
        uri = "com.interop.shared." + policy
        await c1.register(lambda: "c1", uri, options=RegisterOptions(invoke=policy))
        await c2.register(lambda: "c2", uri, options=RegisterOptions(invoke=policy))
    out = {}
    for policy in ("roundrobin", "first", "last"):
        res = [await caller.call("com.interop.shared." + policy) for _ in range(4)]
        out[policy] = sorted(res) if policy == "roundrobin" else res
    return out


async def case_blackwhite(h):
    s1 = await h.connect()
    s2 = await h.connect()
    pub = await h.connect()
    got = {"s1": [], "s2": []}
    await s1.subscribe(lambda tag: got["s1"].append(tag), "com.interop.bw")
    await s2.subscribe(lambda tag: got["s2"].append(tag), "com.interop.bw")
    id1, id2 = s1.details.session, s2.details.session
    ack = PublishOptions

    await pub.publish("com.interop.bw", "exclude_s1", options=ack(acknowledge=True, exclude=[id1]))
    await pub.publish("com.interop.bw", "eligible_s1", options=ack(acknowledge=True, eligible=[id1]))
    await pub.publish("com.interop.bw", "eligible_authid_s2",
                      options=ack(acknowledge=True, eligible_authid=[s2.details.authid]))
    await pub.publish("com.interop.bw", "exclude_authid_s2",
                      options=ack(acknowledge=True, exclude_authid=[s2.details.authid]))
    await pub.publish("com.interop.bw", "exclude_authrole_anonymous",
                      options=ack(acknowledge=True, exclude_authrole=["anonymous"]))
    await pub.publish("com.interop.bw", "eligible_authrole_anonymous",
                      options=ack(acknowledge=True, eligible_authrole=["anonymous"]))
    await pub.publish("com.interop.bw", "end", options=ack(acknowledge=True))
    await wait_until(lambda: got["s1"][-1:] == ["end"] and got["s2"][-1:] == ["end"])
    return got


async def case_errors(h):
    callee = await h.connect()
    caller = await h.connect()
    other = await h.connect()
    e = h.data["error"]

    def fail():
        raise ApplicationError(e["uri"], *e["args"], **e["kwargs"])

    await callee.register(fail, "com.interop.fail")
    out = {}
    try:
        await caller.call("com.interop.fail")
    except ApplicationError as err:
        out["app"] = error_result(err)
    try:
        await caller.call("com.interop.nothing_here")
    except ApplicationError as err:
        out["no_such_procedure"] = err.error
    try:
        await other.register(fail, "com.interop.fail")
    except ApplicationError as err:
        out["procedure_already_exists"] = err.error
    return out


async def case_not_authorized(h):
    s = await h.connect()
    out = {}
    try:
        await s.publish("com.denied.topic", options=PublishOptions(acknowledge=True))
        out["publish"] = "published"
    except ApplicationError as err:
        out["publish"] = err.error
    try:
        await s.register(lambda: None, "com.denied.proc")
        out["register"] = "registered"
    except ApplicationError as err:
        out["register"] = err.error
    return out


async def case_meta(h):
    watcher = await h.connect()
    joins = []
    await watcher.subscribe(lambda info: joins.append(info), "wamp.session.on_join")
    s = await h.connect()
    sid = s.details.session
    await wait_until(lambda: any(isinstance(j, dict) and j.get("session") == sid for j in joins), 2)
    count = await s.call("wamp.session.count")
    info = await s.call("wamp.session.get", sid)
    reg = await s.register(lambda: None, "com.interop.meta.proc")
    lookup = await s.call("wamp.registration.lookup", "com.interop.meta.proc")
    return {"count_at_least_2": isinstance(count, int) and count >= 2,
            "get_session": info.get("session") == sid, "get_authrole": info.get("authrole"),
            "on_join_seen": True, "lookup_matches": lookup == reg.id}


async def joined_as(h, **opts):
    s = await h.connect(url=h.spec["auth_url"], **opts)
    d = s.details
    return {"authid": d.authid, "authrole": d.authrole, "authmethod": d.authmethod}


async def case_auth_ticket(h):
    a = h.data["auth"]
    return await joined_as(h, authmethods=["ticket"], authid=a["ticket_authid"], ticket=a["ticket"])


async def case_auth_wampcra(h):
    a = h.data["auth"]
    return await joined_as(h, authmethods=["wampcra"], authid=a["cra_authid"], secret=a["cra_secret"])


async def case_auth_wampcra_salted(h):
    a = h.data["auth"]
    return await joined_as(h, authmethods=["wampcra"], authid=a["cra_salted_authid"],
                           secret=a["cra_salted_secret"])


async def case_auth_cryptosign(h):
    a = h.data["auth"]
    key = CryptosignKey.from_bytes(binascii.unhexlify(a["cryptosign_seed"]))
    return await joined_as(h, authmethods=["cryptosign"], authid=a["cryptosign_authid"],
                           authextra={"pubkey": key.public_key()}, key=key)


async def abort_reason(h, **opts):
    if "authmethods" in opts and "url" not in opts:
        opts["url"] = h.spec["auth_url"]
    try:
        await h.connect(**opts)
        return "joined"
    except Aborted as e:
        return e.reason


async def case_auth_abort(h):
    a = h.data["auth"]
    wrong_key = CryptosignKey.from_bytes(b"\x01" * 32)
    return {
        "bad_ticket": await abort_reason(h, authmethods=["ticket"], authid=a["ticket_authid"], ticket="wrong"),
        "bad_cra_secret": await abort_reason(h, authmethods=["wampcra"], authid=a["cra_authid"], secret="wrong"),
        "unknown_authid": await abort_reason(h, authmethods=["wampcra"], authid="nobody", secret="x"),
        "unknown_cryptosign_key": await abort_reason(
            h, authmethods=["cryptosign"], authid=a["cryptosign_authid"],
            authextra={"pubkey": wrong_key.public_key()}, key=wrong_key),
        "anonymous_not_offered": await abort_reason(h, authmethods=["anonymous"]),
    }


async def case_auth_cryptosign_tls(h):
    """Cryptosign bound to the TLS channel (tls-unique, so TLS 1.2)."""
    a = h.data["auth"]
    key = CryptosignKey.from_bytes(binascii.unhexlify(a["cryptosign_seed"]))
    url = h.spec["tls_url"]
    bound = {"authmethods": ["cryptosign"], "authid": a["cryptosign_authid"], "key": key,
             "authextra": {"pubkey": key.public_key(), "channel_binding": "tls-unique"}}
    s = await h.connect(url=url, tls_max="1.2", channel_binding="tls-unique", **bound)
    d = s.details
    return {
        "authid": d.authid, "authrole": d.authrole, "authmethod": d.authmethod,
        "challenge_channel_binding": s.challenge_extra.get("channel_binding"),
        # Asked for binding, then signed without the channel id.
        "unbound_signature": await abort_reason(h, url=url, tls_max="1.2", **bound),
        # TLS 1.3 has no tls-unique: the router refuses the HELLO.
        "tls13": await abort_reason(h, url=url, channel_binding="tls-unique", **bound),
    }


async def case_abort_no_such_realm(h):
    return {"reason": await abort_reason(h, realm="com.interop.no_such_realm")}


async def case_mixed_echo(h):
    s = await h.connect()
    res = await s.call("com.interop.mixed.echo", *h.data["args"], **h.data["kwargs"])
    return {"args": norm(list(res.results)), "kwargs": norm(res.kwresults)}


async def case_mixed_types(h):
    s = await h.connect()
    return await s.call("com.interop.mixed.types", *h.data["args"])


async def case_mixed_progressive(h):
    s = await h.connect()
    progress = []
    final = await s.call("com.interop.mixed.progressive", 3,
                         options=CallOptions(on_progress=lambda v: progress.append(v)))
    return {"progress": progress, "final": final}


async def case_mixed_error(h):
    s = await h.connect()
    try:
        await s.call("com.interop.mixed.fail")
        return "no error"
    except ApplicationError as e:
        return error_result(e)


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


# ---------------------------------------------------------------- serve (mixed sessions)


async def serve(h):
    s = await h.connect()

    from autobahn.wamp.types import CallResult

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    def types(*args, **kwargs):
        return [type(a).__name__ for a in args]

    async def progressive(n, details=None):
        if details.progress:
            for i in range(1, n + 1):
                details.progress(i)
        return "done"

    e = h.data["error"]

    def fail():
        raise ApplicationError(e["uri"], *e["args"], **e["kwargs"])

    await s.register(echo, "com.interop.mixed.echo")
    await s.register(types, "com.interop.mixed.types")
    await s.register(progressive, "com.interop.mixed.progressive",
                     options=RegisterOptions(details_arg="details"))
    await s.register(fail, "com.interop.mixed.fail")
    emit({"ready": True, "session": s.details.session})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await h.close_all()


async def main():
    spec = json.loads(sys.argv[1])
    h = Harness(spec)
    if spec.get("serve"):
        await serve(h)
        return
    for name in spec["cases"]:
        fn = CASES.get(name)
        if fn is None:
            emit({"case": name, "error": "python client: unknown case %r" % name})
            continue
        try:
            result = await asyncio.wait_for(fn(h), spec.get("case_timeout", CASE_TIMEOUT))
            emit({"case": name, "result": result})
        except Exception as e:  # report every failure as data; Go decides
            emit({"case": name, "error": "%s: %s" % (type(e).__name__, e),
                  "trace": traceback.format_exc(limit=4)})
        finally:
            await h.close_all()


if __name__ == "__main__":
    asyncio.run(main())
