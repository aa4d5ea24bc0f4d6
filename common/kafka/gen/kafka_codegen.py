#!/usr/bin/env python3
"""Generates the C++ Kafka message codec from Apache Kafka's JSON schemas.

Usage (CMake runs this at build time; the outputs live in the build tree only):

    kafka_codegen.py --out DIR SCHEMA.json...

For every API (an <Api>Request.json / <Api>Response.json pair) it writes
DIR/common/kafka/messages/<api>.h and .cc; for RequestHeader.json and
ResponseHeader.json it writes DIR/common/kafka/messages/headers.h and .cc; and
it writes DIR/common/kafka/api_keys.h and .cc (api key -> name, version range,
first flexible version, request/response header versions).

Mapping (../shared/kafka-protocol/README.md describes the schema format):
  * message "FooBarRequest"         -> struct foo_bar_request
  * field "ThrottleTimeMs"          -> member throttle_time_ms
  * struct type "[]FooTopic"        -> std::vector<foo_topic>, foo_topic declared
                                       inside the message struct (flat: every
                                       struct of a message is a direct member
                                       type of the message); a struct type whose
                                       name equals a field name gets "_struct"
  * int8/16/32/64, uint16/32        -> int8_t ... uint32_t;  float64 -> double
  * string / bytes / records        -> std::string, or std::optional<std::string>
                                       when the field has nullableVersions
                                       (records are always optional: null is the
                                       default); bytes hold raw bytes
  * uuid                            -> kafka::uuid
  * arrays with nullableVersions    -> std::optional<std::vector<T>>
Every struct gets `encode(writer&, version)`, `static decode(reader&, version)`
and operator==; flexible structs also keep unknown tagged fields
(`unknown_tags`) and write them back. Field defaults become member
initializers. Writing a non-default value of a non-ignorable field that the
version lacks is an error, as in Kafka's Java code; ignorable ones are dropped.

The generator uses only the Python standard library.
"""

import argparse
import json
import os
import re
import sys
import textwrap

PRIMITIVES = {
    "int8": ("int8_t", 1),
    "int16": ("int16_t", 2),
    "int32": ("int32_t", 4),
    "int64": ("int64_t", 8),
    "uint16": ("uint16_t", 2),
    "uint32": ("uint32_t", 4),
    "float64": ("double", 8),
    "bool": ("bool", 1),
    "uuid": ("uuid", 16),
}
BLOBS = ("string", "bytes", "records")

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char",
    "class", "concept", "const", "constexpr", "continue", "default", "delete", "do", "double",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "nullptr",
    "operator", "or", "private", "protected", "public", "register", "requires", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "template", "this", "throw",
    "true", "try", "typedef", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "while", "xor",
}
# Members every generated struct has; a schema field may not take these names.
RESERVED_MEMBERS = {"encode", "decode", "unknown_tags"}
# Constants of a message's top-level struct; its own fields may not take these names.
TOP_CONSTANTS = {"api", "schema_name", "min_version", "max_version", "flexible_version"}


class SchemaError(Exception):
    pass


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if s in CPP_KEYWORDS else s


# ---------------------------------------------------------------- versions

