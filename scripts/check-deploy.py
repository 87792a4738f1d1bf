#!/usr/bin/env python3
"""Static checks of the deployment files that tests/observability.rs does not cover yet:
deploy/cluster/ (Redis Cluster compose example) and deploy/k8s/ (Kubernetes manifests).

Nothing here starts a container or talks to a Kubernetes cluster. What it does:
  - every YAML file under deploy/ parses (all documents);
  - the cluster compose file: its bind mounts exist, the Redis node addresses agree with the init
    job and with [redis] cluster_nodes, each switch has its own [reversal] instance, the stop
    grace period is above shutdown_grace_ms, Prometheus scrapes both switches;
  - redis-cluster.conf: has the durability and cluster settings, and (when redis-server is
    installed) a real redis-server accepts it and reports those values;
  - cluster-init.sh passes `sh -n`; the cluster's prometheus.yml passes `promtool check config`
    (when promtool is installed);
  - the Kubernetes manifests agree with their switch TOML: container ports = listen ports, probes
    on the admin port, grace period above preStop + shutdown_grace_ms, mounts = key paths, one
    Service per listener, PDB; no Secret with data in the repository; `kubectl kustomize`
    renders (when kubectl is installed).
The switch TOMLs themselves are loaded by the switch's own loader in tests/observability.rs.

Usage: python3 scripts/check-deploy.py   (exit 1 and a list of problems when something is off)
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
problems = []
notes = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


def load_yaml_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_toml(path):
    if tomllib is None:
        notes.append(f"{path.relative_to(ROOT)}: not parsed (Python < 3.11 has no tomllib)")
        return None
    with open(path, "rb") as f:
        return tomllib.load(f)


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def ms_of_duration(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(text))
    if not m:
        return None
    return int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000}[m.group(2)]


# ---- every YAML parses ---------------------------------------------------------------------------
for path in sorted(list(DEPLOY.rglob("*.yml")) + list(DEPLOY.rglob("*.yaml"))):
    try:
        load_yaml_all(path)
    except yaml.YAMLError as e:
        problems.append(f"{path.relative_to(ROOT)}: not valid YAML: {e}")

# ---- deploy/cluster ---------------------------------------------------------------------------------
cluster = DEPLOY / "cluster"
compose = load_yaml_all(cluster / "docker-compose.yml")[0]
check(
    "<<:" not in (cluster / "docker-compose.yml").read_text(),
    "cluster compose: no YAML merge keys (the Rust tests' YAML parser does not apply them)",
)
services = compose["services"]
for name in ["keygen", "redis-cluster-init", "antom-sim", "switch-a", "switch-b", "prometheus"] + [
    f"redis-{i}" for i in range(1, 7)
]:
    check(name in services, f"cluster compose: no service {name}")

for name, service in services.items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("."):
            check((cluster / source).exists(), f"cluster compose: {name} mounts missing {source}")

node_addresses = []
for i in range(1, 7):
    node = services[f"redis-{i}"]
    address = node["networks"]["store"]["ipv4_address"]
    node_addresses.append(address)
    check(
        node["command"] == ["redis-server", "/usr/local/etc/redis/cluster.conf"],
        f"cluster compose: redis-{i} does not run cluster.conf",
    )
    mounts = node.get("volumes", [])
    check(
        any(v.startswith("../redis/redis.conf:/usr/local/etc/redis/redis.conf") for v in mounts),
        f"cluster compose: redis-{i} does not mount deploy/redis/redis.conf (cluster.conf includes it)",
    )
subnet = compose["networks"]["store"]["ipam"]["config"][0]["subnet"]
check(
    all(a.startswith(subnet.rsplit(".", 1)[0] + ".") for a in node_addresses),
    "cluster compose: node addresses outside the store subnet",
)
init_args = services["redis-cluster-init"]["command"]
check(
    init_args == [f"{a}:6379" for a in node_addresses],
    "cluster compose: redis-cluster-init does not list the six nodes in order",
)

cluster_toml = load_toml(cluster / "antom-switch.toml")
if cluster_toml:
    redis = cluster_toml["redis"]
    check("url" not in redis and "sentinel" not in redis, "cluster TOML: only cluster_nodes")
    check(
        redis.get("cluster_nodes") == [f"redis://{a}:6379" for a in node_addresses],
        "cluster TOML: cluster_nodes differ from the compose nodes",
    )
    check(redis.get("shards", 1) >= 4 * 3, "cluster TOML: shards < 4 × 3 masters")
    check(
        redis.get("durability") == {"mode": "wait-replicas", "replicas": 1},
        "cluster TOML: durability is not wait-replicas/1",
    )
    check("instance" not in cluster_toml.get("reversal", {}), "cluster TOML: instance is per container")
    grace = cluster_toml["downstream"]["shutdown_grace_ms"]
    instances = set()
    for name in ["switch-a", "switch-b"]:
        s = services[name]
        instances.add(s.get("environment", {}).get("ANTOM_SWITCH__REVERSAL__INSTANCE"))
        stop = ms_of_duration(s.get("stop_grace_period", ""))
        check(stop is not None and stop > grace, f"cluster compose: {name} stop_grace_period <= shutdown_grace_ms")
        check(
            "./antom-switch.toml:/etc/antom-switch/antom-switch.toml:ro" in s.get("volumes", []),
            f"cluster compose: {name} does not mount the cluster TOML",
        )
        published = [p.split(":")[-1] for p in s.get("ports", [])]
        for section in ["downstream", "rest", "admin"]:
            check(
                str(port_of(cluster_toml[section]["listen"])) in published,
                f"cluster compose: {name} does not publish the {section} port",
            )
    check(None not in instances and len(instances) == 2, "cluster compose: switches need distinct instances")

prom = load_yaml_all(cluster / "prometheus.yml")[0]
targets = prom["scrape_configs"][0]["static_configs"][0]["targets"]
if cluster_toml:
    admin = port_of(cluster_toml["admin"]["listen"])
    check(
        sorted(targets) == [f"switch-a:{admin}", f"switch-b:{admin}"],
        "cluster prometheus.yml: targets are not both switches' admin ports",
    )
if shutil.which("promtool"):
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(cluster / "prometheus.yml", d)
        shutil.copy(DEPLOY / "prometheus" / "alerts.yml", d)
        r = subprocess.run(["promtool", "check", "config", "prometheus.yml"], cwd=d, capture_output=True, text=True)
        check(r.returncode == 0, f"promtool check config deploy/cluster/prometheus.yml:\n{r.stdout}{r.stderr}")
else:
    notes.append("promtool not installed: deploy/cluster/prometheus.yml not checked by it")

r = subprocess.run(["sh", "-n", str(cluster / "cluster-init.sh")], capture_output=True, text=True)
check(r.returncode == 0, f"cluster-init.sh: sh -n: {r.stderr}")

conf_text = (cluster / "redis-cluster.conf").read_text()
directives = {}
for line in conf_text.splitlines():
    line = line.strip()
    if line and not line.startswith("#"):
        key, _, value = line.partition(" ")
        directives[key.lower()] = value.strip()
wanted = {
    "appendonly": "yes",
    "appendfsync": "always",
    "min-replicas-to-write": "1",
    "min-replicas-max-lag": "10",
    "cluster-enabled": "yes",
    "cluster-node-timeout": "5000",
    "maxmemory-policy": "noeviction",
}
for key, value in wanted.items():
    check(directives.get(key) == value, f"redis-cluster.conf: {key} should be {value}")
check(
    directives.get("include") == "/usr/local/etc/redis/redis.conf",
    "redis-cluster.conf: does not include the store's redis.conf first",
)
check(conf_text.index("include ") < conf_text.index("bind 0.0.0.0"), "redis-cluster.conf: overrides must follow the include")

if shutil.which("redis-server") and shutil.which("redis-cli"):
    # A real redis-server must accept the file (it refuses unknown directives) and report the
    # settings. Paths and the port are rewritten for a throwaway local node.
    with tempfile.TemporaryDirectory() as d:
        # Two free ports: the node's and its cluster bus's. The bus defaults to port + 10000, which
        # does not exist for an ephemeral port above 55535 (redis-server then exits at start).
        socks = [socket.socket() for _ in range(2)]
        for s in socks:
            s.bind(("127.0.0.1", int(os.environ.get("ASW_CHECK_DEPLOY_PORT", "0")) if s is socks[0] else 0))
        port, bus_port = (s.getsockname()[1] for s in socks)
        for s in socks:
            s.close()
        local = (
            conf_text.replace("/usr/local/etc/redis/redis.conf", json.dumps(str(DEPLOY / "redis" / "redis.conf")))
            .replace("\ndir /data\n", f"\ndir {d}\n")
            .replace("\nport 6379\n", f"\nport {port}\n")
            .replace("\nbind 0.0.0.0\n", "\nbind 127.0.0.1\n")
        )
        Path(d, "node.conf").write_text(local)
        server = subprocess.Popen(
            ["redis-server", str(Path(d, "node.conf")), "--logfile", str(Path(d, "log")), "--cluster-port", str(bus_port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            up = False
            for _ in range(50):
                if server.poll() is not None:
                    break
                r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
                if r.stdout.strip() == "PONG":
                    up = True
                    break
                time.sleep(0.1)
            out = server.stdout.read() if server.poll() is not None else ""
            log = Path(d, "log")
            if not up and log.exists():
                # Errors after the config is parsed go to the log file, not to stdout.
                out += "\n".join(log.read_text(errors="replace").splitlines()[-5:])
            if check(up, f"redis-server refused deploy/cluster/redis-cluster.conf:\n{out}"):
                for key, value in wanted.items():
                    r = subprocess.run(
                        ["redis-cli", "-p", str(port), "config", "get", key], capture_output=True, text=True
                    )
                    got = r.stdout.split("\n")[1].strip() if "\n" in r.stdout else ""
                    check(got == value, f"redis-server with redis-cluster.conf: {key} = {got!r}, want {value}")
        finally:
            server.terminate()
            server.wait(timeout=10)
else:
    notes.append("redis-server not installed: redis-cluster.conf not tried on a real server")

# ---- deploy/k8s ---------------------------------------------------------------------------------------
k8s = DEPLOY / "k8s"
docs = []
for path in sorted(list(k8s.glob("*.yaml")) + list(k8s.glob("*.yml"))):
    docs.extend(load_yaml_all(path))
by_kind = {}
for doc in docs:
    by_kind.setdefault(doc.get("kind"), []).append(doc)
check("Secret" not in by_kind, "deploy/k8s: no Secret manifests in the repository (keys come from your secret store)")
kustomization = by_kind["Kustomization"][0]
for resource in kustomization["resources"]:
    check((k8s / resource).exists(), f"kustomization: missing {resource}")
generated = kustomization["configMapGenerator"][0]
check(generated["files"] == ["antom-switch.toml"], "kustomization: the ConfigMap is made from antom-switch.toml")

k8s_toml = load_toml(k8s / "antom-switch.toml")
deployment = by_kind["Deployment"][0]
pod = deployment["spec"]["template"]
spec = pod["spec"]
container = spec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
check(deployment["spec"]["replicas"] >= 3, "Deployment: at least 3 replicas")
check(
    spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
    == "kubernetes.io/hostname",
    "Deployment: anti-affinity across nodes",
)
check(str(container["resources"]["requests"]["cpu"]) == "2", "Deployment: requests 2 CPUs")
env = {e["name"]: e for e in container.get("env", [])}
check(
    env.get("ANTOM_SWITCH__REVERSAL__INSTANCE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    == "metadata.name",
    "Deployment: [reversal] instance from the pod name",
)
ready = container["readinessProbe"]["httpGet"]
live = container["livenessProbe"]["httpGet"]
check(ready["path"] == "/health/ready" and ready["port"] == "admin", "Deployment: readiness on admin /health/ready")
check(live["path"] == "/health/live" and live["port"] == "admin", "Deployment: liveness on admin /health/live")
annotations = pod["metadata"]["annotations"]
check(annotations.get("prometheus.io/scrape") == "true", "Deployment: prometheus.io/scrape annotation")
check(annotations.get("prometheus.io/path") == "/metrics", "Deployment: prometheus.io/path annotation")
pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
pre_stop_s = int(pre_stop[-1]) if pre_stop and pre_stop[-1].isdigit() else 0
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in spec["volumes"]}
if k8s_toml:
    listen = {
        "terminals": port_of(k8s_toml["downstream"]["listen"]),
        "rest": port_of(k8s_toml["rest"]["listen"]),
        "webhook": port_of(k8s_toml["webhook"]["listen"]),
        "admin": port_of(k8s_toml["admin"]["listen"]),
    }
    check(ports == listen, f"Deployment: container ports {ports} differ from the TOML's listen ports {listen}")
    check(
        k8s_toml["admin"]["listen"].startswith("0.0.0.0:"),
        "k8s TOML: admin must listen on the pod address (probes, Prometheus)",
    )
    check(annotations.get("prometheus.io/port") == str(listen["admin"]), "Deployment: prometheus.io/port = admin port")
    grace_ms = k8s_toml["downstream"]["shutdown_grace_ms"]
    check(
        spec["terminationGracePeriodSeconds"] * 1000 > pre_stop_s * 1000 + grace_ms,
        "Deployment: terminationGracePeriodSeconds must exceed preStop + shutdown_grace_ms",
    )
    redis = k8s_toml["redis"]
    check("cluster_nodes" in redis and "url" not in redis, "k8s TOML: cluster_nodes")
    check(redis.get("shards", 1) >= 12, "k8s TOML: shards >= 4 × 3 masters")
    check("instance" not in k8s_toml.get("reversal", {}), "k8s TOML: instance comes from the pod name")
    config_path = container["args"][container["args"].index("--config") + 1]
    check(config_path == f"{mounts['config']}/antom-switch.toml", "Deployment: --config is the mounted ConfigMap file")
    check(volumes["config"]["configMap"]["name"] == generated["name"], "Deployment: mounts the generated ConfigMap")
    for key in ["merchant_private_key", "antom_public_key"]:
        check(
            str(Path(k8s_toml["upstream"][key]).parent) == mounts["antom-keys"],
            f"k8s TOML: upstream.{key} is not under the keys Secret mount",
        )
    check(
        str(Path(k8s_toml["ids"]["secret_file"]).parent) == mounts["ids"],
        "k8s TOML: ids.secret_file is not under the ids Secret mount",
    )
for name in ["antom-keys", "ids"]:
    check("secret" in volumes[name], f"Deployment: volume {name} is a Secret reference")

service_by_port = {}
for service in by_kind["Service"]:
    for p in service["spec"]["ports"]:
        check(p["targetPort"] in ports, f"Service {service['metadata']['name']}: unknown targetPort {p['targetPort']}")
        service_by_port[p["targetPort"]] = service
check(sorted(service_by_port) == sorted(ports), "one Service per listener")
terminals = service_by_port.get("terminals", {}).get("spec", {})
check(terminals.get("type") == "LoadBalancer", "terminals Service: LoadBalancer")
check(terminals.get("externalTrafficPolicy") == "Local", "terminals Service: externalTrafficPolicy Local")
check(terminals.get("ports", [{}])[0].get("protocol") == "TCP", "terminals Service: TCP")
check(service_by_port.get("admin", {}).get("spec", {}).get("type") == "ClusterIP", "admin Service: ClusterIP only")
for service in by_kind["Service"]:
    check(
        service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"],
        f"Service {service['metadata']['name']}: selector differs from the Deployment's",
    )
pdb = by_kind["PodDisruptionBudget"][0]["spec"]
check(pdb.get("minAvailable") == 2 or pdb.get("maxUnavailable") == 1, "PDB: minAvailable 2 or maxUnavailable 1")
check(pdb["selector"] == deployment["spec"]["selector"], "PDB: selector differs from the Deployment's")

if shutil.which("kubectl"):
    r = subprocess.run(["kubectl", "kustomize", str(k8s)], capture_output=True, text=True)
    if check(r.returncode == 0, f"kubectl kustomize deploy/k8s failed:\n{r.stderr}"):
        rendered = [d for d in yaml.safe_load_all(r.stdout) if d]
        kinds = sorted(d["kind"] for d in rendered)
        check(
            kinds == ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget"] + ["Service"] * 4,
            f"kubectl kustomize: unexpected objects {kinds}",
        )
else:
    notes.append("kubectl not installed: deploy/k8s not rendered with kustomize")

for note in notes:
    print(f"note: {note}")
if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print(f"  - {p}")
    sys.exit(1)
print("deploy files: ok")
