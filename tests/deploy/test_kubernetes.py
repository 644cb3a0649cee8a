"""deploy/kubernetes/ renders manifests a cluster accepts and that run this code, and its workers
scale on the work actually waiting without ever killing a busy one.

No cluster is needed. ``kubectl kustomize`` renders the base and the production overlay (offline);
every object is checked against the Kubernetes schemas of the ``kubernetes-validate`` package
(KEDA's ScaledObject and TriggerAuthentication, custom resources it has no schema of, by their
fields); every container against the code: the entry point its command names (as
tests/deploy/test_compose.py checks docker-compose.yml's, and the same commands), the queue a
worker consumes, every environment variable it is given (one the code reads), its ports and the
paths its probes ask. The autoscaling decision the ScaledObjects encode runs against real Redis
and PostgreSQL holding waiting and running work, and a real Celery worker stopped while busy
finishes its task.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from shared.celery_app import create_celery
from shared.config import SERVICES, declared_settings
from tests.deploy.test_compose import EntryPoint, argv_of, check_entry_point, option
from tests.production import strong_key, strong_password

# kubectl renders the manifests; some tests use PostgreSQL, Redis or a Celery worker.
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
PRODUCTION = KUBERNETES / "overlays" / "production"
SECRET_EXAMPLE = PRODUCTION / "secret.example.env"
KEDA_SECRET_EXAMPLE = PRODUCTION / "keda-secret.example.env"
GATEWAY_CONF = BASE / "gateway" / "nginx.conf"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

# The Kubernetes versions the manifests must suit: the oldest one still commonly run by the
# managed services, and the newest kubernetes-validate knows.
OLDEST_KUBERNETES = "1.29"

# The image deploy/Dockerfile builds (docker-compose.yml names it so too).
APP_IMAGE = "alliance-program-manager"
# The Secrets the manifests read and never carry (made from the example files' copies).
APP_SECRET = "alliance-secrets"
KEDA_SECRET = "alliance-keda"
WEB_PORT = 8000
METRICS_PORT = 9100

# Every variable the code reads (shared/config/ declares them; prometheus-client reads
# PROMETHEUS_MULTIPROC_DIR itself).
KNOWN_VARIABLES = {setting.name for setting in declared_settings()} | {
    "PROMETHEUS_MULTIPROC_DIR",
    "METRICS_PORT",
    "LOG_FORMAT",
}
APP_VARIABLES = tuple(setting.name for setting in declared_settings())

# KEDA's custom resources (keda.sh/v1alpha1), which kubernetes-validate has no schema of: the
# fields KEDA 2.x defines, checked here instead.
KEDA_API = "keda.sh/v1alpha1"
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
TRIGGER_FIELDS = {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}
# Per trigger type: (required metadata, allowed metadata, TriggerAuthentication parameters).
TRIGGER_TYPES: dict[str, tuple[set[str], set[str], set[str]]] = {
    "redis": (
        {"listName"},
        {
            "address",
            "addressFromEnv",
            "host",
            "hostFromEnv",
            "port",
            "portFromEnv",
            "usernameFromEnv",
            "passwordFromEnv",
            "listName",
            "listLength",
            "activationListLength",
            "databaseIndex",
            "enableTLS",
            "unsafeSsl",
        },
        {"address", "host", "port", "username", "password", "tls", "ca", "cert", "key"},
    ),
    "postgresql": (
        {"query", "targetQueryValue"},
        {
            "query",
            "targetQueryValue",
            "activationTargetQueryValue",
            "connectionFromEnv",
            "host",
            "port",
            "userName",
            "dbName",
            "sslmode",
            "passwordFromEnv",
        },
        {"connection", "password", "host", "port", "userName", "dbName", "sslmode"},
    ),
}
NUMBERS = {
    "listLength": int,
    "activationListLength": int,
    "databaseIndex": int,
    "targetQueryValue": float,
    "activationTargetQueryValue": float,
}
TRIGGER_AUTHENTICATION_FIELDS = {
    "secretTargetRef",
    "env",
    "configMapTargetRef",
    "podIdentity",
    "hashiCorpVault",
    "azureKeyVault",
}


# -- rendering --------------------------------------------------------------------------------


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip(
            "kubectl is not installed, so deploy/kubernetes/ cannot be rendered (kubectl "
            "kustomize, offline): install kubectl (https://kubernetes.io/docs/tasks/tools/) to "
            "check the manifests"
        )
    return path


def render(folder: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize {folder} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return render(PRODUCTION)


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render(BASE)


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = of_kind(objects, kind).get(name)
    assert found is not None, f"no {kind} {name} in the rendered manifests"
    return found


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def workloads(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, object) of every Deployment and Job."""
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job"}:
            yield obj["metadata"]["name"], obj


def containers(
    objects: list[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) of every container, init containers too."""
    for name, workload in workloads(objects):
        spec = pod_spec(workload)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield name, spec, container


def runs_app_image(container: dict[str, Any]) -> bool:
    image = str(container["image"]).split("@")[0]
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return name == APP_IMAGE or name.endswith(f"/{APP_IMAGE}")


def app_containers(
    objects: list[dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name, spec, container in containers(objects):
        if runs_app_image(container):
            yield name, spec, container


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (what kubectl create secret --from-env-file reads)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


@pytest.fixture(scope="module")
def entry_points(production: list[dict[str, Any]]) -> dict[str, EntryPoint]:
    """Every app container's checked entry point, by workload name."""
    found: dict[str, EntryPoint] = {}
    problems = []
    for name, _spec, container in app_containers(production):
        try:
            found[name] = check_entry_point(name, argv_of(name, container.get("command")))
        except (AssertionError, ImportError) as err:
            problems.append(str(err).splitlines()[0])
    assert not problems, "containers with broken entry points:\n  " + "\n  ".join(problems)
    return found


@pytest.fixture(scope="module")
def url_rules() -> dict[str, set[str]]:
    """Each service's web app's URL rules."""
    rules = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}").create_app()
        rules[service] = {rule.rule for rule in app.url_map.iter_rules()}
    return rules


