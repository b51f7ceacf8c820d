"""The client capabilities ibert's own LSP clients announce: `ibert demo`, the LSP tests and
the benchmarks all start the server through this one definition, so they exercise the same
server paths (lazy code-action edits, Markdown docs, inline completion).

What the server reads from them: `codeAction.resolveSupport` (edits computed at resolve),
completion `documentationFormat` (Markdown or plain text), `workspaceEdit` (a new file for a
translated `.sql` file needs resource operations), `window.workDoneProgress` (progress for
model and schema loads) and `workspace.configuration` (settings pulled when not pushed).
"""

from __future__ import annotations

from lsprotocol import types

CODE_ACTION_KINDS = (types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor,
                     types.CodeActionKind.RefactorRewrite, types.CodeActionKind.Source)
MARKUP = [types.MarkupKind.Markdown, types.MarkupKind.PlainText]


def client_capabilities(*, lazy_resolve: bool = True, inline: bool = True,
                        configuration: bool = True,
                        progress: bool = True) -> types.ClientCapabilities:
    """Capabilities of an editor like VS Code, written by hand (the pytest-lsp VS Code snapshot
    lacks inline completion, LSP 3.18).

    `lazy_resolve`: code-action edits come at codeAction/resolve; `inline`: inline completion;
    `configuration`: the client answers workspace/configuration; `progress`: it accepts
    work-done progress (a client without a handler for it should say False).
    """
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=progress),
        workspace=types.WorkspaceClientCapabilities(
            configuration=configuration,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(),
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
        ),
        text_document=types.TextDocumentClientCapabilities(
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    snippet_support=False,
                    documentation_format=MARKUP,
                    resolve_support=types.ClientCompletionItemResolveOptions(
                        properties=["documentation", "detail"]))),
            hover=types.HoverClientCapabilities(content_format=MARKUP),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=list(CODE_ACTION_KINDS))),
                resolve_support=types.ClientCodeActionResolveOptions(
                    properties=["edit"]) if lazy_resolve else None,
                data_support=True,
            ),
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
        ),
    )
