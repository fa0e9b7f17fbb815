"""Issue 13, the store's items: exports that never overwrite nor leave their directory
(item 2), store files verified whenever they are read (item 3), search that shows only
what the actor may read (item 6), owner-only files (item 8), a full disk and a store that
is not a directory (item 10). Each test is named after its item; item 1 (apply racing a
project delete) is in tests/reliability/test_store_races.py.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.cli.test_media import add_one
from tests.conftest import BACKEND, PASSWORD, Result
from tests.projecthelp import new_project


def one_error(result: Any, code: int) -> str:
    """The exit code, and a single ``Error:`` line on stderr (returned)."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert "Traceback" not in result.stderr
    return str(lines[0])


def rename_record(database: Any, media_id: str, filename: str) -> None:
    """A name no command gives (a database edited by hand, an old version, a teammate)."""
    from moviecli.models import Media

    with database.write() as session:
        media = session.get(Media, media_id)
        media.filename = filename
        session.add(media)


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def store_file(home: Path, sha256: str) -> Path:
    return home / "media" / "objects" / sha256[:2] / sha256


# --- item 2: project export --with-media ---------------------------------------------------------


HOSTILE_NAMES = ["../../escape.png", "sub/dir.png", ".bashrc", "..", "film.toml", "a.png"]


