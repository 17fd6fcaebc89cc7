#!/usr/bin/env python3
"""Trims Kubernetes' swagger.json to the definitions maia's kinds need.

Usage: trim_openapi.py SWAGGER_JSON > k8s-1.33-definitions.json

Keeps the definitions of the kinds maia renders (see crates/maia-render/src/object.rs)
and every definition their `$ref`s reach, transitively; drops paths, parameters and
descriptions (the tests need only the shapes). Everything kept is as upstream wrote it:
the tests adapt it to JSON Schema (int-or-string, strictness) when they load it.
"""

import json
import sys

ROOTS = [
    "io.k8s.api.core.v1.Namespace",
    "io.k8s.api.core.v1.Secret",
    "io.k8s.api.core.v1.ConfigMap",
    "io.k8s.api.core.v1.PersistentVolumeClaim",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.batch.v1.Job",
    "io.k8s.api.networking.v1.Ingress",
    "io.k8s.api.core.v1.ResourceQuota",
    "io.k8s.api.core.v1.LimitRange",
    "io.k8s.api.networking.v1.NetworkPolicy",
    "io.k8s.api.rbac.v1.Role",
    "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy",
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding",
    # The portal (maia serve --print-manifests).
    "io.k8s.api.core.v1.ServiceAccount",
    "io.k8s.api.rbac.v1.ClusterRole",
    "io.k8s.api.rbac.v1.ClusterRoleBinding",
]
PREFIX = "#/definitions/"


def refs(node):
    """Every definition a schema node refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(PREFIX):
                yield value[len(PREFIX):]
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def strip_descriptions(node):
    """The schema without `description` keywords (a property named so stays)."""
    if isinstance(node, dict):
        return {
            key: (
                {name: strip_descriptions(s) for name, s in value.items()}
                if key == "properties"
                else strip_descriptions(value)
            )
            for key, value in node.items()
            if key != "description"
        }
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    return node


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        definitions = json.load(f)["definitions"]
    kept = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = definitions[name]
        todo.extend(refs(kept[name]))
    trimmed = {name: strip_descriptions(kept[name]) for name in sorted(kept)}
    json.dump({"definitions": trimmed}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
