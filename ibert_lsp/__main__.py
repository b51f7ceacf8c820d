"""`python -m ibert_lsp` starts the language server (what editors and pytest-lsp run)."""

from ibert_lsp.server import main

if __name__ == "__main__":
    main()
