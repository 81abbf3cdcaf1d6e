"""What ships beside the code: the Slack app manifests, the Helm chart, the container files and
the systemd unit, checked against the code they deploy.

The manifests ask for exactly the bot scopes that the Web API methods bridgekeeper calls and the
events it subscribes to need (no more, no fewer), and declare exactly the slash commands,
shortcuts and events its listeners handle. The chart is linted and rendered by Helm itself when
Helm is at hand (the `helm` binary, or Helm's SDK from the `helm-python-sdk` package), and read
statically always.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridgekeeper.sandbox.api_misc import BOT_SCOPES
from bridgekeeper.slack.auth import MANIFEST_SCOPES
from tests.helpers import REPO

SRC = REPO / "src" / "bridgekeeper"
CHART = REPO / "charts" / "bridgekeeper"
MANIFESTS = {
    "http": REPO / "slack-app-manifest-http.yml",
    "socket_mode": REPO / "slack-app-manifest-socket-mode.yml",
}
PLACEHOLDER_HOST = "bridgekeeper.example.com"

# --- what Slack needs for what bridgekeeper does ----------------------------------------------
# Bot scopes each Web API method needs, for public and private channels alike (bridge channels
# are both). Sources: docs.slack.dev/reference/methods/<method>, and the security section of
# Slack's Web API OpenAPI spec (which names the legacy channels:write where bot tokens now use
# channels:manage).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "apps.connections.open": frozenset(),  # the app-level token's connections:write, no bot scope
    "views.open": frozenset(),
    "views.publish": frozenset(),  # the App Home tab
    # chat:write.public: triage cards and stakeholder announcements go to public channels the
    # bot was never invited to (bridgekeeper never calls conversations.join)
    "chat.postMessage": frozenset({"chat:write", "chat:write.public"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "conversations.create": frozenset({"channels:manage", "groups:write"}),
    "conversations.invite": frozenset({"channels:manage", "groups:write"}),
    "conversations.setTopic": frozenset({"channels:manage", "groups:write"}),
    "conversations.archive": frozenset({"channels:manage", "groups:write"}),
    "conversations.unarchive": frozenset({"channels:manage", "groups:write"}),
    "conversations.list": frozenset({"channels:read", "groups:read"}),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.members": frozenset({"channels:read", "groups:read"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "pins.add": frozenset({"pins:write"}),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "users.info": frozenset({"users:read"}),
    "users.list": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
}
# Bot scopes each event subscription needs (docs.slack.dev/reference/events/<event>).
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),  # with features.app_home.home_tab_enabled
    "member_joined_channel": frozenset({"channels:read", "groups:read"}),
    "member_left_channel": frozenset({"channels:read", "groups:read"}),
    "reaction_added": frozenset({"reactions:read"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "pin_added": frozenset({"pins:read"}),
}
# Shortcuts that download a message's files (url_private_download with the bot token).
DOWNLOAD_SHORTCUTS = {"add_as_evidence": frozenset({"files:read"})}
# Slash commands and shortcuts come with the `commands` scope.
COMMANDS_SCOPE = "commands"
# Events the app has a listener for but does not subscribe to, and why.
NOT_SUBSCRIBED = {
    # The emulator (like a workspace subscribed to it) sends pin_added after bridgekeeper's own
    # pins.add; the listener only acknowledges it. Subscribing would cost pins:read for nothing.
    "pin_added",
}
# Channel kinds a bridge channel can be: a `message` listener needs both subscriptions.
MESSAGE_SUBSCRIPTIONS = {"message.channels", "message.groups"}


# --- reading the code ---------------------------------------------------------------------------
def _modules(*folders: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[Path, ast.Module]]:
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
        for path in paths:
            if not any(part in skip for part in path.relative_to(SRC).parts):
                yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def called_methods() -> dict[str, list[str]]:
    """Every Web API method named in a `.call("method", ...)`, with where it is called."""
    found: dict[str, list[str]] = {}
    for path, tree in _modules(SRC, skip=("sandbox",)):  # the sandbox is the fake Slack
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "call"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and re.fullmatch(r"[a-z]+(\.[a-zA-Z]+)+", node.args[0].value)
            ):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found.setdefault(node.args[0].value, []).append(where)
    return found


def registered_listeners() -> dict[str, set[str]]:
    """What the Bolt app listens to: `app.event(...)`, `app.command(...)`, `app.shortcut(...)`,
    `app.action(...)`, `app.view(...)`, by kind."""
    kinds = ("event", "command", "shortcut", "action", "view")
    found: dict[str, set[str]] = {kind: set() for kind in kinds}
    for _, tree in _modules(SRC / "slack", SRC / "app.py"):
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in kinds
                and isinstance(node.func.value, ast.Name | ast.Attribute)
                and _receiver(node.func.value) in ("app", "bolt")
                and node.args
            ):
                continue
            key = _listener_key(node.args[0])
            if key is not None:
                found[node.func.attr].add(key)
    return found


def _receiver(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _listener_key(arg: ast.expr) -> str | None:
    """A command ("/incident"), an event or callback id, or the type in {"type": "message"}."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Dict):
        for key, value in zip(arg.keys, arg.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and key.value in ("type", "callback_id")
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                return value.value
    return None  # a pattern or a name: not something a manifest declares


def slack_path() -> str:
    match = re.search(r'^SLACK_PATH = "([^"]+)"', (SRC / "web" / "server.py").read_text(), re.M)
    assert match, "web/server.py no longer names SLACK_PATH"
    return match.group(1)


def _load(path: Path) -> Any:
    import yaml  # here, not at the top: most test processes run no packaging test

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- the Slack app manifests --------------------------------------------------------------------
@pytest.fixture(params=sorted(MANIFESTS), name="manifest")
def manifest_fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    loaded = _load(MANIFESTS[request.param])
    loaded["_mode"] = request.param
    return dict(loaded)


def test_the_code_calls_only_methods_whose_scopes_are_known() -> None:
    called = called_methods()
    assert len(called) >= 10, f"found too few Slack calls to trust the scan: {sorted(called)}"
    unknown = {method: where for method, where in called.items() if method not in METHOD_SCOPES}
    assert not unknown, f"add these methods and their bot scopes to METHOD_SCOPES: {unknown}"


def test_manifest_asks_for_exactly_the_scopes_the_code_uses(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    needed: dict[str, set[str]] = {}
    for method in called_methods():
        for scope in METHOD_SCOPES.get(method, ()):
            needed.setdefault(scope, set()).add(method)
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"add the scopes of event {event} to EVENT_SCOPES"
        for scope in EVENT_SCOPES[event]:
            needed.setdefault(scope, set()).add(f"event {event}")
    for shortcut in features.get("shortcuts", []):
        for scope in DOWNLOAD_SHORTCUTS.get(shortcut["callback_id"], ()):
            needed.setdefault(scope, set()).add(f"shortcut {shortcut['callback_id']}")
    if features.get("slash_commands") or features.get("shortcuts"):
        needed.setdefault(COMMANDS_SCOPE, set()).add("slash commands and shortcuts")

    asked = manifest["oauth_config"]["scopes"]["bot"]
    assert len(asked) == len(set(asked)), "a scope is listed twice"
    missing = {scope: sorted(why) for scope, why in needed.items() if scope not in asked}
    unused = sorted(set(asked) - set(needed))
    assert not missing, f"{manifest['_mode']}: scopes missing (needed by): {missing}"
    assert not unused, f"{manifest['_mode']}: scopes nothing uses: {unused}"
    assert "user" not in manifest["oauth_config"]["scopes"], "bridgekeeper uses no user token"


def test_the_self_check_and_the_emulator_grant_the_manifest_scopes(
    manifest: dict[str, Any],
) -> None:
    """Start-up refuses a bot token without a scope the manifest asks for; the emulator grants
    exactly those by default."""
    asked = set(manifest["oauth_config"]["scopes"]["bot"])
    assert asked == MANIFEST_SCOPES
    assert set(BOT_SCOPES.split(",")) == asked


def test_manifest_declares_what_the_app_listens_to(manifest: dict[str, Any]) -> None:
    registered = registered_listeners()
    features = manifest["features"]
    commands = {command["command"] for command in features.get("slash_commands", [])}
    assert commands == registered["command"]
    shortcuts = {item["callback_id"] for item in features.get("shortcuts", [])}
    assert shortcuts == registered["shortcut"]
    assert all(item["type"] == "message" for item in features.get("shortcuts", []))

    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    types = {event.split(".")[0] for event in subscribed}
    assert types <= registered["event"], f"subscribed, no listener: {types - registered['event']}"
    unsubscribed = registered["event"] - types - NOT_SUBSCRIBED
    assert not unsubscribed, f"listened to but not subscribed: {sorted(unsubscribed)}"
    assert not NOT_SUBSCRIBED & subscribed
    if "message" in registered["event"]:
        assert subscribed >= MESSAGE_SUBSCRIPTIONS  # bridge channels are public or private
    assert len(subscribed) == len(manifest["settings"]["event_subscriptions"]["bot_events"])

    interactive = registered["shortcut"] | registered["action"] | registered["view"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(interactive)


def test_manifest_enables_app_home_and_a_bot_user(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    home = features["app_home"]
    assert home["home_tab_enabled"] is True
    # reminders are direct messages from the app (chat.postMessage to a user); nobody can reply
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is True
    assert features["bot_user"]["display_name"]
    assert manifest["settings"]["token_rotation_enabled"] is False


def _urls(node: Any, path: str = "") -> dict[str, str]:
    """Every url / request_url in a manifest, by where it is."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "request_url"):
                found[f"{path}.{key}"] = value
            found.update(_urls(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(_urls(value, f"{path}[{index}]"))
    return found


def test_http_manifest_needs_only_its_host_replaced() -> None:
    manifest = _load(MANIFESTS["http"])
    assert manifest["settings"]["socket_mode_enabled"] is False
    urls = _urls(manifest)
    expected = f"https://{PLACEHOLDER_HOST}{slack_path()}"
    assert set(urls) == {
        ".features.slash_commands[0].url",
        ".settings.event_subscriptions.request_url",
        ".settings.interactivity.request_url",
    }
    assert set(urls.values()) == {expected}


def test_socket_mode_manifest_has_no_urls() -> None:
    manifest = _load(MANIFESTS["socket_mode"])
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert _urls(manifest) == {}


def test_the_two_manifests_differ_only_in_how_slack_reaches_the_app() -> None:
    def without_transport(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: without_transport(value)
                for key, value in node.items()
                if key not in ("url", "request_url", "socket_mode_enabled")
            }
        if isinstance(node, list):
            return [without_transport(value) for value in node]
        return node

    http, socket_mode = (without_transport(_load(path)) for path in MANIFESTS.values())
    assert http == socket_mode


def test_the_old_single_manifest_is_gone() -> None:
    assert not (REPO / "slack-app-manifest.yml").exists()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in MANIFESTS.values():
        assert path.name in readme


# --- the Helm chart, read statically ------------------------------------------------------------
VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _chart_templates() -> list[Path]:
    return sorted((CHART / "templates").iterdir())


def test_chart_files_without_template_directives_parse() -> None:
    plain = [
        path
        for path in sorted(CHART.rglob("*"))
        if path.suffix in (".yaml", ".yml") and "{{" not in path.read_text(encoding="utf-8")
    ]
    assert {CHART / "Chart.yaml", CHART / "values.yaml"} <= set(plain)
    for path in plain:
        assert _load(path) is not None, path


def test_chart_metadata() -> None:
    chart = _load(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "bridgekeeper"
    assert chart["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    assert chart["appVersion"] == _project_version()


def _project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert match
    return match.group(1)


def test_every_value_a_template_reads_is_in_values_yaml() -> None:
    values = _load(CHART / "values.yaml")
    read: set[tuple[str, ...]] = set()
    for template in _chart_templates():
        for match in VALUES_PATH.finditer(template.read_text(encoding="utf-8")):
            read.add(tuple(match.group(1).strip(".").split(".")))
    assert read, "no .Values reference found: is the scan broken?"
    unresolved = []
    for path in sorted(read):
        node: Any = values
        for key in path:
            if not isinstance(node, dict) or key not in node:
                unresolved.append(".".join(path))
                break
            node = node[key]
    assert not unresolved, f"templates read values that values.yaml lacks: {unresolved}"
    unused = set(values) - {path[0] for path in read}
    assert not unused, f"values.yaml keys no template reads: {sorted(unused)}"


def test_values_hold_no_secrets() -> None:
    values = _load(CHART / "values.yaml")
    allowed = {"existingSecret", "imagePullSecrets", "secretName"}

    def walk(node: Any, path: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                secretish = re.search(r"token|secret|password|key$", key, re.I)
                if secretish and key not in allowed:
                    yield f"{path}.{key}"
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{path}[{index}]")

    assert list(walk(values, "")) == []
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"):
        assert name not in values.get("env", {})


# --- the Helm chart, linted and rendered by Helm -------------------------------------------------
class HelmFailed(Exception):
    pass


class HelmBinary:
    """The `helm` command."""

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def _run(self, *args: str, values: dict[str, Any], tmp: Path) -> str:
        values_file = tmp / "values.yaml"
        import yaml

        values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
        done = subprocess.run(
            [self.executable, *args, "--values", str(values_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise HelmFailed(done.stdout + done.stderr)
        return done.stdout

    def lint(self, values: dict[str, Any], tmp: Path) -> None:
        self._run("lint", "--strict", str(CHART), values=values, tmp=tmp)

    def template(self, values: dict[str, Any], tmp: Path) -> str:
        return self._run(
            "template", "bk", str(CHART), "--namespace", "incidents", values=values, tmp=tmp
        )


class HelmSdk:
    """Helm's Go SDK through the helm-python-sdk package (no binary needed)."""

    def __init__(self) -> None:
        import helm_python

        self.helm = helm_python

    def lint(self, values: dict[str, Any], tmp: Path) -> None:
        report = self.helm.lint(str(CHART), values, strict=True)
        problems = list(report.get("errors") or []) + [
            f"{message['path']}: {message['error']}"
            for message in report.get("messages") or []
            if message["severity"] >= 2  # warnings and errors; 1 is info
        ]
        if problems:
            raise HelmFailed("\n".join(problems))

    def template(self, values: dict[str, Any], tmp: Path) -> str:
        try:
            rendered = self.helm.Chart.load(str(CHART)).render(
                values, name="bk", namespace="incidents", is_install=True
            )
        except self.helm.HelmError as exc:
            raise HelmFailed(str(exc)) from exc
        return "\n---\n".join(
            body for name, body in sorted(rendered.items()) if name.endswith(".yaml")
        )


@pytest.fixture(params=["binary", "sdk"], name="helm")
def helm_fixture(request: pytest.FixtureRequest) -> HelmBinary | HelmSdk:
    if request.param == "binary":
        executable = shutil.which("helm")
        if executable is None:
            pytest.skip("no helm binary on PATH")
        return HelmBinary(executable)
    pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
    return HelmSdk()


EVERYTHING_ON = {
    "config": '[incidents]\ndefault_severity = "sev2"\n',
    "env": {"BRIDGEKEEPER_TRIAGE_CHANNEL": "C0123TRIAGE", "LOG_LEVEL": "INFO"},
    "web": {"worker": False},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "tls": [{"secretName": "bk-tls", "hosts": [PLACEHOLDER_HOST]}],
    },
    "metrics": {
        "serviceMonitor": {
            "enabled": True,
            "labels": {"release": "prometheus"},
            "bearerEntry": "BRIDGEKEEPER_METRICS_TOKEN",
        }
    },
    "serviceAccountName": "bridgekeeper",
    "imagePullSecrets": [{"name": "registry"}],
}


def _documents(text: str) -> list[dict[str, Any]]:
    import yaml

    return [doc for doc in yaml.safe_load_all(text) if doc]


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


@pytest.mark.parametrize("values", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_helm_lint_strict_passes(
    helm: HelmBinary | HelmSdk, values: dict[str, Any], tmp_path: Path
) -> None:
    helm.lint(values, tmp_path)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


def test_helm_template_with_defaults(helm: HelmBinary | HelmSdk, tmp_path: Path) -> None:
    kinds = _by_kind(_documents(helm.template({}, tmp_path)))
    assert sorted(kinds) == ["Deployment", "Job", "Service"]
    assert "Secret" not in kinds
    deployments = {doc["metadata"]["name"]: doc for doc in kinds["Deployment"]}
    assert set(deployments) == {"bk-bridgekeeper-web", "bk-bridgekeeper-worker"}

    (web,) = _containers(deployments["bk-bridgekeeper-web"])
    assert web["command"] == ["bridgekeeper", "serve", "--port", "3000"]
    # still answering while the Service forgets it: requests routed meanwhile are served
    assert web["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (worker,) = _containers(deployments["bk-bridgekeeper-worker"])
    assert worker["command"] == ["bridgekeeper", "worker", "--health-port", "3001"]
    assert worker["ports"] == [{"name": "health", "containerPort": 3001, "protocol": "TCP"}]
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}

    (job,) = kinds["Job"]
    (migrate,) = _containers(job)
    assert migrate["command"] == ["bridgekeeper", "db", "upgrade"]
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert sorted(hooks) == ["pre-install", "pre-upgrade"]

    for doc in [*kinds["Deployment"], job]:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["envFrom"] == [{"secretRef": {"name": "bridgekeeper"}}]
            assert container["resources"]["requests"]

    (service,) = kinds["Service"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"


def test_helm_template_with_everything_on(helm: HelmBinary | HelmSdk, tmp_path: Path) -> None:
    kinds = _by_kind(_documents(helm.template(EVERYTHING_ON, tmp_path)))
    assert sorted(kinds) == [
        "ConfigMap",
        "Deployment",
        "Ingress",
        "Job",
        "Service",
        "ServiceMonitor",
    ]
    (config,) = kinds["ConfigMap"]
    assert config["data"]["bridgekeeper.toml"].strip() == EVERYTHING_ON["config"].strip()
    web = next(d for d in kinds["Deployment"] if d["metadata"]["name"].endswith("-web"))
    (container,) = _containers(web)
    assert container["command"][-1] == "--no-worker"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["BRIDGEKEEPER_CONFIG"] == "/etc/bridgekeeper/bridgekeeper.toml"
    assert env["BRIDGEKEEPER_TRIAGE_CHANNEL"] == "C0123TRIAGE"
    (monitor,) = kinds["ServiceMonitor"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert endpoint["authorization"] == {  # /metrics is reachable through the Ingress
        "type": "Bearer",
        "credentials": {"name": "bridgekeeper", "key": "BRIDGEKEEPER_METRICS_TOKEN"},
    }


def test_helm_template_refuses_a_missing_secret_name(
    helm: HelmBinary | HelmSdk, tmp_path: Path
) -> None:
    with pytest.raises(HelmFailed, match="existingSecret"):
        helm.template({"existingSecret": ""}, tmp_path)


def test_helm_template_refuses_a_release_where_no_pod_delivers(
    helm: HelmBinary | HelmSdk, tmp_path: Path
) -> None:
    with pytest.raises(HelmFailed, match="no pod would deliver"):
        helm.template({"web": {"worker": False}, "worker": {"enabled": False}}, tmp_path)


# --- container image, compose, environment, systemd ---------------------------------------------
def variables_the_code_reads() -> set[str]:
    """Environment variables named in src/: settings aliases and os.environ / .get lookups."""
    patterns = (
        r'alias="([A-Z][A-Z0-9_]+)"',
        r'environ(?:\.get)?\(\s*"([A-Z][A-Z0-9_]+)"',
        r'environ\[\s*"([A-Z][A-Z0-9_]+)"\s*\]',
        r'getenv\(\s*"([A-Z][A-Z0-9_]+)"',
        r'\benv\.get\(\s*"([A-Z][A-Z0-9_]+)"',
        r'_VARIABLE = "([A-Z][A-Z0-9_]+)"',
    )
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            found.update(re.findall(pattern, text))
    return found


COMPOSE_ONLY = {"POSTGRES_PASSWORD", "BRIDGEKEEPER_PUBLISH_PORT"}


def test_env_example_lists_every_variable_the_code_reads() -> None:
    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    read = variables_the_code_reads()
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "PORT"} <= read, "is the scan broken?"
    assert not read - listed, f"missing from .env.example: {sorted(read - listed)}"
    assert not listed - read - COMPOSE_ONLY, f"read by nothing: {sorted(listed - read)}"
    compose = (REPO / "compose.yaml").read_text()
    for name in COMPOSE_ONLY:
        assert "${" + name in compose


def test_compose_migrates_before_web_and_worker_start() -> None:
    services = _load(REPO / "compose.yaml")["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["migrate"]["command"] == ["bridgekeeper", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["web"]["command"][:2] == ["bridgekeeper", "serve"]
    assert services["worker"]["command"] == ["bridgekeeper", "worker", "--health-port", "3001"]
    assert "3001/healthz" in " ".join(services["worker"]["healthcheck"]["test"])
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    for name in ("migrate", "web", "worker"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_dockerfile() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert stages and all(image == "python:3.11-slim" for image in stages)
    assert re.search(r"^USER (?!0|root)\S+", dockerfile, re.M)
    assert re.search(r"^EXPOSE 3000$", dockerfile, re.M)
    assert re.search(r'^VOLUME \["/data"\]$', dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", dockerfile, re.M)
    assert re.search(r'^CMD \["bridgekeeper", "serve"\]$', dockerfile, re.M)
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for source in copied.split():
            assert (REPO / source).exists(), source
            assert source not in ignored, f".dockerignore drops {source}, which the build copies"
    assert ".env" in ignored


def test_systemd_unit() -> None:
    unit = (REPO / "deploy" / "systemd" / "bridgekeeper.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if re.match(r"^[A-Za-z]+=", line)
    )
    assert settings["ExecStart"].split()[1:3] == ["serve", "--host"]
    assert settings["ExecStartPre"].endswith("bridgekeeper db upgrade")
    assert settings["EnvironmentFile"] == "/etc/bridgekeeper/bridgekeeper.env"
    assert settings["DynamicUser"] == "yes"
    assert settings["StateDirectory"] == "bridgekeeper"
    assert settings["ProtectSystem"] == "strict"
    assert settings["NoNewPrivileges"] == "yes"
    example = (REPO / "deploy" / "systemd" / "bridgekeeper.env.example").read_text()
    assert "SLACK_BOT_TOKEN=" in example
