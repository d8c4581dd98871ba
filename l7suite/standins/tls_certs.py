"""A throw-away certificate authority and server certificate for local TLS targets (openssl CLI)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class OpensslMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Certificate:
    cert: Path  # self-signed: also the CA file a client trusts
    key: Path


def make_certificate(workdir: Path, names: list[str], days: int = 2) -> Certificate:
    """A self-signed certificate valid for every name in `names` (subjectAltName DNS entries)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise OpensslMissing("the openssl command is missing (Debian: apt-get install -y openssl); "
                             "the egress allowlist check needs it to make its TLS targets' certificate")
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / "targets.crt", workdir / "targets.key"
    san = ",".join(f"DNS:{n}" for n in names)
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", "/CN=l7suite test target",
           "-addext", f"subjectAltName={san}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"openssl could not make a certificate: {done.stderr.strip()}")
    return Certificate(cert, key)
