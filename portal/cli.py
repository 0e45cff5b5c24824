"""`portal`: a thin command line over the same functions the web layer calls."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from portal.catalog.accounts import (
    AccountError,
    add_user,
    disable_user,
    enable_user,
    list_users,
    set_password,
)
from portal.catalog.catalog import Catalog, DataPaths
from portal.catalog.csvformat import CatalogFileError, write_catalog_csv
from portal.config import ConfigError, Settings
from portal.demo import load_demo
from portal.errors import PortalError

err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(label: str, total: int | None):
    """A progress bar on a terminal; nothing when output goes to a file or a pipe."""
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


def open_catalog(settings: Settings) -> Catalog:
    return Catalog.open(settings.data_dir, settings.database_url)


def prepare(settings: Settings, demo: bool = True) -> Catalog:
    """Create the catalog if its database is empty (with the demo catalog unless told not
    to), make sure this node's index exists and has caught up with the change feed."""
    catalog = open_catalog(settings)
    if catalog.created and demo:
        report = load_demo(catalog)
        err.print(f"demo catalog: {report.summary()}")
    if not catalog.index.exists():
        err.print("building the search index from the catalog ...")
        reindex(catalog)
    elif not catalog.index.healthy():
        # The portal serves meanwhile and rebuilds in the background (see web/app.py).
        err.print("the search index is missing or damaged: it is rebuilt while the portal serves")
    else:
        catalog.catch_up()  # a node that was down applies what it missed
    return catalog


def reindex(catalog: Catalog) -> int:
    with progress_bar("reindex", catalog.record_count()) as advance:
        count = catalog.rebuild_index(progress=advance)
    err.print(f"reindexed {count} records")
    return count


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from portal.web.server import HeaderDeadlineProtocol

    prepare(settings, demo=not args.no_demo).close()
    os.environ["PORTAL_DATA_DIR"] = str(settings.data_dir)
    err.print(f"serving {settings.data_dir} at http://{args.host}:{args.port}")
    uvicorn.run(
        "portal.web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        http=HeaderDeadlineProtocol,  # a request's headers must arrive within 10 s
        server_header=False,
        # A proxy on this machine (nginx in front) is believed by default: without its
        # X-Forwarded-For every reader would be one client to the per-client limits.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips or "127.0.0.1",
    )
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    catalog = open_catalog(settings)
    try:
        report = catalog.import_paths(
            [Path(p) for p in args.files], dry_run=args.dry_run, library=args.library
        )
    except CatalogFileError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False)
        err.print(f"nothing imported: {len(error.problems)} problem(s)")
        return 1
    except OSError as error:
        err.print(f"cannot read {error.filename}: {error.strerror}")
        return 1
    finally:
        catalog.close()
    print(report.summary())
    if catalog.index_behind is not None and not args.dry_run:
        err.print(
            f"the import is saved, but the search index could not follow it "
            f"({catalog.index_behind}); it catches up when the portal starts or with "
            "`portal check`",
            markup=False,
        )
        return 1
    return 0


def cmd_reindex(_args: argparse.Namespace, settings: Settings) -> int:
    catalog = open_catalog(settings)
    try:
        reindex(catalog)
    finally:
        catalog.close()
    return 0


EXPORT_SUFFIXES = {".csv": "csv", ".mrc": "marc", ".marc": "marc", ".xml": "marcxml"}


def export_format(args: argparse.Namespace) -> str:
    """--format, else the file's suffix (.csv, .mrc, .xml), else Catalog CSV."""
    if args.format:
        return args.format
    return EXPORT_SUFFIXES.get(Path(args.file).suffix.lower(), "csv")


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from portal.catalog.exports import export_marc

    fmt = export_format(args)
    target = Path(args.file)
    tmp = target.with_name(f".{target.name}.tmp")
    catalog = open_catalog(settings)
    try:
        if fmt == "csv":
            with tmp.open("w", encoding="utf-8", newline="") as stream:
                count = write_catalog_csv(catalog.export_rows(), stream)
            done = f"{count} rows"
        else:
            with tmp.open("wb") as stream:
                count = export_marc(catalog, stream, fmt)
            done = f"{count} MARC records ({'ISO 2709' if fmt == 'marc' else 'MARCXML'})"
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        catalog.close()
    tmp.replace(target)
    print(f"exported {done} to {target}")
    return 0


