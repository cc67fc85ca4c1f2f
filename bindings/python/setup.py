"""Builds the aerec wheel: the Python package plus libaerec.so.

The library comes from, in order: $AERECLIB_PATH (a prebuilt libaerec.so), or `swift build` in the
AERec repository this directory belongs to (the Makefile's flags: a self-contained library with
the Swift runtime linked in and -z nodelete). Set AEREC_SKIP_SWIFT_BUILD=1 to take the
repository's existing .build/release library as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SWIFT_FLAGS = ["-c", "release", "-Xswiftc", "-static-stdlib", "-Xlinker", "-z", "-Xlinker", "nodelete"]


def library() -> Path:
    env = os.environ.get("AERECLIB_PATH")
    if env:
        p = Path(env)
        p = p / "libaerec.so" if p.is_dir() else p
        if not p.is_file():
            raise RuntimeError(f"AERECLIB_PATH={env} does not name libaerec.so")
        return p
    if not (REPO / "Package.swift").is_file():
        raise RuntimeError("aerec: no libaerec.so to package: build from the AERec repository "
                           "(pip install ./bindings/python) or set AERECLIB_PATH to a built libaerec.so")
    built = REPO / ".build" / "release" / "libAERecCABI.so"
    if os.environ.get("AEREC_SKIP_SWIFT_BUILD") != "1" or not built.is_file():
        swift = shutil.which(os.environ.get("SWIFT", "swift"))
        if swift is None:
            raise RuntimeError("aerec: building libaerec.so needs the Swift toolchain (swift on PATH, 6.1 or later)")
        print(f"aerec: building libaerec.so with {swift} in {REPO}", flush=True)
        subprocess.check_call([swift, "build", *SWIFT_FLAGS, "--product", "AERecCABI"], cwd=REPO)
    return built


class BuildPyWithLibrary(build_py):
    """build_py that also puts libaerec.so into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "aerec" / "libaerec.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library(), target)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: platform-specific, not pure Python."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
