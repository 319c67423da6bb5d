"""`guakao`: the developer command line.

guakao infra install|up|down|status|logs   real PostgreSQL, Kafka and MinIO on loopback
guakao token --sub alice --role applicant --dept it
guakao migrate                     Alembic upgrade of every built service
guakao run                         infra up, migrations, services started (Ctrl-C stops)
guakao schemas export|check        the committed JSON Schemas of the events
guakao verify PACKAGE              verify an evidence package of the archive, offline
"""

from __future__ import annotations

import argparse
import sys

from guakao_devtools.infra import Infra, InfraError, main_progress


def _infra(args: argparse.Namespace) -> int:
    infra = Infra()
    if args.action == "install":
        for component in infra.components:
            component.install(main_progress)
        print("Kafka jars, MinIO server and PostgreSQL are installed (cached)")
    elif args.action == "up":
        infra.up(main_progress)
        print(f"infrastructure up; data under {infra.cfg.data_dir}")
        for name, state, where in infra.status():
            print(f"  {name:9} {state:8} {where}")
    elif args.action == "down":
        infra.down(main_progress, wipe=args.wipe)
    elif args.action == "status":
        rows = infra.status()
        for name, state, where in rows:
            print(f"{name:9} {state:8} {where}")
        return 0 if all(state == "ready" for _, state, _ in rows) else 3
    elif args.action == "logs":
        names = [args.component] if args.component else [c.name for c in infra.components]
        for name in names:
            component = infra.get(name)
            print(f"==> {component.log} <==")
            if component.log.exists():
                print(
                    "\n".join(component.log.read_text(errors="replace").splitlines()[-args.lines :])
                )
    return 0


def _token(args: argparse.Namespace) -> int:
    from guakao_shared.auth import issue_dev_token
    from guakao_shared.identity import Role

    known = {r.value for r in Role}
    unknown = [r for r in args.role if r not in known]
    if unknown:
        print(f"unknown role(s) {unknown}; known: {sorted(known)}", file=sys.stderr)
        return 2
    print(issue_dev_token(args.sub, args.role, args.dept, ttl_s=args.ttl, name=args.name))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from guakao_devtools.services import migrate_all

    migrate_all(Infra(), main_progress)
    return 0


def _run(args: argparse.Namespace) -> int:
    from guakao_devtools.services import run_suite

    return run_suite(Infra(), main_progress)


def _schemas(args: argparse.Namespace) -> int:
    from guakao_devtools.schemas import check, export

    if args.action == "export":
        return export(main_progress)
    return check(main_progress)


def _manual(args: argparse.Namespace) -> int:
    from guakao_devtools.services import REPO
    from guakao_shared.process import definition
    from guakao_shared.process.manual import render_manual

    target = REPO / "docs" / "process-manual.md"
    rendered = render_manual(definition())
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != rendered:
            print(f"{target.relative_to(REPO)} is stale: run `guakao manual`", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(exist_ok=True)
    target.write_text(rendered, encoding="utf-8")
    print(f"wrote {target.relative_to(REPO)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from guakao_devtools.demo import Demo, DemoError

    try:
        Demo(args.applications, args.approvals, args.contracts).run()
    except (DemoError, OSError) as exc:
        print(f"demo failed: {exc}\n(is `make run` running?)", file=sys.stderr)
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    # The archive's own rules (standard library only): the verifier is the code that hashes.
    from archive_svc.domain.evidence import read_manifest, verify_package

    problems = verify_package(args.package)
    if problems:
        for problem in problems:
            print(problem)
        print(f"FAILED: {len(problems)} problem(s) in {args.package}", file=sys.stderr)
        return 1
    manifest = read_manifest(args.package)
    records = manifest["records"]
    documents = sum(len(r["documents"]) for r in records)
    entries = len(manifest["ledger"]["entries"])
    print(f"OK: {len(records)} records, {documents} documents, {entries} ledger entries verified")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="guakao", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    infra = sub.add_parser("infra", help="local PostgreSQL, Kafka and MinIO")
    infra.add_argument(
        "action",
        choices=["install", "up", "down", "status", "logs"],
        help="install: fetch/build what is missing, start nothing",
    )
    infra.add_argument("component", nargs="?", choices=["postgres", "kafka", "minio"])
    infra.add_argument("-n", "--lines", type=int, default=50, help="log lines to show")
    infra.add_argument("--wipe", action="store_true", help="with down: delete all data too")
    infra.set_defaults(func=_infra)

    token = sub.add_parser("token", help="print a development bearer token")
    token.add_argument("--sub", required=True, help="the user id")
    token.add_argument("--role", action="append", required=True, help="a role (repeatable)")
    token.add_argument("--dept", help="the user's department")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until expiry")
    token.set_defaults(func=_token)

    sub.add_parser("migrate", help="apply every built service's migrations").set_defaults(
        func=_migrate
    )
    sub.add_parser("run", help="infra up, migrate, run the built services").set_defaults(func=_run)

    demo = sub.add_parser("demo", help="drive a case through stages 1-3 against `make run`")
    demo.add_argument("--applications", default="http://127.0.0.1:8001")
    demo.add_argument("--approvals", default="http://127.0.0.1:8002")
    demo.add_argument("--contracts", default="http://127.0.0.1:8003")
    demo.set_defaults(func=_demo)

    manual = sub.add_parser("manual", help="render the process manual to docs/")
    manual.add_argument("--check", action="store_true", help="fail if docs/ is stale")
    manual.set_defaults(func=_manual)

    schemas = sub.add_parser("schemas", help="event JSON Schema snapshots")
    schemas.add_argument("action", choices=["export", "check"])
    schemas.set_defaults(func=_schemas)

    verify = sub.add_parser(
        "verify", help="verify an evidence package offline (documents, ledger chain, checkpoints)"
    )
    verify.add_argument("package", help="the package's ZIP file")
    verify.set_defaults(func=_verify)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
