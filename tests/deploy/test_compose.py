"""docker-compose.yml describes a stack that can run: valid, and every command names real code.

No Docker engine is needed. ``docker-compose config`` validates the file offline (and resolves
its variables from an env file); every command that runs project code is checked against the
module, factory, Celery app or ``alliance`` subcommand it names; the topology (one beat, a web
process and a worker per service, persistent Redis that never evicts, one database and one
database user per service, migrations once before the processes, the gateway's routes, Mailpit
only in the trial profile) is checked against the code's own lists. Every container has a health
check and a restart policy; a stopped worker has time to finish its task. The file has no usable
default secret or password: it refuses to come up until the env file sets them, and the apps
refuse ``.env.example``'s placeholders. deploy/postgres-init's script runs against a real
PostgreSQL, and deploy/Dockerfile is checked for its pinned base, its user and its command."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from shared.config import SERVICES, declared_settings
from tests.production import strong_key, strong_password

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
APP_DOCKERFILE = "deploy/Dockerfile"
WEB_PORT = "8000"

ENV_EXAMPLE = ROOT / ".env.example"

# Every variable the app reads (declared in shared/config/); cleared before loading a
# service's compose environment so the test machine's own settings cannot fill a gap.
APP_VARIABLES = tuple(setting.name for setting in declared_settings())

# What docker-compose.yml refuses to come up without (``${VAR:?message}``).
REQUIRED = (
    "SECRET_KEY",
    "PUBLIC_BASE_URL",
    "COORDINATOR_EMAIL",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    *(f"{service.upper()}_DATABASE_URL" for service in SERVICES),
    "SMTP_HOST",
)
# The init script that makes each service's database user and database (postgres's
# /docker-entrypoint-initdb.d).
ROLES_SCRIPT = ROOT / "deploy" / "postgres-init" / "10-service-roles.sh"
# The services that run once and end; every other one runs for good.
ONE_SHOT = {"migrate"}
# The Mailpit of a trial: only in this profile (the notify worker then sends to mailpit:1025).
TRIAL_PROFILE = "trial"


# -- helpers ----------------------------------------------------------------------------------


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is not installed, so docker-compose.yml cannot be validated. "
            "Run `make system-deps` (it installs Debian's docker-compose; no Docker engine "
            "is needed)."
        )
    return path


def run_compose(*args: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """docker-compose with none of this machine's variables: the file's defaults must do."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    command = [docker_compose(), "-f", str(COMPOSE_FILE)]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    return subprocess.run(
        [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def argv_of(name: str, command: Any) -> list[str]:
    if isinstance(command, str):
        return shlex.split(command)
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        return list(command)
    raise AssertionError(
        f"service {name!r}: command must be a string or a list of strings, not {command!r}"
    )


def option(argv: list[str], *names: str) -> str | None:
    """The value of the first of ``names`` in ``argv`` (``--opt value`` or ``--opt=value``)."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def uses_app_image(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if isinstance(build, dict):
        return build.get("dockerfile") == APP_DOCKERFILE
    return str(service.get("image", "")).startswith("alliance-program-manager")


@dataclass(frozen=True)
class EntryPoint:
    kind: str  # "web", "worker", "beat" or "alliance <subcommand>"
    service: str | None  # the service whose code it runs, if one


def check_entry_point(name: str, argv: list[str]) -> EntryPoint:
    """What ``argv`` runs, after checking that the code it names exists. AssertionError if not."""
    if len(argv) >= 2 and PurePosixPath(argv[0]).name.startswith("python") and argv[1] == "-m":
        argv = argv[2:]
    program = PurePosixPath(argv[0]).name

    if program == "gunicorn":
        target = argv[-1]
        match = re.fullmatch(r"([\w.]+):(\w+)(\(\))?", target)
        assert match, f"{name}: gunicorn's last argument must be module:factory(), not {target!r}"
        module_name, attr, call = match.groups()
        module = importlib.import_module(module_name)
        factory = getattr(module, attr, None)
        assert factory is not None, f"{name}: {module_name} has no {attr!r}"
        if call:
            assert callable(factory), f"{name}: {module_name}.{attr} is not callable"
        bind = option(argv, "--bind", "-b")
        assert bind == f"0.0.0.0:{WEB_PORT}", (
            f"{name}: gunicorn must bind 0.0.0.0:{WEB_PORT} (where the gateway sends requests), "
            f"not {bind!r}"
        )
        parts = module_name.split(".")
        service = parts[1] if parts[0] == "services" and len(parts) == 2 else None
        expected = "a web process serves one service's app, services.<service>:create_app()"
        assert service in SERVICES, f"{name}: {expected}; got {target!r}"
        assert attr == "create_app", f"{name}: {expected}; got {target!r}"
        return EntryPoint("web", service)

    if program == "celery":
        app_module = option(argv, "-A", "--app")
        assert app_module, f"{name}: celery needs -A <module>"
        module = importlib.import_module(app_module)
        app = getattr(module, "celery", None)
        from celery import Celery

        assert isinstance(app, Celery), f"{name}: {app_module} has no Celery app named `celery`"
        positionals = [a for a in argv[1:] if a in {"worker", "beat"}]
        assert positionals, f"{name}: celery command is neither `worker` nor `beat`: {argv}"
        if positionals[0] == "beat":
            assert app_module == "shared.beat", (
                f"{name}: beat runs the system's one schedule, `celery -A shared.beat beat`, "
                f"not -A {app_module}"
            )
            return EntryPoint("beat", None)
        match = re.fullmatch(r"services\.(\w+)\.worker", app_module)
        expected = f"{name}: a worker runs services.<service>.worker, not {app_module!r}"
        assert match, expected
        assert match.group(1) in SERVICES, expected
        service = match.group(1)
        queue = option(argv, "-Q", "--queues")
        assert queue == service, (
            f"{name}: {service}'s worker must consume its own queue (-Q {service}), "
            f"not -Q {queue!r}"
        )
        declared = {q.name for q in app.conf.task_queues}
        assert queue in declared, f"{name}: queue {queue!r} is not one of {sorted(declared)}"
        return EntryPoint("worker", service)

    if program == "alliance":
        from deploy.cli import main as cli

        assert len(argv) >= 2, f"{name}: `alliance` needs a subcommand"
        subcommand = argv[1]
        assert subcommand in cli.commands, (
            f"{name}: `alliance {subcommand}` does not exist; the subcommands are "
            f"{sorted(cli.commands)}"
        )
        if subcommand == "worker":
            worker_of = argv[2] if len(argv) > 2 else None
            assert worker_of in SERVICES, f"{name}: `alliance worker` needs one of {SERVICES}"
            return EntryPoint("worker", worker_of)
        if subcommand == "beat":
            return EntryPoint("beat", None)
        return EntryPoint(f"alliance {subcommand}", None)

    raise AssertionError(
        f"{name}: {argv[0]!r} is not a known entry point (gunicorn, celery or alliance)"
    )


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as written (anchors and merge keys resolved by YAML itself)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a YAML mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no services"
    return data


def env_file(folder: Path, variables: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "compose.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return path


def strong_variables() -> dict[str, str]:
    """What a deployment's .env sets, each secret long and random: each service's database URL
    with its own user and password, and a mail relay."""
    return {
        "SECRET_KEY": strong_key(),
        "PUBLIC_BASE_URL": "https://alliances.agency.example",
        "COORDINATOR_EMAIL": "coordinator@agency.example",
        "POSTGRES_PASSWORD": strong_password(),
        "REDIS_PASSWORD": strong_password(),
        **{
            f"{service.upper()}_DATABASE_URL": (
                f"postgresql://alliance_{service}:{strong_password()}@postgres:5432/"
                f"alliance_{service}"
            )
            for service in SERVICES
        },
        "SMTP_HOST": "smtp.agency.example",
    }


def resolve(env: Path) -> dict[str, Any]:
    result = run_compose("config", env_file=env)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    data = yaml.safe_load(result.stdout)
    assert isinstance(data, dict)
    return data


def app_environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in service.get("environment", {}).items()}


def healthcheck_path(service: dict[str, Any]) -> str:
    """The path a web service's health check asks its app for (python -c urllib...)."""
    command = " ".join(str(part) for part in service.get("healthcheck", {}).get("test", []))
    match = re.search(r"http://127\.0\.0\.1:8000(/[\w/-]*)", command)
    assert match, f"the health check {command!r} asks no http://127.0.0.1:8000/ path"
    return match.group(1)


def seconds_of(duration: str) -> float:
    """A Compose duration (``180s``, ``2m30s``, ``1h``) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(duration))
    assert parts, f"{duration!r} is not a duration"
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The configuration docker-compose would run with a deployment's .env (the required
    variables set, every other one at its default)."""
    return resolve(env_file(tmp_path_factory.mktemp("compose"), strong_variables()))


@pytest.fixture(scope="module")
def entry_points(compose: dict[str, Any]) -> dict[str, EntryPoint]:
    """Every app-image service's checked entry point, by compose service name."""
    found: dict[str, EntryPoint] = {}
    problems: list[str] = []
    for name, service in compose["services"].items():
        if not uses_app_image(service):
            continue
        if "command" not in service:
            problems.append(f"{name}: runs the app image without a command of its own")
            continue
        try:
            found[name] = check_entry_point(name, argv_of(name, service["command"]))
        except AssertionError as err:
            problems.append(str(err).splitlines()[0])
        except ImportError as err:
            problems.append(f"{name}: {err}")
    assert not problems, "services with broken entry points:\n  " + "\n  ".join(problems)
    return found


# -- tests ------------------------------------------------------------------------------------


def test_compose_file_validates_with_the_env_example() -> None:
    result = run_compose("config", "-q", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, (
        f"`docker-compose --env-file .env.example config -q` exited {result.returncode}:\n"
        f"{result.stderr}"
    )
    assert "is not set" not in result.stderr, (
        f"docker-compose.yml uses a variable without a default:\n{result.stderr}"
    )


def test_compose_refuses_to_come_up_without_its_secrets(tmp_path: Path) -> None:
    # Every use of a required variable refuses when it is unset or blank (`:?`), and says what
    # to set; docker-compose itself confirms it below.
    text = COMPOSE_FILE.read_text()
    for name in REQUIRED:
        uses = re.findall(rf"\$\{{{name}(?:(:?[-?])([^}}]*))?\}}", text)
        assert uses, f"docker-compose.yml does not use {name}"
        for op, message in uses:
            refusal = op == ":?" and f"set {name} in .env" in message
            assert refusal, (
                f"docker-compose.yml uses ${{{name}{op}{message}}}: it must refuse to come up "
                f"without it (${{{name}:?set {name} in .env ...}})"
            )
    # docker-compose itself, one run per case (side by side: each takes half a second).
    cases: list[tuple[str, dict[str, str]]] = [("", {})]
    for index, name in enumerate(REQUIRED):
        variables = {k: v for k, v in strong_variables().items() if k != name}
        cases.append((name, variables))  # unset
        if index == 0:
            cases.append((name, variables | {name: ""}))  # blank: `:?` takes it as missing
    files = [
        env_file(tmp_path / str(number), variables) for number, (_, variables) in enumerate(cases)
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda path: run_compose("config", "-q", env_file=path), files))
    for (name, _), result in zip(cases, results, strict=True):
        if not name:
            assert result.returncode != 0, "docker-compose.yml comes up with no secret set"
            assert "Missing mandatory value" in result.stderr
            continue
        assert result.returncode != 0, f"docker-compose.yml comes up without {name}"
        assert f"set {name} in .env" in result.stderr, (
            f"without {name}, docker-compose should say to set it; it said:\n{result.stderr}"
        )


SECRET_NAME = re.compile(r"SECRET|PASSWORD|_KEY\b")


def test_no_secret_or_password_has_a_usable_default(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    uses = re.findall(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", text)
    secrets_used = [(name, op, default) for name, op, default in uses if SECRET_NAME.search(name)]
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= {n for n, _, _ in secrets_used}
    problems = [
        f"${{{name}{op}{default}}}"
        for name, op, default in secrets_used
        if not (op == ":?" or (op == ":-" and default == ""))
    ]
    assert not problems, f"docker-compose.yml gives a secret or password a default: {problems}"
    # Nor is any written out as it is.
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and value not in (None, ""):
                assert "${" in str(value), f"{name}: {key} is written out in docker-compose.yml"


def test_redis_requires_the_password_the_apps_use(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    redis = resolved["services"]["redis"]
    password = option(argv_of("redis", redis["command"]), "--requirepass")
    assert password, "redis must run with --requirepass"
    assert redis["environment"]["REDISCLI_AUTH"] == password, (
        "redis's health check (redis-cli) needs the password in REDISCLI_AUTH"
    )
    for name in entry_points:
        url = resolved["services"][name]["environment"]["REDIS_URL"]
        assert make_url(url.replace("redis://", "postgresql://", 1)).password == password, (
            f"{name}: REDIS_URL must carry redis's password"
        )


def test_every_setting_passes_through_from_the_env_file(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    """.env.example lists every setting: each one must reach the processes."""
    for name in entry_points:
        environment = resolved["services"][name].get("environment", {})
        missing = sorted(set(APP_VARIABLES) - set(environment))
        assert not missing, f"{name}: docker-compose.yml does not pass {missing} through"


def test_the_apps_refuse_the_env_example_placeholders(
    tmp_path: Path, entry_points: dict[str, EntryPoint]
) -> None:
    from shared.config import ConfigurationError, load_settings, reset_settings

    placeholders = resolve(ENV_EXAMPLE)["services"]
    expected = ["SECRET_KEY", "PUBLIC_BASE_URL", "REDIS_URL"]
    expected += [f"{service.upper()}_DATABASE_URL" for service in SERVICES]
    for name in entry_points:
        with pytest.MonkeyPatch.context() as mp:
            for variable in APP_VARIABLES:
                mp.delenv(variable, raising=False)
            for key, value in app_environment(placeholders[name]).items():
                mp.setenv(key, value)
            reset_settings()
            with pytest.raises(ConfigurationError) as refused:
                load_settings()
        reset_settings()
        named = {problem.split(" ")[0].split("=")[0] for problem in refused.value.problems}
        assert named == set(expected), f"{name}: .env.example's placeholders: {refused.value}"


def test_every_app_service_runs_a_real_entry_point(entry_points: dict[str, EntryPoint]) -> None:
    kinds = {entry.kind for entry in entry_points.values()}
    # The fixture checked each command; here: they are the processes the stack needs.
    assert {"web", "worker", "beat", "alliance migrate"} <= kinds, (
        f"expected web, worker, beat and migrate processes, found {sorted(kinds)}"
    )


def test_each_service_has_a_web_process_and_a_worker(
    entry_points: dict[str, EntryPoint],
) -> None:
    problems = []
    for service in SERVICES:
        for kind in ("web", "worker"):
            names = sorted(
                n for n, e in entry_points.items() if e.kind == kind and e.service == service
            )
            if len(names) != 1:
                problems.append(f"{service}: expected exactly one {kind} service, found {names}")
            elif names[0] != f"{service}-{kind}":
                problems.append(
                    f"{service}: its {kind} must be named {service}-{kind} "
                    f"(the gateway and docs use that name), not {names[0]!r}"
                )
    assert not problems, "\n".join(problems)


def test_exactly_one_beat(entry_points: dict[str, EntryPoint]) -> None:
    beats = sorted(name for name, entry in entry_points.items() if entry.kind == "beat")
    assert len(beats) == 1, f"the system needs exactly one Celery beat, found {beats}"


def test_beat_schedule_goes_to_queues_that_have_workers(
    entry_points: dict[str, EntryPoint],
) -> None:
    from shared.beat import celery as beat

    consumed = {entry.service for entry in entry_points.values() if entry.kind == "worker"}
    scheduled = {entry["options"]["queue"] for entry in beat.conf.beat_schedule.values()}
    assert scheduled, "shared.beat has an empty schedule"
    assert scheduled <= consumed, f"beat sends to queues no worker consumes: {scheduled - consumed}"


def test_processes_wait_for_migrations_and_a_healthy_redis(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    services = resolved["services"]
    problems = []
    for name, entry in entry_points.items():
        depends = services[name].get("depends_on") or {}
        if entry.kind == "alliance migrate":
            if depends.get("postgres", {}).get("condition") != "service_healthy":
                problems.append(f"{name}: must wait for postgres to be healthy, has {depends}")
            continue
        if depends.get("migrate", {}).get("condition") != "service_completed_successfully":
            problems.append(f"{name}: must wait for migrate to complete successfully")
        if depends.get("redis", {}).get("condition") != "service_healthy":
            problems.append(f"{name}: must wait for redis to be healthy")
    assert not problems, "\n".join(problems)


def test_redis_keeps_the_queues_on_disk(compose: dict[str, Any]) -> None:
    redis = compose["services"].get("redis")
    assert redis is not None, "docker-compose.yml has no redis service"
    argv = argv_of("redis", redis.get("command", []))
    assert option(argv, "--appendonly") == "yes", (
        f"redis must run with --appendonly yes (queued tasks survive a restart); command: {argv}"
    )
    assert any(str(v).endswith(":/data") for v in redis.get("volumes", [])), (
        "redis needs a volume at /data, or the append-only file dies with the container"
    )


def test_each_service_connects_as_its_own_database_user(
    compose: dict[str, Any], resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    """No process connects as the server's administrator: each service's URL names its own
    user and database, and postgres's init script makes exactly those from the same URLs."""
    postgres = compose["services"].get("postgres")
    assert postgres is not None, "docker-compose.yml has no postgres service"
    init_dirs = [
        str(v).split(":")[0]
        for v in postgres.get("volumes", [])
        if str(v).split(":")[1:2] == ["/docker-entrypoint-initdb.d"]
    ]
    assert len(init_dirs) == 1, "postgres must mount one init folder at /docker-entrypoint-initdb.d"
    scripts = sorted(p.name for p in (ROOT / init_dirs[0]).iterdir())
    assert scripts == [ROLES_SCRIPT.name], (
        f"{init_dirs[0]} holds {scripts}: the one init script is {ROLES_SCRIPT.name} (an older "
        "script creating the databases as the administrator would make the roles' fail)"
    )

    pg_env = resolved["services"]["postgres"]["environment"]
    admin = pg_env["POSTGRES_USER"]
    problems = []
    for name in entry_points:
        env = resolved["services"][name].get("environment", {})
        users, databases = set(), set()
        for service in SERVICES:
            variable = f"{service.upper()}_DATABASE_URL"
            if variable not in env:
                problems.append(f"{name}: {variable} is not set")
                continue
            url = make_url(env[variable])
            users.add(url.username)
            databases.add(url.database)
            if url.host != "postgres":
                problems.append(f"{name}: {variable} names host {url.host}, not postgres")
            if url.username == admin:
                problems.append(f"{name}: {variable} connects as the administrator {admin}")
            if env[variable] != pg_env.get(variable):
                problems.append(
                    f"{name}: {variable} is not the URL postgres's init script makes the user "
                    "and database from"
                )
        if len(users) != len(SERVICES) or len(databases) != len(SERVICES):
            problems.append(f"{name}: the services share users {users} or databases {databases}")
    assert not problems, "\n".join(problems)


def psql_program() -> str:
    found = shutil.which("psql")
    if found:
        return found
    from deploy.embedded import postgres_bin_path

    embedded = postgres_bin_path() / "psql"
    if embedded.exists():
        return str(embedded)
    pytest.skip("no psql to run deploy/postgres-init's script with (Debian: postgresql-client)")


@pytest.fixture
def admin_engine(servers: Any) -> Any:
    from sqlalchemy import create_engine

    from shared.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def run_roles_script(servers: Any, urls: dict[str, str]) -> subprocess.CompletedProcess[str]:
    server = make_url(servers.postgres_url)
    psql = psql_program()
    env = {
        "PATH": f"{Path(psql).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/"),
        "POSTGRES_USER": server.username or "postgres",
        "POSTGRES_DB": server.database or "postgres",
        "PGHOST": server.host or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        **({"PGPASSWORD": server.password} if server.password else {}),
        **{f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()},
    }
    return subprocess.run(
        ["bash", str(ROLES_SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.usefixtures("migrated")
def test_the_init_script_makes_each_service_the_owner_of_its_own_database_alone(
    servers: Any, admin_engine: Any
) -> None:
    """deploy/postgres-init/10-service-roles.sh on a real PostgreSQL: each user owns its
    database, may connect to no other, has no administrator's powers, and an older database
    (made by the administrator, with tables) passes to its user when the script runs again."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from shared.db import sqlalchemy_url
    from tests.servers import test_database_name

    tag = f"{test_database_name('init')}_{uuid.uuid4().hex[:6]}".lower()
    passwords = {service: strong_password() for service in SERVICES}
    server = make_url(sqlalchemy_url(servers.postgres_url))
    urls = {
        service: f"postgresql://{tag}_{service}:{passwords[service]}@postgres:5432/{tag}_db_{service}"
        for service in SERVICES
    }
    older = f"{tag}_db_review"  # as an older volume has it: made by the administrator
    try:
        with admin_engine.connect() as admin:
            admin.execute(text(f'CREATE DATABASE "{older}"'))
        older_engine = create_engine(server.set(database=older))
        with older_engine.begin() as conn:
            conn.execute(text("CREATE TABLE proposals_seen (id serial PRIMARY KEY, note text)"))
        older_engine.dispose()

        for attempt in ("first", "again"):
            result = run_roles_script(servers, urls)
            assert result.returncode == 0, (
                f"the init script failed ({attempt} run):\n{result.stdout}\n{result.stderr}"
            )

        def engine_of(service: str, database_of: str) -> Any:
            return create_engine(
                server.set(
                    username=f"{tag}_{service}",
                    password=passwords[service],
                    database=f"{tag}_db_{database_of}",
                )
            )

        with admin_engine.connect() as admin:
            for service in SERVICES:
                owner, superuser, createdb, createrole = admin.execute(
                    text(
                        "SELECT pg_get_userbyid(d.datdba), r.rolsuper, r.rolcreatedb, "
                        "r.rolcreaterole FROM pg_database d, pg_roles r "
                        "WHERE d.datname = :db AND r.rolname = :role"
                    ),
                    {"db": f"{tag}_db_{service}", "role": f"{tag}_{service}"},
                ).one()
                assert owner == f"{tag}_{service}", f"{service}'s database belongs to {owner}"
                powers = {"superuser": superuser, "createdb": createdb, "createrole": createrole}
                assert not any(powers.values()), f"{service}'s user has powers: {powers}"

        check = create_engine(server.set(database=older))
        with check.connect() as conn:
            owner = conn.execute(
                text("SELECT tableowner FROM pg_tables WHERE tablename = 'proposals_seen'")
            ).scalar_one()
        check.dispose()
        assert owner == f"{tag}_review", f"the older database's table still belongs to {owner}"

        own = engine_of("intake", "intake")
        with own.begin() as conn:  # the owner makes its tables, as its migrations do
            conn.execute(text("CREATE TABLE made_by_the_owner (id int)"))
        own.dispose()
        other = engine_of("intake", "review")
        with pytest.raises(OperationalError, match="CONNECT"):
            other.connect().close()
        other.dispose()
    finally:
        with admin_engine.connect() as admin:
            for service in SERVICES:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{tag}_db_{service}" WITH (FORCE)'))
            for service in SERVICES:
                admin.execute(text(f'DROP ROLE IF EXISTS "{tag}_{service}"'))


def test_the_init_script_refuses_a_url_it_cannot_use(servers: Any) -> None:
    """Before it touches the server: a URL it cannot read, or one naming the administrator."""
    from tests.servers import test_database_name

    # Good URLs beside the bad one, with names no other test uses, should the script go on.
    tag = f"{test_database_name('refused')}_{uuid.uuid4().hex[:6]}".lower()
    good = {
        service: f"postgresql://{tag}_{service}:{strong_password()}@postgres:5432/{tag}_{service}"
        for service in SERVICES
    }
    admin = make_url(servers.postgres_url).username or "postgres"
    for variable, url in (
        ("REVIEW_DATABASE_URL", f"postgresql://{tag}_review:p@ss@postgres:5432/{tag}_review"),
        ("NOTIFY_DATABASE_URL", f"postgresql://{admin}:{strong_password()}@postgres/db"),
    ):
        service = variable.split("_")[0].lower()
        result = run_roles_script(servers, {**good, service: url})
        assert result.returncode != 0, f"the init script took {variable}={url}"
        assert variable in result.stderr, result.stderr
        assert "postgres-init: intake" not in result.stdout  # it stopped before any change


def test_each_app_service_starts_with_its_compose_environment(
    resolved: dict[str, Any],
    entry_points: dict[str, EntryPoint],
) -> None:
    """APP_ENV=production refuses missing settings; the compose environment must satisfy it."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from shared.config import ConfigurationError, load_settings, reset_settings

    services = resolved["services"]
    for name, entry in entry_points.items():
        env = app_environment(services[name])
        with pytest.MonkeyPatch.context() as mp:
            for variable in APP_VARIABLES:
                mp.delenv(variable, raising=False)
            for key, value in env.items():
                mp.setenv(key, value)
            reset_settings()  # read this environment, not the one the test run started with
            try:
                settings = load_settings()
            except ConfigurationError as err:
                pytest.fail(f"{name}: its compose environment is refused: {err}")
            assert settings.production, f"{name}: APP_ENV must be production"
            assert make_url(settings.redis_url).host in services, (
                f"{name}: REDIS_URL {settings.redis_url} names no compose service"
            )
            assert settings.smtp is not None, f"{name}: SMTP_HOST must be set"
            assert settings.smtp.host == strong_variables()["SMTP_HOST"], (
                f"{name}: SMTP_HOST {settings.smtp.host} is not the one .env names"
            )
            assert settings.log_format == "json", f"{name}: LOG_FORMAT must be json"
            if entry.kind != "web":
                continue
            module = importlib.import_module(f"services.{entry.service}")
            app = module.create_app()
            rules = {rule.rule for rule in app.url_map.iter_rules()}
            assert "/healthz" in rules, f"{name}: the app does not serve /healthz"
            probed = healthcheck_path(services[name])
            assert probed in rules, (
                f"{name}: its health check asks {probed}, which the app does not serve"
            )
            assert env.get("BEHIND_PROXY") == "1", f"{name}: web services set BEHIND_PROXY=1"
            proxy_fix = app.wsgi_app
            expected = (
                f"{name}: with BEHIND_PROXY=1 the app must trust X-Forwarded-Prefix from the "
                "gateway (ProxyFix x_prefix=1), or its links lose the /<service> prefix"
            )
            assert isinstance(proxy_fix, ProxyFix), expected
            assert proxy_fix.x_prefix == 1, expected


def test_gateway_routes_each_prefix_to_its_service(
    compose: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    from deploy.gateway import MOUNTS

    gateway = compose["services"].get("gateway")
    assert gateway is not None, "docker-compose.yml has no gateway service"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in gateway.get("volumes", []), (
        "the gateway must mount deploy/nginx.conf as /etc/nginx/nginx.conf"
    )
    assert f"{WEB_PORT}:80" in [str(p) for p in gateway.get("ports", [])], (
        f"the gateway must publish port {WEB_PORT}"
    )

    conf = NGINX_CONF.read_text()
    blocks = {
        m.group(1): m.group(2) for m in re.finditer(r"location\s+(/\S*)\s*\{([^{}]*)\}", conf)
    }
    web_of = {e.service: n for n, e in entry_points.items() if e.kind == "web"}
    routes = {"/": "intake", **{f"{prefix}/": service for prefix, service in MOUNTS.items()}}
    problems = []
    for location, service in routes.items():
        block = blocks.get(location)
        if block is None:
            problems.append(f"nginx.conf has no `location {location}` for {service}")
            continue
        variables = dict(re.findall(r"set\s+\$(\w+)\s+([^;\s]+);", block))
        target = re.search(r"proxy_pass\s+http://\$?([\w.:-]+)", block)
        upstream = variables.get(target.group(1), target.group(1)) if target else None
        if upstream != f"{web_of.get(service)}:{WEB_PORT}":
            problems.append(
                f"{location} goes to {upstream}, not {service}'s web process "
                f"{web_of.get(service)}:{WEB_PORT}"
            )
        if location == "/":
            continue
        prefix = location.rstrip("/")
        if not re.search(rf"(X-Forwarded-Prefix|\$forwarded_prefix)\s+{re.escape(prefix)};", block):
            problems.append(f"{location} does not send X-Forwarded-Prefix: {prefix}")
        if f"rewrite ^{prefix}(/.*)$ $1 break;" not in block:
            problems.append(f"{location} does not strip {prefix} before proxying")
    assert not problems, "\n".join(problems)


def test_every_container_has_a_health_check_and_a_restart_policy(resolved: dict[str, Any]) -> None:
    problems = []
    for name, service in resolved["services"].items():
        restart = service.get("restart")
        if name in ONE_SHOT:
            if restart != "no":
                problems.append(f'{name}: runs once: restart must be "no", not {restart!r}')
            continue
        if restart not in {"always", "unless-stopped", "on-failure"}:
            problems.append(f"{name}: no restart policy (restart: {restart!r})")
        check = service.get("healthcheck") or {}
        if check.get("disable") or not check.get("test"):
            problems.append(f"{name}: no health check")
    assert not problems, "\n".join(problems)


def test_migrations_run_once_before_every_process(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    migrations = [name for name, entry in entry_points.items() if entry.kind == "alliance migrate"]
    assert migrations == ["migrate"], f"expected one migrate service, found {migrations}"
    assert resolved["services"]["migrate"].get("restart") == "no"
    # (test_processes_wait_for_migrations_and_a_healthy_redis: every process waits for it.)


def test_redis_never_evicts_queued_tasks(compose: dict[str, Any]) -> None:
    argv = argv_of("redis", compose["services"]["redis"].get("command", []))
    assert option(argv, "--maxmemory-policy") == "noeviction", (
        "redis must run with --maxmemory-policy noeviction: any other policy drops queued "
        f"tasks and staff sessions when memory runs out; command: {argv}"
    )


def test_a_stopped_worker_has_time_to_finish_its_task(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    """docker compose stop/down sends SIGTERM: Celery's warm shutdown finishes the running task,
    which its time limit ends at the latest; the grace period must outlast that."""
    problems = []
    for name, entry in entry_points.items():
        if entry.kind != "worker":
            continue
        worker = importlib.import_module(f"services.{entry.service}.worker")
        limit = worker.celery.conf.task_time_limit
        service = resolved["services"][name]
        grace = seconds_of(service.get("stop_grace_period", "10s"))
        if grace <= limit:
            problems.append(
                f"{name}: stop_grace_period {grace:g}s does not outlast the task time limit "
                f"{limit:g}s: a stop would kill a running task"
            )
        if not service.get("init"):
            problems.append(f"{name}: needs init: true (SIGTERM to Celery, health restarts)")
    assert not problems, "\n".join(problems)


def test_mailpit_runs_only_in_the_trial_profile(compose: dict[str, Any], tmp_path: Path) -> None:
    mailpit = compose["services"].get("mailpit")
    assert mailpit is not None, "docker-compose.yml has no mailpit service for a trial"
    assert mailpit.get("profiles") == [TRIAL_PROFILE], (
        f"mailpit must run only in the {TRIAL_PROFILE!r} profile, not {mailpit.get('profiles')}"
    )
    # Nothing may need it: `docker compose up` without the profile would refuse to start.
    for name, service in compose["services"].items():
        depends = service.get("depends_on") or {}
        assert "mailpit" not in depends, f"{name} depends on mailpit, which a production lacks"
    # A trial sends mail to it: .env.example's SMTP_HOST and SMTP_PORT are its host and port.
    trial = resolve(ENV_EXAMPLE)
    env = app_environment(trial["services"]["notify-worker"])
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"] in {str(port).split("/")[0] for port in mailpit.get("expose", [])}
    result = run_compose("--profile", TRIAL_PROFILE, "config", "-q", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, f"the trial profile does not validate:\n{result.stderr}"


def test_each_process_logs_json_and_keeps_its_metrics_in_memory(
    resolved: dict[str, Any], entry_points: dict[str, EntryPoint]
) -> None:
    problems = []
    for name in entry_points:
        service = resolved["services"][name]
        env = app_environment(service)
        if env.get("LOG_FORMAT") != "json":
            problems.append(f"{name}: LOG_FORMAT must be json, not {env.get('LOG_FORMAT')!r}")
        folder = env.get("PROMETHEUS_MULTIPROC_DIR", "")
        mounts = [str(m).split(":")[0] for m in service.get("tmpfs", [])]
        if folder not in mounts:
            problems.append(
                f"{name}: PROMETHEUS_MULTIPROC_DIR {folder!r} must be one of its tmpfs {mounts}"
            )
        if not service.get("read_only"):
            problems.append(f"{name}: the image's files should be read-only (read_only: true)")
        if "/tmp" not in mounts:
            problems.append(f"{name}: a read-only container needs a tmpfs at /tmp")
        if entry_points[name].kind in {"worker", "beat"} and env.get("METRICS_PORT") != "9100":
            problems.append(f"{name}: METRICS_PORT must be 9100 (where monitoring scrapes it)")
    assert not problems, "\n".join(problems)


DOCKERFILE = ROOT / APP_DOCKERFILE


def test_the_image_is_pinned_small_and_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    arguments = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.M))
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: arguments.get(m.group(1), m.group(0)), base)
        for base in re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    ]
    assert bases, "deploy/Dockerfile has no FROM"
    for base in bases:
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base), (
            f"deploy/Dockerfile builds FROM {base}: pin a patch release of the slim image "
            "(python:3.11.N-slim-bookworm) so that a rebuild gets the same Python"
        )
    final = text[text.rindex("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.M)
    assert users, "the final stage of deploy/Dockerfile sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    unprivileged = user.isdigit() and int(user) != 0
    assert unprivileged, (
        f"the image runs as USER {users[-1]}: a non-root uid by number (Kubernetes' "
        "runAsNonRoot can check a number, not a name)"
    )
    command = re.search(r"^CMD\s+(\[.*?\])\s*$", final, flags=re.M | re.S)
    assert command, "deploy/Dockerfile has no CMD in exec form"
    argv = yaml.safe_load(command.group(1).replace("\\\n", " "))
    assert check_entry_point("Dockerfile CMD", argv).kind == "web"
