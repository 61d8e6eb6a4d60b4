"""EC2's stop as long as it really takes, in the drill's moto server.

moto stops an instance at once. EC2 reports `stopping` for seconds to minutes first (a forced stop
of a running instance included), and the instance may run on meanwhile: the failover function
must wait for `stopped` before it promotes. While the control file holds a number of seconds,
each stop here passes through `stopping` for that long; the drill's hypervisor kills a node's
processes only at `stopped`. Imported by the moto server the drill starts (drill/emulator.py).
"""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path
from typing import Any

CONTROL = "DRILL_STOP_SECONDS_FILE"
"""The environment variable naming the control file."""


def install() -> None:
    from moto.ec2.models.instances import Instance  # noqa: PLC0415 (only inside moto's server)

    control = Path(os.environ[CONTROL])
    stop_at_once = Instance.stop

    def stop(self: Any) -> Any:
        try:
            seconds = float(control.read_text())
        except (OSError, ValueError):
            seconds = 0.0
        if seconds <= 0 or self._state.name in ("stopping", "stopped"):
            return stop_at_once(self)
        previous = copy.copy(self._state)
        self._state.name, self._state.code = "stopping", 64
        timer = threading.Timer(seconds, stop_at_once, (self,))
        timer.daemon = True
        timer.start()
        return previous

    Instance.stop = stop  # type: ignore[method-assign]
