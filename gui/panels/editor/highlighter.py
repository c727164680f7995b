"""Python syntax colours for the code editor, light or dark to match the palette."""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat

_LIGHT = {
    "keyword": ("#0033b3", True, False),
    "builtin": ("#7a3e9d", False, False),
    "self": ("#94558d", False, True),
    "decorator": ("#9e880d", False, False),
    "number": ("#1750eb", False, False),
    "string": ("#067d17", False, False),
    "comment": ("#8c8c8c", False, True),
    "defname": ("#00627a", True, False),
}
_DARK = {
    "keyword": ("#cc7832", True, False),
    "builtin": ("#8888c6", False, False),
    "self": ("#94558d", False, True),
    "decorator": ("#bbb529", False, False),
    "number": ("#6897bb", False, False),
    "string": ("#6a8759", False, False),
    "comment": ("#808080", False, True),
    "defname": ("#ffc66d", True, False),
}

_KEYWORDS = r"\b(?:" + "|".join(keyword.kwlist + ["match", "case"]) + r")\b"
_BUILTINS = r"\b(?:" + "|".join(n for n in dir(builtins) if not n.startswith("_")) + r")\b"
_PREFIX = r"(?:[rRbBuUfF]{0,2})"
# Rules applied in order; later ones win where they overlap (strings and comments last).
_RULES = [
    ("builtin", re.compile(_BUILTINS)),
    ("keyword", re.compile(_KEYWORDS)),
    ("self", re.compile(r"\bself\b")),
    ("number", re.compile(r"\b(?:0[xXoObB][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?)\b")),
    ("decorator", re.compile(r"^\s*@[\w.]+")),
    ("defname", re.compile(r"\b(?:def|class)\s+(\w+)")),
]
_STRING = re.compile(_PREFIX + r"(\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?)")
_TRIPLE = re.compile(_PREFIX + r"(\"\"\"|''')")
_COMMENT = re.compile(r"#.*$")

# Block states: inside a triple-quoted string opened with ''' (1) or """ (2).
_IN_TRIPLE = {"'''": 1, '"""': 2}


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, `self`, decorators, numbers, strings (triple-quoted across lines), comments."""

    def __init__(self, document, dark: bool = False):
        super().__init__(document)
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        self._formats = {name: _format(*spec) for name, spec in (_DARK if dark else _LIGHT).items()}
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        for name, rx in _RULES:
            fmt = self._formats[name]
            for m in rx.finditer(text):
                group = 1 if rx.groups else 0
                self.setFormat(m.start(group), m.end(group) - m.start(group), fmt)
        self._strings_and_comments(text)

    def _strings_and_comments(self, text: str) -> None:
        """Scan left to right, so a `#` inside a string or a quote inside a comment is no trouble."""
        string_fmt, comment_fmt = self._formats["string"], self._formats["comment"]
        self.setCurrentBlockState(0)
        pos = 0
        state = self.previousBlockState()
        if state in (1, 2):
            delim = "'''" if state == 1 else '"""'
            end = text.find(delim)
            if end < 0:
                self.setFormat(0, len(text), string_fmt)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end + 3, string_fmt)
            pos = end + 3
        while pos < len(text):
            ch = text[pos]
            if ch == "#":
                self.setFormat(pos, len(text) - pos, comment_fmt)
                return
            triple = _TRIPLE.match(text, pos)
            if triple and text[triple.start(1):triple.start(1) + 3] in _IN_TRIPLE:
                delim = triple.group(1)
                end = text.find(delim, triple.end())
                if end < 0:
                    self.setFormat(pos, len(text) - pos, string_fmt)
                    self.setCurrentBlockState(_IN_TRIPLE[delim])
                    return
                self.setFormat(pos, end + 3 - pos, string_fmt)
                pos = end + 3
                continue
            if ch in "'\"" or (ch.isalpha() and _starts_string(text, pos)):
                m = _STRING.match(text, pos)
                if m:
                    self.setFormat(pos, m.end() - pos, string_fmt)
                    pos = m.end()
                    continue
            if ch.isalnum() or ch == "_":  # skip the rest of an identifier (so `rb` in `herb'` is no prefix)
                while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
                    pos += 1
                continue
            pos += 1


def _starts_string(text: str, pos: int) -> bool:
    """A string prefix (r, b, f, rb...) directly followed by a quote."""
    k = pos
    while k < len(text) and k - pos < 2 and text[k] in "rRbBuUfF":
        k += 1
    return k > pos and k < len(text) and text[k] in "'\""


def _format(color: str, bold: bool, italic: bool) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    fmt.setFontItalic(italic)
    return fmt
