"""Vendor the compiled U.S. Web Design System (USWDS 3) into the intake service.

Run with ``.venv/bin/python -m deploy.assets`` (or ``make assets``) after changing the
``@uswds/uswds`` version in ``package.json``/``package-lock.json``. It runs ``npm ci`` when
``node_modules/`` does not hold the locked versions, then copies a lean subset of
``node_modules/@uswds/uswds/dist/`` into ``shared/static/uswds/``, keeping the
relative paths so that the ``url(...)`` references inside the CSS resolve:

- ``css/uswds.min.css``, ``js/uswds.min.js``, ``js/uswds-init.min.js``;
- every font and image that ``uswds.min.css`` references with ``url(...)``;
- the banner's images (``us_flag_small.png``, ``icon-dot-gov.svg``, ``icon-https.svg``) and
  the icon sprite ``img/sprite.svg``;
- USWDS's ``LICENSE.md``, and a ``VERSION`` file with the USWDS version.

The copied files are committed, so ``make run`` needs neither Node nor npm and nothing is
ever fetched from a CDN. ``--check`` copies nothing and fails when the committed copy differs
from what this script would produce (a stale or hand-edited copy).

Standard library only: this runs before the virtual environment holds anything.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
USWDS_PACKAGE = NODE_MODULES / "@uswds" / "uswds"
DIST = USWDS_PACKAGE / "dist"
DEST = ROOT / "shared" / "static" / "uswds"

# Relative to dist/.
ENTRY_FILES = ("css/uswds.min.css", "js/uswds.min.js", "js/uswds-init.min.js")
STYLESHEET = "css/uswds.min.css"
EXTRA_IMAGES = (
    "img/us_flag_small.png",  # the banner's flag
    "img/icon-dot-gov.svg",  # the banner's "Official websites use .gov"
    "img/icon-https.svg",  # the banner's "Secure .gov websites use HTTPS"
    "img/sprite.svg",  # icons: <svg class="usa-icon"><use href=".../sprite.svg#name"></svg>
)
LICENSE = "LICENSE.md"  # beside dist/ in the package; copied to the top of DEST
# Packages that must be installed at their locked versions (axe-core is for the tests).
LOCKED_PACKAGES = ("@uswds/uswds", "axe-core")

_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""")


class AssetError(RuntimeError):
    """Something the operator must fix; the message says what."""


def say(message: str) -> None:
    print(f"[assets] {message}", flush=True)


def locked_versions(root: Path = ROOT) -> dict[str, str]:
    lock_path = root / "package-lock.json"
    if not lock_path.is_file():
        raise AssetError(f"{lock_path} is missing: it pins the USWDS and axe-core versions")
    packages = json.loads(lock_path.read_text(encoding="utf-8")).get("packages", {})
    versions = {}
    for name in LOCKED_PACKAGES:
        entry = packages.get(f"node_modules/{name}")
        if not entry or "version" not in entry:
            raise AssetError(f"package-lock.json does not lock {name}: run 'npm install'")
        versions[name] = str(entry["version"])
    return versions


def installed_version(name: str, node_modules: Path = NODE_MODULES) -> str | None:
    manifest = node_modules / name / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))


def ensure_node_modules() -> None:
    """``npm ci`` unless node_modules/ already holds exactly the locked versions."""
    wanted = locked_versions()
    stale = {
        name: version for name, version in wanted.items() if installed_version(name) != version
    }
    if not stale:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is missing: install Node.js 18+ and npm, then run 'make assets'")
    say("installing the locked Node packages (npm ci) ...")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    still = [name for name, version in wanted.items() if installed_version(name) != version]
    if still:
        raise AssetError(f"npm ci did not install the locked versions of {', '.join(still)}")


def css_references(css: str) -> list[str]:
    """The local files a stylesheet in css/ refers to, relative to dist/, sorted."""
    found = set()
    for match in _URL.finditer(css):
        ref = match.group(2).strip()
        if not ref or ref.startswith(("data:", "#", "http:", "https:", "//", "/")):
            continue
        ref = ref.split("#", 1)[0].split("?", 1)[0]
        parts: list[str] = ["css"]
        for part in PurePosixPath(ref).parts:
            if part == "..":
                if not parts:
                    raise AssetError(f"{STYLESHEET} refers outside dist/: {ref}")
                parts.pop()
            elif part != ".":
                parts.append(part)
        found.add("/".join(parts))
    return sorted(found)


def planned_files(dist: Path = DIST) -> dict[str, Path]:
    """Destination path (relative to DEST) -> source file."""
    if not (dist / STYLESHEET).is_file():
        raise AssetError(f"{dist / STYLESHEET} is missing: run 'npm ci'")
    css = (dist / STYLESHEET).read_text(encoding="utf-8")
    relative = sorted({*ENTRY_FILES, *css_references(css), *EXTRA_IMAGES})
    plan = {name: dist / name for name in relative}
    plan[LICENSE] = dist.parent / LICENSE
    missing = [str(source) for source in plan.values() if not source.is_file()]
    if missing:
        raise AssetError("USWDS files are missing from node_modules: " + ", ".join(missing))
    return plan


def vendor(dest: Path = DEST) -> tuple[int, int]:
    """Replace dest with the planned subset; returns (number of files, bytes)."""
    plan = planned_files()
    version = installed_version("@uswds/uswds")
    if dest.exists():
        shutil.rmtree(dest)
    total = 0
    for name, source in plan.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        total += target.stat().st_size
    (dest / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    total += (dest / "VERSION").stat().st_size
    return len(plan) + 1, total


def differences(dest: Path = DEST) -> list[str]:
    """How the committed copy differs from a fresh one (empty when it is current)."""
    plan = planned_files()
    problems = []
    expected = {*plan, "VERSION"}
    present = (
        {path.relative_to(dest).as_posix() for path in dest.rglob("*") if path.is_file()}
        if dest.is_dir()
        else set()
    )
    problems += [f"missing: {name}" for name in sorted(expected - present)]
    problems += [f"not from USWDS: {name}" for name in sorted(present - expected)]
    for name, source in plan.items():
        target = dest / name
        if target.is_file() and target.read_bytes() != source.read_bytes():
            problems.append(f"differs: {name}")
    version_file = dest / "VERSION"
    version = installed_version("@uswds/uswds")
    if version_file.is_file() and version_file.read_text(encoding="utf-8").strip() != version:
        problems.append(f"differs: VERSION (USWDS is {version})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.assets", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="copy nothing; fail if the vendored copy is stale"
    )
    args = parser.parse_args(argv)
    shown = DEST.relative_to(ROOT)
    try:
        ensure_node_modules()
        if args.check:
            problems = differences()
            if problems:
                for problem in problems:
                    say(problem)
                say(f"{shown}/ is stale: run 'make assets' and commit the result")
                return 1
            say(f"{shown}/ matches USWDS {installed_version('@uswds/uswds')}")
            return 0
        count, size = vendor()
    except (AssetError, subprocess.CalledProcessError) as err:
        say(f"error: {err}")
        return 1
    say(
        f"USWDS {installed_version('@uswds/uswds')}: {count} files, "
        f"{size / 1024:.0f} KiB in {shown}/ (commit them)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
