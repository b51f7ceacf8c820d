"""Server settings: defaults < pyproject [tool.ibert] < environment < LSP options.

The editor sends settings as `initializationOptions` and again on
`workspace/didChangeConfiguration`; both may be flat or nested under an `ibert` key, and keys
may be camelCase (VS Code style) or snake_case.  Unknown keys are ignored and reported, bad
values are reported and the previous value kept, so a typo in a settings file never kills the
server.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOCSTRING_STYLES = ("google", "numpy")

FEATURES = (
    "completion",
    "inline_completion",
    "diagnostics",
    "code_actions",
    "hover",
    "model",
)


@dataclass
class Settings:
    """Everything the server can be told; see docs/neovim.md for how an editor sets it."""

    model_path: str | None = None  # HF model directory or hub id; None = the default model
    adapter: str | None = None  # PEFT adapter directory
    # name of the environment variable holding a remote model server's API key (IBERT_*);
    # settings name the variable, never hold the key (docs/security.md, "Settings")
    api_key_env: str | None = None
    device: str = "cpu"
    max_latency_ms: int = 500  # model budget per request (inline completion, continuations)
    dialect: str = "duckdb"
    database: str | None = None  # DuckDB/SQLite file or duckdb:// sqlite:// URL; read-only
    schema_file: str | None = None  # JSON {table: {column: type}}
    docstring_style: str = "google"
    diagnostics_debounce_ms: int = 60
    features: dict[str, bool] = field(default_factory=lambda: {f: True for f in FEATURES})

    def enabled(self, feature: str) -> bool:
        return bool(self.features.get(feature, True))

    def copy(self) -> Settings:
        return dataclasses.replace(self, features=dict(self.features))


_FIELDS = {f.name for f in dataclasses.fields(Settings)}
_ALIASES = {
    "model": "model_path",
    "modelpath": "model_path",
    "model_dir": "model_path",
    "adapter_path": "adapter",
    "api_key_var": "api_key_env",
    "connection": "database",
    "db": "database",
    "schema": "schema_file",
    "schemas": "schema_file",
    "schema_path": "schema_file",
    "docstyle": "docstring_style",
    "max_latency": "max_latency_ms",
    "debounce_ms": "diagnostics_debounce_ms",
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower().replace("-", "_")


def _canonical_key(key: str) -> str:
    snake = _snake(key)
    if snake in _FIELDS:
        return snake
    return _ALIASES.get(snake, _ALIASES.get(snake.replace("_", ""), snake))


def is_setting_key(key: str) -> bool:
    """Whether `key` (camelCase or snake_case) names an ibert setting: a settings object whose
    keys are such names is ibert's section itself, not a whole workspace configuration."""
    return _canonical_key(str(key)) in _FIELDS


def _coerce(name: str, value: Any, current: Settings) -> Any:
    """Value checked for field `name`; raises ValueError with a one-line reason."""
    if name in ("model_path", "adapter", "database", "schema_file"):
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        return os.path.expanduser(value)
    if name == "api_key_env":
        if value in (None, ""):
            return None
        from ibert_lsp.model.remote import KEY_ENV_RE

        if not isinstance(value, str) or not KEY_ENV_RE.fullmatch(value):
            raise ValueError("api_key_env must name an environment variable starting with "
                             "IBERT_ (e.g. IBERT_API_KEY); settings never hold the key itself")
        return value
    if name == "device":
        if not isinstance(value, str) or not value:
            raise ValueError("device must be a string such as 'cpu' or 'cuda'")
        return value
    if name in ("max_latency_ms", "diagnostics_debounce_ms"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a non-negative number")
        return int(value)
    if name == "dialect":
        if not isinstance(value, str) or not value:
            raise ValueError("dialect must be a sqlglot dialect name such as 'duckdb'")
        return value.lower()
    if name == "docstring_style":
        if not isinstance(value, str) or value.lower() not in DOCSTRING_STYLES:
            raise ValueError(f"docstring_style must be one of {', '.join(DOCSTRING_STYLES)}")
        return value.lower()
    if name == "features":
        if not isinstance(value, dict):
            raise ValueError("features must be a mapping {feature: true/false}")
        out = dict(current.features)
        for k, v in value.items():
            fk = _snake(str(k))
            if fk not in FEATURES:
                raise ValueError(f"unknown feature {k!r}; known: {', '.join(FEATURES)}")
            out[fk] = bool(v)
        return out
    raise ValueError(f"unknown setting {name!r}")


def apply(settings: Settings, options: Any,
          keep: Settings | None = None) -> tuple[Settings, list[str]]:
    """New settings with `options` applied, and the problems found (one line each). A value
    that is refused leaves the setting as `keep` has it (the settings in force), if given."""
    new = settings.copy()
    problems: list[str] = []
    if options is None:
        return new, problems
    if not isinstance(options, dict):
        return new, [f"settings must be an object, got {type(options).__name__}"]
    if isinstance(options.get("ibert"), dict):
        options = {**{k: v for k, v in options.items() if k != "ibert"}, **options["ibert"]}
    for key, value in options.items():
        name = _canonical_key(str(key))
        if name not in _FIELDS:
            problems.append(f"unknown setting {key!r} ignored")
            continue
        try:
            setattr(new, name, _coerce(name, value, new))
        except ValueError as exc:
            problems.append(f"setting {key!r}: {exc}")
            if keep is not None:
                old = getattr(keep, name)
                setattr(new, name, dict(old) if isinstance(old, dict) else old)
    return new, problems


def from_pyproject(root: str | os.PathLike | None) -> dict[str, Any]:
    """`[tool.ibert]` of the workspace's pyproject.toml, or {}."""
    if not root:
        return {}
    path = Path(root) / "pyproject.toml"
    try:
        import tomllib

        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    tool = data.get("tool", {}).get("ibert", {})
    return tool if isinstance(tool, dict) else {}


def from_env(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ if env is None else env)
    out: dict[str, Any] = {}
    for var, name in (
        ("IBERT_MODEL", "model_path"),
        ("IBERT_ADAPTER", "adapter"),
        ("IBERT_API_KEY_ENV", "api_key_env"),
        ("IBERT_DEVICE", "device"),
        ("IBERT_DIALECT", "dialect"),
        ("IBERT_DATABASE", "database"),
    ):
        if env.get(var):
            out[name] = env[var]
    if env.get("IBERT_NO_MODEL"):
        out["features"] = {"model": False}
    return out


def _no_remote(layer: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """A repository's `[tool.ibert]` may not choose a model server or its key variable: the
    server would get the user's code and API key the moment ibert starts in a cloned repo."""
    from ibert_lsp.model.remote import is_remote

    out = {}
    for key, value in layer.items():
        name = _canonical_key(str(key))
        if (name == "model_path" and is_remote(value)) or name == "api_key_env":
            problems.append(f"[tool.ibert] {key} in pyproject.toml ignored: a model server and "
                            "its key are set in the editor's settings or the environment "
                            "(IBERT_MODEL), not by the repository")
            continue
        out[key] = value
    return out


def load(root: str | None, init_options: Any) -> tuple[Settings, list[str]]:
    """Settings at `initialize`: defaults < pyproject < environment < initializationOptions."""
    settings = Settings()
    problems: list[str] = []
    for layer in (_no_remote(from_pyproject(root), problems), from_env(), init_options):
        settings, more = apply(settings, layer)
        problems += more
    return settings, problems