# -- the schemas ------------------------------------------------------------------------------


def schema_problems(objects: list[dict[str, Any]], version: str) -> tuple[list[str], list[str]]:
    """(what the schemas of ``version`` refuse, the kinds they have no schema of)."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    problems, unknown = [], []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except SchemaNotFoundError:
            unknown.append(where)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(part) for part in err.path)
            problems.append(f"{where} (Kubernetes {version}): {path}: {err.message}")
    return problems, unknown


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_object_validates_against_the_kubernetes_schemas(
    which: str, request: pytest.FixtureRequest
) -> None:
    from kubernetes_validate.utils import latest_version

    objects = request.getfixturevalue(which)
    assert objects, f"deploy/kubernetes/{which} renders nothing"
    # The production overlay on both versions; the base (mostly the same objects) on the oldest.
    versions = (
        (OLDEST_KUBERNETES, latest_version()) if which == "production" else (OLDEST_KUBERNETES,)
    )
    for version in versions:
        problems, unknown = schema_problems(objects, version)
        assert not problems, "\n".join(problems)
        # Only KEDA's custom resources go without a schema; test_keda_objects_are_well_formed.
        strangers = [u for u in unknown if not u.startswith(("ScaledObject/", "Trigger"))]
        assert not strangers, f"no Kubernetes {version} schema for {strangers}"


def keda_problems(objects: list[dict[str, Any]]) -> list[str]:
    import kubernetes_validate

    deployments = of_kind(objects, "Deployment")
    authentications = of_kind(objects, "TriggerAuthentication")
    problems = []
    for name, auth in authentications.items():
        if auth["apiVersion"] != KEDA_API:
            problems.append(f"TriggerAuthentication/{name}: apiVersion {auth['apiVersion']}")
        spec = auth.get("spec") or {}
        if not spec or set(spec) - TRIGGER_AUTHENTICATION_FIELDS:
            problems.append(f"TriggerAuthentication/{name}: unknown spec {sorted(spec)}")
        for ref in spec.get("secretTargetRef", []):
            if set(ref) != {"parameter", "name", "key"} or not all(
                isinstance(v, str) and v for v in ref.values()
            ):
                problems.append(f"TriggerAuthentication/{name}: bad secretTargetRef {ref}")

    for name, scaled in of_kind(objects, "ScaledObject").items():
        where = f"ScaledObject/{name}"
        if scaled["apiVersion"] != KEDA_API:
            problems.append(f"{where}: apiVersion {scaled['apiVersion']}, not {KEDA_API}")
        spec = scaled.get("spec") or {}
        if set(spec) - SCALED_OBJECT_FIELDS:
            problems.append(f"{where}: unknown fields {sorted(set(spec) - SCALED_OBJECT_FIELDS)}")
        target = spec.get("scaleTargetRef", {})
        if (
            target.get("kind", "Deployment") != "Deployment"
            or target.get("name") not in deployments
        ):
            problems.append(f"{where}: scaleTargetRef {target} names no rendered Deployment")
        for field in ("minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod"):
            if not isinstance(spec.get(field, 0), int) or spec.get(field, 0) < 0:
                problems.append(f"{where}: {field} must be a whole number, not {spec.get(field)}")
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
            problems.append(f"{where}: minReplicaCount above maxReplicaCount")
        behavior = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        if behavior is not None:  # the HPA's own field: its schema checks it
            hpa = {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "maxReplicas": 1,
                    "behavior": behavior,
                },
            }
            try:
                kubernetes_validate.validate(hpa, OLDEST_KUBERNETES, strict=True)
            except kubernetes_validate.ValidationError as err:
                problems.append(f"{where}: advanced...behavior: {err.message}")
        triggers = spec.get("triggers") or []
        if not triggers:
            problems.append(f"{where}: no triggers")
        for index, trigger in enumerate(triggers):
            at = f"{where} trigger {index}"
            if set(trigger) - TRIGGER_FIELDS:
                problems.append(f"{at}: unknown fields {sorted(set(trigger) - TRIGGER_FIELDS)}")
            kind = trigger.get("type")
            if kind not in TRIGGER_TYPES:
                problems.append(f"{at}: type {kind!r} is not one these manifests use")
                continue
            required, allowed, parameters = TRIGGER_TYPES[kind]
            metadata = trigger.get("metadata") or {}
            if missing := required - set(metadata):
                problems.append(f"{at}: metadata lacks {sorted(missing)}")
            if unknown := set(metadata) - allowed:
                problems.append(f"{at}: metadata {sorted(unknown)} is not {kind}'s")
            for key, value in metadata.items():
                if not isinstance(value, str):  # KEDA's metadata is map[string]string
                    problems.append(f"{at}: metadata {key} must be a string, not {value!r}")
                elif key in NUMBERS:
                    try:
                        NUMBERS[key](value)
                    except ValueError:
                        problems.append(f"{at}: metadata {key}={value!r} is not a number")
                elif key in {"enableTLS", "unsafeSsl"} and value not in {"true", "false"}:
                    problems.append(f"{at}: metadata {key}={value!r} is not true or false")
            ref = (trigger.get("authenticationRef") or {}).get("name")
            if ref is not None:
                referenced = authentications.get(ref)
                if referenced is None:
                    problems.append(f"{at}: authenticationRef {ref} is not rendered")
                    continue
                given = {r["parameter"] for r in referenced["spec"].get("secretTargetRef", [])}
                if given - parameters:
                    problems.append(
                        f"{at}: {ref} gives {kind} unknown {sorted(given - parameters)}"
                    )
    return problems


@pytest.mark.parametrize("which", ["base", "production"])
def test_keda_objects_are_well_formed(which: str, request: pytest.FixtureRequest) -> None:
    problems = keda_problems(request.getfixturevalue(which))
    assert not problems, "\n".join(problems)


# -- against the code -------------------------------------------------------------------------


def compose_commands() -> dict[str, list[str]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return {
        name: argv_of(name, service["command"])
        for name, service in compose["services"].items()
        if "command" in service
    }


def test_every_container_runs_a_real_entry_point(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    """The fixture checked each command against the code; here: the processes the system
    needs, named as docker-compose.yml names them, with docker-compose.yml's commands."""
    expected = {f"{service}-{kind}" for service in SERVICES for kind in ("web", "worker")}
    problems = []
    for name in sorted(expected):
        entry = entry_points.get(name)
        kind, service = name.split("-")[1], name.split("-")[0]
        if entry is None or (entry.kind, entry.service) != (kind, service):
            problems.append(f"{name}: expected {service}'s {kind}, found {entry}")
    beats = [n for n, e in entry_points.items() if e.kind == "beat"]
    if beats != ["beat"]:
        problems.append(f"expected one beat Deployment named beat, found {beats}")
    migrations = [n for n, e in entry_points.items() if e.kind == "alliance migrate"]
    if migrations != ["alliance-migrate"] or "alliance-migrate" not in of_kind(production, "Job"):
        problems.append(
            f"expected the Job alliance-migrate to run `alliance migrate`: {migrations}"
        )

    compose = compose_commands()
    same_as = {"beat": "beat", "alliance-migrate": "migrate"} | {n: n for n in expected}
    for name, _spec, container in app_containers(production):
        argv = argv_of(name, container["command"])
        theirs = compose.get(same_as.get(name, ""))
        if theirs is None:
            continue
        extra = argv[len(theirs) :]
        if argv[: len(theirs)] != theirs or (extra and extra[:1] != ["--concurrency"]):
            problems.append(
                f"{name}: runs {argv}; docker-compose.yml's {same_as[name]} runs {theirs} (only "
                "a worker's --concurrency may be added)"
            )
        if entry_points[name].kind == "worker":
            concurrency = option(argv, "--concurrency", "-c")
            if concurrency is None or not concurrency.isdigit():
                problems.append(
                    f"{name}: give the worker --concurrency (Celery would count the node's "
                    "CPUs, not the container's limit)"
                )
    assert not problems, "\n".join(problems)


