#!/usr/bin/env python3
"""Evaluates the members' admission guard (ValidatingAdmissionPolicy) of a rendered
bundle on requests a member, an admin and another group's member could send, with an
independent CEL implementation. A manual check, not run by CI (no CEL crate is in
Cargo.lock): the Rust tests assert the policy's structure and what it guards.

    python3 -m venv /tmp/cel && /tmp/cel/bin/pip install cel-python pyyaml
    /tmp/cel/bin/python crates/maia-render/tests/cel/check_guard.py \
        crates/maia-cli/tests/snapshots/bundle_golden__full_subdomain_nginx_nodeport.snap

Prints one line per request and exits 1 if any is decided otherwise than wanted (the
requests name the full bundle's objects: a --minimal one has no MySQL to guard).
"""
import sys, yaml, celpy, json
snap = open(sys.argv[1]).read()
sec = snap.split("=== manifests/02-tenancy.yaml")[1].split("\n=== ")[0].split("\n",1)[1]
docs = [d for d in yaml.safe_load_all(sec) if d and d.get("kind") == "ValidatingAdmissionPolicy"]
policy = docs[0]["spec"]
env = celpy.Environment()
def run(expr, act):
    prog = env.program(env.compile(expr))
    return prog.evaluate(act)
def decide(request, obj=None, old=None):
    base = {"request": celpy.json_to_cel(request), "object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old)}
    for c in policy["matchConditions"]:
        r = run(c["expression"], base)
        if r is not True and r != celpy.celtypes.BoolType(True):
            return "not matched"
    variables = {}
    for v in policy["variables"]:
        act = dict(base); act["variables"] = celpy.celtypes.MapType({celpy.celtypes.StringType(k): val for k, val in variables.items()})
        try:
            variables[v["name"]] = run(v["expression"], act)
        except Exception as e:
            # Kubernetes evaluates a variable only when used; the validations use
            # pod_spec only behind writes_pod_spec.
            variables[v["name"]] = None
    act = dict(base); act["variables"] = celpy.celtypes.MapType({celpy.celtypes.StringType(k): val for k, val in variables.items() if val is not None})
    for i, val in enumerate(policy["validations"]):
        r = run(val["expression"], act)
        if isinstance(r, Exception) or not bool(r):
            return f"denied by #{i}: {r if isinstance(r, Exception) else run(val['messageExpression'], act)}"
    return "allowed"
member = {"username": "oidc:alice", "groups": ["oidc:MAIA:Brain_MRI", "system:authenticated"]}
admin = {"username": "oidc:root", "groups": ["oidc:MAIA:Brain_MRI", "oidc:MAIA:admin"]}
def req(op, res, name, user=member, sub=""):
    return {"operation": op, "name": name, "namespace": "brain-mri", "subResource": sub, "userInfo": user,
            "resource": {"group": "", "version": "v1", "resource": res}}
ws = {"app.kubernetes.io/part-of": "maia-workspace", "app.kubernetes.io/instance": "brain-mri"}
mine = {"app": "trainer", "app.kubernetes.io/instance": "trainer", "app.kubernetes.io/name": "mkg", "version": "1.0.2", "app.kubernetes.io/managed-by": "maia"}
mysqlpod = {"app": "mysql-db-v1", "app.kubernetes.io/instance": "mysql-db-v1", "app.kubernetes.io/name": "mkg", "version": "1.0.2", "pod-template-hash": "7d9f"}
hubpod = {"app": "jupyterhub", "component": "hub", "release": "jupyterhub-brain-mri"}
pgpvc = {"app.kubernetes.io/instance": "label-studio", "app.kubernetes.io/name": "postgresql"}
minio = {"v1.min.io/tenant": "brain-mri", "v1.min.io/pool": "pool-0"}
def meta(name, labels=None): 
    m = {"name": name, "namespace": "brain-mri"}
    if labels is not None: m["labels"] = labels
    return {"metadata": m}
def pod(sa=None, claims=(), name="p"):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if sa is not None: spec["serviceAccountName"] = sa
    if claims: spec["volumes"] = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]
    return spec
