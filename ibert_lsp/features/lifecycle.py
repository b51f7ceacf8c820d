"""initialize / initialized / workspace/didChangeConfiguration: settings and background loads."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp import config as cfg
from ibert_lsp.features.registry import safe

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer


@safe()
def initialize(ls: IbertServer, params: types.InitializeParams) -> None:
    root = None
    if params.workspace_folders:
        root = params.workspace_folders[0].uri
    elif params.root_uri:
        root = params.root_uri
    elif params.root_path:
        root = params.root_path
    if root and root.startswith("file://"):
        from pygls.uris import to_fs_path

        root = to_fs_path(root)
    ls.root_path = root
    settings, problems = cfg.load(root, params.initialization_options)
    ls.settings = settings
    # what a configuration change applies to: the client sends its `ibert` section, and a
    # setting it no longer sends (a removed schemaFile) falls back to what initialize said
    # (then pyproject, the environment, the default), never to an older change
    ls.base_settings = settings.copy()
    ls.init_problems = problems
    for p in problems:
        ls.log(f"ibert: {p}", types.MessageType.Warning)


@safe()
async def initialized(ls: IbertServer, params: types.InitializedParams) -> None:
    for p in ls.init_problems:
        ls.tell(f"ibert: {p}", types.MessageType.Warning)
    await ls.load_config_schemas()
    # model loading runs in the model worker; requests are answered meanwhile
    asyncio.get_running_loop().create_task(ls.load_model())
    # warm the caches the first requests need (imports, API index) off the event loop
    asyncio.get_running_loop().run_in_executor(ls.analysis_pool, _warm)
    asyncio.get_running_loop().run_in_executor(ls.io_pool, _warm_translator)


@safe()
async def did_change_configuration(ls: IbertServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if settings is None or settings == {} or (isinstance(settings, dict)
                                              and settings.get("ibert") is None
                                              and not _looks_like_ibert(settings)):
        # pull model: ask the client for the `ibert` section
        try:
            got = await asyncio.wait_for(ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="ibert")])),
                5)
            settings = got[0] if got else None
        except Exception as exc:
            ls.log(f"ibert: workspace/configuration failed: {exc}")
            return
    await ls.apply_settings(settings)


def register(server: IbertServer) -> None:
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)


def _looks_like_ibert(settings: dict) -> bool:
    return any(cfg.is_setting_key(k) for k in settings)


def _warm() -> None:
    import ibis  # noqa: F401
    import ibis.expr.types as ir

    from ibert_lsp.tasks import introspect, retrieval

    introspect.class_members(ir.Table)
    introspect.module_members("ibis")
    retrieval.index()


def _warm_translator() -> None:
    """The first translation pays for DuckDB and the verifier (~1 s): pay it at start-up."""
    try:
        from ibert_lsp.tasks.sql_to_ibis import translate

        translate("SELECT a, COUNT(*) AS n FROM t WHERE a > 1 GROUP BY a", {"t": {"a": "int64"}})
    except Exception:
        pass
