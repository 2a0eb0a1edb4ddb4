#!/usr/bin/env python3
"""Generate engine/aws/model_data.c from botocore's service models.

deadbolt serializes requests and decodes responses from the same JSON service
models that botocore (and every AWS SDK) is generated from. This script reads
those models from the installed botocore package
(botocore/data/<service>/<latest api version>/service-2.json[.gz]), keeps only
the operations listed in tools/operations.list and the shapes they reach, and
writes them as static C tables (the types are in engine/aws/model_types.h).
The output is deterministic: services, operations and shapes sorted by name,
structure members in the model's order.

To add an operation:
  1. add one line "service Operation" to tools/operations.list
     (service = the boto3 client name, e.g. "ec2"; Operation = the model's
     CamelCase name, e.g. "StopInstances");
  2. run `python3 tools/gen_model.py` from the repository root;
  3. commit tools/operations.list and engine/aws/model_data.c together.
A new service also needs its metadata to be supported by the codec (one of the
protocols ec2, query, json, rest-xml). Letting playbooks call the operation is
a separate decision: the sandbox's allow-list (sandbox/allowlist.c).

Usage: python3 tools/gen_model.py [--list tools/operations.list]
                                  [--out engine/aws/model_data.c] [--check]
--check exits 1 when the committed output differs from what would be generated.
"""

import argparse
import gzip
import json
import os
import sys

import botocore
from botocore import xform_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROTOCOLS = {
    "ec2": "AWS_PROTO_EC2",
    "query": "AWS_PROTO_QUERY",
    "json": "AWS_PROTO_JSON",
    "rest-xml": "AWS_PROTO_REST_XML",
}
SHAPE_TYPES = {
    "string": "AWS_SHAPE_STRING",
    "integer": "AWS_SHAPE_INTEGER",
    "long": "AWS_SHAPE_LONG",
    "boolean": "AWS_SHAPE_BOOLEAN",
    "double": "AWS_SHAPE_DOUBLE",
    "float": "AWS_SHAPE_FLOAT",
    "timestamp": "AWS_SHAPE_TIMESTAMP",
    "blob": "AWS_SHAPE_BLOB",
    "list": "AWS_SHAPE_LIST",
    "map": "AWS_SHAPE_MAP",
    "structure": "AWS_SHAPE_STRUCTURE",
    "document": "AWS_SHAPE_DOCUMENT",
}
LOCATIONS = {
    None: None,
    "uri": "AWS_LOC_URI",
    "querystring": "AWS_LOC_QUERYSTRING",
    "header": "AWS_LOC_HEADER",
    "headers": "AWS_LOC_HEADERS",
    "statusCode": "AWS_LOC_STATUS_CODE",
}
TIMESTAMPS = {
    None: None,
    "iso8601": "AWS_TS_ISO8601",
    "rfc822": "AWS_TS_RFC822",
    "unixTimestamp": "AWS_TS_UNIX",
}


def read_operations(path):
    """[(service, Operation)] from operations.list, sorted, duplicates removed."""
    ops = set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f"{path}:{lineno}: expected 'service Operation'")
            ops.add((parts[0], parts[1]))
    return sorted(ops)


def load_model(service):
    """The newest service-2 model of service from botocore's data directory."""
    base = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    if not os.path.isdir(base):
        sys.exit(f"gen_model: botocore has no service {service!r}")
    version = max(v for v in os.listdir(base) if os.path.isdir(os.path.join(base, v)))
    path = os.path.join(base, version, "service-2.json")
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rt", encoding="utf-8") as f:
            return json.load(f)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def c_str(s):
    """A C string literal for s (or NULL)."""
    if s is None:
        return "NULL"
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= ch < 0x7F and c != "?":  # '?' avoids trigraphs
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def c_int64(v):
    if v == -(2**63):
        return "INT64_MIN"
    if v == 2**63 - 1:
        return "INT64_MAX"
    return f"{v}LL" if v >= 0 else f"({v}LL)"


