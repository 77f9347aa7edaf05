#!/usr/bin/python3
"""An Autobahn|Python authenticator and authorizer written for Crossbar.

Usage:  backend_view.py URL REALM

Registers

  com.view.authenticate  authenticate(realm, authid, details): admits any
                         ticket as authid alice, role user, extra
                         {"tenant": "t1"}
  com.view.authorize     authorize(session, uri, action, options): allows
                         com.view.seen
  com.view.seen()        what the two were last told, read the way a
                         Crossbar backend reads it: {"authn": details,
                         "authz": session, "crossbar": {...}}

prints "ready" and serves until killed.
"""

import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402

SEEN = {}


class Backend(ApplicationSession):

    async def onJoin(self, details):
        await self.register(self.authenticate, "com.view.authenticate")
        await self.register(self.authorize, "com.view.authorize")
        await self.register(self.seen, "com.view.seen")
        print("ready", flush=True)

    def authenticate(self, realm, authid, details):
        SEEN["authn"] = details
        return {"role": "user", "authrole": "user", "authid": "alice", "extra": {"tenant": "t1"}}

    def authorize(self, session, uri, action, options):
        SEEN["authz"] = session
        return uri == "com.view.seen"

    def seen(self):
        authz = SEEN["authz"]
        headers = authz["transport"]["http_headers_received"] or {}
        # The fields a Crossbar authorizer reads, under Crossbar's names.
        crossbar = {
            "session": authz["session"],
            "authid": authz["authid"],
            "authrole": authz["authrole"],
            "authmethod": authz["authmethod"],
            "authprovider": authz["authprovider"],
            "authextra": authz["authextra"],
            "peer": authz["transport"]["peer"],
            "forwarded_for": headers.get("x-forwarded-for"),
            "cookie": headers.get("cookie"),
        }
        return {"authn": SEEN["authn"], "authz": authz, "crossbar": crossbar}


if __name__ == "__main__":
    ApplicationRunner(sys.argv[1], sys.argv[2]).run(Backend)
