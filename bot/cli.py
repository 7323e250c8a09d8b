"""The ``wegwijs`` command line: demo, serve, db upgrade, staff add, koppelcode, ask."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import ConfigError, Settings, load_settings
from cases.db import create_engine, session_factory, transaction, upgrade_database


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wegwijs`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"wegwijs: configuration error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wegwijs", description="Wegwijs: chat assistant and staff console.")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("demo", help="create/upgrade a SQLite demo database, load demo data and serve")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the web chat, console and webhooks")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument(
        "--telegram-polling", action="store_true", help="fetch Telegram updates by polling (development)"
    )
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database commands").add_subparsers(metavar="ACTION")
    p = db.add_parser("upgrade", help="run the migrations up to the newest schema")
    p.set_defaults(func=cmd_db_upgrade)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(metavar="ACTION")
    p = staff.add_parser("add", help="add a staff account")
    p.add_argument("--name", required=True)
    p.add_argument("--email", required=True)
    p.add_argument(
        "--role", action="append", required=True, help="klantmanager, planner, teamleider, beheerder"
    )
    p.add_argument("--team")
    p.add_argument(
        "--language", action="append", default=[], help="a language the person speaks (repeatable)"
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_staff_add)

    p = sub.add_parser("koppelcode", help="make a one-time koppelcode for a participant")
    p.add_argument("participant", metavar="PARTICIPANT", help="dossier reference or id")
    p.set_defaults(func=cmd_koppelcode)

    tr = sub.add_parser("translate", help="offline machine translation").add_subparsers(metavar="ACTION")
    p = tr.add_parser("install", help="install Argos packages from .argosmodel files, or from an index")
    p.add_argument("files", nargs="*", type=Path, metavar="FILE.argosmodel")
    p.add_argument(
        "--from-index",
        nargs=2,
        metavar=("FROM", "TO"),
        help="download FROM→TO from WEGWIJS_TRANSLATION_INDEX (needs a network)",
    )
    p.set_defaults(func=cmd_translate_install)
    p = tr.add_parser("status", help="for every pair with Dutch: direct, via English, or unavailable")
    p.set_defaults(func=cmd_translate_status)
    p = tr.add_parser("text", help="translate one text (to try a model)")
    p.add_argument("text")
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--to", dest="target", required=True)
    p.set_defaults(func=cmd_translate_text)

    rem = sub.add_parser("reminders", help="reminders and deadlines").add_subparsers(metavar="ACTION")
    p = rem.add_parser("dispatch", help="hand every due reminder to the outbox now (as the scheduler does)")
    p.set_defaults(func=cmd_reminders_dispatch)
    p = rem.add_parser("scan", help="plan the deadline reminders and tasks that are due (daily job)")
    p.set_defaults(func=cmd_reminders_scan)

    p = sub.add_parser("ask", help="answer a message as the bot would, for a consented web-chat user")
    p.add_argument("text", nargs="?", help="the message")
    p.add_argument("--lang", help="language code: nl en ar ti fa tr uk so")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--session", help="continue this conversation id")
    p.add_argument(
        "--as", dest="as_participant", metavar="PARTICIPANT", help="act as this linked participant"
    )
    p.add_argument(
        "--batch", type=Path, metavar="FILE", help="answer each line of FILE as a new conversation"
    )
    p.set_defaults(func=cmd_ask)
    return parser


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    return load_settings(**overrides, **extra)


def serve(settings: Settings, *, telegram_polling: bool = False, log_level: int = logging.INFO) -> None:
    """Serve until stopped: one process, or ``settings.processes`` of them on one port."""
    from bot.app import channel_status

    for line in channel_status(settings):
        print(f"  {line}", flush=True)
    if settings.processes > 1:
        _serve_processes(settings, log_level)
    else:
        _serve_one(settings, telegram_polling=telegram_polling, log_level=log_level)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The serving event loop: uvloop's where it is installed (its sockets and callbacks cost less
    than asyncio's; docs/benchmarks.md), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve_one(
    settings: Settings,
    *,
    telegram_polling: bool = False,
    reuse_port: bool = False,
    log_level: int = logging.INFO,
) -> None:
    from aiohttp import web

    from bot import logs
    from bot.app import create_app

    logs.configure(log_level)
    app = create_app(settings, telegram_polling=telegram_polling)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=15,
        reuse_port=reuse_port,
        loop=new_event_loop(),
    )


def _serve_processes(settings: Settings, log_level: int) -> None:
    """``settings.processes`` serving processes on one port (the kernel spreads the connections).
    They share one secret key, so a console login or a calendar link works whichever one answers."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    shared = settings.model_copy(update={"secret_key": settings.effective_secret_key()})
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(
            target=_serve_one,
            args=(shared,),
            kwargs={"reuse_port": True, "log_level": log_level},
            name=f"wegwijs-{n}",
        )
        for n in range(settings.processes)
    ]
    for child in children:
        child.start()

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # each one stops gracefully: finishes accepted work first

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running := [child for child in children if child.is_alive()]:
        wait([child.sentinel for child in running])
        if any(child.exitcode not in (None, 0) for child in children):
            stop(signal.SIGTERM, None)  # one died: the service is not whole, stop the rest too
    for child in children:
        child.join()
    if failed := [child.name for child in children if child.exitcode != 0]:
        raise SystemExit(f"wegwijs: serving process(es) {', '.join(failed)} stopped with an error")


