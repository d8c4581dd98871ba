"""Run by test_hygiene.py in a child pytest: starts a scenario's manifests (the folder SUITE_SELF_CHECKS
declares), reports what it holds, then ends as told."""

import json
import os
import time
from pathlib import Path

from l7suite.scenarios import SUITE_SELF_CHECKS

SCENARIO = SUITE_SELF_CHECKS


def test_probe(envoy_run):
    run = envoy_run
    ports = [run.ads.port, int(run.admin.base_url.rsplit(":", 1)[1]), *run.translated.listener_ports.values(),
             *(b.port for b in run.standins.all())]
    out = Path(os.environ["L7SUITE_PROBE_OUT"])
    written = out.with_suffix(".partial")  # renamed into place: the parent never reads a half-written file
    written.write_text(json.dumps({"envoy_pid": run.envoy.pid, "ports": ports}))
    written.replace(out)
    # The parent checks what we hold before we end. It starts the four probes at once and comes to this one
    # after the tests of the others (each bounded by its own waits): wait up to 5 minutes.
    go = out.with_suffix(".go")
    for _ in range(15000):
        if go.exists():
            break
        time.sleep(0.02)
    mode = os.environ["L7SUITE_PROBE_MODE"]
    if mode == "fail":
        raise AssertionError("deliberate failure")
    if mode == "hang":
        time.sleep(120)  # the parent interrupts or kills us long before