def cmd_i18n(args: argparse.Namespace, _settings: Settings) -> int:
    from portal import i18n_tools
    from portal.web.i18n import LANGUAGES

    if args.action == "extract":
        i18n_tools.write_catalog(i18n_tools.extract(), i18n_tools.POT_PATH)
        print(f"wrote {i18n_tools.POT_PATH}")
    elif args.action == "update":
        for path in i18n_tools.update():
            print(f"updated {path}")
    elif args.action == "compile":
        for lang in i18n_tools.compile_all():
            print(f"compiled {i18n_tools.po_path(lang)}")
    elif args.action == "stats":
        print(f"{'lang':<6}{'translated':>11}{'fuzzy':>7}{'missing':>9}{'words':>8}{'done':>8}")
        for lang in LANGUAGES:
            st = i18n_tools.stats(lang)
            print(
                f"{lang:<6}{st.translated:>11}{st.fuzzy:>7}{st.untranslated:>9}"
                f"{st.words_total:>8}{st.percent:>7.1f}%"
            )
    elif args.action == "check":
        problems = [p for lang in LANGUAGES for p in i18n_tools.check(lang)]
        for problem in problems:
            err.print(problem, markup=False)
        print(f"{len(problems)} problem(s)")
        return 1 if problems else 0
    return 0


