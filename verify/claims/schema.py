"""Claim files: TOML data, schema "verify-claim/1", validated before anything runs.

A claim file states one claim against MATH.md and how it is checked. Top-level keys:

    schema           "verify-claim/1" (required; the version of this format)
    id               unique slug, [a-z0-9-]+ (required); names the report files
    title            one line (required)
    statement        the claim in words (required)
    formalization    the MATH.md section it refers to, e.g. "MATH.md section 2" (required)
    kind             which checker runs it (required; `verify.claims.kinds.KINDS` lists them)
    profile          "quick" (part of `verify run` and `verify check`) or "full" (only with
                     `verify run --profile full`); default "quick"
    expected_status  verified | refuted | inconclusive | open (what the claim file asserts;
                     `verify check` fails when the run disagrees; "open" accepts any status but error)
    [method]         description (required): how the claim is checked, in words
    [parameters]     the kind's parameters (validated against the kind's own table)
    [tolerance]      numbers the verdict uses, and `source` (required): where they come from
    [[tracked]]      figures `verify check` watches: figure = name, and min and/or max

Claim files are data: values are read by `tomllib` and checked for type; no string in a claim file
is ever evaluated as code or as a sympy expression.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from verify.errors import InputError
from verify.io import sha256_bytes

SCHEMA = "verify-claim/1"
PROFILES = ("quick", "full")
EXPECTED = ("verified", "refuted", "inconclusive", "open")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
_TOP = {"schema", "id", "title", "statement", "formalization", "kind", "profile", "expected_status",
        "method", "parameters", "tolerance", "tracked"}


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its type, and a default (None = required)."""

    type: str  # "int", "float", "num" (float or decimal string), "str", "bool", "table", "list[<type>]"
    default: object = None
    doc: str = ""
    choices: tuple = ()
    fields: dict | None = None  # for "table": the table's own parameters (name -> Param)

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str
    formalization: str
    kind: str
    profile: str
    expected_status: str
    method: dict
    parameters: dict
    tolerance: dict
    tracked: tuple = ()
    path: str = ""
    text: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)


def _check_table(where: str, value, fields: dict) -> dict:
    """A TOML table checked field by field against its own parameter table (defaults filled in)."""
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a table")
    unknown = set(value) - set(fields)
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(fields)})")
    out = {}
    for name, p in fields.items():
        if name in value:
            out[name] = _check_value(f"{where}.{name}", value[name], p.type, p.choices, p.fields)
        elif p.required:
            raise InputError(f"{where}: missing key {name!r}")
        else:
            out[name] = p.default
    return out


def _check_value(where: str, value, typ: str, choices=(), fields=None):
    if typ.startswith("list[") and typ.endswith("]"):
        if not isinstance(value, list) or not value:
            raise InputError(f"{where} must be a non-empty list")
        return [_check_value(f"{where}[{i}]", v, typ[5:-1], choices, fields) for i, v in enumerate(value)]
    if typ == "table":
        return _check_table(where, value, fields or {})
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "num": lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
    }[typ]
    if not ok(value):
        raise InputError(f"{where} must be of type {typ}, got {value!r}")
    if typ in ("float", "num"):
        try:
            f = Fraction(value.strip()) if isinstance(value, str) else Fraction(value)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise InputError(f"{where} must be a finite number, got {value!r}") from None
        if typ == "float":
            value = float(value)
        del f
    if choices and value not in choices:
        raise InputError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def _require(doc: dict, key: str, typ, where: str):
    if key not in doc:
        raise InputError(f"{where}: missing required key {key!r}")
    if not isinstance(doc[key], typ):
        raise InputError(f"{where}: key {key!r} has the wrong type")
    return doc[key]