class Versions:
    """A closed range of versions; hi None means unbounded; empty when lo is None."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text):
        text = str(text).strip()
        if text == "none":
            return Versions(None, None)
        m = re.fullmatch(r"(\d+)\+", text)
        if m:
            return Versions(int(m.group(1)), None)
        m = re.fullmatch(r"(\d+)-(\d+)", text)
        if m:
            return Versions(int(m.group(1)), int(m.group(2)))
        if re.fullmatch(r"\d+", text):
            return Versions(int(text), int(text))
        raise SchemaError(f"bad version range {text!r}")

    @property
    def empty(self):
        return self.lo is None

    def intersect(self, other):
        if self.empty or other.empty:
            return Versions(None, None)
        lo = max(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        hi = min(his) if his else None
        if hi is not None and lo > hi:
            return Versions(None, None)
        return Versions(lo, hi)

    def contains(self, v):
        return not self.empty and v >= self.lo and (self.hi is None or v <= self.hi)

    def minus_suffix(self, suffix):
        """self without `suffix`, which must be empty, equal, or a suffix of self."""
        if suffix.empty:
            return self
        if suffix.hi != self.hi or suffix.lo < self.lo:
            raise SchemaError("taggedVersions must be a suffix of versions")
        if suffix.lo == self.lo:
            return Versions(None, None)
        return Versions(self.lo, suffix.lo - 1)

    def cond(self, valid):
        """A C++ condition on `version`, simplified within `valid`: 'true', 'false' or an
        expression."""
        r = self.intersect(valid)
        if r.empty:
            return "false"
        parts = []
        if r.lo > valid.lo:
            parts.append(f"version >= {r.lo}")
        if r.hi is not None and (valid.hi is None or r.hi < valid.hi):
            parts.append(f"version <= {r.hi}")
        if not parts:
            return "true"
        if len(parts) == 2 and r.lo == r.hi:
            return f"version == {r.lo}"
        return " && ".join(parts)

    def text(self):
        if self.empty:
            return "none"
        if self.hi is None:
            return f"v{self.lo}+"
        if self.lo == self.hi:
            return f"v{self.lo}"
        return f"v{self.lo}-{self.hi}"


def hull(a, b):
    if a.empty:
        return b
    if b.empty:
        return a
    hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
    return Versions(min(a.lo, b.lo), hi)


def paren(c):
    """`c` ready to be an operand of &&."""
    return f"({c})" if "||" in c else c


def c_and(a, b):
    if a == "false" or b == "false":
        return "false"
    if a == "true":
        return b
    if b == "true":
        return a
    return f"{paren(a)} && {paren(b)}"


def c_not(a):
    if a == "true":
        return "false"
    if a == "false":
        return "true"
    return f"!{a}" if re.fullmatch(r"[\w.]+", a) else f"!({a})"


# ---------------------------------------------------------------- model

class Field:
    def __init__(self, spec, msg, path):
        self.spec = spec
        self.name = spec["name"]
        self.path = path + [self.name]
        self.cpp = snake(self.name)
        if self.cpp in RESERVED_MEMBERS:
            raise SchemaError(f"{msg.name}: field {self.name} collides with a generated member")
        t = spec["type"]
        self.is_array = t.startswith("[]")
        self.elem = t[2:] if self.is_array else t
        self.versions = Versions.parse(spec.get("versions", "none"))
        self.nullable = Versions.parse(spec.get("nullableVersions", "none"))
        self.tagged = Versions.parse(spec.get("taggedVersions", "none"))
        self.tag = spec.get("tag")
        if (self.tag is None) != self.tagged.empty:
            raise SchemaError(f"{msg.name}.{self.name}: tag and taggedVersions go together")
        self.positional = self.versions.minus_suffix(self.tagged)
        self.flex_override = (Versions.parse(spec["flexibleVersions"])
                              if "flexibleVersions" in spec else None)
        self.ignorable = bool(spec.get("ignorable", False))
        self.about = spec.get("about", "")
        self.default = spec.get("default")
        self.struct = None  # set for struct element types
        if not self.nullable.empty:
            if not (self.is_array or self.elem in BLOBS or self.elem == "uuid"):
                raise SchemaError(f"{msg.name}.{self.name}: nullable {t} is not supported")
            if self.elem == "uuid" and not self.is_array:
                raise SchemaError(f"{msg.name}.{self.name}: nullable uuid is not supported")
        if self.is_array and self.elem in BLOBS and self.elem != "string":
            raise SchemaError(f"{msg.name}.{self.name}: arrays of {self.elem} are not supported")

    @property
    def optional(self):
        """The C++ type is std::optional<...>."""
        if self.elem == "records" and not self.is_array:
            return True
        return not self.nullable.empty


class Struct:
    def __init__(self, name, cpp, fields_spec, msg, path, about):
        self.name = name
        self.cpp = cpp
        self.about = about
        self.msg = msg
        self.fields = [Field(f, msg, path) for f in fields_spec]
        self.is_top = False

    @property
    def qualified(self):
        return self.cpp if self.is_top else f"{self.msg.cpp}::{self.cpp}"


class Message:
    def __init__(self, spec, filename):
        self.spec = spec
        self.filename = filename
        self.name = spec["name"]
        self.kind = spec["type"]
        self.cpp = snake(self.name)
        self.api_key = spec.get("apiKey")
        self.valid = Versions.parse(spec["validVersions"])
        if self.valid.empty or self.valid.hi is None:
            raise SchemaError(f"{self.name}: validVersions must be a closed range")
        self.flexible = Versions.parse(spec.get("flexibleVersions", "none"))
        self.structs = []  # nested structs, dependencies first
        by_name = {}

        top = Struct(self.name, self.cpp, spec["fields"], self, [], "")
        top.is_top = True
        for f in top.fields:
            if f.cpp in TOP_CONSTANTS:
                raise SchemaError(f"{self.name}: field {f.name} collides with a generated constant")
        # commonStructs first: fields anywhere may refer to them by name.
        pending = []
        for cs in spec.get("commonStructs", []):
            s = Struct(cs["name"], snake(cs["name"]), cs["fields"], self, [], cs.get("about", ""))
            by_name[cs["name"]] = s
            pending.append(s)

        def define(struct):
            for f in struct.fields:
                if f.elem in PRIMITIVES or f.elem in BLOBS:
                    if "fields" in f.spec:
                        raise SchemaError(f"{self.name}.{f.name}: a {f.elem} has no fields")
                    continue
                if "fields" in f.spec:
                    if f.elem in by_name:
                        raise SchemaError(f"{self.name}: struct {f.elem} is defined twice")
                    s = Struct(f.elem, snake(f.elem), f.spec["fields"], self, f.path, f.about)
                    by_name[f.elem] = s
                    define(s)
                    self.structs.append(s)
                    f.struct = s

        for s in pending:
            define(s)
            self.structs.append(s)
        define(top)

        def resolve(struct):
            for f in struct.fields:
                if f.struct is None and f.elem not in PRIMITIVES and f.elem not in BLOBS:
                    if f.elem not in by_name:
                        raise SchemaError(f"{self.name}.{f.name}: unknown type {f.elem}")
                    f.struct = by_name[f.elem]

        for s in self.structs + [top]:
            resolve(s)
        # Order: a struct after every struct it contains.
        ordered, seen = [], set()

        def visit(s):
            if s.name in seen:
                return
            seen.add(s.name)
            for f in s.fields:
                if f.struct is not None:
                    visit(f.struct)
            ordered.append(s)

        for s in self.structs:
            visit(s)
        self.structs = ordered
        self.top = top
        # The versions each struct can appear in: the hull of its fields' versions
        # within the parent's. Conditions inside a struct simplify against it.
        top.valid = self.valid
        for s in self.structs:
            s.valid = Versions(None, None)
        for parent in [top] + list(reversed(self.structs)):
            for f in parent.fields:
                if f.struct is not None:
                    r = f.versions.intersect(parent.valid)
                    f.struct.valid = hull(f.struct.valid, r)
        for s in self.structs:
            if s.valid.empty:
                s.valid = self.valid

        # A struct type may not share its C++ name with any member of the message.
        members = ({f.cpp for s in self.structs + [top] for f in s.fields} | RESERVED_MEMBERS
                   | TOP_CONSTANTS | {self.cpp})
        taken = set()
        for s in self.structs:
            if s.cpp in members:
                s.cpp += "_struct"
            if s.cpp in taken or s.cpp in members:
                raise SchemaError(f"{self.name}: struct name {s.cpp} collides")
            taken.add(s.cpp)

    def is_flexible_possible(self):
        return not self.flexible.intersect(self.valid).empty


# ---------------------------------------------------------------- C++ pieces

def int_literal(cpp_type, value):
    bits = {"int8_t": 8, "int16_t": 16, "int32_t": 32, "int64_t": 64,
            "uint16_t": 16, "uint32_t": 32}[cpp_type]
    signed = not cpp_type.startswith("u")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise SchemaError(f"default {value} out of range for {cpp_type}")
    if cpp_type == "int64_t" and value == lo:
        return "std::numeric_limits<int64_t>::min()"
    if signed and value == lo:
        return f"({value + 1} - 1)"
    return str(value)


def cpp_string_literal(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gen:
    """Emits one message's declarations and definitions."""

    def __init__(self, msg):
        self.msg = msg
        self.valid = msg.valid
        self.flex_possible = msg.is_flexible_possible()

    # ---- types and defaults

    def elem_type(self, f):
        if f.struct is not None:
            return f.struct.cpp
        if f.elem in PRIMITIVES:
            return PRIMITIVES[f.elem][0]
        return "std::string"

    def cpp_type(self, f):
        e = self.elem_type(f)
        if f.is_array:
            t = f"std::vector<{e}>"
            return f"std::optional<{t}>" if f.optional else t
        if f.optional:
            return f"std::optional<{e}>"
        return e

    def default_kind(self, f):
        """('value', literal) for scalars; 'null'/'empty' for optionals and containers."""
        d = f.default
        if f.is_array:
            if d not in (None, "null"):
                raise SchemaError(f"{self.msg.name}.{f.name}: array default {d!r} unsupported")
            if d == "null":
                if f.nullable.empty:
                    raise SchemaError(
                        f"{self.msg.name}.{f.name}: null default on a non-nullable array")
                return "null"
            return "empty"
        if f.struct is not None:
            if d is not None:
                raise SchemaError(f"{self.msg.name}.{f.name}: struct defaults are not supported")
            return "struct"
        if f.elem in BLOBS:
            if f.elem == "records":
                if d not in (None, "null"):
                    raise SchemaError(f"{self.msg.name}.{f.name}: records default must be null")
                return "null"
            if d == "null":
                if not f.optional:
                    raise SchemaError(
                        f"{self.msg.name}.{f.name}: null default on a non-nullable field")
                return "null"
            if d not in (None, "") and f.elem == "bytes":
                raise SchemaError(f"{self.msg.name}.{f.name}: bytes defaults are not supported")
            return ("value", d or "")
        if f.elem == "uuid":
            if d not in (None, "", "AAAAAAAAAAAAAAAAAAAAAA"):
                raise SchemaError(f"{self.msg.name}.{f.name}: uuid defaults are not supported")
            return "uuid"
        if f.elem == "bool":
            if d in (None, "false", False):
                return ("value", "false")
            if d in ("true", True):
                return ("value", "true")
            raise SchemaError(f"{self.msg.name}.{f.name}: bad bool default {d!r}")
        if f.elem == "float64":
            return ("value", repr(float(d)) if d is not None else "0.0")
        value = int(str(d), 0) if d is not None else 0
        return ("value", int_literal(PRIMITIVES[f.elem][0], value))

    def member_init(self, f):
        k = self.default_kind(f)
        if k == "null":
            return ""
        if k == "empty":
            return "{std::in_place}" if f.optional else ""
        if k in ("struct", "uuid"):
            return ""
        _, v = k
        if f.elem in BLOBS:
            if f.optional:
                return f" = std::string({cpp_string_literal(v)})" if v else " = std::string()"
            return f" = {cpp_string_literal(v)}" if v else ""
        return f" = {v}"

    def differs(self, f, x):
        """A C++ expression: `x` (the field's value) is not the field's default."""
        k = self.default_kind(f)
        if k == "null":
            return f"{x}.has_value()"
        if k == "empty":
            return f"(!{x} || !{x}->empty())" if f.optional else f"!{x}.empty()"
        if k == "struct":
            return f"!({x} == {f.struct.qualified}())"
        if k == "uuid":
            return f"!({x} == uuid())"
        _, v = k
        if f.elem in BLOBS:
            if f.optional:
                return f"(!{x} || *{x} != {cpp_string_literal(v)})"
            return f"!{x}.empty()" if v == "" else f"{x} != {cpp_string_literal(v)}"
        return f"{x} != {v}"

    # ---- encode / decode conditions

    def flexible_cond(self):
        return self.msg.flexible.cond(self.valid)

    def compact_cond(self, f, tagged=False):
        """Whether field `f` uses the compact encoding: in flexible versions,
        unless the field overrides that (RequestHeader.ClientId never is).
        Tagged fields only exist in flexible versions."""
        flex = "true" if tagged else self.flexible_cond()
        base = flex if flex in ("true", "false") else "flexible"
        if f.flex_override is not None:
            return c_and(base, f.flex_override.cond(self.valid))
        return base

    def min_size(self, struct, seen=()):
        """Fewest bytes one element of `struct` takes in any valid version (at least 1)."""
        if struct.name in seen:
            return 1
        best = None
        for v in range(struct.valid.lo, struct.valid.hi + 1):
            n = self.struct_size(struct, v, seen + (struct.name,))
            best = n if best is None else min(best, n)
        return max(best or 0, 1)

    def struct_size(self, struct, v, seen):
        flexible = self.msg.flexible.contains(v)
        n = 1 if flexible else 0
        for f in struct.fields:
            if not f.positional.contains(v):
                continue
            compact = flexible and (f.flex_override is None or f.flex_override.contains(v))
            if f.is_array:
                n += 1 if compact else 4
            elif f.struct is not None:
                n += self.struct_size(f.struct, v, seen) if f.struct.name not in seen else 1
            elif f.elem in PRIMITIVES:
                n += PRIMITIVES[f.elem][1]
            elif f.elem == "string":
                n += 1 if compact else 2
            else:
                n += 1 if compact else 4
        return n

    def elem_min_size(self, f):
        if f.struct is not None:
            return self.min_size(f.struct)
        if f.elem in PRIMITIVES:
            return PRIMITIVES[f.elem][1]
        return 1

    # ---- header

    def declare_struct(self, s, out, indent):
        p = " " * indent
        if s.about:
            for line in wrap_comment(s.about, 96 - indent):
                out.append(f"{p}/// {line}")
        out.append(f"{p}struct {s.cpp} {{")
        if s.is_top:
            m = self.msg
            if m.api_key is not None:
                key = snake(api_name(m))
                out.append(f"{p}    static constexpr kafka::api_key api = kafka::api_key::{key};")
            out.append(f'{p}    static constexpr std::string_view schema_name = "{m.name}";')
            out.append(f"{p}    static constexpr int16_t min_version = {m.valid.lo};")
            out.append(f"{p}    static constexpr int16_t max_version = {m.valid.hi};")
            fv = m.flexible.intersect(m.valid)
            first = fv.lo if not fv.empty else -1
            out.append(f"{p}    /// The first flexible version; -1 if never flexible.")
            out.append(f"{p}    static constexpr int16_t flexible_version = {first};")
            out.append("")
            for ns in self.msg.structs:
                self.declare_struct(ns, out, indent + 4)
                out.append("")
        for f in s.fields:
            notes = [f.versions.text()]
            if not f.nullable.empty:
                notes.append(f"nullable {f.nullable.text()}")
            if f.tag is not None:
                notes.append(f"tag {f.tag}")
            if f.ignorable:
                notes.append("ignorable")
            about = (f.about.strip() + " " if f.about else "") + "(" + ", ".join(notes) + ")"
            for line in wrap_comment(about, 96 - indent - 4):
                out.append(f"{p}    /// {line}")
            out.append(f"{p}    {self.cpp_type(f)} {f.cpp}{self.member_init(f)};")
        if self.flex_possible:
            out.append(f"{p}    /// Tagged fields this codec does not know, re-encoded unchanged.")
            out.append(f"{p}    std::vector<tagged_field> unknown_tags;")
        if s.fields or self.flex_possible:
            out.append("")
        out.append(f"{p}    result<void> encode(writer& w, int16_t version) const;")
        out.append(f"{p}    static result<{s.cpp}> decode(reader& r, int16_t version);")
        out.append(f"{p}    bool operator==(const {s.cpp}&) const;")
        out.append(f"{p}}};")

    # ---- encode

    def encode_value(self, f, x, w, compact, nullable, out, ind):
        """Lines writing value `x` of field `f` to writer `w`."""
        p = " " * ind
        name = f.name
        if f.is_array:
            if f.optional:
                out.append(f"{p}if (!{x}) {{")
                call = f"{w}.write_null_array({compact}, {nullable})"
                out.append(f"{p}    if (auto e = {call}; !e) {{")
                out.append(f'{p}        return in_field(e.error(), "{name}");')
                out.append(f"{p}    }}")
                out.append(f"{p}}} else {{")
                self.encode_array(f, f"(*{x})", w, compact, out, ind + 4)
                out.append(f"{p}}}")
            else:
                self.encode_array(f, x, w, compact, out, ind)
            return
        if f.struct is not None:
            out.append(f"{p}if (auto e = {x}.encode({w}, version); !e) {{")
            out.append(f'{p}    return in_struct(e.error(), "{name}");')
            out.append(f"{p}}}")
            return
        self.encode_scalar(f.elem, f.optional, x, w, compact, nullable, out, ind,
                           f'in_field(e.error(), "{name}")')

    def encode_scalar(self, elem, optional, x, w, compact, nullable, out, ind, wrap):
        p = " " * ind
        if elem in PRIMITIVES:
            out.append(f"{p}{w}.write_{elem}({x});")
            return
        kind = "string" if elem == "string" else "bytes"
        if optional:
            call = f"{w}.write_nullable_{kind}({x}, {compact}, {nullable})"
        else:
            call = f"{w}.write_{kind}({x}, {compact})"
        out.append(f"{p}if (auto e = {call}; !e) {{")
        out.append(f"{p}    return {wrap};")
        out.append(f"{p}}}")

    def encode_array(self, f, x, w, compact, out, ind):
        p = " " * ind
        out.append(f"{p}if (auto e = {w}.write_array_length({x}.size(), {compact}); !e) {{")
        out.append(f'{p}    return in_field(e.error(), "{f.name}");')
        out.append(f"{p}}}")
        out.append(f"{p}for (size_t i = 0; i < {x}.size(); ++i) {{")
        if f.struct is not None:
            out.append(f"{p}    if (auto e = {x}[i].encode({w}, version); !e) {{")
            out.append(f'{p}        return in_struct_element(e.error(), "{f.name}", i);')
            out.append(f"{p}    }}")
        else:
            self.encode_scalar(f.elem, False, f"{x}[i]", w, compact, "false", out, ind + 4,
                               f'in_element(e.error(), "{f.name}", i)')
        out.append(f"{p}}}")

    def encode_body(self, s, out):
        """Body of encode for struct `s`; the struct is `m`."""
        body = []
        for f in s.fields:
            x = f"m.{f.cpp}"
            present = f.versions.cond(self.valid)
            if present != "true" and not f.ignorable:
                absent = c_not(present)
                body.append(f"    if ({absent} && {self.differs(f, x)}) {{")
                body.append(f'        return absent_field("{f.name}", version);')
                body.append("    }")
            pos = f.positional.cond(self.valid)
            if pos == "false":
                continue
            compact = self.compact_cond(f)
            nullable = f.nullable.cond(self.valid)
            if pos == "true":
                self.encode_value(f, x, "w", compact, nullable, body, 4)
            else:
                body.append(f"    if ({pos}) {{")
                self.encode_value(f, x, "w", compact, nullable, body, 8)
                body.append("    }")
        if self.flex_possible:
            tagged = [f for f in s.fields if f.tag is not None]
            flex = self.flexible_cond()
            lines = []
            lines.append("    tagged_fields_writer tags(m.unknown_tags);")
            for f in sorted(tagged, key=lambda f: f.tag):
                x = f"m.{f.cpp}"
                c = c_and(f.tagged.cond(self.valid), self.differs(f, x))
                lines.append(f"    if ({c}) {{")
                lines.append(f"        writer& tw = tags.add({f.tag});")
                compact = self.compact_cond(f, tagged=True)
                self.encode_value(f, x, "tw", compact, f.nullable.cond(self.valid), lines, 8)
                lines.append("    }")
            lines.append("    if (auto e = tags.finish(w); !e) {")
            lines.append('        return in_field(e.error(), "(tagged fields)");')
            lines.append("    }")
            if flex == "true":
                body.extend(lines)
            elif flex == "false":
                body.append("    if (!m.unknown_tags.empty()) {")
                body.append("        return tags_not_flexible(version);")
                body.append("    }")
            else:
                body.append("    if (flexible) {")
                body.extend("    " + l for l in lines)
                body.append("    } else if (!m.unknown_tags.empty()) {")
                body.append("        return tags_not_flexible(version);")
                body.append("    }")
        body.append("    return ok();")
        return body

    # ---- decode

    def decode_value(self, f, target, r, compact, nullable, out, ind, in_block=False):
        """Lines reading field `f` into `target`; `in_block`: already inside braces of its own."""
        p = " " * ind
        name = f.name
        if f.is_array:
            if in_block:
                q = p
            else:
                out.append(f"{p}{{")
                q = p + "    "
            least = self.elem_min_size(f)
            out.append(f"{q}auto n = {r}.read_array_length({compact}, {nullable}, {least});")
            out.append(f"{q}if (!n) {{")
            out.append(f'{q}    return in_field(n.error(), "{name}");')
            out.append(f"{q}}}")
            if f.optional:
                out.append(f"{q}if (*n < 0) {{")
                out.append(f"{q}    {target}.reset();")
                out.append(f"{q}}} else {{")
                out.append(f"{q}    auto& a = {target}.emplace();")
                self.decode_elements(f, "a", r, compact, out, len(q) + 4)
                out.append(f"{q}}}")
            else:
                out.append(f"{q}auto& a = {target};")
                self.decode_elements(f, "a", r, compact, out, len(q))
            if not in_block:
                out.append(f"{p}}}")
            return
        if f.struct is not None:
            out.append(f"{p}if (auto v = {f.struct.qualified}::decode({r}, version); v) {{")
            out.append(f"{p}    {target} = std::move(*v);")
            out.append(f"{p}}} else {{")
            out.append(f'{p}    return in_struct(v.error(), "{name}");')
            out.append(f"{p}}}")
            return
        call = self.read_call(f.elem, f.optional, r, compact, nullable)
        out.append(f"{p}if (auto v = {call}; v) {{")
        out.append(f"{p}    {target} = {'std::move(*v)' if f.elem in BLOBS else '*v'};")
        out.append(f"{p}}} else {{")
        out.append(f'{p}    return in_field(v.error(), "{name}");')
        out.append(f"{p}}}")

    def read_call(self, elem, optional, r, compact, nullable):
        if elem in PRIMITIVES:
            return f"{r}.read_{elem}()"
        kind = "string" if elem == "string" else "bytes"
        if optional:
            return f"{r}.read_nullable_{kind}({compact}, {nullable})"
        return f"{r}.read_{kind}({compact})"

    def decode_elements(self, f, a, r, compact, out, ind):
        p = " " * ind
        out.append(f"{p}{a}.reserve(reserve_hint(*n));")
        out.append(f"{p}for (int32_t i = 0; i < *n; ++i) {{")
        if f.struct is not None:
            out.append(f"{p}    auto e = {f.struct.qualified}::decode({r}, version);")
            out.append(f"{p}    if (!e) {{")
            out.append(f'{p}        return in_struct_element(e.error(), "{f.name}", '
                       'static_cast<size_t>(i));')
        else:
            out.append(f"{p}    auto e = {self.read_call(f.elem, False, r, compact, 'false')};")
            out.append(f"{p}    if (!e) {{")
            out.append(f'{p}        return in_element(e.error(), "{f.name}", '
                       'static_cast<size_t>(i));')
        out.append(f"{p}    }}")
        out.append(f"{p}    {a}.push_back(std::move(*e));")
        out.append(f"{p}}}")

    def decode_body(self, s, out_type):
        body = [f"    {out_type} m;"]
        for f in s.fields:
            pos = f.positional.cond(self.valid)
            if pos == "false":
                continue
            compact = self.compact_cond(f)
            nullable = f.nullable.cond(self.valid)
            if pos == "true":
                self.decode_value(f, f"m.{f.cpp}", "r", compact, nullable, body, 4)
            else:
                body.append(f"    if ({pos}) {{")
                self.decode_value(f, f"m.{f.cpp}", "r", compact, nullable, body, 8, in_block=True)
                body.append("    }")
        if self.flex_possible:
            tagged = sorted((f for f in s.fields if f.tag is not None), key=lambda f: f.tag)
            flex = self.flexible_cond()
            lines = []
            lines.append("    auto count = r.read_unsigned_varint();")
            lines.append("    if (!count) {")
            lines.append('        return in_field(count.error(), "(tagged fields)");')
            lines.append("    }")
            if tagged:
                lines.append("    uint64_t seen = 0;")
            lines.append("    for (uint32_t t = 0; t < *count; ++t) {")
            lines.append("        auto field = r.read_tagged_field();")
            lines.append("        if (!field) {")
            lines.append('            return in_field(field.error(), "(tagged fields)");')
            lines.append("        }")
            first = True
            for i, f in enumerate(tagged):
                c = c_and(f"field->tag == {f.tag}", f.tagged.cond(self.valid))
                lines.append(f"        {'if' if first else '} else if'} ({c}) {{")
                first = False
                lines.append(f"            if ((seen & (uint64_t{{1}} << {i})) != 0) {{")
                lines.append("                return error_info(errc::invalid_value,")
                lines.append(f'                                  "(tagged fields): tag {f.tag} '
                             'appears twice");')
                lines.append("            }")
                lines.append(f"            seen |= uint64_t{{1}} << {i};")
                lines.append("            reader tr(field->data);")
                compact = self.compact_cond(f, tagged=True)
                nullable = f.nullable.cond(self.valid)
                self.decode_value(f, f"m.{f.cpp}", "tr", compact, nullable, lines, 12,
                                  in_block=True)
                lines.append("            if (auto e = tr.expect_end(); !e) {")
                lines.append(f'                return in_field(e.error(), "{f.name}");')
                lines.append("            }")
            if tagged:
                lines.append("        } else {")
                lines.append("            m.unknown_tags.push_back("
                             "{field->tag, std::string(field->data)});")
                lines.append("        }")
            else:
                lines.append("        m.unknown_tags.push_back("
                             "{field->tag, std::string(field->data)});")
            lines.append("    }")
            lines.append("    if (m.unknown_tags.size() > 1) {")
            lines.append("        sort_by_tag(m.unknown_tags);")
            lines.append("    }")
            if flex == "true":
                body.extend(lines)
            elif flex != "false":
                body.append("    if (flexible) {")
                body.extend("    " + l for l in lines)
                body.append("    }")
        body.append("    return m;")
        return body

    # ---- definitions

    def preamble(self, body):
        """Declares `flexible` when the body uses it."""
        text = "\n".join(body)
        pre = []
        if re.search(r"\bflexible\b", text):
            pre.append(f"    const bool flexible = {self.flexible_cond()};")
        return pre

    @staticmethod
    def param(lines, name):
        """`name`, or `/*name*/` when the body does not use it (-Wunused-parameter)."""
        return name if re.search(rf"\b{name}\b", "\n".join(lines)) else f"/*{name}*/"

    def define_struct(self, s, out):
        self.valid = s.valid
        try:
            self.define_struct_in(s, out)
        finally:
            self.valid = self.msg.valid

    def define_struct_in(self, s, out):
        q = s.qualified
        m = self.msg
        enc = self.encode_body(s, out)
        enc = self.preamble(enc) + enc
        dec = self.decode_body(s, q)
        dec = self.preamble(dec) + dec
        if s.is_top:
            out.append("namespace {")
            out.append("")
            vp = self.param(enc, "version")
            wp = self.param(enc, "w")
            out.append(f"result<void> encode_{q}(const {q}& m, writer& {wp}, int16_t {vp}) {{")
            out.extend(enc)
            out.append("}")
            out.append("")
            vp = self.param(dec, "version")
            out.append(f"result<{q}> decode_{q}(reader& {self.param(dec, 'r')}, int16_t {vp}) {{")
            out.extend(dec)
            out.append("}")
            out.append("")
            out.append("}  // namespace")
            out.append("")
            out.append(f"result<void> {q}::encode(writer& w, int16_t version) const {{")
            out.append("    if (version < min_version || version > max_version) {")
            out.append(f'        return no_such_version("{m.name}", version);')
            out.append("    }")
            out.append(f"    if (auto e = encode_{q}(*this, w, version); !e) {{")
            out.append(f'        return in_message(e.error(), "{m.name}", version);')
            out.append("    }")
            out.append("    return ok();")
            out.append("}")
            out.append("")
            out.append(f"result<{q}> {q}::decode(reader& r, int16_t version) {{")
            out.append("    if (version < min_version || version > max_version) {")
            out.append(f'        return no_such_version("{m.name}", version);')
            out.append("    }")
            out.append(f"    auto m = decode_{q}(r, version);")
            out.append("    if (!m) {")
            out.append(f'        return in_message(m.error(), "{m.name}", version);')
            out.append("    }")
            out.append("    return m;")
            out.append("}")
        else:
            vp = self.param(enc, "version")
            wp = self.param(enc, "w")
            out.append(f"result<void> {q}::encode(writer& {wp}, int16_t {vp}) const {{")
            if re.search(r"\bm\.", "\n".join(enc)):
                out.append("    const auto& m = *this;")
            out.extend(enc)
            out.append("}")
            out.append("")
            vp = self.param(dec, "version")
            out.append(f"result<{q}>")
            out.append(f"{q}::decode(reader& {self.param(dec, 'r')}, int16_t {vp}) {{")
            out.extend(dec)
            out.append("}")
        out.append("")
        out.append(f"bool {q}::operator==(const {s.cpp}&) const = default;")
        out.append("")

    def definitions(self):
        out = []
        for s in self.msg.structs:
            self.define_struct(s, out)
        self.define_struct(self.msg.top, out)
        return out

    def declarations(self):
        out = []
        for line in wrap_comment(self.top_doc(), 96):
            out.append(f"/// {line}")
        self.declare_struct(self.msg.top, out, 0)
        return out

    def top_doc(self):
        m = self.msg
        fv = m.flexible.intersect(m.valid)
        flex = f"flexible from v{fv.lo}" if not fv.empty else "never flexible"
        key = f"api key {m.api_key}, " if m.api_key is not None else ""
        return f"{m.name} ({key}versions {m.valid.lo}-{m.valid.hi}, {flex}), from {m.filename}."


