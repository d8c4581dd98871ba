"""Envoy-tier child runs forked from the forkserver (suites/child_pytest.py) end as `python -m pytest` would,
see the environment they are given, and their CPU time is counted although this process never reaps them."""

import signal

from benchmarks.cpu_per_test import process_cpu, reaped_children_cpu
from suites.child_pytest import run_pytest, start_pytest
from suites.processes import wait_for

PROBE = "suites/unit/data/forked_probe.py"


def test_a_failing_run_exits_1_with_its_output_and_its_cpu_time_counted():
    cpu, reaped = process_cpu(), reaped_children_cpu()
    done = run_pytest(PROBE, "-p", "no:randomly", env={"L7SUITE_PROBE_CPU_S": "0.3", "L7SUITE_PROBE_MODE": "fail"},
                      timeout=60)
    assert done.returncode == 1, done.stdout
    assert "AssertionError: deliberate failure after 0.3 s of CPU" in done.stdout
    # The forkserver reaped the child, so this process's RUSAGE_CHILDREN never saw it: the benchmark's CPU per
    # test counts it through what the child reported.
    assert reaped_children_cpu() - reaped < 0.3
    assert process_cpu() - cpu >= 0.3


def test_ctrl_c_ends_a_run_as_interrupted_and_kill_as_minus_9(tmp_path):
    for ending, expected in (("interrupt", 2), ("kill", -signal.SIGKILL)):
        out = tmp_path / f"{ending}.started"
        env = {"L7SUITE_PROBE_CPU_S": "0", "L7SUITE_PROBE_MODE": "hang", "L7SUITE_PROBE_OUT": str(out)}
        child = start_pytest(PROBE, "-p", "no:randomly", env=env, log=tmp_path / f"{ending}.log")
        try:
            assert wait_for(out.exists, 30), (tmp_path / f"{ending}.log").read_text()
            if ending == "interrupt":
                child.send_signal(signal.SIGINT)
            else:
                child.kill()
            assert child.wait(30) == expected, (tmp_path / f"{ending}.log").read_text()
        finally:
            child.kill()
            child.wait()
    assert "KeyboardInterrupt" in (tmp_path / "interrupt.log").read_text()
