#!/usr/bin/python3
"""Autobahn|Python joins with realm=None (HELLO realm null) and ticket auth.

Usage:  null_realm.py URL AUTHID TICKET

Prints one JSON line: {"realm", "authid", "authrole"} from the session
details after WELCOME, or {"error": ...} for an ABORT. Reuses client.py's
session and transport setup.
"""

import asyncio
import json
import sys

from client import Aborted, Harness


async def main():
    url, authid, ticket = sys.argv[1:4]
    h = Harness({"url": url, "realm": None, "serializer": "json"})
    try:
        s = await h.connect(url, authmethods=["ticket"], authid=authid, ticket=ticket)
        d = s.details
        print(json.dumps({"realm": d.realm, "authid": d.authid, "authrole": d.authrole}))
    except Aborted as e:
        print(json.dumps({"error": str(e)}))
    finally:
        await h.close_all()


if __name__ == "__main__":
    asyncio.run(main())
