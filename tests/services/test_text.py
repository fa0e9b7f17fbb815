"""The two text rules: the folding key and visible control characters."""

from __future__ import annotations

from moviecli.text import fold, one_line, visible


def test_fold_is_unicode_aware_where_sqlite_lower_is_ascii_only():
    assert fold("Über Heist") == fold("über heist")
    assert fold("ÁDMIN@Example.com") == "ádmin@example.com"
    assert fold("Straße") == fold("STRASSE")  # casefold, not lower
    assert fold("ﬁlm") == "film"  # NFKC: the ligature is two letters


def test_visible_shows_escape_sequences_and_c1_controls():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x9b31m") == "\\x9b31m"  # CSI as one C1 character
    assert visible("bell\x07del\x7f") == "bell\\x07del\\x7f"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert visible("été ✓ 映画") == "été ✓ 映画"


def test_one_line_escapes_newlines_too():
    assert one_line("two\nlines\r") == "two\\nlines\\r"
    assert one_line("a\tb\x1b") == "a\tb\\x1b"


def test_bracket_depth_counts_the_deepest_nesting() -> None:
    from moviecli.text import bracket_depth

    assert bracket_depth("") == 0
    assert bracket_depth('{"a": [1, {"b": []}]}') == 4
    assert bracket_depth("[]" * 1000) == 1
    assert bracket_depth("[" * 100_000) == 100_000
    assert bracket_depth('["[[["]') == 4  # inside strings too: an upper bound
