"""moviecli workflow …: the production workflow's steps (reference data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, acting

if TYPE_CHECKING:
    from moviecli.services.projects import ProgressReport

app = typer.Typer(help="The production workflow's eight steps.", no_args_is_help=True)


@app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """The workflow steps in order: what each needs completed first and what completes it."""
    from moviecli.services import workflow

    with acting() as (session, _):
        steps = workflow.list_steps(session)
    if json_out:
        render.print_json(steps)
        return
    render.print_table(
        [
            render.Column("#", justify="right", no_wrap=True, priority=5),
            render.Column("Id", no_wrap=True, key=True),
            render.Column("Step", min_width=21, priority=4),
            render.Column("Needs completed", priority=2),
            render.Column("To complete it, the project needs", min_width=16, priority=3),
            render.Column("Time", no_wrap=True, priority=1),
        ],
        [
            (
                s.position,
                s.id,
                f"{render.icon(s.icon)} {s.title}" if render.use_rich() else s.title,
                ", ".join(s.prerequisites) or "—",
                s.requirement,
                s.estimated_time,
            )
            for s in steps.items
        ],
    )


MARKS = {"done": "✓", "current": "▶", "available": "○", "blocked": "✗"}
STYLES = {"done": "green", "current": "bold yellow", "available": "cyan", "blocked": "dim"}


def progress_lines(report: ProgressReport) -> list[str]:
    """The phase checklist as plain lines (piped output, the chat's /progress)."""
    lines = [
        f"{render.visible(report.title)}: {report.status}, {report.overall_progress}% "
        f"({len(report.completed_steps)}/8 steps), on {report.current_phase}"
    ]
    for ph in report.phases:
        line = f"  {MARKS[ph.state]} {ph.title} ({ph.state})"
        if ph.blocked_by:
            line += f": after {', '.join(ph.blocked_by)}"
        lines.append(line)
        lines.extend(f"      needs {need}" for need in ph.needs)
    return lines


def render_progress(report: ProgressReport) -> None:
    """``project progress``: a checklist panel on a terminal, plain lines otherwise."""
    if not render.use_rich():
        for line in progress_lines(report):
            render.say(line)
        return
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None, padding=(0, 1))
    for ph in report.phases:
        why: list[str] = []
        if ph.blocked_by:
            why.append(f"after {', '.join(ph.blocked_by)}")
        why.extend(f"needs {need}" for need in ph.needs)
        table.add_row(
            Text(MARKS[ph.state], style=STYLES[ph.state]),
            Text(f"{render.icon(ph.icon)} {ph.title}", style=STYLES[ph.state]),
            Text(ph.state, style="dim"),
            Text("\n".join(why) or "—", style="dim" if ph.state == "done" else ""),
        )
    title = Text.assemble(
        (render.visible(report.title), "bold"), f"  {report.status} · {report.overall_progress}%"
    )
    render.console().print(Panel(table, title=title, title_align="left"))
