"""The notebook JSON that the scripts read and write, in one place: loading, saving as
Jupyter does (one-space indent, UTF-8 kept), a cell's source as one string, and the short
test settings (`scripts/short_settings.env`)."""
import json
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def load(path):
    """The notebook at `path`, as a dict."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save(nb, path):
    """Writes `nb` to `path` as Jupyter does (one-space indent, non-ASCII kept)."""
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def source(cell):
    """A cell's source as one string (Jupyter stores a string or a list of lines)."""
    return "".join(cell["source"])


def code_cells(nb):
    """The code cells of `nb`, in order."""
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def short_settings():
    """The short settings of the tests' notebook runs, as a dict."""
    out = {}
    for line in (SCRIPTS / "short_settings.env").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out
