-- Minimal Neovim (>= 0.7) configuration that attaches ibert-lsp to Python and SQL buffers.
-- Used by tests/test_neovim_lsp.py; docs/neovim.md shows the same setup for daily use.
-- IBERT_LSP_CMD may hold the server command (space separated); default: `ibert-lsp`.
local cmd = {}
for word in string.gmatch(os.getenv("IBERT_LSP_CMD") or "ibert-lsp", "%S+") do
  table.insert(cmd, word)
end

local function root_dir(fname)
  local found = vim.fs and vim.fs.find and vim.fs.find({ "pyproject.toml", ".git" },
    { upward = true, path = vim.fs.dirname(fname) })[1]
  if found then return vim.fs.dirname(found) end
  return vim.fn.getcwd()
end

vim.api.nvim_create_autocmd("FileType", {
  pattern = { "python", "sql" },
  callback = function(args)
    local client_id = vim.lsp.start_client({
      name = "ibert",
      cmd = cmd,
      root_dir = root_dir(vim.api.nvim_buf_get_name(args.buf)),
      init_options = {
        ibert = {
          dialect = "duckdb",
          docstringStyle = "google",
          features = { model = os.getenv("IBERT_NVIM_MODEL") == "1" },
        },
      },
    })
    if client_id then
      vim.lsp.buf_attach_client(args.buf, client_id)
    end
  end,
})

-- Completion through the built-in omnifunc (<C-x><C-o>), quick fixes with
-- :lua vim.lsp.buf.code_action(), hover with K.
vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(args)
    vim.bo[args.buf].omnifunc = "v:lua.vim.lsp.omnifunc"
    vim.keymap.set("n", "K", vim.lsp.buf.hover, { buffer = args.buf })
    vim.keymap.set("n", "<leader>ca", vim.lsp.buf.code_action, { buffer = args.buf })
  end,
})
