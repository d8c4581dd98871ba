"""Envoy's admin API on loopback: listeners, stats, config_dump."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any


class AdminUnreachable(RuntimeError):
    """An admin call that got no HTTP answer; the message names the Envoy (`label`) and the path."""


class AdminClient:
    def __init__(self, base_url: str, timeout: float = 5.0,
                 enter: Callable[[], AbstractContextManager] | None = None, label: str = ""):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Which Envoy this is, for messages (e.g. "cilium-envoy pod X on node Y, port-forward 127.0.0.1:P").
        self.label = label or f"Envoy admin at {self.base_url}"
        # For an Envoy in another network namespace: each request is made inside `enter()`
        # (NetNamespace.entered), where the admin address is reachable.
        self.enter = enter

    def get(self, path: str, **params: str) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with (self.enter() if self.enter else nullcontext(),
                  urllib.request.urlopen(f"{self.base_url}{path}{query}", timeout=self.timeout) as resp):
                return resp.read().decode()
        except urllib.error.HTTPError:
            raise  # an HTTP answer: the caller reads its status
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out: no answer at all
            reason = getattr(exc, "reason", exc)
            raise AdminUnreachable(f"{self.label}: GET {path} got no answer within {self.timeout:g}s: "
                                   f"{reason}") from None

    def get_json(self, path: str, **params: str) -> Any:
        return json.loads(self.get(path, format="json", **params))

    def listeners(self) -> dict[str, str]:
        """Active listeners: name -> local address (as /listeners shows them, e.g. `127.0.0.1:11326`)."""
        out = {}
        for entry in self.get_json("/listeners").get("listener_statuses", []):
            sock = entry.get("local_address", {}).get("socket_address", {})
            out[entry["name"]] = f"{sock.get('address')}:{sock.get('port_value')}"
        return out

    def stats(self, filter_regex: str = "") -> dict[str, int]:
        """Counters and gauges whose names match `filter_regex` (histograms and text readouts left out)."""
        params = {"filter": filter_regex} if filter_regex else {}
        data = self.get_json("/stats", **params)
        return {s["name"]: s["value"] for s in data.get("stats", []) if isinstance(s.get("value"), int)}

    def stat(self, name: str) -> int:
        return self.stats(f"^{re.escape(name)}$").get(name, 0)

    def config_dump(self, name_regex: str = "") -> dict[str, Any]:
        params = {"name_regex": name_regex} if name_regex else {}
        return json.loads(self.get("/config_dump", **params))
