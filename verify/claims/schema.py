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
    [profile.full]   instead of a profile string: the file defines its quick claim and a full one,
                     id + "-full", whose changes (parameters, tracked bands, title, ...) this table
                     holds (`load_claims`)
    expected_status  verified | refuted | inconclusive | open (what the claim file asserts;
                     `verify check` fails when the run disagrees; "open" accepts any status but error)
    [method]         description (required): how the claim is checked, in words
    [parameters]     the kind's parameters (validated against the kind's own table)
    [tolerance]      numbers the verdict uses, and `source` (required): where they come from
    [[tracked]]      figures `verify check` watches: figure = name, and min and/or max
    [prediction]     for the generic kinds (`optimum`, `rate`, `value`): what the claim predicts,
                     validated against the kind's prediction table; a prediction the suite cannot
                     decide is refused at load with the reason (required for those kinds, refused
                     for the others)

Claim files are data: values are read by `tomllib` and checked for type; no string in a claim file
is ever evaluated as code or as a sympy expression.
"""

from __future__ import annotations

import math
import errno
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

from verify.errors import InputError
from verify.io import read_regular, sha256_bytes
from verify.numbers.decimal import exact_decimal

SCHEMA = "verify-claim/1"
PROFILES = ("quick", "full")
EXPECTED = ("verified", "refuted", "inconclusive", "open")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,79}")
# Ids that would collide with a report folder's own files (index.md, .lock, .partial, .staging,
# .cache); ids starting with "." are refused by _ID.
RESERVED_IDS = frozenset({"index", "lock", "partial", "staging", "cache"})
MAX_CLAIM_BYTES = 1 << 20  # a claim file is a page of TOML; anything larger is refused unread
_TOP = {"schema", "id", "title", "statement", "formalization", "kind", "profile", "expected_status",
        "method", "parameters", "tolerance", "tracked", "prediction"}
_FULL_OVERRIDES = {"title", "statement", "expected_status", "method", "parameters", "tolerance", "tracked",
                   "prediction"}


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its type, a default (None = required) and the values it accepts.

    Numbers ("int", "float", "num", and the elements of their lists) must lie in [lo, hi]; lo_open /
    hi_open make an end exclusive (None: no bound on that side). "float" and "num" values must be
    finite, and a decimal string ("num") is read with `verify.numbers.decimal.parse_decimal` (bounded
    digits and exponent). `check`: an optional callable(value) -> None raising InputError for a value
    the type and range cannot express (e.g. an activation name); it gets each element of a list.
    """

    type: str  # "int", "float", "num" (float or decimal string), "str", "bool", "table", "list[<type>]"
    default: object = None
    doc: str = ""
    choices: tuple = ()
    fields: dict | None = None  # for "table": the table's own parameters (name -> Param)
    lo: float | int | None = None
    hi: float | int | None = None
    lo_open: bool = False
    hi_open: bool = False
    check: Callable | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def range_text(self) -> str:
        if self.lo is None and self.hi is None:
            return ""
        lo = "-inf" if self.lo is None else f"{self.lo:g}" if isinstance(self.lo, float) else str(self.lo)
        hi = "inf" if self.hi is None else f"{self.hi:g}" if isinstance(self.hi, float) else str(self.hi)
        return f"{'(' if self.lo_open or self.lo is None else '['}{lo}, {hi}{')' if self.hi_open or self.hi is None else ']'}"


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
    prediction: dict = field(default_factory=dict)
    path: str = ""
    text: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)


def check_table(where: str, value, fields: dict, *, what: str = "key") -> dict:
    """A TOML table checked entry by entry against its parameter table (defaults filled in).

    The one validation routine of claim parameters: [parameters] itself (what = "parameter") and every
    nested table (a rate kind's config, an activation entry). InputError (one line) names the entry."""
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a table")
    unknown = set(value) - set(fields)
    if unknown:
        raise InputError(f"{where}: unknown {what} {sorted(unknown)[0]!r} (known: {', '.join(fields) or 'none'})")
    out = {}
    for name, p in fields.items():
        if name in value:
            out[name] = check_value(f"{where}.{name}", value[name], p)
        elif p.required:
            raise InputError(f"{where}: missing {what} {name!r}")
        else:
            out[name] = p.default
    return out


_TYPE_OK = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "num": lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
}