def test_item2_export_with_media_never_overwrites_nor_leaves_its_directory(
    cli, film, database, tmp_path
):
    files = tmp_path / "files"
    files.mkdir()
    names = HOSTILE_NAMES + (["nul\0name.png"] if BACKEND == "sqlite" else [])
    records = {}
    for seed, name in enumerate(names):
        record = add_one(cli, "Film", mf.png(files / f"{seed}.png", seed=seed), "concept_art")
        rename_record(database, record["id"], name)
        records[name] = record
    out = tmp_path / "out" / "deep"
    out.mkdir(parents=True)
    (out / ".bashrc").write_text("keep me\n")
    toml = out / "film.toml"

    made = cli("project", "export", "Film", "-o", str(toml), "--with-media", str(out))
    assert made.exit_code == 0, made.stderr
    written = tree(out)
    assert written.pop(".bashrc") == b"keep me\n"  # a record named .bashrc does not touch it
    assert written.pop("film.toml") == toml.read_bytes()
    assert tomllib.loads(toml.read_text())["project"][0]["title"] == "Film"  # not an image
    assert not [n for n in written if n.startswith(".") or "/" in n]
    assert len(written) == len(names)  # each record a file of its own, inside out/
    assert list(out.parent.iterdir()) == [out]  # nothing beside out/, nor above it
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "dir.png").exists()
    entries = {m["filename"] if "filename" in m else m["file"]: m for m in tomllib.loads(
        toml.read_text())["project"][0]["media"]}  # fmt: skip
    for name in names:  # the record's own name travels in the entry
        assert (out / entries[name]["file"]).resolve().parent == out.resolve()
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}

    again = cli("project", "export", "Film", "-o", str(toml), "--with-media", str(out))
    first = ", ".join(str(out / n) for n in ("_.._escape.png", "sub_dir.png", "bashrc"))
    assert one_error(again, 5) == (
        f"Error: {first} and {len(names) + 1 - 3} more would be overwritten "
        "(pass --force to replace them)"
    )
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before  # nothing written

    forced = cli("project", "export", "Film", "-o", str(toml), "--with-media", str(out), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert tomllib.loads(toml.read_text())["project"][0]["title"] == "Film"
    assert (out / ".bashrc").read_text() == "keep me\n"
    assert tree(out).keys() == {".bashrc", "film.toml", *written}


def test_item2_export_refuses_an_existing_output_file_and_a_file_as_directory(cli, film, tmp_path):
    add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    toml = tmp_path / "film.toml"
    toml.write_text("mine\n")
    refused = cli("project", "export", "Film", "-o", str(toml))
    assert str(toml) in one_error(refused, 5)
    assert toml.read_text() == "mine\n"
    assert cli("project", "export", "Film", "-o", str(toml), "--force").exit_code == 0
    assert toml.read_text().startswith("[[project]]")
    not_a_dir = tmp_path / "plain"
    not_a_dir.write_text("x")
    wrong = cli("project", "export", "Film", "--with-media", str(not_a_dir))
    assert "is not a directory" in one_error(wrong, 2)


def test_item2_media_export_into_a_directory_uses_a_safe_name(cli, film, database, tmp_path):
    record = add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    out = tmp_path / "out"
    out.mkdir()
    for name, expected in [("../../up.png", ".._.._up.png"), (".profile", "profile")]:
        rename_record(database, record["id"], name)
        done = cli("media", "export", record["id"], str(out), "--json")
        assert done.exit_code == 0, done.stderr
        assert done.json()["path"] == str(out / expected.lstrip("."))
    assert sorted(p.name for p in out.iterdir()) == sorted(["_.._up.png", "profile"])


# --- item 3: a store file replaced on disk -------------------------------------------------------


def test_item3_a_store_file_replaced_on_disk_is_never_served(cli, film, home, tmp_path):
    good = add_one(cli, "Film", mf.png(tmp_path / "good.png", seed=1), "concept_art")
    bad = add_one(cli, "Film", mf.png(tmp_path / "bad.png", seed=2), "concept_art")
    target = store_file(home, bad["sha256"])
    target.chmod(0o600)
    target.write_bytes(mf.png(tmp_path / "evil.png", seed=3).read_bytes())  # another image
    out = tmp_path / "out"
    out.mkdir()
    exported = cli("media", "export", bad["id"], str(out))
    line = one_error(exported, 6)
    assert bad["id"] in line and "does not match its sha256" in line
    assert list(out.iterdir()) == []
    assert cli("media", "export", good["id"], str(out)).exit_code == 0  # the others still work

    whole = tmp_path / "whole"
    project = cli("project", "export", "Film", "-o", str(whole / "film.toml"), "--with-media",
                  str(whole))  # fmt: skip
    assert bad["id"] in one_error(project, 6)
    assert not whole.exists() or list(whole.iterdir()) == []  # no file of the export left

    checked = cli("db", "check", "--json")
    assert checked.exit_code == 6
    report = json.loads(checked.stdout)
    assert report["ok"] is False
    assert [bad["id"] in r for r in report["store"]["corrupt"]] == [True]
    plain = cli("db", "check")
    assert plain.exit_code == 6
    assert f"store: the file of media {bad['id']}" in plain.stdout

    applied = tmp_path / "copy.toml"
    applied.write_text(
        '[[project]]\ntitle = "Copy"\ngenre = "drama"\nepisodeCount = 2\n'
        f'[[project.media]]\nsha256 = "{bad["sha256"]}"\nmediaType = "concept_art"\n'
    )
    refused = cli("apply", str(applied))
    assert "does not match its sha256" in one_error(refused, 6)
    assert cli("project", "show", "Copy").exit_code == 3  # nothing applied


# --- item 6: search shows only what the actor may read -------------------------------------------


def test_item6_search_hides_the_title_of_a_project_the_actor_cannot_see(
    cli, admin, make_user, login_as, tmp_path
):
    owner = login_as(make_user("olga@example.com"))
    new_project(cli, "Secret Heist")
    shared = add_one(cli, "Secret Heist", mf.png(tmp_path / "moon.png"), "concept_art",
                     "--description", "the moon over a vault")  # fmt: skip
    assert cli("media", "share", shared["id"]).exit_code == 0
    assert owner.email == "olga@example.com"
    login_as(make_user("pete@example.com"))
    new_project(cli, "Open Book")
    add_one(cli, "Open Book", mf.png(tmp_path / "sun.png", seed=4), "concept_art",
            "--description", "the sun over a vault")  # fmt: skip
    for args in [(), ("--limit", "1")]:
        plain = cli("media", "search", "vault", *args)
        assert plain.exit_code == 0, plain.stderr
        assert "Secret Heist" not in plain.stdout
    rows = [line.split("\t") for line in cli("media", "search", "vault").stdout.splitlines()[1:]]
    assert {r[3]: r[5] for r in rows} == {"moon.png": "", "sun.png": "Open Book"}
    login_as(admin)  # who may see the project sees its title
    rows = [line.split("\t") for line in cli("media", "search", "vault").stdout.splitlines()[1:]]
    assert {r[3]: r[5] for r in rows} == {"moon.png": "Secret Heist", "sun.png": "Open Book"}


# --- item 8: owner-only files --------------------------------------------------------------------


def modes(*roots: Path) -> dict[str, str]:
    """Every file and directory below ``roots`` whose mode lets others in."""
    found = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not path.is_symlink():
                found[str(path)] = oct(mode)
    return found


def run(home: Path, *args: str, input: str | None = None, limit: int | None = None) -> Result:
    """moviecli in a process of its own (with ``limit``: files may not grow beyond that
    many bytes; writes then fail with EFBIG as on a full disk, instead of the signal that
    would kill the process)."""

    def limited() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "moviecli", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MOVIECLI_HOME": str(home)},
        preexec_fn=limited,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_item8_every_file_moviecli_writes_is_owner_only(empty_db, home, tmp_path):
    os.umask(0o022)  # a usual umask: what moviecli creates must not depend on it (the
    # in-process runs of other tests set 0077, as the command line does)
    home.mkdir(mode=0o755)
    admin = ("--name", "Ada Admin", "--email", "ada@example.com", "--password-stdin")
    assert run(home, "init", *admin, input=PASSWORD + "\n").exit_code == 0
    holder = None
    if BACKEND == "sqlite":  # keep the -wal and -shm files while the commands write
        import sqlite3

        holder = sqlite3.connect(home / "moviecli.db")
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
    exports = tmp_path / "exports"
    exports.mkdir(mode=0o755)
    steps = [
        ("config", "set", "chat.timeout", "30"),
        ("project", "create", "Film", "--genre", "drama", "--episodes", "2"),
        ("media", "add", "Film", str(mf.png(tmp_path / "a.png")), "--type", "concept_art"),
        ("media", "search", "a"),
        (
            "project",
            "export",
            "Film",
            "-o",
            str(exports / "film.toml"),
            "--with-media",
            str(exports / "media"),
        ),
        ("project", "bible", "Film", "-o", str(exports / "bible.html")),
    ]
    if BACKEND == "sqlite":
        steps.append(("db", "backup", str(exports / "backup.db")))
    for step in steps:
        done = run(home, *step)
        assert done.exit_code == 0, (step, done.stderr)
    media_id = json.loads(run(home, "media", "list", "Film", "--json").stdout)["items"][0]["id"]
    assert run(home, "media", "export", media_id, str(exports)).exit_code == 0
    written = {p.name for p in home.iterdir()} | {p.name for p in exports.iterdir()}
    assert {"token", "config.toml", "media", "film.toml", "a.png", "bible.html"} <= written
    if holder is not None:
        assert {"moviecli.db", "moviecli.db-wal", "moviecli.db-shm", "backup.db"} <= written
        holder.close()
    assert modes(*[p for p in home.iterdir()], *[p for p in exports.iterdir()]) == {}


@pytest.mark.sqlite_only
def test_item8_db_check_warns_about_a_database_others_can_read(cli, admin, home):
    database = home / "moviecli.db"
    for path in home.glob("moviecli.db*"):  # made by the test's own connections
        path.chmod(0o600)
    quiet = cli("db", "check", "--json")
    assert quiet.exit_code == 0, quiet.stdout
    assert quiet.json()["warnings"] == []
    database.chmod(0o644)
    warned = cli("db", "check")
    assert warned.exit_code == 0, warned.stdout
    assert warned.stdout.splitlines()[-1] == (
        f"warning: other users can read the database {database} (mode 0644; chmod 600 it)"
    )
    assert len(cli("db", "check", "--json").json()["warnings"]) == 1


def test_item8_a_team_store_is_opened_to_its_group_only(cli, film, home, tmp_path):
    assert cli("config", "set", "media.group_access", "true").exit_code == 0
    record = add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    stored = store_file(home, record["sha256"])
    assert stat.S_IMODE(stored.stat().st_mode) == 0o640
    for directory in (stored.parent, home / "media" / "objects", home / "media"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o2770, directory
    assert stat.S_IMODE((home / "config.toml").stat().st_mode) == 0o600
    wrong = cli("config", "set", "media.group_access", "maybe")
    assert wrong.exit_code == 2


# --- item 10: a full disk, a store that is not a directory ---------------------------------------


def big_png(path: Path) -> Path:
    """An image of about 190 KB (noise does not compress)."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(7).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")
    assert path.stat().st_size > 150_000
    return path


def test_item10_disk_full_during_media_export_and_project_export(cli, film, admin, home, tmp_path):
    small = add_one(cli, "Film", mf.png(tmp_path / "small.png"), "concept_art", "--no-embed")
    big = add_one(cli, "Film", big_png(tmp_path / "big.png"), "concept_art", "--no-embed")
    assert small["createdAt"] <= big["createdAt"]  # the small one is exported first
    out = tmp_path / "out"
    out.mkdir()
    full = run(home, "media", "export", big["id"], str(out), limit=100_000)
    assert one_error(full, 6) == f"Error: cannot write {out / 'big.png'}: File too large"
    assert list(out.iterdir()) == []  # no partial file

    whole = tmp_path / "whole"
    project = run(home, "project", "export", "Film", "-o", str(whole / "film.toml"),
                  "--with-media", str(whole), limit=100_000)  # fmt: skip
    assert one_error(project, 6) == f"Error: cannot write {whole / 'big.png'}: File too large"
    assert list(whole.iterdir()) == []  # small.png, written first, removed too
    again = cli("project", "export", "Film", "-o", str(whole / "film.toml"), "--with-media",
                str(whole))  # fmt: skip
    assert again.exit_code == 0, again.stderr  # nothing was left to refuse


@pytest.mark.parametrize("kind", ["file", "/dev/null"])
def test_item10_media_store_that_is_not_a_directory(cli, film, home, tmp_path, kind):
    record = add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    if kind == "file":
        store = tmp_path / "store-file"
        store.write_text("not a directory\n")
    else:
        store = Path("/dev/null")
    assert cli("config", "set", "media.store", str(store)).exit_code == 0
    out = tmp_path / "exports"
    out.mkdir()
    expected = (
        f"Error: the media store {store} is not a directory "
        "(point media.store in config.toml at a directory)"
    )
    for args in [
        ("media", "add", "Film", str(mf.png(tmp_path / "b.png", seed=2)), "--type", "concept_art"),
        ("media", "export", record["id"], str(out)),
        ("media", "delete", record["id"], "--yes"),
        ("project", "export", "Film", "--with-media", str(tmp_path / "x")),
        ("db", "check"),
    ]:
        assert one_error(cli(*args), 6) == expected, args
    assert cli("media", "show", record["id"]).exit_code == 0  # the record is still there
    if kind == "file":
        assert store.read_text() == "not a directory\n"


# --- the next holes: the same kinds of input against the other media and store commands ----------


def test_hole_an_export_never_replaces_what_is_not_a_regular_file(cli, film, tmp_path):
    """--force replaces a regular file, nothing else: not a device (as root, ``media export
    ID /dev/null --force`` replaced the device node itself with a file), not a FIFO, not a
    symbolic link such as /dev/stdout. Devices are not tried here: a regression run as root
    would break the machine's /dev/null; a FIFO and a link take the same path."""
    record = add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path / "elsewhere.toml")
    for args, target in [
        (("media", "export", record["id"], str(fifo), "--force"), f"{fifo} is"),
        (("project", "export", "Film", "-o", str(link), "--force"), f"{link} is"),
        (("project", "export", "Film", "-o", str(tmp_path)), f"{tmp_path} is a directory"),
    ]:
        line = one_error(cli(*args), 2)
        assert target in line, line
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert not (tmp_path / "elsewhere.toml").exists()


def test_hole_a_stored_file_replaced_by_a_fifo_or_a_link_is_refused_at_once(
    cli, film, home, tmp_path
):
    """A shared store may hold anything in place of a file: a FIFO would block the reader
    for ever, a symbolic link would serve a secret from elsewhere."""
    fifo = add_one(cli, "Film", mf.png(tmp_path / "a.png", seed=1), "concept_art", "--no-embed")
    link = add_one(cli, "Film", mf.png(tmp_path / "b.png", seed=2), "concept_art", "--no-embed")
    secret = tmp_path / "secret.png"
    secret.write_bytes(store_file(home, link["sha256"]).read_bytes())  # even the same bytes
    store_file(home, fifo["sha256"]).unlink()
    os.mkfifo(store_file(home, fifo["sha256"]))
    store_file(home, link["sha256"]).unlink()
    store_file(home, link["sha256"]).symlink_to(secret)
    out = tmp_path / "out"
    out.mkdir()
    for record in (fifo, link):
        line = one_error(cli("media", "export", record["id"], str(out)), 6)
        assert record["id"] in line and "does not match its sha256" in line
    assert list(out.iterdir()) == []
    checked = cli("db", "check", "--json")
    assert checked.exit_code == 6
    assert len(checked.json()["store"]["corrupt"]) == 2


def test_hole_fifos_given_to_media_add_and_media_version(cli, film, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    mf.png(folder / "a.png")
    os.mkfifo(folder / "pipe.png")
    added = cli("media", "add", "Film", str(folder), "-r", "--type", "concept_art", "--no-embed")
    assert added.exit_code == 2
    assert f"Error: {folder / 'pipe.png'}: not a regular file" in added.stderr.splitlines()
    record = cli("media", "list", "Film", "--json").json()["items"][0]
    version = cli("media", "version", record["id"], str(folder / "pipe.png"))
    assert one_error(version, 2) == f"Error: {folder / 'pipe.png'}: not a regular file"


def test_hole_a_sha256_edited_in_the_database_is_never_a_path(cli, film, database, home, tmp_path):
    """A record whose sha256 was made "../../…" by a hand edit: nothing outside the store is
    read or removed, and the record can still be deleted."""
    from moviecli.models import Media

    bad = "../../../victim.txt"  # objects/../../../../victim.txt: beside the test's home
    victim = (home / "media" / "objects" / bad[:2] / bad).resolve()
    victim.write_text("keep\n")
    record = add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--no-embed")
    with database.write() as session:
        media = session.get(Media, record["id"])
        media.sha256 = bad
        session.add(media)
    out = tmp_path / "out"
    out.mkdir()
    assert "is not a sha256" in one_error(cli("media", "export", record["id"], str(out)), 6)
    checked = cli("db", "check", "--json")
    assert checked.exit_code == 6
    assert [record["id"] in r for r in checked.json()["store"]["corrupt"]] == [True]
    assert cli("media", "delete", record["id"], "--yes").exit_code == 0
    assert victim.read_text() == "keep\n"


def test_hole_a_relative_media_store_is_refused(cli, home):
    refused = cli("config", "set", "media.store", "media-here")
    assert one_error(refused, 2) == (
        "Error: bad value for media.store: must be an absolute path (or start with ~)"
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[media]\nstore = "relative/store"\n')
    assert "media.store must be an absolute path" in one_error(cli("whoami"), 6)


def test_hole_a_damaged_search_cache_is_rebuilt(cli, film, home, tmp_path):
    add_one(cli, "Film", mf.png(tmp_path / "a.png"), "concept_art", "--description", "sea")
    assert cli("media", "search", "sea", "--json").json()["total"] == 1
    (state,) = home.glob("cache/search/*/state.json")
    data = json.loads(state.read_text())
    for damage in [
        {**data, "gen": "../../../../victim"},
        {**data, "gen": "0" * 12},  # no such generation
    ]:
        state.write_text(json.dumps(damage))
        found = cli("media", "search", "sea", "--json")
        assert found.exit_code == 0, found.stderr
        assert found.json()["total"] == 1
    import numpy as np

    vectors = state.parent / f"{json.loads(state.read_text())['gen']}.vec.npy"

    np.save(vectors, np.full((3, 384), np.nan, dtype=np.float32))  # wrong shape, NaN
    found = cli("media", "search", "sea", "--json")
    assert found.exit_code == 0, found.stderr
    assert found.json()["items"][0]["similarity"] > 0
