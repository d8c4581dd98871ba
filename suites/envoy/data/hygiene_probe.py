"""Run by test_hygiene.py in a child pytest: starts a scenario, reports what it holds, then ends as told."""

import json
import os
import time
from pathlib import Path

SCENARIO = "weighted-lb"


def test_probe(scenario_run):
    run = scenario_run
    ports = [run.ads.port, int(run.admin.base_url.rsplit(":", 1)[1]), *run.translated.listener_ports.values(),
             *(b.port for b in run.standins.all())]
    out = Path(os.environ["L7SUITE_PROBE_OUT"])
    out.write_text(json.dumps({"envoy_pid": run.envoy.pid, "ports": ports}))
    go = out.with_suffix(".go")  # the parent checks what we hold before we end
    for _ in range(300):
        if go.exists():
            break
        time.sleep(0.1)
    mode = os.environ["L7SUITE_PROBE_MODE"]
    if mode == "fail":
        raise AssertionError("deliberate failure")
    if mode == "hang":
        time.sleep(120)  # the parent interrupts or kills us long before
