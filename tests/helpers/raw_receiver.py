"""A bare webhook endpoint on 127.0.0.1 that checks signatures on the raw bytes: what the sandbox's
webhooks are tested against, independent of wamkt_nb's own receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VERIFY = "my-verify-token"


class Receiver:
    """A tiny webhook endpoint that verifies signatures on the raw bytes, like the real one must."""

    def __init__(self, app_secret: str, fail_first: int = 0) -> None:
        self.app_secret = app_secret.encode()
        self.fail_first = fail_first
        self.posts: list[dict] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                q = parse_qs(urlparse(self.path).query)
                ok = q.get("hub.mode") == ["subscribe"] and q.get("hub.verify_token") == [VERIFY]
                body = q["hub.challenge"][0].encode() if ok else b"forbidden"
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.app_secret, raw, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", "")):
                    receiver.bad_signatures += 1
                    code = 401
                elif receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    code = 500
                else:
                    receiver.posts.append(json.loads(raw))
                    code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def statuses(self):
        return [s for p in self.posts for e in p["entry"] for c in e["changes"] for s in c["value"].get("statuses", [])]

    def messages(self):
        return [
            (c["value"], m)
            for p in self.posts
            for e in p["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
