#!/usr/bin/env python3
"""Extracts the v1beta2 openAPIV3Schema from spark-operator CRD files for KubernetesManifestTest.

Usage: vendor_crd_schema.py CRD.yaml OUT.json
Keeps the validation keywords only: drops every `description` (prose, 3/4 of the size) and the
`status` subtree (written by the operator, never by a manifest). Needs PyYAML (python3-yaml).
"""
import json
import sys

import yaml


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main(crd_path, out_path):
    with open(crd_path) as f:
        crd = yaml.safe_load(f)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    schema = version["schema"]["openAPIV3Schema"]
    schema["properties"].pop("status", None)
    with open(out_path, "w") as f:
        json.dump(strip(schema), f, indent=None, separators=(",", ":"), sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