def serving_problem(settings: Settings, *, telegram_polling: bool = False) -> str | None:
    """Why these settings cannot be served as asked, or None."""
    if settings.processes > 1 and not settings.database_url.startswith(("postgresql", "postgres")):
        return "WEGWIJS_PROCESSES above 1 needs PostgreSQL: SQLite has a single writer, use one process"
    if settings.processes > 1 and telegram_polling:
        return "--telegram-polling needs one process (Telegram allows one poller); use the webhook"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    settings.effective_secret_key()  # fail early and clearly without one
    if args.telegram_polling and (missing := settings.telegram_missing(polling=True)):
        print(f"wegwijs: --telegram-polling needs {', '.join(missing)}", file=sys.stderr)
        return 2
    if problem := serving_problem(settings, telegram_polling=args.telegram_polling):
        print(f"wegwijs: {problem}", file=sys.stderr)
        return 2
    print(f"Wegwijs serving on http://{settings.host}:{settings.port}/", flush=True)
    serve(settings, telegram_polling=args.telegram_polling)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cases.demo import DEMO_PASSWORD, DEMO_STAFF, load_demo_data

    settings = _settings(args, demo=True, cookie_secure=False)
    if problem := serving_problem(settings):
        print(f"wegwijs: {problem}", file=sys.stderr)
        return 2
    upgrade_database(settings.database_url)
    rules = settings.planning()
    loaded = asyncio.run(_run_in_db(settings, lambda session: load_demo_data(session, rules)))
    base = f"http://{settings.host}:{settings.port}"
    print("Wegwijs demo", "(demo data loaded)" if loaded else "(existing data kept)")
    print(f"  database : {settings.database_url}")
    print(f"  web chat : {base}/")
    print(f"  console  : {base}/console/")
    print(f"  logins   : password {DEMO_PASSWORD} for")
    for name, email, roles, *_ in DEMO_STAFF:
        print(f"             {email:32} {', '.join(roles)} ({name})")
    print("  koppelcode for a demo participant: wegwijs koppelcode WW-1001", flush=True)
    serve(settings)
    return 0


async def _run_in_db(settings: Settings, work):  # type: ignore[no-untyped-def]
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    upgrade_database(settings.database_url)
    print("database is up to date")
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    from cases.services.staff import StaffError, create_staff

    settings = _settings(args)
    generated = False
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (at least 12 characters): ")
    else:
        password, generated = secrets.token_urlsafe(15), True

    async def work(session):  # type: ignore[no-untyped-def]
        return await create_staff(
            session,
            name=args.name,
            email=args.email,
            password=password,
            roles=args.role,
            team=args.team,
            languages=args.language,
        )

    try:
        user = asyncio.run(_run_in_db(settings, work))
    except StaffError as exc:
        print(f"wegwijs: {exc}", file=sys.stderr)
        return 1
    print(f"staff account {user.id} created: {user.email} ({', '.join(user.roles)})")
    if generated:
        print(f"generated password (shown once): {password}")
    return 0


def cmd_koppelcode(args: argparse.Namespace) -> int:
    from cases.services import koppelcode, participants

    settings = _settings(args)

    async def work(session):  # type: ignore[no-untyped-def]
        participant = await participants.find(session, args.participant)
        if participant is None:
            return None
        return await koppelcode.create_koppelcode(
            session, participant, valid_days=settings.koppelcode_valid_days, created_by=None
        )

    result = asyncio.run(_run_in_db(settings, work))
    if result is None:
        print(f"wegwijs: no participant {args.participant!r}", file=sys.stderr)
        return 1
    code, expires_at = result
    print(f"{code}  (valid until {expires_at:%Y-%m-%d %H:%M} UTC, single use)")
    return 0


