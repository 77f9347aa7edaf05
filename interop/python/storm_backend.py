#!/usr/bin/python3
"""An Autobahn|Python dynamic ticket authenticator that counts its calls.

Usage:  storm_backend.py URL REALM

Registers

  com.storm.authenticate  authenticate(realm, authid, details): takes 2 ms
                          (asyncio.sleep), accepts ticket "good" as role
                          user, refuses anything else
  com.storm.stats()       {"peak": most calls running at once, "calls": n}

prints "ready" and serves until killed.
"""

import asyncio
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402

STATE = {"now": 0, "peak": 0, "calls": 0}


class Backend(ApplicationSession):

    async def onJoin(self, details):
        await self.register(self.authenticate, "com.storm.authenticate")
        await self.register(self.stats, "com.storm.stats")
        print("ready", flush=True)

    async def authenticate(self, realm, authid, details):
        STATE["calls"] += 1
        STATE["now"] += 1
        STATE["peak"] = max(STATE["peak"], STATE["now"])
        try:
            await asyncio.sleep(0.002)
        finally:
            STATE["now"] -= 1
        if details.get("ticket") != "good":
            raise ApplicationError("wamp.error.authentication_failed", "wrong ticket")
        return {"role": "user"}

    def stats(self):
        return {"peak": STATE["peak"], "calls": STATE["calls"]}


if __name__ == "__main__":
    ApplicationRunner(sys.argv[1], sys.argv[2]).run(Backend)