def wrap_comment(text, width):
    text = " ".join(text.split())
    return textwrap.wrap(text, max(width - 4, 40)) or [""]


# ---------------------------------------------------------------- files

HEADER_NOTE = "// Generated from {src}\n// by common/kafka/gen/kafka_codegen.py. Do not edit."


def strip_comments(text):
    return "".join(l for l in text.splitlines(keepends=True) if not l.lstrip().startswith("//"))


def load(path):
    with open(path, encoding="utf-8") as fh:
        spec = json.loads(strip_comments(fh.read()))
    return Message(spec, os.path.basename(path))


def write(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "\n".join(lines).rstrip("\n") + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def api_name(msg):
    return msg.name[: -len(msg.kind)] if msg.kind in ("request", "response") else msg.name


def emit_pair(out_dir, stem, messages, include_api_keys):
    srcs = ", ".join(m.filename for m in messages)
    rel_h = f"common/kafka/messages/{stem}.h"
    gens = [Gen(m) for m in messages]
    h = ["#pragma once", f"// File: {rel_h}", "//", HEADER_NOTE.format(src=srcs), "",
         "#include <cstdint>", "#include <optional>", "#include <string>",
         "#include <string_view>", "#include <vector>", ""]
    if include_api_keys:
        h.append('#include "common/kafka/api_keys.h"')
    h += ['#include "common/kafka/wire.h"', '#include "common/result.h"', "",
          "namespace fjord::kafka {", ""]
    for g in gens:
        h.extend(g.declarations())
        h.append("")
    h.append("}  // namespace fjord::kafka")
    write(os.path.join(out_dir, rel_h), h)

    c = [f"// File: common/kafka/messages/{stem}.cc", "//", HEADER_NOTE.format(src=srcs), "",
         f'#include "{rel_h}"', "", "#include <limits>", "#include <utility>", "",
         "namespace fjord::kafka {", ""]
    for g in gens:
        c.extend(g.definitions())
    c.append("}  // namespace fjord::kafka")
    write(os.path.join(out_dir, f"common/kafka/messages/{stem}.cc"), c)


def emit_api_keys(out_dir, apis):
    """apis: list of (key, name, min, max, flexible_from) sorted by key."""
    h = ["#pragma once", "// File: common/kafka/api_keys.h", "//",
         HEADER_NOTE.format(src="the *Request.json schemas"), "//",
         "// The APIs this codec knows: key, name, version range, first flexible version,",
         "// and which request/response header version goes with a request version.", "",
         "#include <cstdint>", "#include <span>", "#include <string_view>", "",
         "namespace fjord::kafka {", "",
         "enum class api_key : int16_t {"]
    for key, name, lo, hi, flex in apis:
        h.append(f"    {snake(name)} = {key},")
    h += ["};", "",
          "struct api_info {",
          "    int16_t key = 0;",
          "    std::string_view name;",
          "    int16_t min_version = 0;",
          "    int16_t max_version = 0;",
          "    /// The first flexible request version; -1 if never flexible.",
          "    int16_t flexible_version = -1;",
          "",
          "    bool supports(int16_t version) const {",
          "        return version >= min_version && version <= max_version;",
          "    }",
          "    bool is_flexible(int16_t version) const {",
          "        return flexible_version >= 0 && version >= flexible_version;",
          "    }",
          "};", "",
          "/// Every API the codec generates, by ascending key.",
          "std::span<const api_info> known_apis();",
          "/// The API with this key, or nullptr.",
          "const api_info* find_api(int16_t key);",
          "/// 2 for a flexible request version (also above max_version: a newer client's",
          "/// flexible request), else 1. Header v0 (ControlledShutdown v0) is not generated.",
          "int16_t request_header_version(const api_info& api, int16_t version);",
          "/// 1 for a flexible version, else 0; ApiVersions responses always use 0 (KIP-511).",
          "int16_t response_header_version(const api_info& api, int16_t version);", "",
          "}  // namespace fjord::kafka"]
    write(os.path.join(out_dir, "common/kafka/api_keys.h"), h)
    c = ["// File: common/kafka/api_keys.cc", "//",
         HEADER_NOTE.format(src="the *Request.json schemas"), "",
         '#include "common/kafka/api_keys.h"', "", "#include <array>", "",
         "namespace fjord::kafka {", "", "namespace {", "",
         f"constexpr std::array<api_info, {len(apis)}> apis{{{{"]
    for key, name, lo, hi, flex in apis:
        c.append(f'    {{{key}, "{name}", {lo}, {hi}, {flex}}},')
    c += ["}};", "", "}  // namespace", "",
          "std::span<const api_info> known_apis() {", "    return apis;", "}", "",
          "const api_info* find_api(int16_t key) {",
          "    for (const auto& a : apis) {",
          "        if (a.key == key) {",
          "            return &a;",
          "        }",
          "    }",
          "    return nullptr;",
          "}", "",
          "int16_t request_header_version(const api_info& api, int16_t version) {",
          "    return api.is_flexible(version) ? 2 : 1;",
          "}", "",
          "int16_t response_header_version(const api_info& api, int16_t version) {"]
    if any(key == 18 for key, *_ in apis):
        c += ["    // KIP-511: a client must be able to read the ApiVersions response whatever",
              "    // version it sent, so its header never carries tagged fields.",
              "    if (api.key == static_cast<int16_t>(api_key::api_versions)) {",
              "        return 0;",
              "    }"]
    c += ["    return api.is_flexible(version) ? 1 : 0;",
          "}", "",
          "}  // namespace fjord::kafka"]
    write(os.path.join(out_dir, "common/kafka/api_keys.cc"), c)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="root of the generated tree")
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args(argv)
    try:
        msgs = [load(p) for p in args.schemas]
        headers = [m for m in msgs if m.kind == "header"]
        apis = {}
        for m in msgs:
            if m.kind in ("request", "response"):
                apis.setdefault(api_name(m), {})[m.kind] = m
        table = []
        for name, pair in sorted(apis.items()):
            if set(pair) != {"request", "response"}:
                raise SchemaError(f"{name}: needs both a request and a response schema")
            req, resp = pair["request"], pair["response"]
            if (req.api_key, req.valid.lo, req.valid.hi) != (resp.api_key, resp.valid.lo,
                                                             resp.valid.hi):
                raise SchemaError(f"{name}: request and response disagree on key or versions")
            emit_pair(args.out, snake(name), [req, resp], True)
            fv = req.flexible.intersect(req.valid)
            first = fv.lo if not fv.empty else -1
            table.append((req.api_key, name, req.valid.lo, req.valid.hi, first))
        if headers:
            order = {"RequestHeader": 0, "ResponseHeader": 1}
            headers.sort(key=lambda m: order.get(m.name, 2))
            emit_pair(args.out, "headers", headers, False)
        table.sort()
        emit_api_keys(args.out, table)
    except (SchemaError, KeyError, ValueError) as e:
        print(f"kafka_codegen: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