def cmd_reminders_dispatch(args: argparse.Namespace) -> int:
    from scheduler.reminders import ReminderDispatcher

    settings = _settings(args)

    async def work() -> None:
        engine = create_engine(settings.database_url)
        try:
            report = await ReminderDispatcher(session_factory(engine), settings).run()
        finally:
            await engine.dispose()
        print(f"{report.sent} sent to the outbox, {report.tasks} tasks, {report.skipped} skipped", flush=True)

    asyncio.run(work())
    return 0


def cmd_reminders_scan(args: argparse.Namespace) -> int:
    from scheduler import deadlines

    settings = _settings(args)

    async def work() -> None:
        engine = create_engine(settings.database_url)
        try:
            report = await deadlines.scan(session_factory(engine), settings)
        finally:
            await engine.dispose()
        print(
            f"{report.participants} participants scanned: {report.reminders} reminders "
            f"and {report.tasks} tasks due (each stored once)",
            flush=True,
        )

    asyncio.run(work())
    return 0


def cmd_translate_install(args: argparse.Namespace) -> int:
    from locales.translation import packages

    settings = _settings(args)
    packages.use_directory(settings.translation_dir)
    if not args.files and not args.from_index:
        print("wegwijs translate install: give .argosmodel files or --from-index FROM TO", file=sys.stderr)
        return 2
    try:
        for path in args.files:
            pkg = packages.install_file(path)
            print(f"installed {pkg.label} ({path.name})")
        if args.from_index:
            pkg = packages.install_from_index(settings.translation_index, *args.from_index)
            print(f"installed {pkg.label} from the index")
    except packages.PackageError as exc:
        print(f"wegwijs: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_translate_status(args: argparse.Namespace) -> int:
    from locales.languages import LANGUAGES
    from locales.translation import packages

    settings = _settings(args)
    packages.use_directory(settings.translation_dir)
    packages.ensure_sentence_splitters()
    words = {"direct": "direct", "pivot": "via English", "unavailable": "unavailable"}
    print(f"Argos packages in {settings.translation_dir.resolve()}: {len(packages.installed())}")
    for route in packages.status():
        name = LANGUAGES[route.source if route.target == "nl" else route.target].dutch_name
        detail = f"  ({route.model_version})" if route.packages else ""
        print(f"  {route.source}→{route.target}  {words[route.kind]:12} {name}{detail}")
    return 0


def cmd_translate_text(args: argparse.Namespace) -> int:
    from locales.translation import packages
    from locales.translation.engine import TranslationService

    settings = _settings(args)
    packages.use_directory(settings.translation_dir)
    packages.ensure_sentence_splitters()
    upgrade_database(settings.database_url)

    async def run() -> int:
        engine = create_engine(settings.database_url)
        service = TranslationService(session_factory(engine), threads=1)
        try:
            result = await service.translate(args.text, args.source, args.target)
        finally:
            service.close()
            await engine.dispose()
        if not result.available:
            print(f"wegwijs: no model for {args.source}→{args.target}", file=sys.stderr)
            return 1
        print(result.text)
        return 0

    return asyncio.run(run())


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.ask import AskRunner, UnknownParticipant

    if (args.text is None) == (args.batch is None):
        print("wegwijs ask: give a message or --batch FILE", file=sys.stderr)
        return 2
    settings = _settings(args)
    upgrade_database(settings.database_url)

    async def run() -> int:
        runner = AskRunner(settings)
        try:
            if args.batch is not None:
                for line in args.batch.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        _print_answer(await runner.ask(line, language=args.lang), args.json)
            else:
                answer = await runner.ask(
                    args.text, language=args.lang, session_id=args.session, as_participant=args.as_participant
                )
                _print_answer(answer, args.json)
        except UnknownParticipant as exc:
            print(f"wegwijs: no participant {exc.args[0]!r}", file=sys.stderr)
            return 1
        finally:
            await runner.close()
        return 0

    return asyncio.run(run())


def _print_answer(answer: dict, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        print(json.dumps(answer, ensure_ascii=False), flush=True)
        return
    for reply in answer["replies"]:
        print(reply["text"])
        if reply["buttons"]:
            print("  [" + "] [".join(b["label"] for b in reply["buttons"]) + "]")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
