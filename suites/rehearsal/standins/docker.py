"""Stand-in `docker`: info/version, pull/tag/save for the preload, run/inspect/logs/rm beside the nodes."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from pathlib import Path
from typing import Any

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.core import Call, Unhandled, next_seq, positionals, state, suffix

HOST_PLATFORM = "linux/amd64"
DOCKER = {"ServerVersion": "29.1.3",
          "Client": {"Version": "29.1.3", "APIVersion": "1.52", "Os": "linux", "Arch": "amd64"},
          "Server": {"Version": "29.1.3", "APIVersion": "1.52", "MinAPIVersion": "1.44", "Os": "linux",
                     "Arch": "amd64"}}


def go_template(template: str, data: dict[str, Any]) -> str:
    """The `{{.A.B}}` and `{{json .A}}` forms of Go templates that `docker --format` callers use."""
    def value(path: str) -> Any:
        node: Any = data
        for part in filter(None, path.strip().lstrip(".").split(".")):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def render(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr.startswith("json "):
            return json.dumps(value(expr[5:]), separators=(",", ":"))
        if not expr.startswith("."):
            raise KeyError(expr)
        found = value(expr)
        return "<no value>" if found is None else str(found)

    return re.sub(r"\{\{(.*?)\}\}", render, template)


def docker(call: Call, args: list[str]) -> int:
    verb = args[0] if args else ""
    fmt = flag(args, "--format") or flag(args, "-f")
    if verb in ("info", "version"):
        if fmt is None:
            raise Unhandled("docker", args)
        call.out.write(go_template(fmt, DOCKER) + "\n")
        return 0
    words = positionals(args[1:], ("--platform", "--output", "-o", "--format", "-f", "--network", "--name",
                                   "--label", "-e", "--env", "--filter"))
    with state(call.root) as world:
        if verb == "pull":
            image = words[0]
            repo, _, tag = image.split("@")[0].rpartition(":")
            call.out.write(f"{tag}: Pulling from {repo.split('/', 1)[-1]}\n"
                           f"Digest: sha256:{hashlib.sha256(image.encode()).hexdigest()}\n"
                           f"Status: Downloaded newer image for {image}\n{image}\n")
            if image not in world["images"]:
                world["images"].append(image)
            return 0
        if verb == "tag":
            source, target = words[0], words[1]
            if source not in world["images"]:
                call.err.write(f"Error response from daemon: No such image: {source}\n")
                return 1
            world["images"].append(target)
            return 0
        if verb == "save":
            output = flag(args, "--output") or flag(args, "-o")
            missing = [i for i in words if i not in world["images"]]
            if missing:
                call.err.write(f"Error response from daemon: No such image: {missing[0]}\n")
                return 1
            if not output:
                raise Unhandled("docker", args)
            write_archive(call.path(output), words, flag(args, "--platform"))
            call.notes["images"] = words
            return 0
        if verb == "inspect":
            name = words[0] if words else ""
            found = container_view(world, name)
            if found is None:
                call.err.write(f"Error: No such object: {name}\n")
                return 1
            call.out.write(go_template(fmt or "{{json .}}", found) + "\n")
            return 0
        if verb == "run":
            return docker_run(call, world, args)
        if verb == "logs":
            name = words[0] if words else ""
            if container_view(world, name) is None:
                call.err.write(f"Error response from daemon: No such container: {name}\n")
                return 1
            return 0  # nothing reached the container
        if verb == "rm":
            for name in words:
                if world["containers"].pop(name, None) is not None:
                    call.out.write(name + "\n")
                elif "-f" not in args and "--force" not in args:
                    call.err.write(f"Error response from daemon: No such container: {name}\n")
                    return 1
            return 0
    raise Unhandled("docker", args)


def write_archive(path: Path, images: list[str], platform: str | None) -> None:
    """`docker save`'s archive: manifest.json (each image's RepoTags) and the OCI index.json. Docker 29's
    default containerd image store keeps a pulled image's whole multi-platform index: without
    `--platform` the index names platforms whose blobs were never pulled (kubernetes-sigs/kind#3795)."""
    import tarfile

    def digest(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    manifest = [{"Config": f"blobs/sha256/{digest(i)[7:]}", "RepoTags": [i], "Layers": []} for i in images]
    platforms = [platform] if platform else [HOST_PLATFORM, "linux/arm64"]
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"digest": digest(f"{i}@{p}"), "platform": dict(zip(("os", "architecture"),
                                                                                p.split("/"), strict=True)),
                            "annotations": {"io.containerd.image.name": i}} for i in images for p in platforms]}
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), ("index.json", index)):
            body = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def container_view(world: dict[str, Any], name: str) -> dict[str, Any] | None:
    """What `docker inspect` knows of a kind node container or a container a test started."""
    for cluster_name, cluster in world["clusters"].items():
        if name in cluster["nodes"]:
            address = f"172.18.0.{cluster['nodes'].index(name) + 2}"
            return {"Name": f"/{name}", "State": {"Status": "running", "Running": True},
                    "NetworkSettings": {"Networks": {"kind": {"IPAddress": address, "Gateway": "172.18.0.1",
                                                              "IPPrefixLen": 16}}},
                    "Config": {"Labels": {"io.x-k8s.kind.cluster": cluster_name}}}
    container = world["containers"].get(name)
    if container is None:
        return None
    return {"Name": f"/{name}", "State": {"Status": "running", "Running": True},
            "NetworkSettings": {"Networks": {container["network"]: {"IPAddress": container["address"],
                                                                    "Gateway": "172.18.0.1", "IPPrefixLen": 16}}},
            "Config": {"Image": container["image"], "Labels": container["labels"]}}


def docker_run(call: Call, world: dict[str, Any], args: list[str]) -> int:
    name = flag(args, "--name") or f"stand_in_{suffix(world)}"
    network = flag(args, "--network") or "bridge"
    words = positionals(args[1:], ("--network", "--name", "--label", "-e", "--env", "--platform"))
    image = words[0] if words else ""
    if name in world["containers"]:
        cid = world["containers"][name]["id"]
        call.err.write(f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in '
                       f'use by container "{cid}". You have to remove (or rename) that container to be able to '
                       "reuse that name.\n")
        return 125
    labels = {}
    for i, a in enumerate(args):
        if a == "--label" and i + 1 < len(args):
            k, _, v = args[i + 1].partition("=")
            labels[k] = v
    cid = hashlib.sha256(f"{name}{time.time_ns()}".encode()).hexdigest()
    node_of = next((c for c in world["clusters"] if labels.get("l7suite.cluster") == c), None)
    world["containers"][name] = {"id": cid, "image": image, "network": network, "labels": labels,
                                 "address": f"172.18.0.{100 + next_seq(world) % 100}", "node_of": node_of}
    call.out.write(cid + "\n")
    return 0
