"""A node's network path to an AWS endpoint, which the drill can cut.

The node's agent reaches DynamoDB through its gate (its `AWS_ENDPOINT_URL`): a TCP relay to moto's
server. Cut, the gate accepts connections and answers nothing, as a lost route does on AWS (a
blackholed gateway endpoint, a node cut off from its subnet's routes): the caller's own timeout
decides how long it waits, not a quick refusal.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class Gate:
    """Relays 127.0.0.1:<port> to `target_port` on loopback until cut."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.cut = threading.Event()
        self._closed = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, name="gate", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for held in self._held:
            held.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                self._held.append(client)  # never answered: the caller times out
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError), socket.create_connection(self._target) as server:
            peers = {client: server, server: client}
            while not self._closed.is_set():
                if self.cut.is_set():  # in flight: nothing more passes, and nothing says so
                    self._closed.wait(0.2)
                    continue
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    peers[source].sendall(data)
