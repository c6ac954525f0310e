"""Runs a notebook top to bottom with the Rust kernel (evcxr) and writes the executed copy.

Like `jupyter nbconvert --execute`, with one difference that matters in CI: when a cell
fails, the copy is still written (the cells up to the failing one, with their outputs)
and the failing cell's own output is printed. evcxr reports a cell's error on stderr, not
in the error message nbconvert prints, which then says nothing about the cause.

Usage: python scripts/execute_notebook.py IN.ipynb OUT.ipynb
"""

import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def cell_text(cell) -> str:
    """What a cell printed (stdout and stderr streams, error values), as plain text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "".join(parts).strip()


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="rust",
        timeout=1800,
        startup_timeout=300,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(source))}},
    )
    try:
        client.execute()
    except CellExecutionError:
        nbformat.write(nb, target)
        ran = [
            (i, c)
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.get("execution_count") is not None
        ]
        index, cell = ran[-1] if ran else (-1, None)
        print(f"execute_notebook: cell {index} failed; partial copy in {target}", file=sys.stderr)
        # A compile error is often the consequence of an earlier cell whose `?` failed:
        # evcxr prints that error on stderr and goes on, so its variables never existed.
        earlier = [
            (i, c)
            for i, c in ran[:-1]
            if any(o.get("name") == "stderr" for o in c.get("outputs", []))
        ]
        if earlier:
            i, c = earlier[0]
            print(f"--- the first earlier cell with an error, cell {i}:\n{c.source}", file=sys.stderr)
            print(cell_text(c)[-2000:], file=sys.stderr)
        if cell is not None:
            print("--- the cell:\n" + cell.source, file=sys.stderr)
            print("--- what it printed (the last 3000 characters):", file=sys.stderr)
            print(cell_text(cell)[-3000:] or "(nothing)", file=sys.stderr)
        return 1
    nbformat.write(nb, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
