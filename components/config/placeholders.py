"""Placeholders still in a stack's config: values the committed example files carry so that
they plan, and that nobody should deploy. The offline plan lists them; under a real engine a
production stack holding one is refused (`refuse_in_production`), before any resource exists.

What counts as a placeholder, each with the reason printed beside it:
- an address or network in a documentation range (RFC 5737's three /24s, RFC 3849's 2001:db8::/32);
- an e-mail address or host name in a domain reserved for examples (RFC 2606 and RFC 6761:
  example.com, .net, .org, and the .example, .test, .invalid TLDs);
- an AWS account id the AWS documentation uses as its example (123456789012, 111122223333),
  wherever it stands in a value (an ARN);
- a value marked as a placeholder: the all-zero UUID, or text holding `placeholder`,
  `replace-me` or `changeme`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.proto import resource_pb2_grpc

DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example", "test", "invalid")
EXAMPLE_ACCOUNTS = ("123456789012", "111122223333")
MARKS = ("placeholder", "replace-me", "changeme", "00000000-0000-0000-0000-000000000000")

_ACCOUNT = re.compile(r"(?<!\d)(" + "|".join(EXAMPLE_ACCOUNTS) + r")(?!\d)")


@dataclass(frozen=True, order=True)
class Placeholder:
    key: str
    """Where it is, as the stack file spells it: `multitier:app.certificateArn`."""
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.why}"


def find(config: Mapping[str, Any]) -> list[Placeholder]:
    """The placeholders in a stack file's `config:` mapping (`namespace:name` keys)."""
    return sorted(p for key, value in config.items() for p in _walk(str(key), value))


def _walk(key: str, value: Any) -> Iterator[Placeholder]:
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from _walk(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(f"{key}[{index}]", item)
    elif isinstance(value, str):
        why = _why(value)
        if why:
            yield Placeholder(key, value, why)


def _why(text: str) -> str | None:
    """Every reason `text` is a placeholder, or None."""
    reasons = []
    lowered = text.lower()
    mark = next((m for m in MARKS if m in lowered), None)
    if mark:
        reasons.append(f"marked as a placeholder ({mark})")
    network = _network(text)
    for documentation in DOCUMENTATION_NETWORKS if network is not None else ():
        if network.version == documentation.version and network.subnet_of(documentation):  # type: ignore[union-attr, arg-type]
            reasons.append(f"in the documentation range {documentation}, which no host holds")
    if account := _ACCOUNT.search(text):
        reasons.append(f"the AWS documentation's example account {account[1]}")
    host = text.rpartition("@")[2].lower()
    if (
        "." in host
        and " " not in host
        and any(host == d or host.endswith(f".{d}") for d in EXAMPLE_DOMAINS)
    ):
        reasons.append(
            "an e-mail address in a domain reserved for examples, which nobody receives"
            if "@" in text
            else "a host name in a domain reserved for examples, which resolves nowhere"
        )
    return "; ".join(reasons) or None


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def real_engine() -> bool:
    """Whether a Pulumi engine runs the program (`pulumi preview`, `pulumi up`), rather than
    the mocks of the offline plan and the tests.

    `pulumi.runtime.is_dry_run()` cannot tell: the offline plan runs the mocks with
    `preview=False`, as `pulumi up` runs, and `pulumi preview` is a dry run as a mock run with
    `preview=True` is. What differs is the resource monitor the runtime talks to: the engine's is
    a gRPC stub (`ResourceMonitorStub`), the mocks' a `MockMonitor`. This is the seam; the tests
    flip it both ways.
    """
    monitor = pulumi.runtime.settings.get_monitor()
    return isinstance(monitor, resource_pb2_grpc.ResourceMonitorStub)


def refusal(stack: str, found: list[Placeholder]) -> str:
    lines = "\n".join(f"  {p}" for p in found)
    return (
        f"stack {stack!r} is production and still holds placeholders; replace each with the "
        f"real value before `pulumi up` (the offline plan lists them too):\n{lines}"
    )
