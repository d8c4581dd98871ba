"""Stand-in `kind`: clusters created (a kubeconfig written) and deleted, images loaded."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.cluster import Cluster, kubeconfig_text, system_object
from suites.rehearsal.standins.core import Call, Unhandled, load_data, next_seq, positionals, state
from suites.rehearsal.standins.docker import HOST_PLATFORM

# kind's and the kubectl's versions the stand-ins report (data/README.md: where each format was read)
KIND_VERSION = "kind v0.32.0 go1.26.3 linux/amd64"


def kind(call: Call, args: list[str]) -> int:
    root = call.root
    verb = positionals(args, ("--name", "--kubeconfig", "--config", "--image"))
    name = flag(args, "--name", "kind") or "kind"
    if args[:1] == ["version"]:
        call.out.write(KIND_VERSION + "\n")
        return 0
    if verb[:2] == ["get", "clusters"]:
        with state(root) as world:
            names = sorted(world["clusters"])
        if names:
            call.out.write("".join(n + "\n" for n in names))
        else:
            call.err.write("No kind clusters found.\n")
        return 0
    if verb[:2] == ["get", "nodes"]:
        with state(root) as world:
            if name not in world["clusters"]:
                call.err.write(f"No kind nodes found for cluster \"{name}\".\n")
                return 0
            call.out.write("".join(n + "\n" for n in world["clusters"][name]["nodes"]))
        return 0
    if verb[:2] == ["create", "cluster"]:
        return kind_create(call, args, name)
    if verb[:2] == ["delete", "cluster"]:
        call.err.write(f'Deleting cluster "{name}" ...\n')
        with state(root) as world:
            cluster = world["clusters"].pop(name, None)
            if cluster is not None:
                c = {"clusters": {name: cluster}, "seq": 0}
                call.notes["leftovers"] = Cluster(c, name).leftovers({"kube-system", "kube-public",
                                                                      "kube-node-lease", "default",
                                                                      "local-path-storage"})
                call.notes["existed"] = True
            for cid, container in list(world["containers"].items()):
                if container.get("node_of") == name:
                    del world["containers"][cid]
        return 0
    if verb[:2] == ["export", "kubeconfig"]:
        path = str(call.path(flag(args, "--kubeconfig") or call.home_kubeconfig()))
        with state(root) as world:
            if name not in world["clusters"]:
                call.err.write(f"ERROR: could not locate any control plane nodes for cluster named '{name}'. "
                               "Use the --name option to select a different cluster\n")
                return 1
            port = world["clusters"][name]["port"]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(kubeconfig_text(name, port))
        call.err.write(f'Set kubectl context to "kind-{name}"\n')
        return 0
    if verb[:2] == ["load", "image-archive"] or verb[:2] == ["load", "docker-image"]:
        items = verb[2:]
        with state(root) as world:
            if name not in world["clusters"]:
                call.err.write(f"ERROR: no nodes found for cluster \"{name}\"\n")
                return 1
            loaded = world["clusters"][name].setdefault("loaded", [])
            node = world["clusters"][name]["nodes"][0]
            if verb[1] == "image-archive":
                import tarfile

                for archive in items:
                    try:
                        with tarfile.open(call.path(archive)) as tar:
                            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
                            index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
                    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
                        call.err.write(f"ERROR: failed to load image: {exc}\n")
                        return 1
                    foreign = [m["digest"] for m in index.get("manifests", [])
                               if f"{m['platform']['os']}/{m['platform']['architecture']}" != HOST_PLATFORM]
                    if foreign:  # blobs of a platform never pulled: ctr --all-platforms stops there
                        call.err.write(ctr_import_failed(node, foreign[0]))
                        return 1
                    images = [t for entry in manifest for t in entry.get("RepoTags") or []]
                    call.notes.setdefault("images", []).extend(images)
                    loaded.extend(images)
            else:
                # Docker 29's default containerd image store: `kind load docker-image` saves the whole
                # multi-platform index and the node's import fails (kubernetes-sigs/kind#3795, #4066)
                image = items[0] if items else ""
                if image not in world["images"]:
                    call.err.write(f"ERROR: image: \"{image}\" not present locally\n")
                    return 1
                call.err.write(f'Image: "{image}" with ID "sha256:{hashlib.sha256(image.encode()).hexdigest()}"'
                               f' not yet present on node "{node}", loading...\n')
                call.err.write(ctr_import_failed(node, "sha256:" + hashlib.sha256(f"{image}@linux/arm64".encode())
                                                 .hexdigest()))
                return 1
        return 0
    raise Unhandled("kind", args)


def ctr_import_failed(node: str, digest: str) -> str:
    """kind's message when the node's `ctr images import` misses a blob (kubernetes-sigs/kind#4066)."""
    return (f'ERROR: failed to load image: command "docker exec --privileged -i {node} ctr --namespace=k8s.io '
            'images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\n'
            f"Command Output: ctr: content digest {digest}: not found\n")


def kind_create(call: Call, args: list[str], name: str) -> int:
    config_path = flag(args, "--config")
    config_text = call.keep_file(config_path) if config_path else ""
    kubeconfig = str(call.path(flag(args, "--kubeconfig") or call.home_kubeconfig()))
    import yaml  # only here: the kind config is YAML

    config = yaml.safe_load(config_text) if config_text else {}
    nodes_cfg = (config or {}).get("nodes") or [{"role": "control-plane"}]
    image = flag(args, "--image") or (nodes_cfg[0].get("image") if nodes_cfg else None) or "kindest/node"
    with state(call.root) as world:
        if name in world["clusters"]:
            call.err.write(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name '
                           f'"{name}"\n')
            return 1
    call.err.write(f'Creating cluster "{name}" ...\n ✓ Ensuring node image ({image.split("@")[0]}) 🖼\n'
                   f' ✓ Preparing nodes {" ".join("📦" for _ in nodes_cfg)}\n ✓ Writing configuration 📜\n')
    time.sleep(float(call.env.get("L7SUITE_REHEARSAL_KIND_CREATE", "0") or 0))
    names: list[str] = []
    workers = 0
    for node in nodes_cfg:
        if node.get("role", "control-plane") == "control-plane":
            names.append(f"{name}-control-plane" if f"{name}-control-plane" not in names
                         else f"{name}-control-plane{len(names) + 1}")
        else:
            workers += 1
            names.append(f"{name}-worker" + ("" if workers == 1 else str(workers)))
    version = image.split(":", 1)[1].split("@")[0] if ":" in image else "v1.36.1"
    with state(call.root) as world:
        port = 40000 + next_seq(world) % 20000
        world["clusters"][name] = {"nodes": names, "objects": {}, "port": port, "kubernetes": version,
                                   "config": config, "loaded": []}
        cluster = Cluster(world, name)
        for node in names:
            cluster.put(system_object({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux",
                                                      **({"node-role.kubernetes.io/control-plane": ""}
                                                         if "control-plane" in node else {})}},
                "status": {"nodeInfo": {"kubeletVersion": version, "containerRuntimeVersion": "containerd://2.1.1",
                                        "operatingSystem": "linux", "architecture": "amd64"},
                           "addresses": [{"type": "InternalIP", "address": cluster.node_address(node)},
                                         {"type": "Hostname", "address": node}]}}))
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"):
            cluster.put(system_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        for obj in load_data("k8s/kind-system.json"):
            cluster.put(system_object(obj))
    Path(kubeconfig).parent.mkdir(parents=True, exist_ok=True)
    Path(kubeconfig).write_text(kubeconfig_text(name, port))
    call.err.write(" ✓ Starting control-plane 🕹️\n ✓ Installing StorageClass 💾\n"
                   + (" ✓ Joining worker nodes 🚜\n" if workers else "")
                   + f'Set kubectl context to "kind-{name}"\nYou can now use your cluster with:\n\n'
                   f"kubectl cluster-info --context kind-{name}\n\n"
                   "Have a question, bug, or feature request? Let us know! https://kind.sigs.k8s.io/#community 🙂\n")
    return 0
