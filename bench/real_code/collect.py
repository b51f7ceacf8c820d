"""(Re)write bench/real_code/manifest.json from the sources this corpus was collected from.

    .venv/bin/python bench/real_code/collect.py [--mirror-root /work/.mirror]

Sources: every .qmd/.md/.ipynb file of the Ibis docs in ../shared/corpora/ibis-docs/ whose
Python cells use Ibis (read in place), and the project files in PROJECT_FILES below, taken
from local git checkouts (`fetch` snapshots under /work/.mirror/<owner>+<name>/repo) at their
HEAD commit. A project file is kept in bench/real_code/files/ only when its repository has a
permissive LICENSE file (MIT, BSD, Apache-2.0); otherwise rebuild.py recreates it from the
checkout. Hand-made fields of existing entries (`schemas`, `verdicts`, `note`) are preserved;
schemas of `ibis.memtable({...})` literals and known `ibis.examples` datasets are added.
Reserved repositories (see bench/real_code.py: RESERVED) are never listed.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))

import real_code as rc  # noqa: E402  (bench/real_code.py)

# repo -> (license of its LICENSE file or None, [paths])
PROJECT_FILES: dict[str, tuple[str | None, list[str]]] = {
    "galenseilis/python-examples": ("MIT", ["try-ibis/src/try_ibis/example1.py"]),
    "ncclementi/ibis_duckdb_geospatial_scipy2024": (
        "BSD-3-Clause", ["geo-demo-nyc-ddb.ipynb", "geoparquet_demo.ipynb"]),
    "deepyaman/jaffle-shop": (None, [
        "src/jaffle_shop/pipelines/staging/nodes.py",
        "src/jaffle_shop/pipelines/data_processing/nodes.py"]),
    "deepyaman/lichess-live-win-probability-tutorial": (None, [
        "01 - Ibis basics.ipynb", "02 - Feature engineering.ipynb",
        "03 - Data preprocessing and modeling.ipynb",
        "demos/Scaling feature engineering and preprocessing.ipynb",
        "demos/Scaling inference.ipynb"]),
    "lostmygithubaccount/ibis-bench": (None, [
        "eda.qmd", "notebooks/ds/ibis.qmd", "notebooks/h/ibis.qmd", "website/analysis.qmd",
        "src/ibis_bench/tpch/queries/ibis.py"]),
    "lostmygithubaccount/pypi-analytics": (None, ["eda.py", "metrics.py", "transform.py"]),
    "deepyaman/dagster-dunks": (None, [
        "src/dagster_dunks/pipelines/feature_engineering/nodes.py",
        "src/dagster_dunks/pipelines/model_inference/nodes.py",
        "src/dagster_dunks/pipelines/data_processing/nodes.py"]),
}

DOCS_COMMIT = "02de318597c39a532e36193fc07352ef62768e1b"  # ../shared/corpora/ibis-docs/README.md

# schemas of ibis.examples datasets (as the Ibis example files define them)
EXAMPLES = {
    "penguins": {"species": "string", "island": "string", "bill_length_mm": "float64",
                 "bill_depth_mm": "float64", "flipper_length_mm": "int64",
                 "body_mass_g": "int64", "sex": "string", "year": "int64"},
    "band_members": {"name": "string", "band": "string"},
    "band_instruments": {"name": "string", "plays": "string"},
    "imdb_title_ratings": {"tconst": "string", "averageRating": "float64",
                           "numVotes": "int64"},
    "diamonds": {"carat": "float64", "cut": "string", "color": "string", "clarity": "string",
                 "depth": "float64", "table": "float64", "price": "int64", "x": "float64",
                 "y": "float64", "z": "float64"},
}


def auto_schemas(doc: str) -> dict:
    from datagen.mining import memtable_schema

    out: dict = {}
    try:
        tree = ast.parse(doc)
    except SyntaxError:
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                rc._dotted(node.value) == "ibis.examples" and node.attr in EXAMPLES:
            out[node.attr] = EXAMPLES[node.attr]
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and rc._dotted(node.value.func) in ("ibis.memtable",)):
            sch = memtable_schema(node.value)
            if sch:
                out[node.targets[0].id] = sch
    return out


def head(gitdir: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mirror-root", default="/work/.mirror")
    args = p.parse_args(argv)
    old = {}
    if rc.MANIFEST.exists():
        old = {(e["repo"], e["path"]): e for e in json.loads(rc.MANIFEST.read_text())["files"]}
    files = []

    def add(entry: dict, doc: str) -> None:
        prev = old.get((entry["repo"], entry["path"]), {})
        schemas = {**auto_schemas(doc), **prev.get("schemas", {})}
        entry["schemas"] = schemas
        for k in ("verdicts", "note"):
            if k in prev:
                entry[k] = prev[k]
        files.append(entry)

    for path in sorted(rc.DOCS_ROOT.rglob("*")):
        if path.suffix not in (".qmd", ".md", ".ipynb"):
            continue
        doc = rc.python_document(path.read_text(errors="replace"), path.suffix)
        if not doc or not rc.ibis_statements(ast.parse(doc))[0]:
            continue
        add({"source": "ibis-docs", "repo": rc.DOCS_REPO,
             "path": "docs/" + str(path.relative_to(rc.DOCS_ROOT)), "commit": DOCS_COMMIT,
             "license": "Apache-2.0", "kept": False}, doc)
    for repo, (lic, paths) in PROJECT_FILES.items():
        assert repo.lower() not in rc.RESERVED, repo
        gitdir = Path(args.mirror_root) / repo.replace("/", "+") / "repo"
        commit = head(gitdir)
        for path in paths:
            data = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"],
                                  capture_output=True, check=True).stdout
            kept = lic in rc.PERMISSIVE
            entry = {"source": "project", "repo": repo, "path": path, "commit": commit,
                     "license": lic or "NOASSERTION (no LICENSE file)", "kept": kept}
            dest = rc.file_location(entry)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)  # kept files: committed; others: the local cache
            add(entry, rc.python_document(data.decode(errors="replace"), Path(path).suffix))
    manifest = {"description": "Real Ibis code for bench/real_code.py; see collect.py and "
                               "rebuild.py. schemas: table schemas for the 'schemas known' run "
                               "and the verification data; verdicts: hand verdicts for "
                               "diagnostics the bench cannot verify by running.",
                "files": files}
    errs = rc.validate_manifest(manifest)
    if errs:
        raise SystemExit("\n".join(errs))
    rc.MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(files)} files: {sum(e['source'] == 'ibis-docs' for e in files)} docs, "
          f"{sum(e['source'] == 'project' for e in files)} project files "
          f"({sum(bool(e['kept']) for e in files)} kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
