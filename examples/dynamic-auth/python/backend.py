#!/usr/bin/env python3
"""Backend component of the dynamic-auth example, in Autobahn|Python.

The same component as examples/dynamic-auth/backend (Go), written as one
would for Crossbar.io: it joins realm "myrealm" through the backdoor
transport (role "server") and registers

  authenticate(realm, authid, details)       the dynamic ticket authenticator
  authorize(session, uri, action, options)   the dynamic authorizer
  public.hello, private.hello                something to call
  backend.stats                              {"authenticate": n, "authorize": m}

Run it with Debian's packages (python3-autobahn, python3-argon2):

  /usr/bin/python3 examples/dynamic-auth/python/backend.py [--url ws://127.0.0.1:8081/ws]

It reconnects when the router restarts and stops on SIGINT or SIGTERM.

It uses Autobahn's Twisted flavour: the asyncio flavour's run() in Debian 12's
Autobahn (22.7) still uses asyncio.coroutine, which Python 3.11 removed.
"""

import argparse

import argon2
from argon2.exceptions import VerifyMismatchError
from autobahn.twisted.component import Component, run
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions
from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThread
import txaio

log = txaio.make_logger()

# The accounts: argon2id hashes only, the very strings the Go backend uses
# (made by `tollgate passwd`; argon2-cffi verifies them as they are).
USERS = {
    "joe_average": {
        "hash": "$argon2id$v=19$m=65536,t=3,p=2$pvLdbsn5LEdzPkDB45KWDA$VovtOKmCT088YR1rL3CiPikWUSFPlgqPQjOIWqibSb0",
        "role": "regular",
    },
    "bofh": {
        "hash": "$argon2id$v=19$m=65536,t=3,p=2$sEFy0p8CWSTvY7dMLb8DIQ$PppewbKUegEPjAjPJZR3LUHH6gSoNHc2CcJ5jZ0uKPo",
        "role": "admin",
    },
}

# Checked for unknown authids so that they take as long to refuse as a wrong
# password: timing does not tell which users exist.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=2$HiDU21Ka4xbVCekc+RTbbQ$S4wACCtRX6XHLDBFCABIu4YIh4stjNKwye89j+BNV8Y"

hasher = argon2.PasswordHasher()
stats = {"authenticate": 0, "authorize": 0}


def check_password(stored, given):
    try:
        return hasher.verify(stored, given)
    except VerifyMismatchError:
        return False


@inlineCallbacks
def authenticate(realm, authid, details):
    stats["authenticate"] += 1
    if details.get("authmethod") != "ticket":
        raise ApplicationError("wamp.error.authentication_failed",
                               "only ticket authentication is supported")
    user = USERS.get(authid)
    stored = user["hash"] if user else DUMMY_HASH
    ticket = details.get("ticket")
    if not isinstance(ticket, str):
        ticket = ""
    # argon2 takes a while on purpose: keep the reactor free meanwhile.
    ok = yield deferToThread(check_password, stored, ticket)
    if not ok or user is None:
        log.info("authenticate: refused realm={realm} authid={authid}", realm=realm, authid=authid)
        # One message for both cases: clients cannot tell which users exist.
        raise ApplicationError("wamp.error.authentication_failed", "wrong user name or password")
    log.info("authenticate: ok realm={realm} authid={authid} authrole={role}",
             realm=realm, authid=authid, role=user["role"])
    # Crossbar reads "role", Tollgate reads either: give both.
    return {"role": user["role"], "authrole": user["role"]}


def permitted(role, uri, action):
    """The whole policy."""
    if role == "regular":
        return action in ("call", "subscribe") and uri.startswith("public.")
    if role == "admin":
        return action in ("call", "subscribe", "publish")
    return False


def authorize(session, uri, action, options):
    stats["authorize"] += 1
    allow = permitted(session.get("authrole"), uri, action)
    log.info("authorize: authid={authid} authrole={role} action={action} uri={uri} allow={allow}",
             authid=session.get("authid"), role=session.get("authrole"),
             action=action, uri=uri, allow=allow)
    if not allow:
        return {"allow": False}  # denials are not cached
    answer = {"allow": True, "cache": True}
    if action in ("call", "publish"):
        answer["disclose"] = True  # callees and subscribers see who it was
    return answer


def hello(details=None):
    caller = details.caller_authid if details else None
    if not caller:
        return "hello stranger"
    return "hello {} ({})".format(caller, details.caller_authrole)


def backend_stats():
    return dict(stats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8081/ws",
                        help="URL of the router transport that gives role server")
    parser.add_argument("--realm", default="myrealm", help="realm to join")
    args = parser.parse_args()

    component = Component(
        transports=[{
            "type": "websocket",
            "url": args.url,
            "initial_retry_delay": 0.25,
            "max_retry_delay": 5,
        }],
        realm=args.realm,
    )

    @component.on_join
    @inlineCallbacks
    def joined(session, details):
        yield session.register(authenticate, "authenticate")
        yield session.register(authorize, "authorize")
        with_details = RegisterOptions(details_arg="details")
        yield session.register(hello, "public.hello", options=with_details)
        yield session.register(hello, "private.hello", options=with_details)
        # Registered last: once it answers, everything above is registered.
        yield session.register(backend_stats, "backend.stats")
        log.info("backend ready: realm={realm} session={session} authrole={role}",
                 realm=details.realm, session=details.session, role=details.authrole)

    run([component])


if __name__ == "__main__":
    main()
