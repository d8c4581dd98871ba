"""Open a page in headless Chromium (Debian's package) and watch every request it attempts.

Two independent witnesses of network use, so that "no request" is proven rather than assumed:
- the DevTools protocol: every request the page or its frames start (Network.requestWillBeSent),
  whatever the scheme; anything not file:, data:, blob: or about: counts as a network attempt;
- a counting proxy: the page lives in a browser context of its own whose proxy (loopback included)
  is a local socket that records the request line and closes, so even a request DevTools does not
  report (a worker, a preconnect) is seen, and nothing leaves the machine.
The browser's own background traffic (Chromium still calls update and account services in headless
mode, whatever the flags) goes to a second, separate sink: it is not the page's doing, and it does
not leave the machine either.
Chromium is started in its own process group and killed with it, whatever happens.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome-error:", "devtools:")
# Debian's /usr/bin/chromium is a wrapper that exports Google API keys and turns on remote extensions
# (/etc/chromium.d): with them the browser itself talks to accounts.google.com and the update
# service. The binary behind it, started directly, does not; the wrapper is the fallback.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
# Everything the browser would do on its own (time queries, updates, field trials, safe browsing)
# switched off, so that the proxy sees only what the page asks for.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
         "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--disable-field-trial-config",
         "--no-pings", "--metrics-recording-only", "--disable-dev-shm-usage", "--mute-audio",
         "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
         "CertificateTransparencyComponentUpdater,AutofillServerCommunication",
         "--remote-debugging-port=0")


# DevTools' answer to a Runtime.evaluate that a navigation overtook (the old document went away)
NAVIGATING = "Inspected target navigated or closed"


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer; the message says what happened."""


def find_chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CountingProxy:
    """An HTTP proxy that serves nothing: it records each request line (CONNECT host:443 or GET
    http://...) and closes the connection."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                except OSError:
                    line = "(connection without a request line)"
                self.requests.append(line)

    def close(self) -> None:
        self._server.close()


@dataclass
class Page:
    """One tab, attached through the DevTools protocol (flattened session)."""

    ws: websocket.WebSocket
    session: str
    requests: list[str] = field(default_factory=list)       # every URL the page asked for
    console_errors: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if self.session:  # empty: a browser-level command
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(deadline - time.monotonic(), 0.01))
            answer = json.loads(self.ws.recv())
            self._observe(answer)
            if answer.get("id") == msg_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
        raise BrowserError(f"{method}: no answer within {timeout} s")

    def _observe(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(params["exceptionDetails"].get("text", "exception"))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluating {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        """Poll a JS expression until it is truthy; its last value otherwise (the caller asserts).
        A poll that meets a navigation (the page being replaced) counts as "not yet"."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except BrowserError as exc:
                if NAVIGATING not in str(exc):
                    raise
                value = None
            if value:
                return value
            time.sleep(0.2)
        return value

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def text(self) -> str:
        return str(self.evaluate("document.body?.innerText ?? ''"))

    def network_attempts(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


@dataclass
class Browser:
    process: subprocess.Popen
    ws: websocket.WebSocket
    proxy: CountingProxy       # the pages' traffic
    background: CountingProxy  # the browser's own traffic (diagnostics only)

    def new_page(self) -> Page:
        page = Page(self.ws, "")
        context = page.send("Target.createBrowserContext", {
            "proxyServer": f"http://127.0.0.1:{self.proxy.port}", "proxyBypassList": "<-loopback>"})
        target = page.send("Target.createTarget", {"url": "about:blank",
                                                   "browserContextId": context["browserContextId"]})
        attached = page.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page.session = attached["sessionId"]
        for domain in ("Page.enable", "Network.enable", "Runtime.enable"):
            page.send(domain)
        return page

    def network_attempts(self, page: Page) -> list[str]:
        """Everything that left the page or the browser: DevTools' non-local URLs and the proxy's lines."""
        return [*page.network_attempts(), *(f"proxy: {line}" for line in self.proxy.requests)]


def _wait_for_devtools(user_data: Path, process: subprocess.Popen, timeout: float) -> str:
    port_file = user_data / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with {process.returncode} before DevTools was up")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise BrowserError(f"chromium: no DevTools endpoint within {timeout} s")


@contextmanager
def chromium(executable: str | None = None, timeout: float = 30) -> Iterator[Browser]:
    executable = executable or find_chromium()
    if not executable:
        raise BrowserError("no Chromium on PATH: apt-get install -y chromium")
    proxy, background = CountingProxy(), CountingProxy()
    with tempfile.TemporaryDirectory(prefix="l7suite-chromium-") as tmp:
        user_data = Path(tmp)
        log = (user_data / "chromium.log").open("w")
        process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={user_data}",
             f"--proxy-server=http://127.0.0.1:{background.port}", "--proxy-bypass-list=<-loopback>", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        ws = None
        try:
            endpoint = _wait_for_devtools(user_data, process, timeout)
            ws = websocket.create_connection(endpoint, timeout=timeout, suppress_origin=True)
            yield Browser(process, ws, proxy, background)
        finally:
            if ws is not None:
                _close_browser(ws, process)
            _kill_group(process)
            log.close()
            proxy.close()
            background.close()


def _close_browser(ws: websocket.WebSocket, process: subprocess.Popen) -> None:
    """Ask Chromium to quit, so that it reaps its own helpers; _kill_group is the fallback."""
    try:
        ws.send(json.dumps({"id": 1, "method": "Browser.close"}))
        process.wait(timeout=5)
    except (OSError, websocket.WebSocketException, subprocess.TimeoutExpired):
        pass
    finally:
        ws.close()


def _kill_group(process: subprocess.Popen) -> None:
    """Chromium forks renderers and helpers: end the whole group, then reap the leader."""
    with suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
