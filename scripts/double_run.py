"""Writes a copy of Notebook.ipynb where every code cell appears twice in a row: running it
checks that each cell can be re-run without breaking the others.

Usage: python scripts/double_run.py Notebook.ipynb artifacts/Notebook.twice.ipynb
"""
import copy
import sys

import nbjson

nb = nbjson.load(sys.argv[1])
cells = []
for c in nb["cells"]:
    cells.append(c)
    # The `:dep` cell is a declaration, not a computation; it is re-run as well.
    if c["cell_type"] == "code":
        again = copy.deepcopy(c)
        again["id"] = c["id"] + "-again"
        cells.append(again)
nb["cells"] = cells
nbjson.save(nb, sys.argv[2])
