"""Checks that a translated notebook still matches the original: what CI asserts about
Notebook.es.ipynb against Notebook.ipynb.

Usage: python scripts/check_translation.py Notebook.ipynb Notebook.es.ipynb

The two notebooks have the same code cells (same source text, but for the language the first
cell sets: `set_language("en")`, `set_language("es")`), in the same order, and the same kernel; the translation has at least as many Markdown cells as the original (it may
add some, like the glossary); no Markdown cell of the translation is an untranslated copy
of one of the original's longer than 80 characters; no code cell of either notebook has
saved outputs or an execution count; cell ids are unique. A Spanish edition (`.es.`) uses
one term per concept: the known collisions (confirmar for both acknowledge and commit,
retraso for both lag and lateness, reequilibrio beside rebalanceo, micro-lote, trigger,
el líder) are refused, and GLOSARIO.md lists the terms chosen. Exits 1 with the problems.
"""
import re
import sys

import nbjson

LONG = 80  # an identical Markdown cell longer than this was not translated


source = nbjson.source


def same_code(text):
    """A code cell's source with the language it sets left out: what must be identical."""
    return re.sub(r'set_language\("\w+"\)', 'set_language(_)', text)


def squeeze(text):
    """The text with runs of whitespace made one space: a re-wrapped copy is still a copy."""
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text, n=200):
    return text if len(text) <= n else text[:n] + " ..."


def problems(original_path, translated_path):
    original = nbjson.load(original_path)
    translated = nbjson.load(translated_path)

    for path, nb in ((original_path, original), (translated_path, translated)):
        ids = [c.get("id") for c in nb["cells"]]
        dup = sorted({i for i in ids if ids.count(i) > 1}, key=str)
        if dup:
            yield f"{path}: cell ids are not unique: {dup}"
        for n, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                yield (f"{path}: cell {n} (id {cell.get('id')}) has saved outputs or an execution "
                       f"count; clear them before committing:\n{excerpt(source(cell))}")

    k1 = original.get("metadata", {}).get("kernelspec")
    k2 = translated.get("metadata", {}).get("kernelspec")
    if k1 != k2:
        yield f"the kernels differ: {original_path} has {k1}, {translated_path} has {k2}"

    code1 = nbjson.code_cells(original)
    code2 = nbjson.code_cells(translated)
    # The one line where the editions' code differs: the language of the labels.
    for path, code, want in ((original_path, code1, "en"), (translated_path, code2, "es")):
        said = re.findall(r'set_language\("(\w+)"\)', source(code[0])) if code else []
        if said != [want]:
            yield f"{path}: its first code cell must set_language(\"{want}\"), once: found {said}"
    for n, (a, b) in enumerate(zip(code1, code2)):
        if same_code(source(a)) != same_code(source(b)):
            yield (f"code cell {n} differs (id {a.get('id')} in {original_path}, id {b.get('id')} "
                   f"in {translated_path}); code cells must be identical, comments included.\n"
                   f"--- {original_path}:\n{excerpt(source(a))}\n"
                   f"--- {translated_path}:\n{excerpt(source(b))}")
            break
    if len(code1) != len(code2):
        longer, path = (code1, original_path) if len(code1) > len(code2) else (code2, translated_path)
        extra = longer[min(len(code1), len(code2))]
        yield (f"{original_path} has {len(code1)} code cells, {translated_path} has {len(code2)}; "
               f"the first one without a counterpart is in {path} (id {extra.get('id')}):\n"
               f"{excerpt(source(extra))}")

    md1 = [c for c in original["cells"] if c["cell_type"] == "markdown"]
    md2 = [c for c in translated["cells"] if c["cell_type"] == "markdown"]
    if len(md2) < len(md1):
        yield (f"{translated_path} has {len(md2)} Markdown cells, fewer than the "
               f"{len(md1)} of {original_path}: a cell was left out")
    english = {squeeze(source(c)): c.get("id") for c in md1 if len(squeeze(source(c))) > LONG}
    for cell in md2:
        text = squeeze(source(cell))
        if text in english:
            yield (f"Markdown cell id {cell.get('id')} of {translated_path} is identical to cell id "
                   f"{english[text]} of {original_path}: not translated:\n{excerpt(text)}")
            break


# One Spanish term per concept, as GLOSARIO.md lists them: the known collisions, each a
# pattern that must not appear in a Spanish edition's Markdown, and the term to use.
SPANISH_COLLISIONS = [
    (r"\b(?:desplazamientos?|posición)\s+(?:que\s+)?confirm\w*|\bconfirm\w*\s+(?:su\s+)?(?:desplazamiento|posición)|\bconfirm\w*\*?\*?\s+\(\*commit",
     "a commit is «registrar» (confirmar is the broker's acknowledgement)"),
    (r"\bretraso\b[^.]{0,60}(?:`lag`|\bno (?:ha )?leído|\bsin leer)|`lag`[^.]{0,30}\bretraso\b",
     "lag is «desfase» (retraso is an event's lateness)"),
    (r"\breequilibr\w*", "a rebalance is «rebalanceo»"),
    (r"\bmicro-lotes?\b", "«microlote», one word"),
    (r"\bun \*?trigger\*?(?!\w)|\bprimer trigger\b|\bel trigger\b", "a trigger is «disparador»"),
    (r"\bel líder\b", "a partition's leader is «la líder» (the replica); the quorum's, «el controlador activo»"),
]
GLOSSARY_TERMS = ["confirmación", "registrar", "desfase", "retraso", "rebalanceo", "microlote",
                  "disparador", "líder"]


def spanish_problems(path, glossary="GLOSARIO.md"):
    """The known Spanish collisions in `path`'s Markdown, and glossary terms missing."""
    nb = nbjson.load(path)
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        for pattern, why in SPANISH_COLLISIONS:
            m = re.search(pattern, text)
            if m:
                yield f"{path}: cell {cell.get('id')}: «{m.group(0)}»: {why}"
    try:
        listed = open(glossary, encoding="utf-8").read()
    except OSError:
        yield f"{glossary} is missing"
        return
    for term in GLOSSARY_TERMS:
        if f"| {term}" not in listed and f"{term}," not in listed:
            yield f"{glossary} does not list «{term}»"


def main(args):
    if len(args) != 2:
        print(__doc__)
        return 2
    found = list(problems(*args))
    if ".es." in args[1]:
        found += list(spanish_problems(args[1]))
    if found:
        print("TRANSLATION CHECK FAILED:\n" + "\n\n".join(found))
        return 1
    print(f"translation check passed: {args[1]} has the code cells of {args[0]}, "
          "translated Markdown, no outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
