-- Drives the attached ibert client from a headless Neovim and writes what it saw as JSON to
-- $IBERT_NVIM_OUT: the test asserts on it. Uses only Neovim's built-in LSP client.
local out_path = os.getenv("IBERT_NVIM_OUT")
local result = { steps = {} }

local function finish(code)
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd((code == 0) and "qa!" or "cquit!")
end

local ok, err = pcall(function()
  local bufnr = vim.api.nvim_get_current_buf()
  local client
  assert(vim.wait(30000, function()
    local clients = vim.lsp.get_active_clients()
    client = clients[1]
    return client ~= nil and client.initialized
  end, 50), "ibert client did not start")
  result.client = client.name
  table.insert(result.steps, "attached")

  -- diagnostics published for the buffer
  assert(vim.wait(30000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50),
    "no diagnostics")
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.diagnostics, { lnum = d.lnum, col = d.col, end_col = d.end_col,
      message = d.message, source = d.source })
  end
  table.insert(result.steps, "diagnostics")

  -- completion after `revenue.` on the last line
  local last = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, last, last, false, { "x = orders." })
  local line = vim.api.nvim_buf_line_count(bufnr) - 1
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = { line = line, character = #"x = orders." },
    context = { triggerKind = 2, triggerCharacter = "." },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 30000)
  result.completion = {}
  for _, resp in pairs(responses or {}) do
    local items = resp.result and (resp.result.items or resp.result) or {}
    table.sort(items, function(a, b) return (a.sortText or "") < (b.sortText or "") end)
    for _, item in ipairs(items) do table.insert(result.completion, item.label) end
  end
  table.insert(result.steps, "completion")

  -- code actions on the first diagnostic (quick fix), then apply the preferred one
  local d = vim.diagnostic.get(bufnr)[1]
  local cparams = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = { start = { line = d.lnum, character = d.col },
              ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics and
      vim.lsp.diagnostic.get_line_diagnostics(bufnr, d.lnum) or {} },
  }
  local aresp = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", cparams, 30000)
  result.actions = {}
  local fix
  for _, resp in pairs(aresp or {}) do
    for _, a in ipairs(resp.result or {}) do
      table.insert(result.actions, { title = a.title, kind = a.kind })
      if a.kind == "quickfix" and fix == nil then fix = a end
    end
  end
  if fix and fix.edit then
    vim.lsp.util.apply_workspace_edit(fix.edit, "utf-16")
    result.fixed_line = vim.api.nvim_buf_get_lines(bufnr, d.lnum, d.lnum + 1, false)[1]
  end
  table.insert(result.steps, "code_action")

  -- hover on the question comment
  for i, text in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if text:find("# how do I", 1, true) then
      local hresp = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", {
        textDocument = vim.lsp.util.make_text_document_params(bufnr),
        position = { line = i - 1, character = 4 } }, 30000)
      for _, resp in pairs(hresp or {}) do
        if resp.result then result.hover = resp.result.contents.value end
      end
    end
  end
  table.insert(result.steps, "hover")
end)

if not ok then result.error = tostring(err) end
finish(ok and 0 or 1)
