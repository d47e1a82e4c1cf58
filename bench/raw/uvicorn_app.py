"""Reference: the same two routes as a raw ASGI app for uvicorn (the server tsuv's users come from).

Run as: python3 -m uvicorn uvicorn_app:app --app-dir bench/raw --no-access-log --lifespan off
"""

import json
import os

HELLO = b"Hello, world!"
PID = str(os.getpid()).encode()


async def app(scope, receive, send):
    path = scope["path"]
    if path == "/json":
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        payload = json.dumps(json.loads(body), separators=(",", ":")).encode()
        content_type = b"application/json"
    else:
        payload = PID if path == "/pid" else HELLO
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
