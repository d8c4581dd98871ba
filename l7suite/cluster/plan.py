"""What a run would do, computed from the options alone: printed by `--plan`, used by the run itself.

Nothing here starts a process: the kind release that picks the pinned node image comes in the options
(`RunOptions.kind_version`, which fixtures/e2e_plan.py asks l7suite/cluster/prereqs.py for); Docker is
never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from l7suite.cluster.helm_values import helm_values, value_files
from l7suite.cluster.kindconfig import kind_config, render
from l7suite.cluster.tool_pins import CILIUM_CHART_REPO, DEFAULT_KIND_VERSION, node_image_for
from l7suite.manifests import load_manifest_set, placeholders_in
from l7suite.scenarios import Scenario
from l7suite.versions import NodeImageChoice

CHART_ENVOY = "(the chart's envoy.image, read with `helm show values` at run time)"


@dataclass(frozen=True)
class RunOptions:
    cilium_version: str
    envoy_mode: str = "daemonset"
    envoy_image: str | None = None
    kubeconfig: Path | None = None
    cluster_name: str = "l7suite"
    keep_cluster: bool = False  # the kind cluster stays after the run
    keep_namespaces: bool = False  # each scenario's namespace and stage objects stay after it ran
    preload: bool = False
    kind_version: str = DEFAULT_KIND_VERSION


@dataclass(frozen=True)
class ScenarioPlan:
    name: str  # the scenario's (l7suite/scenarios/)
    folder: str  # under manifests/
    namespaces: tuple[str, ...]
    images: tuple[str, ...]
    stages: tuple[str, ...]
    variables: tuple[str, ...] = ()  # `${NAME}` placeholders filled at run time
    notes: tuple[str, ...] = ()  # what it does beyond applying the folder, and what it needs (its declaration)


@dataclass
class RunPlan:
    options: RunOptions
    kind_config: dict[str, Any] | None
    chart: str
    value_files: list[Path]
    values: dict[str, Any]
    cilium_images: list[str]
    scenarios: list[ScenarioPlan] = field(default_factory=list)
    # the kind node image, chosen inside the Cilium release's tested Kubernetes range (matrix.yaml)
    node_image: NodeImageChoice | None = None

    @property
    def preload_images(self) -> list[str]:
        """What `--preload-images` loads into the kind nodes: Cilium's images, then every scenario's
        (none for a --kubeconfig cluster: the suite does not know how to load images into it)."""
        if not self.options.preload or self.options.kubeconfig is not None:
            return []
        out: list[str] = []
        for image in self.cilium_images + [i for s in self.scenarios for i in s.images]:
            if image not in out:
                out.append(image)
        return out


def cilium_images(options: RunOptions) -> list[str]:
    """Images of the chart's components at this version (agent, operator, relay) and the Envoy image."""
    tag = f"v{options.cilium_version}"
    images = [f"quay.io/cilium/cilium:{tag}", f"quay.io/cilium/operator-generic:{tag}",
              f"quay.io/cilium/hubble-relay:{tag}"]
    if options.envoy_mode == "daemonset":
        images.append(options.envoy_image or f"quay.io/cilium/cilium-envoy {CHART_ENVOY}")
    return images


def scenario_plan(declared: Scenario, manifests_dir: Path) -> ScenarioPlan:
    folder = declared.e2e_folder
    if folder is None:
        raise ValueError(f"scenario {declared.name!r} has no e2e tier (no `manifests` in its declaration)")
    # placeholders stay visible as `${NAME}`: their values exist only during the run
    variables = placeholders_in(manifests_dir / folder)
    scenario = load_manifest_set(folder, manifests_dir, {v: f"${{{v}}}" for v in variables})
    images: list[str] = []
    for obj in scenario.objects:
        spec = obj.spec.get("template", {}).get("spec", {}) if obj.kind == "Deployment" else obj.spec
        for container in spec.get("containers", []) if obj.kind in ("Deployment", "Pod") else []:
            if container["image"] not in images:
                images.append(container["image"])
    namespaces = tuple(o.name for o in scenario.of_kind("Namespace"))
    return ScenarioPlan(declared.name, folder, namespaces, tuple(images), tuple(scenario.stage_files()),
                        tuple(variables), (*declared.plan_notes, *declared.needs.lines("e2e")))


def build_plan(options: RunOptions, values_dir: Path, manifests_dir: Path, scenarios: Sequence[Scenario]) -> RunPlan:
    existing = options.kubeconfig is not None
    node = None if existing else node_image_for(options.kind_version, options.cilium_version)
    return RunPlan(
        options=options,
        kind_config=None if node is None else kind_config(options.cluster_name, node.image),
        node_image=node,
        chart=f"cilium {options.cilium_version} from {CILIUM_CHART_REPO}",
        value_files=value_files(values_dir, options.envoy_mode),
        values=helm_values(values_dir, options.cluster_name, options.envoy_mode, options.envoy_image,
                           options.preload),
        cilium_images=cilium_images(options),
        scenarios=[scenario_plan(s, manifests_dir) for s in scenarios],
    )


def render_plan(plan: RunPlan) -> str:
    o = plan.options
    lines = ["e2e run plan (nothing was started)", ""]
    if o.kubeconfig:
        lines += [f"cluster: existing, through {o.kubeconfig} (checked for Cilium, Envoy and Hubble Relay; "
                  "no kind, no Helm install, no preload)"]
    else:
        lines += [f"cluster: kind cluster {o.cluster_name!r} (kind v{o.kind_version}; reused if it exists; "
                  f"{'kept' if o.keep_cluster else 'deleted'} at the end)"]
        if plan.node_image is not None:
            lines.append(f"kind node image: {plan.node_image.image} ({plan.node_image.reason})")
        lines += ["kind config:",
                  _indent(render(plan.kind_config or {}))]
        lines += [f"helm: upgrade --install cilium, chart {plan.chart}, namespace kube-system",
                  "value files: " + ", ".join(str(p) for p in plan.value_files), "effective values:",
                  _indent(yaml.safe_dump(plan.values, sort_keys=True))]
    lines.append(f"envoy mode: {o.envoy_mode}" + (f", image {o.envoy_image}" if o.envoy_image else ""))
    lines.append("scenario namespaces: " + ("kept after each scenario (--keep-namespaces)" if o.keep_namespaces
                                            else "deleted after each scenario"))
    if o.preload and o.kubeconfig is None:
        lines += ["preload (docker pull, docker save --platform, kind load image-archive):"]
        lines += [f"  {i}" for i in plan.preload_images]
    elif o.preload:
        lines.append("preload: not done on a --kubeconfig cluster (the nodes pull images themselves)")
    else:
        lines.append("preload: off (nodes pull images themselves; --preload-images to pull once on the host)")
    lines.append("scenarios:")
    for s in plan.scenarios:
        lines.append(f"  {s.name}: namespaces {', '.join(s.namespaces) or '-'}; stages {', '.join(s.stages) or '-'}; "
                     f"images {', '.join(s.images) or '-'}")
        lines.append(f"    manifests/{s.folder}/")
        if s.variables:
            lines.append(f"    filled at run time: {', '.join(s.variables)}")
        lines += [f"    {note}" for note in s.notes]
    if not plan.scenarios:
        lines.append("  (none selected)")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.rstrip().splitlines())