def load_claim(path: str | Path) -> Claim:
    """Read and validate one claim file; InputError (one line, naming the file) if it is invalid."""
    from verify.claims.kinds import KINDS

    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{where}: cannot read claim file ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
        doc = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{where}: not valid TOML ({str(e).splitlines()[0]})") from None
    unknown = set(doc) - _TOP
    if unknown:
        raise InputError(f"{where}: unknown top-level key {sorted(unknown)[0]!r}")
    if doc.get("schema") != SCHEMA:
        raise InputError(f"{where}: schema must be {SCHEMA!r}, got {doc.get('schema')!r}")
    cid = _require(doc, "id", str, where)
    if not _ID.match(cid):
        raise InputError(f"{where}: id {cid!r} must match [a-z0-9][a-z0-9-]+")
    for key in ("title", "statement", "formalization", "kind"):
        _require(doc, key, str, where)
    kind = doc["kind"]
    if kind not in KINDS:
        raise InputError(f"{where}: unknown kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    profile = doc.get("profile", "quick")
    if profile not in PROFILES:
        raise InputError(f"{where}: profile must be one of {', '.join(PROFILES)}")
    expected = _require(doc, "expected_status", str, where)
    if expected not in EXPECTED:
        raise InputError(f"{where}: expected_status must be one of {', '.join(EXPECTED)}")
    method = _require(doc, "method", dict, where)
    _require(method, "description", str, f"{where} [method]")
    tolerance = _require(doc, "tolerance", dict, where)
    _require(tolerance, "source", str, f"{where} [tolerance]")
    for key, value in tolerance.items():
        if key != "source":
            _check_value(f"{where} [tolerance].{key}", value, "float")
    spec = KINDS[kind].params
    params_in = doc.get("parameters", {})
    if not isinstance(params_in, dict):
        raise InputError(f"{where}: [parameters] must be a table")
    unknown = set(params_in) - set(spec)
    if unknown:
        raise InputError(f"{where}: unknown parameter {sorted(unknown)[0]!r} for kind {kind!r}")
    params = {}
    for name, p in spec.items():
        if name in params_in:
            params[name] = _check_value(f"{where} [parameters].{name}", params_in[name], p.type, p.choices, p.fields)
        elif p.required:
            raise InputError(f"{where}: missing parameter {name!r} for kind {kind!r}")
        else:
            params[name] = p.default
    for key in KINDS[kind].tolerances:
        if key not in tolerance:
            raise InputError(f"{where}: [tolerance] needs {key!r} for kind {kind!r}")
    tracked = doc.get("tracked", [])
    if not isinstance(tracked, list):
        raise InputError(f"{where}: [[tracked]] must be an array of tables")
    for i, t in enumerate(tracked):
        w = f"{where} [[tracked]][{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("figure"), str):
            raise InputError(f"{w}: needs figure = \"name\"")
        if set(t) - {"figure", "min", "max"} or not ({"min", "max"} & set(t)):
            raise InputError(f"{w}: only figure, min and max are allowed, and one of min/max is needed")
        for b in ("min", "max"):
            if b in t:
                _check_value(f"{w}.{b}", t[b], "float")
        if t["figure"] not in KINDS[kind].figures:
            raise InputError(f"{w}: kind {kind!r} reports no figure {t['figure']!r} (it has {', '.join(KINDS[kind].figures)})")
    return Claim(
        id=cid, title=doc["title"], statement=doc["statement"], formalization=doc["formalization"], kind=kind,
        profile=profile, expected_status=expected, method=method, parameters=params, tolerance=tolerance,
        tracked=tuple(tracked), path=str(path), text=text, sha256=sha256_bytes(raw),
    )


def discover(paths: list[str] | None, default_dir: str = "conjectures") -> list[Path]:
    """Claim files named by `paths` (files or folders), or every *.toml in `default_dir`."""
    targets = [Path(p) for p in paths] if paths else [Path(default_dir)]
    out: list[Path] = []
    for t in targets:
        if t.is_dir():
            out.extend(sorted(t.glob("*.toml")))
        elif t.is_file():
            out.append(t)
        else:
            hint = " (run from the repository root or pass claim files)" if not paths else ""
            raise InputError(f"no such claim file or folder: {t}{hint}")
    if not out:
        raise InputError(f"no claim files (*.toml) found in {', '.join(map(str, targets))}")
    return out


def load_all(paths: list[str] | None, default_dir: str = "conjectures") -> list[Claim]:
    claims = [load_claim(p) for p in discover(paths, default_dir)]
    seen: dict[str, str] = {}
    for c in claims:
        if c.id in seen:
            raise InputError(f"{c.path}: duplicate claim id {c.id!r} (also in {seen[c.id]})")
        seen[c.id] = c.path
    return claims
