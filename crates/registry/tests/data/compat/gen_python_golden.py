#!/usr/bin/env python3
"""Generates python_avro_golden.json: random reader/writer schema pairs with
the verdict and incompatibility kinds of Apache Avro's Python
`avro.compatibility` (a port of Avro Java's SchemaCompatibility).

The Rust test `compat_golden.rs` asserts that kbridge's engine agrees on every
pair. Regenerate with (needs `pip install avro==1.12.*`):

    python3 gen_python_golden.py > python_avro_golden.json

Schemas have no namespaces (the Python port compares raw alias strings with
full names) and fields added by a mutation are never enums (Avro Java and its
port report a missing enum-with-default field as a TYPE_MISMATCH; kbridge
reports READER_FIELD_MISSING_DEFAULT_VALUE, see the engine docs).
"""

import copy
import json
import random
import sys

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [("int", "date"), ("long", "timestamp-millis"), ("string", "uuid")]
SYMBOLS = ["A", "B", "C", "D", "E"]


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.n = 0

    def name(self):
        self.n += 1
        return f"T{self.n}"

    def leaf(self):
        r = self.rng.random()
        if r < 0.55:
            return self.rng.choice(PRIMITIVES)
        if r < 0.65:
            t, l = self.rng.choice(LOGICAL)
            return {"type": t, "logicalType": l}
        if r < 0.85:
            k = self.rng.randint(1, 4)
            e = {"type": "enum", "name": self.name(), "symbols": self.rng.sample(SYMBOLS, k)}
            if self.rng.random() < 0.2:
                e["default"] = e["symbols"][0]
            return e
        return {"type": "fixed", "name": self.name(), "size": self.rng.randint(1, 4)}

    def shape(self, depth):
        if depth <= 0 or self.rng.random() < 0.45:
            return self.leaf()
        r = self.rng.random()
        if r < 0.2:
            return {"type": "array", "items": self.shape(depth - 1)}
        if r < 0.35:
            return {"type": "map", "values": self.shape(depth - 1)}
        if r < 0.65:
            return self.union(depth - 1)
        return self.record(depth - 1)

    def union(self, depth):
        branches, keys = [], set()
        for _ in range(self.rng.randint(1, 3)):
            b = self.shape(depth)
            k = union_key(b)
            if k == "union" or (k is not None and k in keys):
                continue
            if k is not None:
                keys.add(k)
            branches.append(b)
        return branches or ["null"]

    def record(self, depth, min_fields=0):
        name = self.name()
        fields = [
            {"name": f"f{i}", "type": self.shape(depth)}
            for i in range(self.rng.randint(min_fields, 4))
        ]
        if self.rng.random() < 0.2:
            fields.append({"name": "me", "type": ["null", name], "default": None})
        return {"type": "record", "name": name, "fields": fields}


def union_key(s):
    if isinstance(s, list):
        return "union"
    if isinstance(s, str):
        return s
    t = s["type"]
    if t in ("array", "map"):
        return t
    if t in ("record", "enum", "fixed"):
        return None
    return t  # logical: its underlying type


def nodes(s, out):
    """Every mutable node (dicts and unions) with its container."""
    if isinstance(s, list):
        out.append(s)
        for b in s:
            nodes(b, out)
    elif isinstance(s, dict):
        out.append(s)
        t = s["type"]
        if t == "record":
            for f in s["fields"]:
                out.append(f)
                nodes(f["type"], out)
        elif t == "array":
            nodes(s["items"], out)
        elif t == "map":
            nodes(s["values"], out)
    return out