def read_password(confirm: bool = True) -> str:
    """From a prompt on a terminal (asked twice), else the first line of standard input;
    never from an argument, where it would land in the shell history and `ps`."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    catalog = open_catalog(settings)
    engine = catalog.engine
    try:
        if args.action == "add":
            if not args.name or not args.role:
                raise AccountError("usage: portal user add NAME --role ROLE [--library CODE]")
            library = args.library.upper() if args.library else None
            user = add_user(engine, args.name, read_password(), args.role, library)
            print(f"added {user.name} ({user.role}{', ' + user.library if user.library else ''})")
        elif args.action == "list":
            for user in list_users(engine):
                state = "disabled" if user.disabled else "active"
                print(f"{user.name}\t{user.role}\t{user.library or '-'}\t{state}")
        elif args.action == "disable":
            disable_user(engine, args.name)
            print(f"disabled {args.name}")
        elif args.action == "enable":
            enable_user(engine, args.name)
            print(f"enabled {args.name}")
        elif args.action == "passwd":
            set_password(engine, args.name, read_password())
            print(f"password changed for {args.name}")
    except PortalError as problem:
        err.print(str(problem), markup=False)
        return 1
    finally:
        catalog.close()
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from portal.catalog.db import current_revision, migrate, open_engine, revisions

    url = DataPaths(settings.data_dir).database_url(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(url)
    try:
        if args.action == "upgrade":
            applied = migrate(engine)
            print(f"applied {', '.join(applied)}" if applied else "the schema is up to date")
        with engine.connect() as conn:
            current = current_revision(conn)
        print(f"schema revision {current or 'none'} (newest {revisions()[-1]})")
    finally:
        engine.dispose()
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from portal.catalog.check import check

    catalog = open_catalog(settings)
    try:
        report = check(catalog, repair=not args.no_repair)
    finally:
        catalog.close()
    for line in report.lines():
        print(line)
    return 0 if report.clean or not args.no_repair else 1


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from portal.catalog.backup import BackupError, backup

    catalog = open_catalog(settings)
    try:
        size = backup(catalog.engine, Path(args.file))
    except (BackupError, OSError) as problem:
        err.print(f"backup failed: {problem}", markup=False)
        return 1
    finally:
        catalog.close()
    print(f"backed up the catalog to {args.file} ({size // 1024} KiB)")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from portal.catalog.backup import BackupError, restore

    catalog = open_catalog(settings)
    try:
        accounts = restore(catalog.engine, Path(args.file))
        for account in accounts:  # who can sign in from now on
            state = "disabled" if account["disabled"] else "active"
            where = f", {account['library']}" if account["library"] else ""
            print(f"account from the backup: {account['name']} ({account['role']}{where}, {state})")
        catalog.close()
        catalog = open_catalog(settings)  # migrate a backup made by an older version
        reindex(catalog)
    except (BackupError, OSError) as problem:
        err.print(f"restore failed: {problem}", markup=False)
        return 1
    finally:
        catalog.close()
    print(f"restored the catalog from {args.file} and rebuilt the index")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal",
        description="Karabakh library books portal. Data folder: $PORTAL_DATA_DIR (default ./var).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="create the catalog if needed and serve the portal")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--no-demo",
        action="store_true",
        help="start an empty catalog instead of loading the demo catalog",
    )
    serve.set_defaults(func=cmd_serve)

    imp = sub.add_parser(
        "import", help="import Catalog CSV v1 or MARC 21 (.mrc, MARCXML) files, all or nothing"
    )
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument(
        "--library", metavar="CODE", help="library for MARC records without 852 holdings"
    )
    imp.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    imp.set_defaults(func=cmd_import)

    rei = sub.add_parser("reindex", help="rebuild the search index and swap it in atomically")
    rei.set_defaults(func=cmd_reindex)

    exp = sub.add_parser(
        "export", help="write the whole catalog as Catalog CSV v1, MARC 21 (ISO 2709) or MARCXML"
    )
    exp.add_argument("file", metavar="FILE")
    exp.add_argument(
        "--format",
        choices=["csv", "marc", "marcxml"],
        help="default: from the file's suffix (.csv, .mrc, .xml), else csv",
    )
    exp.set_defaults(func=cmd_export)

    chk = sub.add_parser("check", help="verify catalog and index agree; repair drift")
    chk.add_argument("--no-repair", action="store_true", help="report only (exit 1 if drift)")
    chk.set_defaults(func=cmd_check)

    bak = sub.add_parser("backup", help="consistent copy of the catalog while serving")
    bak.add_argument("file", metavar="FILE")
    bak.set_defaults(func=cmd_backup)

    res = sub.add_parser("restore", help="replace the catalog with a backup, then reindex")
    res.add_argument("file", metavar="FILE")
    res.set_defaults(func=cmd_restore)

    user = sub.add_parser("user", help="staff accounts (passwords from a prompt or stdin)")
    user.add_argument("action", choices=["add", "list", "disable", "enable", "passwd"])
    user.add_argument("name", nargs="?")
    user.add_argument("--role", choices=["librarian", "coordinator", "admin"])
    user.add_argument("--library", metavar="CODE", help="a librarian's library")
    user.set_defaults(func=cmd_user)

    db = sub.add_parser("db", help="the catalog database's schema (also upgraded by serve)")
    db.add_argument("action", choices=["upgrade", "status"])
    db.set_defaults(func=cmd_db)

    i18n = sub.add_parser("i18n", help="translators' workflow over locales/")
    i18n.add_argument("action", choices=["extract", "update", "compile", "check", "stats"])
    i18n.set_defaults(func=cmd_i18n)
    return parser


# Bulk work run beside a serving portal; at a lower CPU priority, readers are served first.
BATCH_COMMANDS = {"import", "reindex", "export", "check", "backup", "restore", "db"}
BATCH_NICENESS = 10


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.func
    if args.command in BATCH_COMMANDS and hasattr(os, "nice"):
        os.nice(BATCH_NICENESS)
    try:
        settings = Settings.from_env()
    except ConfigError as problem:
        err.print(f"portal {args.command}: {problem}", markup=False)
        return 2
    try:
        return handler(args, settings)
    except PortalError as problem:
        err.print(f"portal {args.command}: {problem}", markup=False)
        return 1
    except (OSError, OperationalError) as problem:
        # Disk full, a read-only data folder, a locked or unreachable database: say so, in
        # one line, without a traceback. Every write is one transaction (and a new index
        # generation), so nothing is half done.
        reason = str(getattr(problem, "orig", None) or problem).strip().splitlines()[0]
        err.print(
            f"portal {args.command}: cannot read or write the catalog: {reason}", markup=False
        )
        err.print("nothing was changed", markup=False)
        return 1
    except SQLAlchemyError as problem:
        reason = str(getattr(problem, "orig", None) or problem).strip().splitlines()[0]
        err.print(f"portal {args.command}: the database refused: {reason}", markup=False)
        err.print("nothing was changed", markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
