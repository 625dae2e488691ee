"""Lists the installed packages: each top-level folder becomes `helixflow.<folder>`.

pyproject.toml cannot rename packages found by `packages.find`, so the list is
computed here; everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

SOURCE_ROOTS = ("cli", "stacks", "components", "runtime")

setup(
    packages=[
        f"helixflow.{name}"
        for root in SOURCE_ROOTS
        for name in find_packages(where=".", include=[root, f"{root}.*"])
    ],
)
