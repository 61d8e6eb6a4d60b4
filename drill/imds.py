"""Instance metadata for one drill node, IMDSv2 as EC2 serves it, backed by the emulated EC2 API:
a session token (PUT), the instance id, the node's address, its tags (read from EC2 at each
request, so a role the failover function sets shows at once) and role credentials.

Only while the instance runs: a stopped node's metadata service goes with it. Cut off (`cut`),
it answers nothing, as a metadata service the node cannot reach: the caller's timeout decides.
"""

from __future__ import annotations

import http.server
import secrets
import threading
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import emulator

TOKEN_HEADER = "X-aws-ec2-metadata-token"
CUT_HOLD_SECONDS = 10.0  # longer than any caller's timeout
ROLE = "multitier-drill-node"
CREDENTIALS = (
    '{"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "drill", '
    '"SecretAccessKey": "drill", "Token": "drill", "Expiration": "2099-01-01T00:00:00Z"}'
)


class _Server(http.server.ThreadingHTTPServer):
    """Stops without waiting for requests in flight: the instance is gone."""

    daemon_threads = True
    block_on_close = False


class Metadata:
    """The metadata service of one node, on its own loopback port."""

    def __init__(self, instance_id: str, address: str) -> None:
        self.instance_id, self.address = instance_id, address
        self._tokens: set[str] = set()
        self._ec2 = boto3.client("ec2")
        self._server: http.server.ThreadingHTTPServer | None = None
        self.cut = threading.Event()
        self.stopped = threading.Event()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        metadata = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                if metadata.cut.is_set():
                    metadata.stopped.wait(CUT_HOLD_SECONDS)
                    return
                if self.path != "/latest/api/token":
                    self._answer(404, "")
                    return
                token = secrets.token_hex(16)
                metadata._tokens.add(token)
                self._answer(200, token)

            def do_GET(self) -> None:
                if metadata.cut.is_set():
                    metadata.stopped.wait(CUT_HOLD_SECONDS)
                    return
                if self.headers.get(TOKEN_HEADER) not in metadata._tokens:
                    self._answer(401, "")
                    return
                found = metadata.value(self.path.removeprefix("/latest/"))
                self._answer(404, "") if found is None else self._answer(200, found)

            def _answer(self, status: int, body: str) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()  # a request held by a cut returns with the instance
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tokens.clear()

    def value(self, path: str) -> str | None:
        """What EC2's metadata service answers at `path` (below /latest/)."""
        tags_prefix = "meta-data/tags/instance/"
        if path == "meta-data/instance-id":
            return self.instance_id
        if path == "meta-data/local-ipv4":
            return self.address
        if path == "meta-data/iam/security-credentials/":
            return ROLE
        if path == f"meta-data/iam/security-credentials/{ROLE}":
            return CREDENTIALS
        if path.startswith(tags_prefix):
            return emulator.tag_of(self._ec2, self.instance_id, path.removeprefix(tags_prefix))
        return None