cases = [
    ("delete MySQL's claim", req("DELETE", "persistentvolumeclaims", "mysql-db-v1-mkg-claim-0"), None, meta("mysql-db-v1-mkg-claim-0", ws), "denied"),
    ("delete shared", req("DELETE", "persistentvolumeclaims", "shared"), None, meta("shared", ws), "denied"),
    ("delete own claim", req("DELETE", "persistentvolumeclaims", "trainer-mkg-claim-0"), None, meta("trainer-mkg-claim-0", mine), "allowed"),
    ("delete unlabelled own configmap", req("DELETE", "configmaps", "notes"), None, meta("notes"), "allowed"),
    ("delete MySQL's pod", req("DELETE", "pods", "mysql-db-v1-mkg-7d9f-abcde"), None, meta("x", mysqlpod), "denied"),
    ("label the hub pod", req("UPDATE", "pods", "hub-6c9b7f8d5-k2x7q"), meta("hub-6c9b7f8d5-k2x7q", {}), meta("hub-6c9b7f8d5-k2x7q", hubpod), "denied"),
    ("delete Label Studio's PostgreSQL claim", req("DELETE", "persistentvolumeclaims", "data-label-studio-postgresql-0"), None, meta("d", pgpvc), "denied"),
    ("delete a MinIO volume", req("DELETE", "persistentvolumeclaims", "data0-brain-mri-pool-0-0"), None, meta("d", minio), "denied"),
    ("admin deletes MySQL's claim", req("DELETE", "persistentvolumeclaims", "mysql-db-v1-mkg-claim-0", admin), None, meta("m", ws), "not matched"),
    ("exec into the hub", req("CONNECT", "pods", "hub-6c9b7f8d5-k2x7q", sub="exec"), {"kind": "PodExecOptions", "command": ["sh"]}, None, "denied"),
    ("port-forward to MySQL", req("CONNECT", "pods", "mysql-db-v1-mkg-5f6d7c8b9-a1b2c", sub="portforward"), {"kind": "PodPortForwardOptions"}, None, "denied"),
    ("exec into another member's server", req("CONNECT", "pods", "jupyter-bob-2esmith-40example-2eorg", sub="exec"), {"kind": "PodExecOptions"}, None, "denied"),
    ("exec into own app", req("CONNECT", "pods", "trainer-mkg-7d9f8c6b5-abcde", sub="exec"), {"kind": "PodExecOptions"}, None, "allowed"),
    ("create pod as hub", req("CREATE", "pods", "p"), {**meta("p", mine), "spec": pod("hub")}, None, "denied"),
    ("create pod as default", req("CREATE", "pods", "p"), {**meta("p", mine), "spec": pod("default", ["shared", "trainer-mkg-claim-0"])}, None, "allowed"),
    ("create pod without SA", req("CREATE", "pods", "p"), {**meta("p"), "spec": pod()}, None, "allowed"),
    ("create deployment mounting MySQL's claim", req("CREATE", "deployments", "d"), {**meta("d", mine), "spec": {"selector": {}, "template": {"spec": pod(None, ["mysql-db-v1-mkg-claim-0"])}}}, None, "denied"),
    ("create deployment mounting another's home", req("CREATE", "deployments", "d"), {**meta("d", mine), "spec": {"selector": {}, "template": {"spec": pod(None, ["claim-bob-2esmith-40example-2eorg"])}}}, None, "denied"),
    ("update own deployment", req("UPDATE", "deployments", "d"), {**meta("d", mine), "spec": {"selector": {}, "template": {"spec": pod(None, ["shared"])}}}, {**meta("d", mine)}, "allowed"),
    ("create cronjob as hub", req("CREATE", "cronjobs", "c"), {**meta("c"), "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": pod("hub")}}}}}, None, "denied"),
    ("create SA token secret", req("CREATE", "secrets", "t"), {**meta("t"), "type": "kubernetes.io/service-account-token"}, None, "denied"),
    ("create opaque secret", req("CREATE", "secrets", "t"), {**meta("t"), "type": "Opaque", "data": {}}, None, "allowed"),
    ("clone MySQL's claim", req("CREATE", "persistentvolumeclaims", "c"), {**meta("c"), "spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "mysql-db-v1-mkg-claim-0"}}}, None, "denied"),
    ("create own claim", req("CREATE", "persistentvolumeclaims", "c"), {**meta("c"), "spec": {"accessModes": ["ReadWriteOnce"]}}, None, "allowed"),
    ("not a member", req("DELETE", "persistentvolumeclaims", "m", {"username": "x", "groups": ["oidc:MAIA:Lung_CT"]}), None, meta("m", ws), "not matched"),
]
bad = 0
for name, r, obj, old, want in cases:
    got = decide(r, obj, old)
    ok = got.startswith(want)
    bad += not ok
    print(("ok  " if ok else "BAD ") + f"{name}: {got}")
print("bad:", bad)
sys.exit(1 if bad else 0)
