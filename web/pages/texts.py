"""Plain-words texts that come with the diagrams: process descriptions, READMEs, step instructions.

Diagram texts may carry both languages ("FR — ... EN — ..."); pages show the reader's part.
READMEs are a small, safe subset of Markdown (paragraphs, bold, lists) rendered by escaping
everything first — no HTML from a file ever reaches a page as markup.
"""
from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from engine import BPMN_NS, PROCESSES_DIR, parse_xml

_LANG_MARK = re.compile(r"(?:\*\*)?\b(FR|EN)\s*[—–]\s*(?:\*\*)?")


def localized(text: str, language: str) -> str:
    """The part of a bilingual text in `language` (French first, English after `EN —` or `---`)."""
    text = (text or "").strip()
    parts = re.split(r"^\s*---+\s*$", text, flags=re.M)
    if len(parts) == 2:
        return parts[1 if language == "en" else 0].strip()
    marks = list(_LANG_MARK.finditer(text))
    if len(marks) >= 2 and {m.group(1) for m in marks} == {"FR", "EN"}:
        pieces = {}
        for mark, following in zip(marks, marks[1:] + [None]):
            pieces[mark.group(1)] = text[mark.end():following.start() if following else len(text)].strip()
        return pieces["EN" if language == "en" else "FR"]
    return text


def readme_for_people(key: str, language: str) -> str:
    """The part of processes/<key>/README.md written for people (before its first `##` section)."""
    path = PROCESSES_DIR / key / "README.md"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A\s*#\s[^\n]*\n", "", text)  # the title: the page shows the process name
    text = re.split(r"^##\s", text, maxsplit=1, flags=re.M)[0]
    return localized(text, language)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline(line: str) -> str:
    html = str(escape(line))
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _CODE.sub(r"\1", html)


def simple_markdown(text: str) -> Markup:
    """Paragraphs, `- ` lists and **bold** as HTML; everything else is text."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith(("- ", "* ")) for ln in lines):
            items = "".join(f"<li>{_inline(ln[2:])}</li>" for ln in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return Markup("".join(blocks))


_HEADED = re.compile(r"\A\*\*([^*]{2,60}?[?:])\*\*\s*(.*)\Z", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«“])")
_HOW_LONG = re.compile(r"^(Comptez|Allow|Expect|Prévoyez)\b")


NEXT, HOW_LONG = "next", "how_long"  # headings the page words itself for plain paragraphs


def explained(text: str) -> tuple[str, list[tuple[str, Markup]]]:
    """A process text as (who it is for, [(heading, paragraph), ...]).

    Texts written as "**Pour qui ?** ... **Et ensuite ?** ..." keep their headings; a plain
    paragraph gives its first sentence as the lead, and sentences that say how long it takes
    ("Comptez ...", "Allow ...") are set apart.
    """
    blocks = [b.strip() for b in re.split(r"\n\s*\n", (text or "").strip()) if b.strip()]
    headed = [_HEADED.match(" ".join(b.split())) for b in blocks]
    if blocks and all(headed):
        sections = [(m.group(1), _as_steps(m.group(2)) if i == 1 else simple_markdown(m.group(2)))
                    for i, m in enumerate(headed)]
        return str(headed[0].group(2)), sections[1:]
    sentences = _SENTENCE_END.split(" ".join(" ".join(blocks).split()))
    if not sentences or not sentences[0]:
        return "", []
    lead, rest = sentences[0], sentences[1:]
    timing = [x for x in rest if _HOW_LONG.match(x)]
    steps = [x for x in rest if x not in timing]
    sections: list[tuple[str, Markup]] = []
    if steps:
        sections.append((NEXT, _as_steps(" ".join(steps))))
    if timing:
        sections.append((HOW_LONG, simple_markdown(" ".join(timing))))
    return lead, sections


def _as_steps(text: str) -> Markup:
    """A paragraph of what happens next as a list, one sentence a line: easier to follow."""
    sentences = [x for x in _SENTENCE_END.split(" ".join(text.split())) if x]
    if len(sentences) < 3:
        return simple_markdown(text)
    return Markup("<ul class=\"steps-list\">" + "".join(f"<li>{_inline(x)}</li>" for x in sentences) + "</ul>")


@lru_cache(maxsize=64)
def _documentation(checksum: str, bpmn: bytes) -> dict[str, str]:
    root = parse_xml(bpmn, "diagram.bpmn")
    docs = {}
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        doc = element.find(f"{{{BPMN_NS}}}documentation")
        if element.get("id") and doc is not None and (doc.text or "").strip():
            docs[element.get("id")] = " ".join(doc.text.split())
    return docs


def step_instructions(version, bpmn_id: str, language: str) -> str:
    """The `bpmn:documentation` of one step of a deployed version, in the reader's language."""
    return localized(_documentation(version.checksum, version.bpmn_file.content).get(bpmn_id, ""), language)
