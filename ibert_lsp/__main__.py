"""`python -m ibert_lsp` starts the language server (what editors and pytest-lsp run)."""

import os
import sys

# `python -m` puts the working directory first on sys.path, and editors start the server in
# the workspace folder: a repository's `pygls.py` or `ibis/` would be imported instead of the
# installed ones. Drop it before any further import (unless ibert itself lives there: a
# checkout of ibert). The VS Code extension also sets PYTHONSAFEPATH=1.
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd() != _here:
    del sys.path[0]

from ibert_lsp.server import main

if __name__ == "__main__":
    main()
