"""Rehearsal: `--plan` only reads, and the full run's bring-up does what the plan announced (one kind create
with the planned config, one Helm install with the planned values, the planned images preloaded)."""

from __future__ import annotations

import yaml

from l7suite.cluster.e2e_steps import option_value
from l7suite.cluster.helm_values import without_digest
from l7suite.cluster.plan import CHART_ENVOY
from suites.rehearsal.planned import Planned
from suites.rehearsal.rehearsal_runs import Rehearsal
from suites.rehearsal.runner import Run


def test_plan_only_reads(rehearsal: Rehearsal, planned: Planned) -> None:
    calls = rehearsal.get("plan").calls()
    allowed = {("kind", "version")}
    assert [str(c) for c in calls.calls if (c.tool, *c.words[:1]) not in allowed] == []


def test_one_kind_create_with_the_planned_config(full: Run, planned: Planned) -> None:
    creates = full.calls().of("kind", "create", "cluster")
    assert len(creates) == 1, [str(c) for c in creates]
    config = creates[0].files.get(str(option_value(creates[0].argv, "--config")))
    assert config is not None, f"kind create got no --config file: {creates[0]}"
    assert yaml.safe_load(config) == planned.kind_config


def test_one_helm_install_with_the_planned_values(full: Run, planned: Planned) -> None:
    installs = [c for c in full.calls().of("helm", "upgrade") if "--install" in c.argv]
    assert len(installs) == 1, [str(c) for c in installs]
    (values,) = installs[0].files.values()
    assert yaml.safe_load(values) == planned.values


def test_preloaded_images_are_the_planned_ones(full: Run, planned: Planned) -> None:
    calls = full.calls()
    chart_envoy = [c for c in calls.of("helm", "show", "values") if c.exit == 0]
    resolved = []
    for image in planned.preload:
        if CHART_ENVOY in image:
            assert chart_envoy, "the plan lists the chart's cilium-envoy image but the run never read it"
            envoy = yaml.safe_load(chart_envoy[0].end["stdout"])["envoy"]["image"]  # type: ignore[index]
            image = f"{envoy['repository']}:{envoy['tag']}"
        resolved.append(image)
    pulled = [c.words[1] for c in calls.of("docker", "pull") if c.exit == 0]
    loaded = [image for c in calls.of("kind", "load") if c.exit == 0 for image in c.notes.get("images", [])]
    assert sorted(pulled) == sorted(resolved)
    assert sorted(loaded) == sorted(without_digest(i) for i in resolved)