def check_value(where: str, value, p: Param, typ: str | None = None):
    """One value against its Param: type, finiteness, range, choices and the Param's own check."""
    typ = p.type if typ is None else typ
    if typ.startswith("list[") and typ.endswith("]"):
        if not isinstance(value, list) or not value:
            raise InputError(f"{where} must be a non-empty list")
        return [check_value(f"{where}[{i}]", v, p, typ[5:-1]) for i, v in enumerate(value)]
    if typ == "table":
        return check_table(where, value, p.fields or {})
    if typ not in _TYPE_OK:
        raise AssertionError(f"bad Param type {typ!r}")
    if not _TYPE_OK[typ](value):
        raise InputError(f"{where} must be of type {typ}, got {value!r:.60}")
    if typ in ("int", "float", "num"):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where} must be a finite number, got {value!r}")
        x = exact_decimal(value, where)  # decimal strings: bounded digits and exponent (never Fraction(str))
        if typ == "float":
            value = float(value)
        _check_range(where, value, x, p)
    if p.choices and value not in p.choices:
        raise InputError(f"{where} must be one of {', '.join(map(str, p.choices))}, got {value!r:.60}")
    if p.check is not None:
        try:
            p.check(value)
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
    return value


def _check_range(where: str, value, x: Fraction, p: Param) -> None:
    bad = ((p.lo is not None and (x < Fraction(p.lo) or (p.lo_open and x == Fraction(p.lo))))
           or (p.hi is not None and (x > Fraction(p.hi) or (p.hi_open and x == Fraction(p.hi)))))
    if bad:
        raise InputError(f"{where} = {value!r:.40} is outside its range {p.range_text()}")


def _require(doc: dict, key: str, typ, where: str):
    if key not in doc:
        raise InputError(f"{where}: missing required key {key!r}")
    if not isinstance(doc[key], typ):
        raise InputError(f"{where}: key {key!r} has the wrong type")
    return doc[key]


_FLOAT = Param("float")


def check_id(cid, where: str) -> None:
    """InputError unless `cid` is a claim id: a slug [a-z0-9][a-z0-9-]{1,79} matched in full (an id
    ending in a newline is refused) and not one of RESERVED_IDS."""
    if not isinstance(cid, str) or not _ID.fullmatch(cid):
        raise InputError(f"{where}: claim id {cid!r:.90} must match [a-z0-9][a-z0-9-]+ (2 to 80 characters)")
    if cid in RESERVED_IDS:
        raise InputError(f"{where}: claim id {cid!r} is reserved (it would collide with the report folder's own "
                         "files); choose another id")


