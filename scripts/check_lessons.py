"""Checks that each lesson fits a class: what CI asserts about the notebooks' text.

Usage: python scripts/check_lessons.py            (the four notebooks below)
       python scripts/check_lessons.py X.ipynb ...

Prints the words of Markdown in every notebook, then fails if a lesson is over its budget:
at most 5,000 words in English (6,000 in Spanish, which runs longer), no Markdown cell over
250 words (300 in Spanish), and in lesson 1 the first event on screen (the
`settings.show_events` cell) within 1,000 words (1,200). Sections are numbered 1..N in
order, without letters, and the last one is the clean-up, whose code cell ends the
notebook. Every cell has RISE slide metadata. A word is a run of non-space characters with
a letter or digit in it (a table's `|` is not a word).
"""
import re
import sys

import nbjson

LESSONS = ["Notebook.ipynb", "Notebook.es.ipynb", "Kafka.ipynb", "Kafka.es.ipynb"]
BUDGET = {"en": (5000, 250, 1000), "es": (6000, 300, 1200)}
CLEAN_UP = ("Clean up", "Limpieza")


def words(text):
    return sum(1 for t in re.findall(r"\S+", text) if re.search(r"\w", t))


def problems(path):
    nb = nbjson.load(path)
    lang = "es" if ".es." in path else "en"
    total_max, cell_max, first_event_max = BUDGET[lang]
    total, before_events, seen_events = 0, None, False
    sections = []
    for cell in nb["cells"]:
        src = nbjson.source(cell)
        if "slideshow" not in cell.get("metadata", {}):
            yield f"cell {cell.get('id')} has no slide metadata (RISE)"
        if cell["cell_type"] == "code":
            if "settings.show_events(" in src and not seen_events:
                seen_events, before_events = True, total
            continue
        n = words(src)
        total += n
        if n > cell_max:
            yield f"Markdown cell {cell.get('id')} has {n} words (at most {cell_max})"
        m = re.match(r"## (\S+)\. (.*)", src)
        if m:
            sections.append((m.group(1), m.group(2).splitlines()[0], cell.get("id")))
    print(f"{path}: {total} words of Markdown, {len(sections)} sections"
          + (f", first event after {before_events} words" if seen_events else ""))
    if total > total_max:
        yield f"{total} words of Markdown (at most {total_max})"
    if path.startswith("Notebook") or "/Notebook" in path:
        if not seen_events:
            yield "no cell shows the first events (settings.show_events)"
        elif before_events > first_event_max:
            yield f"the first event comes after {before_events} words (at most {first_event_max})"
    numbers = [s[0] for s in sections]
    if numbers != [str(i) for i in range(1, len(numbers) + 1)]:
        yield f"sections are not numbered 1..N: {numbers}"
    if not sections or not sections[-1][1].startswith(CLEAN_UP):
        yield f"the last section is not the clean-up: {sections[-1] if sections else None}"
    last = nb["cells"][-1]
    if last["cell_type"] != "code" or "clean_up(" not in nbjson.source(last):
        yield "the notebook does not end with the clean-up cell"


def main(paths):
    found = [f"{p}: {why}" for p in paths for why in problems(p)]
    if found:
        print("LESSON CHECK FAILED:\n" + "\n".join(found))
        return 1
    print("lesson check passed: every lesson fits its budget")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or LESSONS))
