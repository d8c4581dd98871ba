"""What a client pod's curl got, as the checks name it: dropped (curl timed out: a kernel policy drop looks
like this from the client, exit 28 as in the lab), or an HTTP answer with a given status and body."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from l7suite.traffic.pod_probes.curl import CURL_TIMED_OUT, CurlResult


def dropped(result: CurlResult) -> bool:
    return (result.exit_code, result.status) == (CURL_TIMED_OUT, None)


def answered(status: int, body: str | None = None) -> Callable[[CurlResult], bool]:
    def check(result: CurlResult) -> bool:
        return (result.exit_code, result.status) == (0, status) and (body is None or result.body.strip() == body)

    return check


def brief(result: CurlResult) -> str:
    body = result.body.strip().replace("\n", " ")
    return f"exit {result.exit_code}, HTTP {result.status or '-'}" + (f", {body[:60]!r}" if body else "")


def all_of(*checks: Callable[[CurlResult], bool]) -> Callable[[Sequence[CurlResult]], bool]:
    """One check per result of a probe that returns several curls (one per client or request)."""
    return lambda results: len(results) == len(checks) and all(c(r) for c, r in zip(checks, results, strict=True))


def briefs(names: Sequence[str]) -> Callable[[Sequence[CurlResult]], str]:
    return lambda results: "; ".join(f"{n}: {brief(r)}" for n, r in zip(names, results, strict=True))