def read_claim_bytes(path: Path, limit: int = MAX_CLAIM_BYTES) -> bytes:
    """The bytes of a claim file: a regular file (after symlinks) of at most `limit` bytes.

    A FIFO, a device (/dev/zero), a socket or a folder is refused (`verify.io.read_regular` opens
    non-blocking and checks the opened file, so a FIFO never blocks); the read stops past `limit`
    bytes, so a file that grows is refused too."""
    where = str(path)
    try:
        return read_regular(path, limit, follow=True)
    except OSError as e:
        if e.errno in (errno.EISDIR, errno.EINVAL):
            raise InputError(f"{where}: not a regular file (a claim file must be a plain TOML file)") from None
        if e.errno == errno.EFBIG:
            raise InputError(f"{where}: claim file larger than {limit} bytes") from None
        raise InputError(f"{where}: cannot read claim file ({e.strerror or e})") from None


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate one claim file: its claim, or two when the file has a `[profile.full]`
    table (the quick claim, then the full one); InputError (one line, naming the file) if invalid.

    Everything a run needs is checked here, before any work: types, ranges, the kind's cross-parameter
    rules (`Kind.check`), an empty grid; a claim that loads does not fail later for its parameters.

    `[profile.full]` holds what the full claim changes: any of title, statement, expected_status,
    method and tolerance (merged key by key), parameters (merged key by key: a value given there
    replaces the quick one), and tracked (replaces the quick claim's list). The full claim's id is
    the quick id + "-full"; both claims record the same file text and SHA-256."""
    path = Path(path)
    where = str(path)
    raw = read_claim_bytes(path)
    try:
        text = raw.decode("utf-8")
        doc = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{where}: not valid TOML ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise InputError(f"{where}: claim file nested too deeply") from None
    profile = doc.get("profile", "quick")
    if not isinstance(profile, dict):
        return [_build_claim(doc, path, text, raw)]
    if set(profile) != {"full"} or not isinstance(profile["full"], dict):
        raise InputError(f"{where}: [profile] may only hold the table [profile.full] (or write profile = \"quick\" / \"full\")")
    over = profile["full"]
    bad = set(over) - _FULL_OVERRIDES
    if bad:
        raise InputError(f"{where}: [profile.full] cannot change {sorted(bad)[0]!r:.40}; it may change "
                         f"{', '.join(sorted(_FULL_OVERRIDES))}")
    quick = _build_claim(dict(doc, profile="quick"), path, text, raw)
    full_doc = dict(doc, profile="full", id=f"{doc.get('id')}-full")
    for key, value in over.items():
        if key in ("parameters", "method", "tolerance", "prediction"):
            if not isinstance(value, dict):
                raise InputError(f"{where}: [profile.full.{key}] must be a table")
            full_doc[key] = {**doc.get(key, {}), **value}
        else:
            full_doc[key] = value
    return [quick, _build_claim(full_doc, path, text, raw, where=f"{where} [profile.full]")]


def load_claim(path: str | Path) -> Claim:
    """The claim of a claim file (its quick claim when the file also defines a full one)."""
    return load_claims(path)[0]


def _build_claim(doc: dict, path: Path, text: str, raw: bytes, where: str | None = None) -> Claim:
    from verify.claims.kinds import KINDS

    where = where or str(path)
    unknown = set(doc) - _TOP
    if unknown:
        raise InputError(f"{where}: unknown top-level key {sorted(unknown)[0]!r:.60}")
    if doc.get("schema") != SCHEMA:
        raise InputError(f"{where}: schema must be {SCHEMA!r}, got {doc.get('schema')!r:.60}")
    cid = _require(doc, "id", str, where)
    check_id(cid, where)
    for key in ("title", "statement", "formalization", "kind"):
        _require(doc, key, str, where)
    kind = doc["kind"]
    if kind not in KINDS:
        raise InputError(f"{where}: unknown kind {kind!r:.60}; known: {', '.join(sorted(KINDS))}")
    if KINDS[kind].prediction is None and "prediction" in doc:
        raise InputError(f"{where}: kind {kind!r} takes no [prediction] (its prediction is fixed; "
                         f"the generic kinds optimum, rate and value take one)")
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
            check_value(f"{where} [tolerance].{key}", value, _FLOAT)
    spec = KINDS[kind].params
    params_in = doc.get("parameters", {})
    if not isinstance(params_in, dict):
        raise InputError(f"{where}: [parameters] must be a table")
    try:
        params = check_table(f"{where} [parameters]", params_in, spec, what="parameter")
    except InputError as e:
        raise InputError(f"{e} (kind {kind!r})") from None
    if KINDS[kind].check is not None:
        try:
            KINDS[kind].check(params)
        except InputError as e:
            raise InputError(f"{where} [parameters]: {e}") from None
    prediction = _check_prediction(doc, KINDS[kind], params, where)
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
                check_value(f"{w}.{b}", t[b], _FLOAT)
        if t["figure"] not in KINDS[kind].figures:
            raise InputError(f"{w}: kind {kind!r} reports no figure {t['figure']!r:.60} (it has {', '.join(KINDS[kind].figures)})")
    return Claim(
        id=cid, title=doc["title"], statement=doc["statement"], formalization=doc["formalization"], kind=kind,
        profile=profile, expected_status=expected, method=method, parameters=params, tolerance=tolerance,
        tracked=tuple(tracked), prediction=prediction, path=str(path), text=text, sha256=sha256_bytes(raw),
    )


def _check_prediction(doc: dict, kind, params: dict, where: str) -> dict:
    """The [prediction] table, checked against the kind's own table and then its cross-rules
    (`Kind.check_prediction`: InputError with the reason when the suite cannot decide it)."""
    raw = doc.get("prediction")
    if kind.prediction is None:  # a [prediction] there was refused earlier
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"{where}: kind {kind.name!r} needs a [prediction] table")
    pred = check_table(f"{where} [prediction]", raw, kind.prediction, what="prediction field")
    if kind.check_prediction is not None:
        try:
            kind.check_prediction(params, pred)
        except InputError as e:
            raise InputError(f"{where} [prediction]: {e}") from None
    return pred


def discover(paths: list[str] | None, default_dir: str = "conjectures") -> list[Path]:
    """Claim files named by `paths` (files or folders), or every *.toml in `default_dir`."""
    targets = [Path(p) for p in paths] if paths else [Path(default_dir)]
    out: list[Path] = []
    for t in targets:
        if t.is_dir():
            out.extend(sorted(t.glob("*.toml")))  # a FIFO or device among them is refused by load_claim
        elif t.exists() or t.is_symlink():
            out.append(t)  # load_claim reads regular files only (and says so for anything else)
        else:
            hint = " (run from the repository root or pass claim files)" if not paths else ""
            raise InputError(f"no such claim file or folder: {t}{hint}")
    if not out:
        raise InputError(f"no claim files (*.toml) found in {', '.join(map(str, targets))}")
    return out


def load_all(paths: list[str] | None, default_dir: str = "conjectures") -> list[Claim]:
    claims = [c for p in discover(paths, default_dir) for c in load_claims(p)]
    seen: dict[str, str] = {}
    for c in claims:
        if c.id in seen:
            raise InputError(f"{c.path}: duplicate claim id {c.id!r} (also in {seen[c.id]})")
        seen[c.id] = c.path
    return claims
