"""CSV cells that a spreadsheet will not run as formulas (CSV injection).

Excel, LibreOffice and Google Sheets treat a cell starting with = + - @ (and, after their own
trimming, a tab or carriage return) as a formula: `=HYPERLINK("http://x";"Klicka")` becomes a live
link, `@SUM(1+1)*cmd|' /C calc'!A0` a command. A leading single quote makes the cell plain text and
is not shown. Use `neutralise_formula` for every cell of every CSV the app writes.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> str:
    """`value` as CSV cell text; a cell a spreadsheet would run as a formula is kept as text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
