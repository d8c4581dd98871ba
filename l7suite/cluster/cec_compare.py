"""Does a CiliumEnvoyConfig the operator generated contain what a reference manifest says? Every difference.

A subset comparison: each field the reference sets must be present in the actual object with an equal
value; fields only the actual object has are fine (newer Cilium releases add some). It never stops at
the first mismatch: the result lists every difference with its path, so one failed run shows them all.

- Keys are compared in protobuf's JSON (lowerCamelCase) spelling: the operator writes `lbPolicy`
  (kubectl prints the stored spec as is, seed 004), a hand-written manifest may say `lb_policy`.
- List elements that are mappings with a `name` are matched by name, and Envoy resources by type and
  name (filters, virtual hosts, resources); other lists are matched position by position.
- Paths read `spec.resources[Cluster grpc/currencyservice].lbPolicy`; `ignore` takes such paths (a prefix
  ignores everything below it), for fields a step of the scenario has not set yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    path: str
    problem: str  # "missing", "differs", "type"
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        if self.problem == "missing":
            return f"{self.path}: missing (expected {self.expected!r})"
        if self.problem == "type":
            return f"{self.path}: expected a {type(self.expected).__name__}, got {self.actual!r}"
        return f"{self.path}: expected {self.expected!r}, got {self.actual!r}"


def camel(key: str) -> str:
    """`lb_policy` -> `lbPolicy`; keys without underscores (`@type`, type URLs) are kept."""
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(str(k)): normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _key(item: dict[str, Any]) -> str:
    """How a named list element is matched and shown: `Cluster grpc/currencyservice` for an Envoy
    resource (the operator gives its listener, route and cluster the same name), else the name."""
    kind = str(item.get("@type", "")).rsplit(".", 1)[-1]
    return f"{kind} {item.get('name')}" if kind else str(item.get("name"))


def _walk(expected: Any, actual: Any, path: str, out: list[Difference]) -> None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append(Difference(path, "type", expected, actual))
            return
        for key, want in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(Difference(where, "missing", want))
            else:
                _walk(want, actual[key], where, out)
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            out.append(Difference(path, "type", expected, actual))
            return
        if _named(expected):
            by_key = {_key(i): i for i in actual if isinstance(i, dict)}
            for item in expected:
                where = f"{path}[{_key(item)}]"
                if _key(item) not in by_key:
                    out.append(Difference(where, "missing", item))
                else:
                    _walk(item, by_key[_key(item)], where, out)
        else:
            for index, item in enumerate(expected):
                where = f"{path}[{index}]"
                if index >= len(actual):
                    out.append(Difference(where, "missing", item))
                else:
                    _walk(item, actual[index], where, out)
    elif expected != actual:
        out.append(Difference(path, "differs", expected, actual))


def _ignored(path: str, ignore: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in ignore)


def subset_differences(expected: Any, actual: Any, ignore: Iterable[str] = (), root: str = "") -> list[Difference]:
    """Every place where `actual` lacks or contradicts what `expected` sets (after key normalization)."""
    out: list[Difference] = []
    _walk(normalize(expected), normalize(actual), root, out)
    ignore = tuple(ignore)
    return [d for d in out if not _ignored(d.path, ignore)]


def compare_specs(reference: dict[str, Any], actual: dict[str, Any], ignore: Iterable[str] = ()) -> list[Difference]:
    """A CEC's spec against a reference object's spec; paths start at `spec`."""
    return subset_differences(reference.get("spec") or {}, actual.get("spec") or {}, ignore, root="spec")


def render(differences: list[Difference]) -> str:
    if not differences:
        return "no differences"
    return f"{len(differences)} difference(s):\n" + "\n".join(f"  - {d}" for d in differences)
