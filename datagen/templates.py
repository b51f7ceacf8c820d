"""YAML templates and domain schemas -> rendered (SQL, Ibis) candidate pairs.

A template is written once, schema-agnostic: its slots ask for columns by *role* (a measure, a
category, a date, ...) and the expansion fills them from each domain in `schemas.yaml`, with
literals, operators, aggregates and alternative spellings chosen by a seeded RNG. Nothing here
runs code: the rendered pairs go to the gate (`datagen.gate`) before anything uses them.

Template language (also documented at the top of templates/basics.yaml):
  {t} {d} {fk} {pk}   fact table, dimension table, join columns (fact.fk = dim.pk)
  {x}                 slot x: SQL form on the SQL side, Python form on the Ibis side
  {x.key}             a named form of slot x (e.g. {op.word}, {r.lo}, {agg.name})
  {@x}                Ibis side: a column reference, `table.col` or `_.col` by the chosen style
  [[a;;b]]            alternative spellings with the same meaning
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import random
import re
from pathlib import Path
from typing import Any

import yaml

from ibert_lsp.tasks.codebuild import colref, is_name, short

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
SCHEMA_FILE = HERE / "schemas.yaml"

DIFFICULTIES = ("easy", "medium", "hard")
ROLES = ("id", "key", "cat", "num", "int", "date", "ts", "text", "bool")
ROLE_GROUPS = {
    "any": ("id", "cat", "num", "int", "date", "ts", "text", "bool"),
    "measure": ("num", "int"),
    **{r: (r,) for r in ROLES},
}
REQUIRED_KEYS = ("name", "description", "features", "difficulty", "slots", "sql", "ibis")


class TemplateError(ValueError):
    """A malformed template or schema file; the message names the path and line."""


def _v(sql: str, py: str | None = None, **extra: Any) -> dict:
    return {"sql": sql, "py": sql if py is None else py, **extra}


# Built-in choice sets: every entry renders differently per side, plus descriptive keys.
CHOICES: dict[str, list[dict]] = {
    "cmp": [
        _v(">", word="greater than"), _v(">=", word="at least"),
        _v("<", word="less than"), _v("<=", word="at most"),
    ],
    "eqop": [_v("=", "==", word="equal to"), _v("<>", "!=", word="different from"),
             _v("!=", "!=", word="not equal to")],
    "agg": [
        _v("SUM", "sum", name="total", word="total", feature="sum"),
        _v("AVG", "mean", name="avg", word="average", feature="avg"),
        _v("MIN", "min", name="min", word="minimum", feature="min"),
        _v("MAX", "max", name="max", word="maximum", feature="max"),
    ],
    "minmax": [
        _v("MIN", "min", word="smallest", feature="min"),
        _v("MAX", "max", word="largest", feature="max"),
    ],
    "stat": [
        _v("STDDEV_SAMP", "std", name="std", word="sample standard deviation", feature="stddev"),
        _v("VAR_SAMP", "var", name="var", word="sample variance", feature="variance"),
        _v("MEDIAN", "median", name="median", word="median", feature="median"),
    ],
    "dir": [_v("ASC", "asc", word="ascending"), _v("DESC", "desc", word="descending")],
    "strfn": [
        _v("UPPER", "upper", name="upper", word="upper-casing", feature="upper"),
        _v("LOWER", "lower", name="lower", word="lower-casing", feature="lower"),
        _v("LENGTH", "length", name="len", word="the length function", feature="length"),
        _v("REVERSE", "reverse", name="rev", word="reversing", feature="reverse"),
    ],
    "datepart": [
        _v("YEAR", "year", name="yr", fn="year", part="year", word="year"),
        _v("MONTH", "month", name="mon", fn="month", part="month", word="month"),
        _v("DAY", "day", name="dom", fn="day", part="day", word="day of the month"),
        _v("QUARTER", "quarter", name="qtr", fn="quarter", part="quarter", word="quarter"),
    ],
    "tspart": [
        _v("HOUR", "hour", name="hr", word="hour"),
        _v("MINUTE", "minute", name="minute_of_hour", word="minute"),
        _v("MONTH", "month", name="mon", word="month"),
    ],
    "trunc": [
        _v("month", py="month", word="month"),
        _v("year", py="year", word="year"),
        _v("day", py="day", word="day"),
        _v("hour", py="hour", word="hour"),
    ],
    "rankfn": [
        _v("ROW_NUMBER", "row_number", word="row number", feature="row_number"),
        _v("RANK", "rank", word="rank", feature="rank"),
        _v("DENSE_RANK", "dense_rank", word="dense rank", feature="dense_rank"),
    ],
    "laglead": [
        _v("LAG", "lag", name="prev", word="previous", feature="lag"),
        _v("LEAD", "lead", name="next", word="next", feature="lead"),
    ],
}
# truncate() units Ibis accepts, keyed by the SQL spelling
for _c in CHOICES["trunc"]:
    _c["py"] = {"month": "M", "year": "Y", "day": "D", "hour": "h"}[_c["sql"]]

_SLOT_RE = re.compile(r"^(?:(dim)\.)?(\w+)$")
_FUNC_RE = re.compile(r"^(lit|lits|range|pat)\((\w+)\)$")
_LIST_RE = re.compile(r"^(int|word)\(([\w|.-]+)\)$")
_PH_RE = re.compile(r"\{(@?)(\w+)(?:\.(\w+))?\}")
_ALT_RE = re.compile(r"\[\[(.*?)\]\]", re.S)
FIXED = ("t", "d", "fk", "pk")


# ------------------------------------------------------------------------------------------
# Loading and checking
# ------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Template:
    name: str
    description: str
    features: list[str]
    difficulty: str
    slots: dict[str, str]
    sql: str
    ibis: str
    path: str
    line: int

    @property
    def family(self) -> str:
        return self.name

    def uses_dim(self) -> bool:
        text = self.sql + self.ibis
        return "{d}" in text or "{pk}" in text or any(
            str(s).startswith("dim.") for s in self.slots.values())


def _line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 0


def _check_slot(spec: Any) -> str | None:
    if not isinstance(spec, str):
        return f"slot spec must be a string, got {type(spec).__name__}"
    if _FUNC_RE.match(spec) or _LIST_RE.match(spec) or spec in CHOICES:
        return None
    m = _SLOT_RE.match(spec)
    if m and m.group(2) in ROLE_GROUPS:
        return None
    return f"unknown slot spec {spec!r}"


def check_template(raw: Any, where: str) -> Template:
    """A Template from one YAML mapping, or TemplateError naming `where` (path:line)."""
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: a template must be a mapping")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise TemplateError(f"{where}: missing key(s) {', '.join(missing)}")
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise TemplateError(f"{where}: name must be snake_case, got {name!r}")
    if raw["difficulty"] not in DIFFICULTIES:
        raise TemplateError(f"{where}: difficulty must be one of {DIFFICULTIES}")
    feats = raw["features"]
    if not isinstance(feats, list) or not feats or not all(isinstance(f, str) for f in feats):
        raise TemplateError(f"{where}: features must be a non-empty list of strings")
    slots = raw["slots"] or {}
    if not isinstance(slots, dict):
        raise TemplateError(f"{where}: slots must be a mapping")
    for key, spec in slots.items():
        if key in FIXED:
            raise TemplateError(f"{where}: slot name {key!r} is reserved")
        err = _check_slot(spec)
        if err:
            raise TemplateError(f"{where}: slot {key!r}: {err}")
        fm = _FUNC_RE.match(spec)
        if fm and fm.group(2) not in slots:
            raise TemplateError(f"{where}: slot {key!r} refers to unknown slot {fm.group(2)!r}")
    for field in ("sql", "ibis", "description"):
        text = raw[field]
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(f"{where}: {field} must be a non-empty string")
        if text.count("[[") != text.count("]]"):
            raise TemplateError(f"{where}: {field}: unbalanced [[ ]] alternatives")
        for m in _PH_RE.finditer(text):
            if m.group(2) not in slots and m.group(2) not in FIXED:
                raise TemplateError(f"{where}: {field} uses unknown placeholder {m.group(0)}")
            if m.group(1) and field == "sql":
                raise TemplateError(f"{where}: {{@...}} column references are Ibis-only")
    return Template(name=name, description=raw["description"], features=list(feats),
                    difficulty=raw["difficulty"], slots={k: str(v) for k, v in slots.items()},
                    sql=raw["sql"], ibis=raw["ibis"], path=where.rsplit(":", 1)[0],
                    line=int(where.rsplit(":", 1)[1]) if ":" in where else 0)


def load_templates(paths: list[Path] | None = None, errors: list[str] | None = None
                   ) -> list[Template]:
    """All templates from the given YAML files (default: datagen/templates/*.yaml).

    A malformed file or template is reported (appended to `errors` as 'path:line: message')
    and skipped; the others still load. Duplicate names are errors too.
    """
    files = paths if paths is not None else sorted(TEMPLATE_DIR.glob("*.yaml"))
    out: list[Template] = []
    seen: dict[str, str] = {}
    errs = errors if errors is not None else []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            errs.append(f"{path}:{line}: YAML error: {getattr(exc, 'problem', exc)}")
            continue
        except OSError as exc:
            errs.append(f"{path}:0: cannot read: {exc}")
            continue
        if root is None:
            continue
        if not isinstance(root, yaml.SequenceNode):
            errs.append(f"{path}:{_line_of(root)}: a template file must be a YAML list")
            continue
        for node in root.value:
            where = f"{path}:{_line_of(node)}"
            try:
                raw = yaml.safe_load(yaml.serialize(node))
                tpl = check_template(raw, where)
            except TemplateError as exc:
                errs.append(str(exc))
                continue
            except yaml.YAMLError as exc:
                errs.append(f"{where}: YAML error: {exc}")
                continue
            if tpl.name in seen:
                errs.append(f"{where}: duplicate template name {tpl.name!r} (first at {seen[tpl.name]})")
                continue
            seen[tpl.name] = where
            out.append(tpl)
    return out


@dataclasses.dataclass
class Table:
    name: str
    columns: dict[str, dict]  # col -> {type, role, values?, range?, prefixes?}

    def schema(self) -> dict[str, str]:
        return {c: spec["type"] for c, spec in self.columns.items()}

    def by_role(self, roles: tuple[str, ...]) -> list[str]:
        return [c for c, spec in self.columns.items() if spec["role"] in roles]


@dataclasses.dataclass
class Domain:
    name: str
    fact: Table
    dim: Table
    fk: str
    pk: str


def load_domains(path: Path = SCHEMA_FILE) -> dict[str, Domain]:
    """Domains from schemas.yaml; malformed entries raise TemplateError with path and line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(f"{path}:{mark.line + 1 if mark else 0}: YAML error: {exc}") from None
    out: dict[str, Domain] = {}
    for key_node, val_node in root.value:
        where = f"{path}:{_line_of(key_node)}"
        raw = yaml.safe_load(yaml.serialize(val_node))
        try:
            tables = {}
            for side in ("fact", "dim"):
                spec = raw[side]
                cols = spec["columns"]
                for name in [spec["name"], *cols]:
                    if not is_name(name):  # names are spliced into SQL and Ibis text alike
                        raise TemplateError(f"{where}: {side}: {short(str(name))} is not a plain Python name "
                                            "(ASCII, not a keyword, no leading _)")
                for c, cs in cols.items():
                    if cs.get("role") not in ROLES:
                        raise TemplateError(f"{where}: {side}.{c}: unknown role {cs.get('role')!r}")
                    if cs["role"] == "cat" and not cs.get("values"):
                        raise TemplateError(f"{where}: {side}.{c}: a cat column needs values")
                tables[side] = Table(spec["name"], cols)
            fk, pk = raw["join"]["fk"], raw["join"]["pk"]
            if fk not in tables["fact"].columns or pk not in tables["dim"].columns:
                raise TemplateError(f"{where}: join columns {fk}/{pk} not in the tables")
        except (KeyError, TypeError, AttributeError) as exc:
            raise TemplateError(f"{where}: malformed domain ({exc!r})") from None
        tables["fact"].columns[fk]["role"] = "key"
        out[key_node.value] = Domain(key_node.value, tables["fact"], tables["dim"], fk, pk)
    return out


# ------------------------------------------------------------------------------------------
# Renaming variants (augmentation that keeps meaning)
# ------------------------------------------------------------------------------------------
_TABLE_FORMS = ("{}", "{}_raw", "stg_{}", "{}_tbl", "{}_v2", "my_{}")
_COL_SUFFIX = ("_val", "_x", "_2", "_col")


def renamed(domain: Domain, rng: random.Random, *, col_rate: float = 0.3) -> Domain:
    """The domain with some table and column names changed consistently (join keys too)."""
    def tname(name: str) -> str:
        return rng.choice(_TABLE_FORMS[1:]).format(name)

    def cols(table: Table, keep: dict[str, str]) -> Table:
        new: dict[str, dict] = {}
        for c, spec in table.columns.items():
            if c in keep:
                nc = keep[c]
            elif rng.random() < col_rate:
                nc = c + rng.choice(_COL_SUFFIX)
            else:
                nc = c
            new[nc] = dict(spec)
        return Table(tname(table.name), new)

    fk_new = domain.fk + rng.choice(_COL_SUFFIX) if rng.random() < col_rate else domain.fk
    pk_new = fk_new if domain.pk == domain.fk else domain.pk
    fact = cols(domain.fact, {domain.fk: fk_new})
    dim = cols(domain.dim, {domain.pk: pk_new})
    # fact and dim may share no column names except the key pair
    clash = (set(fact.columns) & set(dim.columns)) - {fk_new}
    if clash or fact.name == dim.name:
        return domain
    return Domain(domain.name, fact, dim, fk_new, pk_new)


# ------------------------------------------------------------------------------------------
# Literals
# ------------------------------------------------------------------------------------------
_DATE0 = _dt.date(2021, 1, 1)
_DATE_SPAN = 4 * 365


def _num_text(x: float, integer: bool) -> str:
    return str(int(round(x))) if integer else (f"{x:.1f}" if abs(x) < 1000 else str(int(round(x))))


def _literal(col: str, spec: dict, rng: random.Random, *, q: tuple[float, float] = (0.1, 0.9)
             ) -> dict:
    role, typ = spec["role"], spec["type"]
    if role in ("num", "int", "id", "key"):
        lo, hi = spec.get("range", [1, 100])
        x = lo + (hi - lo) * rng.uniform(*q)
        integer = role != "num" or rng.random() < 0.4
        text = _num_text(x, integer)
        return _v(text, text, value=float(text), word=text)
    if role == "cat":
        s = str(rng.choice(spec["values"]))
        return _v(_sql_str(s), repr(s), value=s, word=f"'{s}'")
    if role == "text":
        s = str(rng.choice(spec.get("prefixes") or ["a"]))
        return _v(_sql_str(s), repr(s), value=s, word=f"'{s}'")
    if role == "bool":
        b = rng.random() < 0.5
        return _v("TRUE" if b else "FALSE", "True" if b else "False", value=b, word=str(b).lower())
    if role == "date":
        d = _DATE0 + _dt.timedelta(days=int(_DATE_SPAN * rng.uniform(*q)))
        iso = d.isoformat()
        sql = rng.choice([f"DATE '{iso}'", f"DATE '{iso}'", f"CAST('{iso}' AS DATE)"])
        py = rng.choice([f"ibis.date('{iso}')", f"ibis.date('{iso}')", f"'{iso}'"])
        return _v(sql, py, value=iso, word=iso)
    if role == "ts":
        d = _dt.datetime(2021, 1, 1) + _dt.timedelta(days=int(_DATE_SPAN * rng.uniform(*q)),
                                                     hours=rng.randrange(24))
        iso = d.strftime("%Y-%m-%d %H:%M:%S")
        return _v(f"TIMESTAMP '{iso}'", f"ibis.timestamp('{iso}')", value=iso, word=iso)
    raise TemplateError(f"no literal for column {col} of type {typ}")


def _literal_list(col: str, spec: dict, rng: random.Random) -> dict:
    vals = list(spec.get("values") or [])
    if len(vals) < 2:
        items = [_literal(col, spec, rng) for _ in range(2)]
    else:
        items = [_v(_sql_str(s), repr(s), value=s) for s in rng.sample(vals, min(len(vals), rng.choice((2, 2, 3))))]
    sql = "(" + ", ".join(i["sql"] for i in items) + ")"
    py = "[" + ", ".join(i["py"] for i in items) + "]"
    return _v(sql, py, first=items[0], second=items[1],
              or_chain=" OR ".join(f"{col} = {i['sql']}" for i in items),
              word=", ".join(i["sql"] for i in items), value=[i["value"] for i in items])


def _literal_range(col: str, spec: dict, rng: random.Random) -> dict:
    lo = _literal(col, spec, rng, q=(0.05, 0.45))
    hi = _literal(col, spec, rng, q=(0.55, 0.95))
    return _v(lo["sql"], lo["py"], lo=lo, hi=hi, word=f"{lo['word']} and {hi['word']}")


def _pattern(col: str, spec: dict, rng: random.Random) -> dict:
    p = str(rng.choice(spec.get("prefixes") or ["a"]))
    # `prefix`/`contains` are pasted on both sides, so they must read the same in SQL and
    # Python; LIKE metacharacters would also change the pattern's meaning
    if not p.isprintable() or any(ch in p for ch in "'\\%_"):
        raise NotApplicable(f"prefix {p!r} cannot be written the same in SQL and Python")
    return _v(f"'{p}%'", f"'{p}%'", prefix=f"'{p}'", contains=f"'%{p}%'", value=p, word=f"'{p}'")


def _sql_str(s: str) -> str:
    """A SQL string literal: single quotes doubled, never pasted raw (Python's side uses repr,
    which writes ordinary values the same way)."""
    return "'" + s.replace("'", "''") + "'"


# ------------------------------------------------------------------------------------------
# Expansion
# ------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Candidate:
    """A rendered, not yet validated pair."""
    template: str
    domain: str
    sql: str
    ibis: str
    description: str
    features: list[str]
    difficulty: str
    schemas: dict[str, dict[str, str]]
    style: str
    slots: dict[str, Any]
    slot_specs: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class NotApplicable(Exception):
    """The template needs columns the domain does not have."""


def fill_slots(tpl: Template, dom: Domain, rng: random.Random) -> dict[str, dict]:
    values: dict[str, dict] = {}
    used: dict[str, set[str]] = {"fact": set(), "dim": set()}
    colspec: dict[str, tuple[str, dict]] = {}
    for key, spec in tpl.slots.items():
        fm, lm, sm = _FUNC_RE.match(spec), _LIST_RE.match(spec), _SLOT_RE.match(spec)
        if spec in CHOICES:
            values[key] = dict(rng.choice(CHOICES[spec]))
        elif lm:
            opts = lm.group(2).split("|")
            pick = rng.choice(opts)
            values[key] = _v(pick, pick, word=pick, name=pick)
        elif fm:
            kind, ref = fm.groups()
            if ref not in colspec:
                raise TemplateError(f"{tpl.path}:{tpl.line}: {key} refers to {ref}, not a column")
            col, cspec = colspec[ref]
            fn = {"lit": _literal, "lits": _literal_list, "range": _literal_range,
                  "pat": _pattern}[kind]
            values[key] = fn(col, cspec, rng)
        elif sm:
            side = "dim" if sm.group(1) else "fact"
            table = dom.dim if side == "dim" else dom.fact
            roles = ROLE_GROUPS[sm.group(2)]
            pool = [c for c in table.by_role(roles) if c not in used[side]
                    and not (side == "dim" and c == dom.pk and sm.group(2) == "any")]
            if not pool:
                raise NotApplicable(f"{tpl.name}: {dom.name} has no free {spec} column")
            col = rng.choice(pool)
            used[side].add(col)
            colspec[key] = (col, table.columns[col])
            values[key] = _v(col, col, name=col, word=col, table=table.name,
                             type=table.columns[col]["type"], role=table.columns[col]["role"])
    return values


def _is_table_attr(name: str) -> bool:
    """`t.count` is the method, not the column: such names are written `t["count"]`."""
    import ibis

    return hasattr(ibis.Table, name)


def _choose_alternatives(text: str, rng: random.Random) -> str:
    return _ALT_RE.sub(lambda m: rng.choice(m.group(1).split(";;")), text)


def render(text: str, values: dict[str, dict], fixed: dict[str, str], side: str, style: str,
           rng: random.Random) -> str:
    """Substitute placeholders on one side ('sql', 'py' or 'word')."""
    text = _choose_alternatives(text, rng)

    def sub(m: re.Match) -> str:
        at, key, part = m.groups()
        if key in fixed:
            return fixed[key]
        val = values[key]
        if at:
            name = val["name"]
            base = "_" if style == "deferred" else val["table"]
            return colref(base, name, attribute_ok=not _is_table_attr(name))
        if part:
            got = val.get(part)
            if got is None:
                raise TemplateError(f"slot {key} has no form {part!r}")
        else:
            got = val
        if isinstance(got, dict):
            got = got.get("word" if side == "word" else side, got.get("sql"))
        return str(got)

    return _PH_RE.sub(sub, text)


def expand_one(tpl: Template, dom: Domain, rng: random.Random, *, style: str | None = None
               ) -> Candidate:
    values = fill_slots(tpl, dom, rng)
    fixed = {"t": dom.fact.name, "d": dom.dim.name, "fk": dom.fk, "pk": dom.pk}
    style = style or rng.choice(("deferred", "table"))
    sql = " ".join(render(tpl.sql, values, fixed, "sql", style, rng).split())
    ibis_code = render(tpl.ibis, values, fixed, "py", style, rng).strip()
    desc = render(tpl.description, values, fixed, "word", style, rng)
    feats = sorted({render(f, values, fixed, "word", style, rng) for f in tpl.features})
    schemas = {dom.fact.name: dom.fact.schema()}
    if tpl.uses_dim():
        schemas[dom.dim.name] = dom.dim.schema()
    slot_info = {k: {kk: vv for kk, vv in v.items() if isinstance(vv, (str, int, float, bool, list))}
                 for k, v in values.items()}
    return Candidate(template=tpl.name, domain=dom.name, sql=sql, ibis=ibis_code,
                     description=desc, features=feats, difficulty=tpl.difficulty,
                     schemas=schemas, style=style, slots=slot_info,
                     slot_specs=dict(tpl.slots))


def expand(templates: list[Template], domains: dict[str, Domain], *, per_domain: int,
           seed: int = 0, rename_rate: float = 0.35) -> list[Candidate]:
    """`per_domain` candidates per (template, domain), distinct by (sql, ibis), deterministic."""
    out: list[Candidate] = []
    for tpl in templates:
        for dname in sorted(domains):
            base = domains[dname]
            rng = random.Random(f"{seed}:{tpl.name}:{dname}")
            seen: set[tuple[str, str]] = set()
            tries = 0
            while len(seen) < per_domain and tries < per_domain * 4:
                tries += 1
                dom = renamed(base, rng) if rng.random() < rename_rate else base
                try:
                    cand = expand_one(tpl, dom, rng)
                except NotApplicable:
                    break
                key = (cand.sql, cand.ibis)
                if key in seen:
                    continue
                seen.add(key)
                out.append(cand)
    return out
