#!/usr/bin/python3
"""The Crossbar guide's dynamic authorizers, unchanged: three arguments.

Usage:  seed_authorizer.py URL REALM

Joins REALM at URL (a transport that gives a role allowed to register),
registers

  com.seed.authorize_function   authorize(session, uri, action)
  com.seed.authorize_method     MyAuthorizer.authorize(self, session, uri, action)
  com.seed.echo                 echo(x) -> x

prints "ready" once all are registered, and serves until killed. Each
authorizer prints one line per question it answers. Both allow everything
except URIs under com.seed.secret.
"""

import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402


def authorize(session, uri, action):
    print("authorize({}, {}, {})".format(session["session"], uri, action), flush=True)
    return not uri.startswith("com.seed.secret")


def echo(x):
    return x


class MyAuthorizer(ApplicationSession):

    async def onJoin(self, details):
        await self.register(self.authorize, "com.seed.authorize_method")
        await self.register(authorize, "com.seed.authorize_function")
        await self.register(echo, "com.seed.echo")
        print("ready", flush=True)

    def authorize(self, session, uri, action):
        print("MyAuthorizer.authorize({}, {}, {})".format(session["session"], uri, action), flush=True)
        return not uri.startswith("com.seed.secret")


if __name__ == "__main__":
    ApplicationRunner(sys.argv[1], sys.argv[2]).run(MyAuthorizer)
