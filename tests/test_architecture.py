"""The layers of `ibert_lsp` (docs/architecture.md, "Layers"): no import circles, and imports
only go down. Read from the source with `ast`, so lazy imports inside functions count too;
imports under `if TYPE_CHECKING:` do not (they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ibert_lsp"
# The SQL→Ibis translator's recursive descent: a query's parts call back into the query.
CYCLE_ALLOWED_UNDER = "ibert_lsp.tasks.sql_to_ibis"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(sub) for sub in ast.walk(stmt))
    return skip


def import_graph() -> dict[str, set[str]]:
    """module → the `ibert_lsp` modules it imports (a package's `__init__` is the package)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            graph[mod].update(t for t in targets if t in mods and t != mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_outside_the_translator():
    bad = [c for c in cycles(import_graph())
           if not all(m.startswith(CYCLE_ALLOWED_UNDER) for m in c)]
    assert bad == []


def _imports_under(graph: dict[str, set[str]], source: str, target: str) -> dict[str, set]:
    return {m: {t for t in deps if t == target or t.startswith(target + ".")}
            for m, deps in graph.items()
            if (m == source or m.startswith(source + ".")) and any(
                t == target or t.startswith(target + ".") for t in deps)}


def test_the_model_layer_imports_no_task_or_feature_module():
    graph = import_graph()
    assert _imports_under(graph, "ibert_lsp.model", "ibert_lsp.tasks") == {}
    assert _imports_under(graph, "ibert_lsp.model", "ibert_lsp.features") == {}


def test_the_prompt_format_sits_below_model_tasks_and_features():
    graph = import_graph()
    for upper in ("ibert_lsp.model", "ibert_lsp.tasks", "ibert_lsp.features",
                  "ibert_lsp.server", "ibert_lsp.commands"):
        assert _imports_under(graph, "ibert_lsp.prompting", upper) == {}, upper


def test_the_server_reaches_tasks_and_features_only_through_the_registry():
    graph = import_graph()
    for module in ("ibert_lsp.server", "ibert_lsp.protocol", "ibert_lsp.progress",
                   "ibert_lsp.client", "ibert_lsp.documents"):
        assert _imports_under(graph, module, "ibert_lsp.tasks") == {}, module
        assert {t for t in graph[module] if t.startswith("ibert_lsp.features")} <= {
            "ibert_lsp.features", "ibert_lsp.features.registry"}, module


def test_features_import_the_server_only_for_typing():
    graph = import_graph()
    for module, deps in graph.items():
        if module.startswith("ibert_lsp.features"):
            assert "ibert_lsp.server" not in deps, module


# --- the documented contracts ------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def documented_contracts() -> list[tuple[str, str, list[str]]]:
    """(module, qualname, parameters) for each line of the map's ```contracts block."""
    text = DOC.read_text()
    start = text.index("```contracts\n") + len("```contracts\n")
    block = text[start:text.index("```", start)]
    out = []
    for line in block.strip().splitlines():
        target, _, params = line.strip().partition("(")
        module, _, qualname = target.partition(":")
        names = [p.strip() for p in params.rstrip(")").split(",") if p.strip()]
        out.append((module, qualname, names))
    return out


def signature_of(obj: object) -> list[str]:
    """Parameters written as in the map: names in order, `*` before keyword-only ones,
    `*args` / `**kwargs` for the variadic."""
    import inspect

    out: list[str] = []
    star = False
    for p in inspect.signature(inspect.unwrap(obj)).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            out.append("*" + p.name)
            star = True
        elif p.kind is p.VAR_KEYWORD:
            out.append("**" + p.name)
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                out.append("*")
                star = True
            out.append(p.name)
        else:
            out.append(p.name)
    return out


def test_the_map_lists_contracts_of_every_layer():
    modules = {m for m, _, _ in documented_contracts()}
    for layer in ("ibert_lsp.validate", "ibert_lsp.schema", "ibert_lsp.prompting",
                  "ibert_lsp.model", "ibert_lsp.tasks", "ibert_lsp.features", "ibert_lsp.server",
                  "datagen"):
        assert any(m.startswith(layer) for m in modules), layer


def test_every_documented_function_exists_with_the_documented_parameters():
    import importlib

    wrong = []
    for module, qualname, params in documented_contracts():
        obj: object = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        got = signature_of(obj)
        if got != params:
            wrong.append(f"{module}:{qualname}: documented ({', '.join(params)}), "
                         f"code ({', '.join(got)})")
    assert wrong == []


def test_the_signature_reader_sees_a_change():
    def f(a, b=1, *, c, **kw):
        return a

    assert signature_of(f) == ["a", "b", "*", "c", "**kw"]
    assert signature_of(f) != ["a", "*", "c", "**kw"]


# --- one job per file --------------------------------------------------------------------------

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
OVERSIZED_ALLOWED: set[str] = set()  # none: every file in ibert_lsp/ is within the limit


def test_no_file_over_500_lines_and_no_function_over_80():
    long_files, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES and rel not in OVERSIZED_ALLOWED:
            long_files.append(f"{rel}: {len(text.splitlines())}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.name}: {n}")
    assert long_files == []
    assert long_functions == []
