"""How output looks: rich tables and panels on a terminal, tab-separated lines otherwise,
and the one JSON encoder of ``--json``.

rich is imported only when stdout is a terminal; services never print.

Text from the database, files and arguments is shown, never obeyed: every function here
passes it through :func:`moviecli.text.visible` (control characters as ``\\x1b``), so a
title holding ESC sequences cannot rewrite the terminal. Code that builds its own rich
objects makes its text with :func:`styled`; the console of :func:`console` escapes whatever
reaches it anyway (a last line of defence: text escaped that late may be cut at the edge).
JSON is left alone: its encoder escapes control characters already.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal, TextIO

# re-exported: cli modules escape names with render.one_line / render.visible
from moviecli.text import fold
from moviecli.text import one_line as one_line
from moviecli.text import visible as visible


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def use_rich() -> bool:
    return stdout_is_terminal()


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    con = Console(stderr=stderr, highlight=False, no_color="NO_COLOR" in os.environ or None)
    con.push_render_hook(_visible_hook())
    return con


def styled(value: Any, style: str = "", **kwargs: Any) -> Any:
    """A rich Text of ``value`` with control characters shown, never read as markup."""
    from rich.text import Text

    return Text(visible(str(value)), style=style, **kwargs)


def _visible_hook() -> Any:
    """A render hook that shows the control characters of every text segment printed.

    rich keeps ESC (and C1 controls) in a Text and writes them out as they are; its own
    cursor and style codes are control segments, or styles, and stay untouched.
    """
    from rich.console import RenderHook
    from rich.segment import Segment

    class Shown:
        def __init__(self, renderable: Any) -> None:
            self.renderable = renderable

        def __rich_console__(self, con: Any, options: Any) -> Any:
            for segment in con.render(self.renderable, options):
                if segment.control or visible(segment.text) == segment.text:
                    yield segment
                else:
                    yield Segment(visible(segment.text), segment.style)

    class Hook(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [Shown(r) for r in renderables]

    return Hook()


# --- JSON ------------------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """Plain JSON data from models, pages, dataclasses and datetimes (camelCase names)."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    if isinstance(obj, datetime):
        return iso(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {_camel(f.name): jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def _camel(name: str) -> str:
    """The models' alias generator (models.PublicModel), so a dataclass printed here and
    its schema (cli/schema_cmd.py builds it on PublicModel) name fields alike."""
    from pydantic.alias_generators import to_camel

    return to_camel(name)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def print_json(obj: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(json.dumps(jsonable(obj), ensure_ascii=False, indent=2) + "\n")


# --- tables and records ----------------------------------------------------------------------


@dataclass
class Column:
    """A table column and how it gives way on a narrow terminal.

    ``key`` marks what identifies a row (a title, a filename, a short id): it is never
    dropped and never cut (a long one wraps at words). The other columns are dropped
    when the table does not fit, lowest ``priority`` first (the rightmost of equals
    first); those left share the width, long text wrapping at words down to
    ``min_width`` (default :data:`MIN_WIDTH`). A ``no_wrap`` column is shown whole or
    not at all. The rule lives here, in :func:`fit_columns`, for every table.
    """

    header: str
    justify: Literal["left", "center", "right"] = "left"
    style: str | None = None
    no_wrap: bool = False
    min_width: int | None = None
    key: bool = False
    priority: int = 1


MIN_WIDTH = 10  # narrowest a wrapping column gets before it is dropped
KEY_ROOM = 20  # room a long title or filename keeps at least (it wraps beyond that)
KEY_WIDE = 30  # room it gets first when there is more
WORD_ROOM = 24  # a column keeps its longest word whole up to this width (an email)


def table_overhead(columns: int) -> int:
    """Cells a boxed table spends on borders and padding (rich's default box, padding 1)."""
    return 3 * columns + 1


def fit_columns(
    cols: Sequence[Column], rows: Sequence[Sequence[Any]], width: int, con: Any
) -> tuple[list[int], list[int]]:
    """Which columns a table keeps at ``width`` cells, and each kept column's width.

    Rows are rich renderables (cells as :func:`_cell` makes them). Each column needs at
    least its floor: ``no_wrap`` and short columns their whole width; a key column its
    whole width up to :data:`KEY_ROOM` (folded beyond); others ``min_width``, or their
    longest word up to :data:`WORD_ROOM` (so that words are not broken). Columns
    are dropped (lowest priority first, keys never) until the floors fit; the room left
    goes to the columns whose text is still wrapped, narrowest first.
    """
    from rich.measure import Measurement

    options = con.options.update(max_width=10_000)
    natural: list[int] = []
    floors: list[int] = []
    for i, col in enumerate(cols):
        cells = [col.header, *(row[i] for row in rows)]
        sizes = [Measurement.get(con, options, c) for c in cells]
        full = max(max(s.maximum for s in sizes), col.min_width or 0, 1)
        word = min(max(s.minimum for s in sizes), WORD_ROOM)  # its longest word
        if col.no_wrap:
            floor = full
        elif col.key:
            floor = min(full, max(KEY_ROOM, col.min_width or 0))
        else:
            floor = min(full, max(col.min_width or MIN_WIDTH, word))
        natural.append(full)
        floors.append(floor)
    kept = list(range(len(cols)))

    def total(indices: list[int], sizes: list[int]) -> int:
        return sum(sizes[i] for i in indices) + table_overhead(len(indices))

    droppable = sorted(
        (i for i, c in enumerate(cols) if not c.key), key=lambda i: (cols[i].priority, -i)
    )
    while total(kept, floors) > width and droppable:
        kept.remove(droppable.pop(0))
    widths = {i: floors[i] for i in kept}
    room = width - total(kept, floors)
    # key columns first, up to KEY_WIDE (most titles on one line), then whichever
    # column is narrowest and still wraps
    for i in kept:
        if cols[i].key:
            grow = min(room, min(natural[i], KEY_WIDE) - widths[i])
            if grow > 0:
                widths[i] += grow
                room -= grow
    while room > 0:
        growing = [i for i in kept if widths[i] < natural[i]]
        if not growing:
            break
        i = min(growing, key=lambda j: widths[j])
        widths[i] += 1
        room -= 1
    return kept, [widths[i] for i in kept]


def table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> Any:
    """A rich Table of ``rows`` fitted to ``width`` (the terminal's) by :func:`fit_columns`."""
    from rich.table import Table

    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    con = console()
    cells = [[_cell(v) for v in row] for row in rows]
    width = width or con.width
    kept, widths = fit_columns(cols, cells, width, con)
    result = Table(
        # a title wider than a narrow table keeps its line (up to the terminal's width)
        min_width=min(width, con.measure(styled(title)).maximum) if title else None,
        title=styled(title) if title is not None else None,
        caption=styled(caption) if caption is not None else None,
        header_style="bold",
        title_justify="left",
        caption_justify="left",
    )
    for i, w in zip(kept, widths, strict=True):
        col = cols[i]
        result.add_column(
            col.header, justify=col.justify, style=col.style, width=w, overflow="fold"
        )
    for row in cells:
        result.add_row(*[row[i] for i in kept])
    return result


def print_table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    caption: str | None = None,
) -> None:
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    rows = list(rows)
    if use_rich():
        console().print(table(cols, rows, title=title, caption=caption))
        return
    # Plain: one header line, then one tab-separated line per row (easy to cut/awk).
    sys.stdout.write("\t".join(c.header.lower() for c in cols) + "\n")
    for row in rows:
        sys.stdout.write("\t".join(_plain(v) for v in row) + "\n")
    if caption:
        sys.stderr.write(visible(caption) + "\n")


def print_record(pairs: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """A record as an aligned key/value panel, or ``key<TAB>value`` lines."""
    if use_rich():
        from rich.panel import Panel
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")  # a long id or hash wraps, never cut
        for key, value in pairs:
            grid.add_row(key, _cell(value))
        panel_title = styled(title) if title is not None else None
        console().print(Panel(grid, title=panel_title, title_align="left", expand=False))
        return
    for key, value in pairs:
        sys.stdout.write(f"{key}\t{_plain(value)}\n")


def _cell(value: Any) -> Any:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, (list, tuple)):
        return styled(", ".join(str(v) for v in value) or "—")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else "—"
    if isinstance(value, str):
        return styled(value)  # never interpret user text as rich markup
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (list, tuple)):
        text = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    # one field of one line: tabs and newlines would split it
    return visible(text).replace("\t", " ").replace("\n", " ")


MATCH_STYLE = "bold yellow"


def highlight(text: str, words: Sequence[str], *, min_length: int = 1) -> Any:
    """``text`` as a rich Text (control characters shown), the given words in it
    highlighted: whole words, whatever their case. Plain output never calls this."""
    import re

    shown = styled(text)
    wanted = {w for w in words if len(w) >= min_length}
    if wanted:
        for match in re.finditer(r"[^\W_]+", shown.plain):
            if fold(match.group()) in wanted:
                shown.stylize(MATCH_STYLE, match.start(), match.end())
    return shown


def icon(emoji: str) -> str:
    """An emoji as a table may show it: two cells wide on every terminal, or two spaces.

    An emoji that Unicode calls wide (most pictographs) is two cells wherever it is drawn,
    and rich counts two. One that is narrow by Unicode but drawn as a picture (🎞, ✂) is
    one cell to rich and two on most terminals: shown, it would push its row's borders
    out of line, so two spaces stand in for it and the titles after it stay aligned.
    """
    import unicodedata

    from rich.cells import cell_len

    shown = [c for c in emoji if c not in "\ufe0f\u200d"]
    wide = all(unicodedata.east_asian_width(c) in "WF" for c in shown)
    return emoji if shown and wide and cell_len(emoji) == 2 else "  "


def named(name: str | None, identifier: str | None) -> str | None:
    """``Title (id)`` for a person: the short id on a terminal, the whole one piped."""
    if not identifier:
        return None
    shown = identifier[:8] if use_rich() else identifier
    return f"{name} ({shown})" if name else shown


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def ago(value: datetime) -> str:
    """How long ago, for people: 'just now', '5 min ago', '3 h ago', '2 d ago', a date."""
    from moviecli.models import utcnow

    seconds = (utcnow() - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return value.strftime("%Y-%m-%d")


def page_caption(total: int, page: int, limit: int, noun: str) -> str | None:
    pages = max(1, -(-total // limit))
    if total <= limit and page == 1:
        return None
    return f"page {page} of {pages} ({total} {noun}; --page N for more)"


# --- progress ----------------------------------------------------------------------------------

# progress(phase, advance, total): ``advance`` more of ``total`` done in ``phase``
ProgressFn = Callable[[str, int, int], None]


def shows_progress(*, quiet: bool = False, json_out: bool = False) -> bool:
    """Progress is drawn for a person watching a terminal: not with -q or --json, and not
    when stdout or stderr is piped or redirected."""
    return not (quiet or json_out) and sys.stderr.isatty() and sys.stdout.isatty()


@contextmanager
def progress(*, quiet: bool = False, json_out: bool = False) -> Iterator[ProgressFn | None]:
    """The one progress display of long commands: a rich bar per phase on stderr, gone
    when the work is done; ``None`` (nothing drawn) where :func:`shows_progress` says no.

    Services take the callback and call it as the work goes; ``total`` may change from
    one call to the next (the bar follows)."""
    if not shows_progress(quiet=quiet, json_out=json_out):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(phase: str, advance: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(visible(phase), total=total)
        bar.update(tasks[phase], advance=advance, total=total)

    with bar:
        yield update


# --- messages ----------------------------------------------------------------------------------


def say(message: str, *, quiet: bool = False) -> None:
    """A line for a person: what was done. On stdout, so it can be read after the data."""
    if not quiet:
        sys.stdout.write(visible(message) + "\n")


def note(message: str, *, quiet: bool = False) -> None:
    """Progress and hints: stderr, silenced by -q."""
    if not quiet:
        sys.stderr.write(visible(message) + "\n")


def error_line(message: str) -> None:
    """One line on stderr, whatever the names in it hold (see one_line)."""
    sys.stderr.write(one_line(message) + "\n")