def probe_commands(container: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        command = (container.get(probe) or {}).get("exec", {}).get("command")
        if command:
            yield probe, command


def test_every_exec_probe_runs_a_real_command(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    from deploy.cli import main as cli

    healthcheck = cli.commands["healthcheck"]
    processes = set(healthcheck.params[0].type.choices)  # type: ignore[attr-defined]
    problems = []
    for name, _spec, container in app_containers(production):
        entry = entry_points[name]
        for probe, command in probe_commands(container):
            if command[0] == "alliance":
                if command[1:2] != ["healthcheck"] or "healthcheck" not in cli.commands:
                    problems.append(f"{name} {probe}: `alliance {command[1:2]}` is no health check")
                    continue
                target = command[2] if len(command) > 2 else None
                wanted = entry.service if entry.kind == "worker" else entry.kind
                if target not in processes or target != wanted:
                    problems.append(
                        f"{name} {probe}: checks {target!r}, not its own process {wanted!r} "
                        f"(alliance healthcheck takes {sorted(processes)})"
                    )
                if "--restart-unhealthy" in command:
                    problems.append(
                        f"{name} {probe}: --restart-unhealthy is for Compose; Kubernetes "
                        "restarts a container whose liveness probe fails"
                    )
            elif command[:2] == ["python", "-c"]:
                compile(command[2], f"{name} {probe}", "exec")
            else:
                problems.append(f"{name} {probe}: {command[0]!r} is not a known probe command")
    assert not problems, "\n".join(problems)


def queues_declared() -> set[str]:
    from shared.celery_app import celery_settings

    return {queue.name for queue in celery_settings()["task_queues"]}


def test_each_worker_scales_on_its_own_queue(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    scaled = of_kind(production, "ScaledObject")
    auths = of_kind(production, "TriggerAuthentication")
    hpas = of_kind(production, "HorizontalPodAutoscaler")
    declared = queues_declared()
    problems = []
    for name, entry in entry_points.items():
        targets = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == name]
        hpa_targets = [h for h in hpas.values() if h["spec"]["scaleTargetRef"]["name"] == name]
        if entry.kind != "worker":
            if targets:
                problems.append(f"{name}: only workers scale with KEDA")
            continue
        if len(targets) != 1 or hpa_targets:
            problems.append(f"{name}: needs exactly one ScaledObject and no HPA of its own")
            continue
        spec = targets[0]["spec"]
        triggers = {t["type"]: t for t in spec["triggers"]}
        queue = triggers.get("redis", {}).get("metadata", {}).get("listName")
        if queue != entry.service or queue not in declared:
            problems.append(
                f"{name}: its redis trigger counts the list {queue!r}; the worker consumes "
                f"{entry.service!r} (declared queues: {sorted(declared)})"
            )
        postgresql = triggers.get("postgresql")
        if postgresql is None:
            problems.append(f"{name}: no postgresql trigger on its service's database")
        else:
            auth = auths[postgresql["authenticationRef"]["name"]]
            [ref] = auth["spec"]["secretTargetRef"]
            if (ref["name"], ref["key"]) != (KEDA_SECRET, f"{entry.service}-database"):
                problems.append(f"{name}: its query reads {ref}, not {entry.service}'s database")
        if spec.get("minReplicaCount", 0) < 1:
            problems.append(f"{name}: minReplicaCount below 1 (README.md: why never none)")
    assert not problems, "\n".join(problems)


def test_every_environment_variable_is_one_the_code_reads(production: list[dict[str, Any]]) -> None:
    configmaps = of_kind(production, "ConfigMap")
    secret_keys = set(env_file(SECRET_EXAMPLE))
    problems = []
    for name, _spec, container in app_containers(production):
        given: set[str] = set()
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                if ref not in configmaps:
                    problems.append(f"{name}: envFrom names ConfigMap {ref}, which is not rendered")
                    continue
                given |= set(configmaps[ref].get("data", {}))
            elif "secretRef" in source:
                ref = source["secretRef"]["name"]
                if ref != APP_SECRET:
                    problems.append(f"{name}: envFrom names Secret {ref}, not {APP_SECRET}")
                given |= secret_keys
            else:
                problems.append(f"{name}: envFrom {source}")
        for variable in container.get("env", []):
            given.add(variable["name"])
            if "valueFrom" in variable:
                problems.append(f"{name}: {variable['name']} comes from {variable['valueFrom']}")
        if unknown := given - KNOWN_VARIABLES:
            problems.append(f"{name}: {sorted(unknown)} is no variable the code reads")
    assert not problems, "\n".join(problems)


def process_environment(
    production: list[dict[str, Any]], container: dict[str, Any], secret: dict[str, str]
) -> dict[str, str]:
    configmaps = of_kind(production, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= configmaps[source["configMapRef"]["name"]].get("data", {})
        else:
            env |= secret
    env |= {v["name"]: str(v.get("value", "")) for v in container.get("env", [])}
    return env


def with_real_secrets(secret: dict[str, str]) -> dict[str, str]:
    """The example Secret with each placeholder replaced by a long random value."""
    real = {}
    for key, value in secret.items():
        if "change-me" not in value:
            real[key] = value
        elif "://" in value:
            real[key] = re.sub(r":change-me[^@]*@", f":{strong_password()}@", value)
        elif key.endswith("_KEY"):
            real[key] = strong_key()
        else:
            real[key] = strong_password()
    return real


def settings_problems(env: dict[str, str]) -> tuple[Any, list[str]]:
    from shared.config import ConfigurationError, load_settings, reset_settings

    with pytest.MonkeyPatch.context() as mp:
        for variable in KNOWN_VARIABLES | set(APP_VARIABLES):
            mp.delenv(variable, raising=False)
        for key, value in env.items():
            mp.setenv(key, value)
        reset_settings()
        try:
            return load_settings(), []
        except ConfigurationError as refused:
            return None, list(refused.problems)
        finally:
            reset_settings()


def test_each_process_starts_with_its_environment(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    """APP_ENV=production accepts each container's environment once the Secret holds real
    values, and refuses the example Secret's placeholders, naming each."""
    example = env_file(SECRET_EXAMPLE)
    real = with_real_secrets(example)
    expected_refusals = {"SECRET_KEY", "REDIS_URL"} | {
        f"{service.upper()}_DATABASE_URL" for service in SERVICES
    }
    for name, _spec, container in app_containers(production):
        settings, problems = settings_problems(process_environment(production, container, real))
        assert not problems, f"{name}: production refuses its environment: {problems}"
        assert settings.production, f"{name}: APP_ENV must be production"
        assert settings.log_format == "json", f"{name}: LOG_FORMAT must be json"
        assert settings.smtp is not None, f"{name}: SMTP_HOST must name the mail relay"
        assert settings.public_base_url.startswith("https://")
        if entry_points[name].kind == "web":
            assert settings.behind_proxy, f"{name}: a web side behind the gateway: BEHIND_PROXY=1"
        _, refused = settings_problems(process_environment(production, container, example))
        named = {problem.split(" ")[0].split("=")[0] for problem in refused}
        assert named == expected_refusals, f"{name}: the example Secret's refusals: {refused}"


def test_ports_and_probe_paths_exist(
    production: list[dict[str, Any]],
    entry_points: dict[str, EntryPoint],
    url_rules: dict[str, set[str]],
) -> None:
    services_ = of_kind(production, "Service")
    problems = []
    for name, _spec, container in app_containers(production):
        entry = entry_points[name]
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        env = {v["name"]: v.get("value") for v in container.get("env", [])}
        annotations = one(
            production, "Deployment" if entry.kind != "alliance migrate" else "Job", name
        )["spec"]["template"]["metadata"].get("annotations", {})
        if entry.kind == "web":
            rules = url_rules[entry.service or ""]
            bind = option(argv_of(name, container["command"]), "--bind", "-b") or ""
            if ports.get("http") != WEB_PORT or bind != f"0.0.0.0:{WEB_PORT}":
                problems.append(f"{name}: port {ports} and --bind {bind} must both be {WEB_PORT}")
            readiness = (container.get("readinessProbe") or {}).get("httpGet", {})
            if readiness.get("path") != "/readyz" or readiness.get("port") not in (
                "http",
                WEB_PORT,
            ):
                problems.append(f"{name}: readiness must ask /readyz on its port, not {readiness}")
            liveness = " ".join(
                (container.get("livenessProbe") or {}).get("exec", {}).get("command", [])
            )
            asked = re.search(rf"http://127\.0\.0\.1:{WEB_PORT}(/[\w/-]*)", liveness)
            if asked is None or asked.group(1) != "/healthz":
                problems.append(f"{name}: liveness must ask /healthz on its port: {liveness!r}")
            for path in ("/healthz", "/readyz", annotations.get("prometheus.io/path")):
                if path not in rules:
                    problems.append(f"{name}: the app of {entry.service} does not serve {path}")
            if annotations.get("prometheus.io/port") != str(WEB_PORT):
                problems.append(f"{name}: metrics are scraped on its port {WEB_PORT}")
            service = services_.get(name)
            if service is None or service["spec"]["ports"][0]["port"] != WEB_PORT:
                problems.append(f"{name}: needs a Service {name} on port {WEB_PORT}")
            elif service["spec"]["ports"][0]["targetPort"] not in ("http", WEB_PORT):
                problems.append(f"{name}: its Service targets {service['spec']['ports'][0]}")
        elif entry.kind in {"worker", "beat"}:
            if ports.get("metrics") != METRICS_PORT or env.get("METRICS_PORT") != str(METRICS_PORT):
                problems.append(
                    f"{name}: serves its metrics on METRICS_PORT={env.get('METRICS_PORT')} and "
                    f"declares {ports}: both must be {METRICS_PORT}"
                )
            if annotations.get("prometheus.io/port") != str(METRICS_PORT):
                problems.append(f"{name}: metrics are scraped on {METRICS_PORT}")
    assert not problems, "\n".join(problems)


def test_the_gateway_reaches_every_web_side(production: list[dict[str, Any]]) -> None:
    conf = GATEWAY_CONF.read_text()
    gateway = one(production, "Deployment", "gateway")
    [container] = pod_spec(gateway)["containers"]
    services_ = of_kind(production, "Service")
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert re.search(rf"^\s*listen\s+{port}\b", conf, flags=re.M), f"nginx must listen on {port}"
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert re.search(rf"location\s+=\s+{re.escape(path)}\s*\{{", conf), (
            f"the gateway's {probe} asks {path}, which its nginx.conf does not answer"
        )
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, flags=re.M)
    assert {host for host, _ in upstreams} == {f"{s}-web" for s in SERVICES}
    for host, upstream_port in upstreams:
        assert host in services_, f"the gateway sends to {host}, which is no Service"
        assert int(upstream_port) in {p["port"] for p in services_[host]["spec"]["ports"]}
    # The ConfigMap it mounts is that file.
    configmap = next(
        v["configMap"]["name"] for v in pod_spec(gateway)["volumes"] if "configMap" in v
    )
    assert of_kind(production, "ConfigMap")[configmap]["data"]["nginx.conf"] == conf
    gateway_service = services_["gateway"]
    ingress = next(iter(of_kind(production, "Ingress").values()))
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert backend["port"]["name"] in {p["name"] for p in gateway_service["spec"]["ports"]}


def test_every_image_is_the_one_we_build_or_the_composes_nginx(
    production: list[dict[str, Any]],
) -> None:
    """The app image is the one deploy/Dockerfile builds (docker-compose.yml's name for it); the
    gateway runs the nginx release docker-compose.yml's gateway runs, unprivileged."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert compose["x-app"]["image"].split(":")[0] == APP_IMAGE
    release = re.fullmatch(r"nginx:(\d+\.\d+)[\w.-]*", compose["services"]["gateway"]["image"])
    assert release, compose["services"]["gateway"]["image"]
    for name, _spec, container in containers(production):
        if runs_app_image(container):
            continue
        image = container["image"]
        expected = rf"nginxinc/nginx-unprivileged:{re.escape(release.group(1))}[\w.-]*"
        assert re.fullmatch(expected, image), (
            f"{name}: runs {image}; only the app's image and nginx {release.group(1)} "
            "(unprivileged) belong here"
        )


# -- how the pods run -------------------------------------------------------------------------


def emptydir_mounts(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """mount path -> volume name, for the container's emptyDir volumes."""
    empty = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    return {
        m["mountPath"]: m["name"] for m in container.get("volumeMounts", []) if m["name"] in empty
    }


def test_every_container_is_bounded_and_unprivileged(production: list[dict[str, Any]]) -> None:
    uid = re.findall(r"^USER\s+(\d+)", DOCKERFILE.read_text(), flags=re.M)[-1]
    problems = []
    for name, spec, container in containers(production):
        where = f"{name}/{container['name']}"
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            if set(resources.get(bound, {})) != {"cpu", "memory"}:
                problems.append(f"{where}: {bound} must give cpu and memory: {resources}")
        pod = spec.get("securityContext", {})
        own = container.get("securityContext", {})
        if own.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot must be true")
        if own.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem must be true")
        if own.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if own.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}: capabilities must drop ALL")
        mounts = emptydir_mounts(spec, container)
        if "/tmp" not in mounts:
            problems.append(f"{where}: a read-only container needs an emptyDir at /tmp")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: the pod needs no Kubernetes API token")
        if runs_app_image(container):
            if str(pod.get("runAsUser")) != uid:
                problems.append(f"{where}: runAsUser {pod.get('runAsUser')}, the image's is {uid}")
            folder = {v["name"]: v.get("value") for v in container.get("env", [])}.get(
                "PROMETHEUS_MULTIPROC_DIR"
            )
            if folder is not None and folder not in mounts:
                problems.append(f"{where}: PROMETHEUS_MULTIPROC_DIR {folder} is no emptyDir")
            if folder is None and name != "alliance-migrate":
                problems.append(f"{where}: PROMETHEUS_MULTIPROC_DIR is not set (several processes)")
    assert not problems, "\n".join(problems)


def test_each_web_side_keeps_one_pod_through_a_drain(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    pdbs = of_kind(production, "PodDisruptionBudget")
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in of_kind(production, "HorizontalPodAutoscaler").values()
    }
    problems = []
    webs = [n for n, e in entry_points.items() if e.kind == "web"] + ["gateway"]
    for name in webs:
        deployment = one(production, "Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            p
            for p in pdbs.values()
            if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        if len(covering) != 1:
            problems.append(f"{name}: needs one PodDisruptionBudget, has {len(covering)}")
            continue
        hpa = hpas.get(name)
        least = hpa["spec"]["minReplicas"] if hpa else deployment["spec"].get("replicas", 1)

        available = covering[0]["spec"].get("minAvailable")
        if not isinstance(available, int) or not 1 <= available < least:
            problems.append(
                f"{name}: minAvailable {available} with {least} replicas: at least 1, and below "
                "the replicas, or a node drain waits forever"
            )
    assert not problems, "\n".join(problems)


def test_autoscaled_deployments_leave_the_count_to_their_autoscaler(
    production: list[dict[str, Any]],
) -> None:
    """A Deployment an HPA or KEDA scales says no replicas itself: every `kubectl apply` of a
    release would otherwise reset the count (and stop workers in the middle of a burst)."""
    scalers = [
        *of_kind(production, "HorizontalPodAutoscaler").values(),
        *of_kind(production, "ScaledObject").values(),
    ]
    targets = {s["spec"]["scaleTargetRef"]["name"] for s in scalers}
    assert targets, "nothing scales"
    fixed = [t for t in sorted(targets) if "replicas" in one(production, "Deployment", t)["spec"]]
    assert not fixed, f"{fixed}: an autoscaled Deployment must not set replicas"
    for hpa in of_kind(production, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] >= 2, f"{hpa['metadata']['name']}: at least 2"


def test_the_beat_runs_alone(
    production: list[dict[str, Any]], entry_points: dict[str, EntryPoint]
) -> None:
    [name] = [n for n, e in entry_points.items() if e.kind == "beat"]
    beat = one(production, "Deployment", name)
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate", (
        "the beat's rollout must stop the old one before starting the new one"
    )
    scalers = [
        *of_kind(production, "HorizontalPodAutoscaler").values(),
        *of_kind(production, "ScaledObject").values(),
    ]
    assert all(s["spec"]["scaleTargetRef"]["name"] != name for s in scalers)


# -- secrets and the production overlay -------------------------------------------------------


def test_the_secrets_stay_out_of_git(production: list[dict[str, Any]]) -> None:
    assert not of_kind(production, "Secret"), "the manifests must not carry a Secret"
    for kustomization in KUBERNETES.rglob("kustomization.yaml"):
        where = kustomization.relative_to(ROOT)
        declared = yaml.safe_load(kustomization.read_text())
        assert "secretGenerator" not in declared, f"{where} makes a Secret from files in git"
        for generator in declared.get("configMapGenerator", []):
            for source in [*generator.get("envs", []), *generator.get("files", [])]:
                assert "secret" not in source.lower(), f"{where}: a ConfigMap from {source}"
    ignored = [
        line.strip()
        for line in (KUBERNETES / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for example in (SECRET_EXAMPLE, KEDA_SECRET_EXAMPLE):
        copy = example.name.replace(".example", "")
        assert any(fnmatch(copy, pattern) for pattern in ignored), (
            f"deploy/kubernetes/.gitignore must keep {copy} (the real {example.name}) out of git"
        )
        assert "EXAMPLE ONLY" in example.read_text()
        values = env_file(example)
        secretish = [k for k in values if re.search(r"SECRET|PASSWORD|_URL|database|password", k)]
        for key in secretish:
            assert "change-me" in values[key] or not values[key] or key == "redis-address", (
                f"{example.name}: {key} holds a value that is not a placeholder"
            )

    # The Secret names the manifests read, and the keys, are those of the example files.
    keda_keys = set(env_file(KEDA_SECRET_EXAMPLE))
    for name, auth in of_kind(production, "TriggerAuthentication").items():
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["name"] == KEDA_SECRET, f"{name} reads Secret {ref['name']}"
            assert ref["key"] in keda_keys, f"{name} reads {ref['key']}, not in the example"
    used = {
        ref["key"]
        for auth in of_kind(production, "TriggerAuthentication").values()
        for ref in auth["spec"]["secretTargetRef"]
    }
    assert keda_keys == used, f"keda-secret.example.env lists {sorted(keda_keys - used)} unused"


def test_production_runs_a_pinned_image_against_managed_servers(
    production: list[dict[str, Any]],
) -> None:
    images = {c["image"] for _n, _s, c in app_containers(production)}
    assert len(images) == 1, f"every process runs the same image: {images}"
    [image] = images
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    assert tag not in {"", "latest"}, f"production must run a release tag, not {image}"
    secret = env_file(SECRET_EXAMPLE)
    assert secret["REDIS_URL"].startswith("rediss://"), "managed Redis: TLS (rediss://)"
    for service in SERVICES:
        url = make_url(secret[f"{service.upper()}_DATABASE_URL"])
        assert url.query.get("sslmode") in {"require", "verify-ca", "verify-full"}
        assert url.host not in {"postgres", "localhost", "127.0.0.1"}, "a managed server"
        assert url.username == f"alliance_{service}", "each service its own database user"
    # KEDA looks at the very Redis database the processes use.
    broker = make_url(secret["REDIS_URL"].replace("rediss://", "postgresql://", 1))
    keda = env_file(KEDA_SECRET_EXAMPLE)
    assert keda["redis-address"] == f"{broker.host}:{broker.port}"
    for name, scaled in of_kind(production, "ScaledObject").items():
        redis = next(t for t in scaled["spec"]["triggers"] if t["type"] == "redis")
        assert redis["metadata"]["enableTLS"] == "true", f"{name}: KEDA reads Redis over TLS"
        assert redis["metadata"]["databaseIndex"] == (broker.database or "0"), (
            f"{name}: KEDA counts Redis database {redis['metadata']['databaseIndex']}, the "
            f"processes use {broker.database}"
        )
    for service in SERVICES:
        keda_url = make_url(keda[f"{service}-database"])
        app_url = make_url(secret[f"{service.upper()}_DATABASE_URL"])
        assert (keda_url.host, keda_url.database) == (app_url.host, app_url.database), service


# -- the autoscaling decision -----------------------------------------------------------------


def desired_replicas(
    scaled: dict[str, Any], metrics: list[float], *, minimum: int | None = None
) -> int:
    """The workers KEDA and the HPA it makes ask for, given each trigger's metric (in the
    order of ``spec.triggers``): each trigger wants ceil(metric / target) (an AverageValue
    target); the HPA takes the largest, within minReplicaCount and maxReplicaCount; with a
    minReplicaCount of 0, KEDA scales to zero once no trigger is active (metric above its
    activation value). ``minimum`` replaces minReplicaCount (what the triggers alone decide)."""
    spec = scaled["spec"]
    low = spec.get("minReplicaCount", 0) if minimum is None else minimum
    high = spec.get("maxReplicaCount", 100)
    wanted, active = [], False
    for trigger, value in zip(spec["triggers"], metrics, strict=True):
        meta = trigger["metadata"]
        if trigger["type"] == "redis":
            target = float(meta.get("listLength", "5"))
            activation = float(meta.get("activationListLength", "0"))
        else:
            target = float(meta["targetQueryValue"])
            activation = float(meta.get("activationTargetQueryValue", "0"))
        active = active or value > activation
        wanted.append(math.ceil(value / target))
    if low == 0 and not active:
        return 0
    return min(high, max(low, 1 if active else 0, *wanted))


def longest_task_time(service: str) -> float:
    """The longest a task of ``service``'s worker may run: Celery's hard time limit, at most
    what any CELERY_VISIBILITY_TIMEOUT allows, or a task's own limit if longer."""
    from shared.config import read_settings

    worker = importlib.import_module(f"services.{service}.worker")
    configured = float(worker.celery.conf.task_time_limit)
    ceiling = read_settings({"CELERY_VISIBILITY_TIMEOUT": "1000000"}).reliability.task_time_limit
    own = [
        float(t.time_limit)
        for n, t in worker.celery.tasks.items()
        if t.time_limit and n.startswith(f"{service}.")
    ]
    return max(configured, ceiling, *own)


def add_work(session: Any, service: str, *, waiting: int, running: int) -> None:
    """Rows the service's trigger query counts: ``waiting`` for a worker, ``running`` being
    worked on (notify's deliveries in ``sending``; the other services' databases show no row of
    an event being handled until it commits, so they get waiting rows only), plus rows that are
    no work now (published events, held and not-yet-due messages, a disabled endpoint's
    delivery) which must not count."""
    from datetime import timedelta

    from shared.db import utcnow

    # A minute ago: the query's now() is its transaction's start, this test's too.
    now = utcnow() - timedelta(minutes=1)
    outbox = importlib.import_module(f"services.{service}.worker").outbox.model

    def event(published: bool) -> Any:
        return outbox(
            event_id=uuid.uuid4(),
            type="test.event",
            version=1,
            message={},
            published_at=now if published else None,
        )

    session.add(event(published=True))
    if service != "notify":
        session.add_all([event(published=False) for _ in range(waiting)])
        session.flush()
        return
    from services.notify.models import Message
    from services.notify.webhooks.models import WebhookDelivery, WebhookEndpoint

    def message(status: str, *, due: bool = True) -> Any:
        return Message(
            cause=f"test:{uuid.uuid4()}",
            template="test",
            to_address="partner@example.org",
            subject="s",
            text_body="t",
            html_body="h",
            status=status,
            next_attempt_at=now if due else now + timedelta(hours=1),
            sending_since=now if status == "sending" else None,
        )

    enabled = WebhookEndpoint(
        url="https://hooks.example.org/a",
        event_types=["x"],
        sealed_secret="s",
        created_by="c@example.org",
    )
    disabled = WebhookEndpoint(
        url="https://hooks.example.org/b",
        event_types=["x"],
        sealed_secret="s",
        created_by="c@example.org",
        enabled=False,
    )
    session.add_all([enabled, disabled])
    session.flush()

    def delivery(endpoint: Any, status: str) -> Any:
        return WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=uuid.uuid4(),
            event_type="x",
            body="{}",
            status=status,
            next_attempt_at=now,
        )

    # Waiting: half e-mails, half webhook deliveries; running: e-mails being sent.
    session.add_all([message("pending") for _ in range(waiting - waiting // 2)])
    session.add_all([delivery(enabled, "pending") for _ in range(waiting // 2)])
    session.add_all([message("sending") for _ in range(running)])
    # No work now: held for staff, due later, sent, failed, a disabled endpoint's delivery.
    session.add_all(
        [message("held"), message("pending", due=False), message("sent"), message("failed")]
    )
    session.add(delivery(disabled, "pending"))
    session.flush()


def finish_waiting_work(session: Any, service: str) -> None:
    """What other workers did meanwhile: every waiting row done; the running ones still run."""
    from sqlalchemy import text

    session.execute(
        text("UPDATE outbox_events SET published_at = now() WHERE published_at IS NULL")
    )
    if service == "notify":
        session.execute(
            text(
                "UPDATE messages SET status = 'sent' "
                "WHERE status = 'pending' AND next_attempt_at <= now()"
            )
        )
        session.execute(
            text("UPDATE webhook_deliveries SET status = 'delivered' WHERE status = 'pending'")
        )
    session.flush()


def trigger_metrics(scaled: dict[str, Any], session: Any, redis_client: Any) -> list[float]:
    """Each trigger's metric as KEDA reads it: the list's length, the query's value."""
    from sqlalchemy import text

    metrics = []
    for trigger in scaled["spec"]["triggers"]:
        if trigger["type"] == "redis":
            metrics.append(float(redis_client.llen(trigger["metadata"]["listName"])))
        else:
            metrics.append(float(session.execute(text(trigger["metadata"]["query"])).scalar_one()))
    return metrics


@pytest.mark.parametrize("service", SERVICES)
def test_a_busy_worker_is_never_scaled_away(
    service: str, production: list[dict[str, Any]], rolled_back: Any, redis_client: Any
) -> None:
    """The decision the ScaledObject encodes, on real Redis and PostgreSQL: waiting work scales
    the workers up; once only a running task is left the count never drops to zero under it;
    and a scale-down, whichever worker Kubernetes stops, lets that worker finish its task."""
    scaled = one(production, "ScaledObject", f"{service}-worker")
    queue = next(t for t in scaled["spec"]["triggers"] if t["type"] == "redis")["metadata"][
        "listName"
    ]
    celery = importlib.import_module(f"services.{service}.worker").celery
    session = rolled_back(service)

    # Work waits: tasks in the service's queue, sent as every producer sends them, and rows.
    waiting_tasks, waiting_rows, running_rows = 35, 30, 1 if service == "notify" else 0
    with celery.connection_for_write() as connection, connection.Producer() as producer:
        for _ in range(waiting_tasks):
            celery.send_task(f"{service}.relay_outbox", queue=service, producer=producer)
    add_work(session, service, waiting=waiting_rows, running=running_rows)

    # A worker takes one task and works on it: out of the list, held unacknowledged until done.
    with celery.connection_for_read() as connection:
        channel = connection.default_channel
        running_task = channel.basic_get(queue, no_ack=False)
        assert running_task is not None, f"nothing in the list {queue!r} the workers consume"

        busy = trigger_metrics(scaled, session, redis_client)
        assert busy[0] == waiting_tasks - 1, f"the list counts {busy[0]}: the waiting tasks only"
        expected_rows = waiting_rows + running_rows
        assert busy[1] == expected_rows, f"{service}'s query counts {busy[1]}, not {expected_rows}"
        scaled_up = desired_replicas(scaled, busy)
        assert scaled_up >= 2, f"{waiting_tasks} waiting tasks ask for {scaled_up} workers"

        # The waiting work is done elsewhere; the task taken is still running.
        redis_client.delete(queue)
        finish_waiting_work(session, service)
        only_running = trigger_metrics(scaled, session, redis_client)
        assert only_running == [0.0, float(running_rows)], only_running
        now_wanted = desired_replicas(scaled, only_running)
        assert now_wanted >= 1, f"{service}: a running task, and the workers scale to {now_wanted}"
        if service == "notify":
            # Its database sees the delivery being attempted: the trigger itself keeps a worker.
            assert desired_replicas(scaled, only_running, minimum=0) >= 1
        else:
            # Its database shows nothing of an event being handled and the list no longer
            # holds the task: the triggers alone would scale to zero under the busy worker,
            # which is why minReplicaCount never goes below 1.
            assert desired_replicas(scaled, only_running, minimum=0) == 0
            assert scaled["spec"]["minReplicaCount"] >= 1

    # From scaled_up to now_wanted workers: Kubernetes stops some, perhaps the busy one. It
    # sends SIGTERM to the container's first process, Celery itself (no shell in between to
    # swallow it), which stops taking tasks and finishes the running one (its warm shutdown:
    # test_a_worker_stopped_while_busy_finishes_its_task), at the latest when the task's time
    # limit ends it; only then, or after terminationGracePeriodSeconds, does it go.
    assert scaled_up > now_wanted
    deployment = one(production, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    spec = pod_spec(deployment)
    [container] = spec["containers"]
    assert container["command"][0] == "celery", "Celery must be the container's first process"
    assert "preStop" not in container.get("lifecycle", {}), "nothing may stop it before Celery"
    grace = spec["terminationGracePeriodSeconds"]
    longest = longest_task_time(service)
    assert grace > longest + 30, (
        f"{service}-worker: terminationGracePeriodSeconds {grace} must outlast the longest task "
        f"({longest:g} s) with room to spare, or a scale-down kills a busy worker's task"
    )
    policies = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "policies"
    ]
    assert all(p["type"] == "Pods" and p["value"] == 1 for p in policies), "one worker at a time"


def test_each_trigger_query_runs_on_its_service_database(
    production: list[dict[str, Any]], rolled_back: Any
) -> None:
    """Each query names tables and columns the migrations made, and says 0 when there is no work;
    reporting's counts each report with a reminder due (once, however many are due)."""
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import text

    for service in SERVICES:
        scaled = one(production, "ScaledObject", f"{service}-worker")
        query = next(t for t in scaled["spec"]["triggers"] if t["type"] == "postgresql")[
            "metadata"
        ]["query"]
        session = rolled_back(service)
        assert session.execute(text(query)).scalar_one() == 0, (
            f"{service}: work in an empty database"
        )
        if service != "reporting":
            continue
        from services.reporting.alliances.models import Alliance
        from services.reporting.reports.models import Report, ReportReminder

        alliance = Alliance(
            id=uuid.uuid4(),
            reference="A-1",
            partner_name="P",
            contact_email="p@example.org",
            liaison_email="l@agency.example",
            contact={},
            liaison={},
            division="d",
            signing_date=date(2025, 1, 1),
            term_years=2,
            ends_on=date(2026, 12, 31),
            signed={},
        )
        session.add(alliance)
        session.flush()
        past = datetime.now(UTC) - timedelta(hours=1)
        for due_now in (True, False):
            report = Report(
                alliance_id=alliance.id,
                kind="annual",
                term=0,
                period_start=date(2025, 1, 1) if due_now else date(2026, 1, 1),
                period_end=date(2025, 12, 31),
                due_date=date(2026, 3, 1),
            )
            session.add(report)
            session.flush()
            for days in (-14, -3):  # two reminders due: one report's work
                session.add(
                    ReportReminder(
                        report_id=report.id,
                        kind="due_soon",
                        days=days,
                        due_at=past if due_now else past + timedelta(days=30),
                    )
                )
        session.flush()
        assert session.execute(text(query)).scalar_one() == 1


# -- a real worker, stopped while busy --------------------------------------------------------

SLOW_APP = '''
"""A Celery app with the project's settings (acks late, one task a process at a time) and a
task that takes a while: what a worker does on SIGTERM in the middle of one."""
import time
from pathlib import Path

from shared.celery_app import create_celery

celery = create_celery("intake")


@celery.task(name="intake.slow_for_test")
def slow(folder: str, name: str, seconds: float) -> None:
    Path(folder, name + ".started").touch()
    time.sleep(seconds)
    Path(folder, name + ".done").touch()
'''


@pytest.mark.e2e
def test_a_worker_stopped_while_busy_finishes_its_task(tmp_path: Path, redis_client: Any) -> None:
    """SIGTERM to a worker running a task (a scale-down, a rollout): the task ends, the task the
    worker had only reserved goes back to the queue for another worker, and the worker exits."""
    (tmp_path / "slow_worker_app.py").write_text(SLOW_APP)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "slow_worker_app",
            "worker",
            "-Q",
            "intake",
            "-n",
            "busy@%h",
            "--without-gossip",
            "--without-mingle",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Sent by name from the beat's app: importing the worker's module here would register
        # its task in this process's intake app, which other tests read.
        app = create_celery("beat")
        with app.connection_for_write() as connection, connection.Producer() as producer:
            for name in ("first", "second"):
                app.send_task(
                    "intake.slow_for_test",
                    args=[str(tmp_path), name, 1.0],
                    queue="intake",
                    producer=producer,
                )
        deadline = time.monotonic() + 60
        while not (tmp_path / "first.started").exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker never started the task"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)  # what Kubernetes sends the pod it scales away
        code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
        sys.modules.pop("slow_worker_app", None)
    output = (tmp_path / "worker.log").read_text()
    assert code == 0, f"the worker exited {code}:\n{output}"
    assert (tmp_path / "first.done").exists(), f"the running task was cut short:\n{output}"
    assert not (tmp_path / "second.started").exists(), "it took a new task after SIGTERM"
    assert redis_client.llen("intake") == 1, "the task it had not started is not back in the queue"