def integral(v, what):
    if isinstance(v, float):
        if not v.is_integer():
            sys.exit(f"gen_model: {what} = {v} is not integral (model_types.h stores int64)")
        v = int(v)
    return max(-(2**63), min(2**63 - 1, v))


class Generator:
    def __init__(self, ops):
        self.ops = ops
        self.models = {}
        for service in sorted({s for s, _ in ops}):
            self.models[service] = load_model(service)
        self.services = sorted(self.models)
        self.shape_keys = []  # (service, shape name)
        self.reach()

    def reach(self):
        seen = set()

        def walk(service, name):
            if (service, name) in seen:
                return
            seen.add((service, name))
            sh = self.models[service]["shapes"][name]
            for m in sh.get("members", {}).values():
                walk(service, m["shape"])
            for part in ("member", "key", "value"):
                if part in sh:
                    walk(service, sh[part]["shape"])

        for service, name in self.ops:
            model = self.models[service]
            if name not in model["operations"]:
                sys.exit(f"gen_model: {service} has no operation {name!r}")
            op = model["operations"][name]
            for io in ("input", "output"):
                if io in op:
                    walk(service, op[io]["shape"])
        self.shape_keys = sorted(seen)
        self.shape_index = {k: i for i, k in enumerate(self.shape_keys)}

    # ---- members ----------------------------------------------------------

    def member_fields(self, service, ref, name=None, required=False):
        target = self.models[service]["shapes"][ref["shape"]]
        f = {}
        if name is not None:
            f["name"] = c_str(name)
        f["shape"] = f"SH({self.shape_index[(service, ref['shape'])]})"
        if "locationName" in ref:
            f["location_name"] = c_str(ref["locationName"])
        if "queryName" in ref:
            f["query_name"] = c_str(ref["queryName"])
        ns = ref.get("xmlNamespace")
        if ns:
            if isinstance(ns, str):
                ns = {"uri": ns}
            if ns.get("uri"):
                f["xml_namespace"] = c_str(ns["uri"])
            if ns.get("prefix"):
                f["xml_prefix"] = c_str(ns["prefix"])
        loc = LOCATIONS[ref.get("location")]
        if loc:
            f["location"] = loc
        ts = TIMESTAMPS[ref.get("timestampFormat")]
        if ts:
            f["timestamp_format"] = ts
        flags = []
        if required:
            flags.append("AWS_MF_REQUIRED")
        if ref.get("xmlAttribute"):
            flags.append("AWS_MF_XML_ATTRIBUTE")
        if ref.get("flattened"):
            flags.append("AWS_MF_FLATTENED")
        if ref.get("idempotencyToken"):
            flags.append("AWS_MF_IDEMPOTENCY_TOKEN")
        if ref.get("streaming") or target.get("streaming"):
            flags.append("AWS_MF_STREAMING")
        if ref.get("jsonvalue"):
            flags.append("AWS_MF_JSON_VALUE")
        if ref.get("hostLabel"):
            flags.append("AWS_MF_HOST_LABEL")
        if ref.get("eventpayload"):
            flags.append("AWS_MF_EVENT_PAYLOAD")
        if flags:
            f["flags"] = " | ".join(flags)
        return f

    def collect_members(self):
        """Flat member table; per shape, where its members start."""
        self.members = []  # (comment, fields)
        self.shape_members = {}  # shape index -> dict of member slots
        for idx, (service, name) in enumerate(self.shape_keys):
            sh = self.models[service]["shapes"][name]
            slots = {}
            if sh["type"] == "structure" and not sh.get("document"):
                required = set(sh.get("required", []))
                slots["members"] = len(self.members)
                slots["nmembers"] = len(sh.get("members", {}))
                for i, (mname, ref) in enumerate(sh.get("members", {}).items()):
                    if mname == sh.get("payload"):
                        slots["payload"] = i
                    self.members.append((f"{service} {name}.{mname}",
                                         self.member_fields(service, ref, mname, mname in required)))
            for part in ("member", "key", "value"):
                if part in sh:
                    slots[part] = len(self.members)
                    self.members.append((f"{service} {name} ({part})",
                                         self.member_fields(service, sh[part])))
            self.shape_members[idx] = slots

    # ---- enums ------------------------------------------------------------

    def collect_enums(self):
        self.enums = []
        self.shape_enums = {}
        for idx, (service, name) in enumerate(self.shape_keys):
            values = self.models[service]["shapes"][name].get("enum")
            if values:
                self.shape_enums[idx] = (len(self.enums), len(values))
                self.enums.extend((f"{service} {name}", v) for v in values)

    # ---- shapes -----------------------------------------------------------

    def shape_fields(self, idx):
        service, name = self.shape_keys[idx]
        sh = self.models[service]["shapes"][name]
        kind = "document" if sh.get("document") else sh["type"]
        f = {
            "name": c_str(name),
            "service": f"SV({self.services.index(service)})",
            "type": SHAPE_TYPES[kind],
        }
        ts = TIMESTAMPS[sh.get("timestampFormat")]
        if ts:
            f["timestamp_format"] = ts
        flags = []
        if "min" in sh:
            flags.append("AWS_SF_HAS_MIN")
            f["min"] = c_int64(integral(sh["min"], f"{service} {name} min"))
        if "max" in sh:
            flags.append("AWS_SF_HAS_MAX")
            f["max"] = c_int64(integral(sh["max"], f"{service} {name} max"))
        for key, flag in (("flattened", "AWS_SF_FLATTENED"), ("streaming", "AWS_SF_STREAMING"),
                          ("sensitive", "AWS_SF_SENSITIVE"), ("exception", "AWS_SF_EXCEPTION"),
                          ("union", "AWS_SF_UNION")):
            if sh.get(key):
                flags.append(flag)
        if flags:
            f["flags"] = " | ".join(flags)
        if "locationName" in sh:
            f["location_name"] = c_str(sh["locationName"])
        ns = sh.get("xmlNamespace")
        if isinstance(ns, dict) and ns.get("uri"):
            f["xml_namespace"] = c_str(ns["uri"])
        slots = self.shape_members[idx]
        if "members" in slots and slots["nmembers"]:
            f["members"] = f"MB({slots['members']})"
            f["nmembers"] = str(slots["nmembers"])
        f["payload"] = str(slots.get("payload", -1))
        if "member" in slots:
            f["list_member"] = f"MB({slots['member']})"
        if "key" in slots:
            f["map_key"] = f"MB({slots['key']})"
            f["map_value"] = f"MB({slots['value']})"
        if idx in self.shape_enums:
            start, count = self.shape_enums[idx]
            f["enums"] = f"&enums[{start}]"
            f["nenums"] = str(count)
        return f

    # ---- services and operations -----------------------------------------

    def service_fields(self, service):
        md = self.models[service]["metadata"]
        protocol = md["protocol"]
        if protocol not in PROTOCOLS:
            sys.exit(f"gen_model: {service}: protocol {protocol!r} is not supported")
        return {
            "name": c_str(service),
            "service_id": c_str(md["serviceId"]),
            "endpoint_prefix": c_str(md["endpointPrefix"]),
            "signing_name": c_str(md.get("signingName", md["endpointPrefix"])),
            "signature_version": c_str(md.get("signatureVersion")),
            "protocol": PROTOCOLS[protocol],
            "protocol_name": c_str(protocol),
            "api_version": c_str(md["apiVersion"]),
            "target_prefix": c_str(md.get("targetPrefix")),
            "json_version": c_str(md.get("jsonVersion")),
            "global_endpoint": c_str(md.get("globalEndpoint")),
            "xml_namespace": c_str(md.get("xmlNamespace")),
        }

    def operation_fields(self, service, name):
        op = self.models[service]["operations"][name]
        f = {
            "name": c_str(name),
            "snake_name": c_str(xform_name(name)),
            "service": f"SV({self.services.index(service)})",
            "http_method": c_str(op["http"]["method"]),
            "request_uri": c_str(op["http"]["requestUri"]),
        }
        for io in ("input", "output"):
            if io in op:
                f[io] = f"SH({self.shape_index[(service, op[io]['shape'])]})"
        if op.get("output", {}).get("resultWrapper"):
            f["result_wrapper"] = c_str(op["output"]["resultWrapper"])
        if op.get("endpoint", {}).get("hostPrefix"):
            f["host_prefix"] = c_str(op["endpoint"]["hostPrefix"])
        checksum = op.get("httpChecksum", {})
        if checksum.get("requestAlgorithmMember"):
            f["checksum_algorithm_member"] = c_str(checksum["requestAlgorithmMember"])
        flags = []
        if op.get("httpChecksumRequired") or checksum.get("requestChecksumRequired"):
            flags.append("AWS_OF_CHECKSUM_REQUIRED")
        if op.get("authtype") == "v4-unsigned-body" or op.get("unsignedPayload"):
            flags.append("AWS_OF_UNSIGNED_BODY")
        if op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]:
            flags.append("AWS_OF_NO_AUTH")
        if flags:
            f["flags"] = " | ".join(flags)
        return f

    # ---- output -----------------------------------------------------------

    def render(self):
        self.collect_members()
        self.collect_enums()
        out = []
        w = out.append
        w("/* model_data.c — generated by tools/gen_model.py — do not edit.")
        w(" *")
        w(f" * Source: botocore {botocore.__version__} service models, reduced to the")
        w(" * operations of tools/operations.list and the shapes they reach:")
        for s in self.services:
            w(f" *   {s} {self.models[s]['metadata']['apiVersion']}")
        w(" * To change it, edit tools/operations.list and run")
        w(" * `python3 tools/gen_model.py`. Types: model_types.h. */")
        w("#include <stdint.h>")
        w("")
        w('#include "model_types.h"')
        w("")
        w("#define SV(i) (&model_services[i])")
        w("#define SH(i) (&shapes[i])")
        w("#define MB(i) (&members[i])")
        w("")
        w(f"static const aws_shape shapes[{len(self.shape_keys)}];")
        w(f"static const aws_member members[{len(self.members)}];")
        w("")
        w("const aws_service model_services[] = {")
        for i, s in enumerate(self.services):
            w(f"\t[{i}] = " + self.struct_init(self.service_fields(s), "\t") + ",")
        w("};")
        w(f"const size_t model_nservices = {len(self.services)};")
        w("")
        w("const aws_operation model_operations[] = {")
        for i, (s, n) in enumerate(self.ops):
            w(f"\t[{i}] = " + self.struct_init(self.operation_fields(s, n), "\t") + ",")
        w("};")
        w(f"const size_t model_noperations = {len(self.ops)};")
        w("")
        w(f"static const char *const enums[{max(1, len(self.enums))}] = {{")
        last = None
        for i, (owner, v) in enumerate(self.enums):
            if owner != last:
                w(f"\t/* {owner} */")
                last = owner
            w(f"\t[{i}] = {c_str(v)},")
        w("};")
        w("")
        w(f"static const aws_member members[{len(self.members)}] = {{")
        for i, (comment, f) in enumerate(self.members):
            w(f"\t[{i}] = " + self.struct_init(f, "\t") + f", /* {comment} */")
        w("};")
        w("")
        w(f"static const aws_shape shapes[{len(self.shape_keys)}] = {{")
        for i in range(len(self.shape_keys)):
            w(f"\t[{i}] = " + self.struct_init(self.shape_fields(i), "\t") + ",")
        w("};")
        return "\n".join(out) + "\n"

    @staticmethod
    def struct_init(fields, indent):
        parts = [f".{k} = {v}" for k, v in fields.items()]
        line = "{ " + ", ".join(parts) + " }"
        if len(line) + len(indent) * 8 + 8 <= 100:
            return line
        inner = indent + "\t"
        return "{\n" + "".join(f"{inner}{p},\n" for p in parts) + indent + "}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", default=os.path.join(ROOT, "tools", "operations.list"))
    ap.add_argument("--out", default=os.path.join(ROOT, "engine", "aws", "model_data.c"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = Generator(read_operations(args.list)).render()
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            print(f"{args.out} is out of date: run python3 tools/gen_model.py", file=sys.stderr)
            return 1
        return 0
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
