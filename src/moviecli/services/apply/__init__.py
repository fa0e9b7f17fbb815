"""``moviecli apply FILE.toml``: declarative, idempotent setup of projects (SPEC section 6).

Three stages, so that a bad file changes nothing and a killed run leaves whole projects:

1. **read** the file (``parse``: bounded, then TOML) and check every entry (``validate``),
   collecting every problem with its place (``project[1].media[2].file: …``) — nothing is
   written when there is any;
2. **plan** against the database (``plan``): create / update (old → new per field) /
   unchanged for each project, collaborator and media entry, and what exists but is not
   in the file (kept);
3. **apply** the plan (``execute``): whole projects per write transaction (one with media
   files alone, runs of up to ``execute.RUN`` without).

``export`` writes a project in the same format. Projects are matched by title among the
actor's own projects (case-insensitive), media by content hash within the project. The
story goes through ``story.record`` (revisions with source apply); the workflow position
is set with its requirements checked by the workflow engine. apply does not manage chat
sessions.
"""

from moviecli.services.apply.execute import (
    apply_fields,
    apply_plans,
    apply_project,
    embed_count,
    embed_plan,
    files_count,
    recover,
)
from moviecli.services.apply.export import Export, export_project
from moviecli.services.apply.model import FieldChange, ItemPlan, MediaPlan, Plan, ProjectPlan
from moviecli.services.apply.parse import read_file
from moviecli.services.apply.plan import in_file_order, load, plan_entries
from moviecli.services.apply.validate import Checker, MediaEntry, ProjectEntry

__all__ = [
    "Checker",
    "Export",
    "FieldChange",
    "ItemPlan",
    "MediaEntry",
    "MediaPlan",
    "Plan",
    "ProjectEntry",
    "ProjectPlan",
    "apply_fields",
    "apply_plans",
    "apply_project",
    "embed_count",
    "embed_plan",
    "export_project",
    "files_count",
    "in_file_order",
    "load",
    "plan_entries",
    "read_file",
    "recover",
]