def mutate(rng, gen, schema):
    s = copy.deepcopy(schema)
    candidates = nodes(s, [])
    node = rng.choice(candidates)
    kind = rng.random()
    if isinstance(node, list):  # union
        if kind < 0.4 and len(node) > 1:
            node.pop(rng.randrange(len(node)))
        elif kind < 0.8:
            b = rng.choice(PRIMITIVES)
            if all(union_key(x) != b for x in node):
                node.insert(rng.randrange(len(node) + 1), b)
        else:
            rng.shuffle(node)
    elif "fields" in node:  # record
        fields = node["fields"]
        if kind < 0.3:
            f = {"name": f"added{rng.randint(0, 9)}", "type": rng.choice(PRIMITIVES[1:])}
            if rng.random() < 0.5:
                f["type"] = ["null", f["type"]]
                f["default"] = None
            if all(x["name"] != f["name"] for x in fields):
                fields.insert(rng.randrange(len(fields) + 1), f)
        elif kind < 0.5 and fields:
            fields.pop(rng.randrange(len(fields)))
        elif kind < 0.7:
            old = node["name"]
            node["name"] = gen.name()
            if rng.random() < 0.5:
                node["aliases"] = [old]
        else:
            rng.shuffle(fields)
    elif "symbols" in node:  # enum
        syms = node["symbols"]
        if kind < 0.35 and len(syms) > 1:
            removed = syms.pop(rng.randrange(len(syms)))
            if node.get("default") == removed:
                node["default"] = syms[0]
        elif kind < 0.7:
            extra = [x for x in SYMBOLS if x not in syms]
            if extra:
                syms.append(rng.choice(extra))
        elif kind < 0.85:
            node["default"] = rng.choice(syms)
        else:
            old = node["name"]
            node["name"] = gen.name()
            if rng.random() < 0.5:
                node["aliases"] = [old]
    elif node.get("type") == "fixed":
        if kind < 0.6:
            node["size"] += rng.choice([-1, 1]) if node["size"] > 1 else 1
        else:
            old = node["name"]
            node["name"] = gen.name()
            if rng.random() < 0.5:
                node["aliases"] = [old]
    elif "name" in node and "type" in node:  # field
        if kind < 0.4 and not isinstance(node["type"], (dict, list)):
            node["type"] = rng.choice(PRIMITIVES)
        elif kind < 0.6:
            old = node["name"]
            node["name"] = old + "_renamed"
            if rng.random() < 0.6:
                node["aliases"] = [old]
        elif kind < 0.8 and not isinstance(node["type"], list):
            node["type"] = ["null", node["type"]]
            node["default"] = None
        elif "default" not in node:
            node["type"] = {"type": "array", "items": node["type"]}
    elif node.get("type") in ("array", "map"):
        if kind < 0.5:
            if node["type"] == "array":
                node["type"], node["values"] = "map", node.pop("items")
            else:
                node["type"], node["items"] = "array", node.pop("values")
    return s


def null_defaults_valid(s):
    """A null default needs a null branch (apache-avro checks, Python does not)."""
    for node in nodes(s, []):
        if isinstance(node, dict) and "default" in node and node["default"] is None:
            t = node["type"]
            if not (t == "null" or (isinstance(t, list) and "null" in t)):
                return False
    return True


def parse(s):
    if not null_defaults_valid(s):
        raise ValueError("null default without a null branch")
    return avro.schema.parse(json.dumps(s))


def main():
    rng = random.Random(20240611)
    out = []
    seen = set()
    while len(out) < 400:
        gen = Gen(rng)
        base = gen.record(3, min_fields=1)
        other = base
        for _ in range(rng.randint(1, 3)):
            other = mutate(rng, gen, other)
        for reader, writer in ((other, base), (base, other)):
            key = json.dumps([reader, writer], sort_keys=True)
            if key in seen:
                continue
            try:
                r, w = parse(reader), parse(writer)
            except Exception:  # a mutation made an invalid schema
                continue
            seen.add(key)
            result = ReaderWriterCompatibilityChecker().get_compatibility(r, w)
            compatible = result.compatibility is SchemaCompatibilityType.compatible
            kinds = sorted({k.name.upper() for k in result.incompatibilities})
            out.append({"reader": reader, "writer": writer, "compatible": compatible, "kinds": kinds})
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    n_ok = sum(1 for c in out if c["compatible"])
    print(f"{len(out)} pairs, {n_ok} compatible", file=sys.stderr)


if __name__ == "__main__":
    main()
