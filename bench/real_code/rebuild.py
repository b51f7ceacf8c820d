"""Rebuild the part of the real-code corpus that is not kept in this repository.

    .venv/bin/python bench/real_code/rebuild.py [--mirror-root /work/.mirror] [--check]

Files whose license does not let us keep a copy (no license, or not MIT/BSD/Apache-2.0) are
listed in `manifest.json` with `"kept": false`; this script writes them to
`bench/real_code/cache/<owner>+<name>/<path>` from a *local* git checkout of the repository
at the recorded commit (`git show <commit>:<path>`). It never touches the network: bring a
checkout with the tool library's `fetch` (a bare git directory under
`/work/.mirror/<owner>+<name>/repo`) or clone it yourself and pass `--mirror-root`.
The Ibis docs are read in place from `../shared/corpora/ibis-docs/` and never copied.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
CACHE = HERE / "cache"


def mirror_dirs(root: Path, repo: str) -> list[Path]:
    slug = repo.replace("/", "+")
    return [root / slug / "repo", root / slug, root / repo.split("/")[-1]]


def git_show(gitdir: Path, commit: str, path: str) -> bytes | None:
    for args in (["git", "--git-dir", str(gitdir)], ["git", "-C", str(gitdir)]):
        try:
            out = subprocess.run([*args, "show", f"{commit}:{path}"], capture_output=True,
                                 timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return out.stdout
    return None


def rebuild(mirror_root: Path, *, check: bool = False) -> tuple[int, list[str]]:
    manifest = json.loads(MANIFEST.read_text())
    done, missing = 0, []
    for e in manifest["files"]:
        if e.get("kept") or e.get("source") == "ibis-docs":
            continue
        dest = CACHE / e["repo"].replace("/", "+") / e["path"]
        if not dest.resolve().is_relative_to(CACHE.resolve()):
            missing.append(f"{e['repo']}:{e['path']} (outside the cache: not written)")
            continue
        if check:
            if dest.exists():
                done += 1
            else:
                missing.append(f"{e['repo']}:{e['path']}")
            continue
        data = None
        for d in mirror_dirs(mirror_root, e["repo"]):
            if d.exists():
                data = git_show(d, e["commit"], e["path"])
                if data is not None:
                    break
        if data is None:
            missing.append(f"{e['repo']}@{e['commit'][:10]}:{e['path']}")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        done += 1
    return done, missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mirror-root", default="/work/.mirror",
                   help="folder holding <owner>+<name>/repo git checkouts")
    p.add_argument("--check", action="store_true", help="only report which files are missing")
    args = p.parse_args(argv)
    done, missing = rebuild(Path(args.mirror_root), check=args.check)
    print(f"{done} file(s) {'present' if args.check else 'written'} under {CACHE}")
    for m in missing:
        print(f"missing: {m} (fetch that repository first)", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
