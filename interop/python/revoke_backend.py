#!/usr/bin/python3
"""An Autobahn|Python backend that authorizes role user and revokes.

Usage:  revoke_backend.py URL REALM

Registers

  com.rev.authorize   authorize(session, uri, action, options): allows
                      everything but subscribing to or registering a URI
                      that deny named
  com.rev.deny(uri)   adds uri to the denied set, then calls
                      tollgate.authorizer.revoke(uri_prefix=uri) and
                      returns its result: the router asks com.rev.authorize
                      again while this very session waits for revoke

prints "ready" and serves until killed.
"""

import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402

DENIED = set()


class Backend(ApplicationSession):

    async def onJoin(self, details):
        await self.register(self.authorize, "com.rev.authorize")
        await self.register(self.deny, "com.rev.deny")
        print("ready", flush=True)

    def authorize(self, session, uri, action, options):
        return not (uri in DENIED and action in ("subscribe", "register"))

    async def deny(self, uri):
        DENIED.add(uri)
        return await self.call("tollgate.authorizer.revoke", uri_prefix=uri, reason="interop")


if __name__ == "__main__":
    ApplicationRunner(sys.argv[1], sys.argv[2]).run(Backend)
