"""What untrusted Ibis code may touch: allow-lists and limits, kept apart so they can be audited."""

from __future__ import annotations

# --- size limits -------------------------------------------------------------------------------
MAX_SOURCE_BYTES = 100_000
MAX_NODES = 5_000
MAX_DEPTH = 100
MAX_STR_LEN = 10_000          # a literal or a computed string
MAX_SEQ_LEN = 10_000          # a computed list/tuple/dict
MAX_INT_BITS = 256            # literal or computed int magnitude
MAX_POW_EXPONENT = 64
MAX_WEIGHT = 50_000           # values reachable through the arguments of one call
MAX_ITERATIONS = 100_000      # comprehension iterations, whole evaluation
MAX_LAMBDA_DEPTH = 32         # nested calls of snippet lambdas (recursion through ibis)
MAX_EXPANDED_OPS = 20_000     # expression size with shared subtrees counted each time (SQL size)
EVAL_DEADLINE_S = 5.0         # wall clock for the Python side of one evaluation (first calls import)
MAX_MEMORY_BYTES = 64 << 20   # bytes of strings/containers created in one evaluation (getsizeof)
MAX_REGEX_LEN = 200           # regexes matched in Python (s.matches, pivot_longer names_pattern)
MAX_REGEX_REPEATS = 4         # unbounded repeats in one such regex (`.*.*.*` is polynomial)

# --- ibis.X -------------------------------------------------------------------------------------
IBIS_ALLOWED = frozenset({
    "literal", "date", "timestamp", "time", "interval", "cases", "ifelse", "coalesce",
    "greatest", "least", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist",
    "ntile", "window", "rows_window", "range_window", "cumulative_window", "trailing_window",
    "trailing_range_window", "preceding", "following", "desc", "asc", "null", "now", "today",
    "random", "uuid", "array", "map", "struct", "union", "intersect", "difference", "and_",
    "or_", "table", "schema", "dtype", "param", "_", "deferred", "selectors", "memtable",
    "e", "pi", "join", "cross_join", "aggregate", "to_sql", "infer_dtype", "infer_schema",
})

SELECTORS_ALLOWED = frozenset({
    "across", "all", "all_of", "any_of", "cols", "contains", "endswith", "first", "if_all",
    "if_any", "index", "last", "matches", "none", "numeric", "of_type", "startswith", "where",
})

# --- methods refused on every object (execution, I/O, backends, string formatting tricks) -------
DENIED_ATTRS = frozenset({
    "execute", "to_pandas", "to_pandas_batches", "to_pyarrow", "to_pyarrow_batches",
    "to_polars", "to_torch", "to_csv", "to_csv_dir", "to_parquet", "to_parquet_dir",
    "to_delta", "to_json", "to_xlsx", "to_array", "to_list", "to_frame", "cache",
    "visualize", "preview", "interactive", "get_backend", "set_backend", "compile", "sql",
    "parse_sql", "connect", "read_csv", "read_parquet", "read_json", "read_delta",
    "options", "util", "backends", "config", "udf", "format", "format_map", "mro",
    "register", "raw_sql", "con", "backend", "materialize", "examples", "decompile",
    "to_numpy", "from_typehint", "from_pandas", "from_numpy", "from_polars", "from_pyarrow",
    "from_string", "from_sqlglot", "from_tuples", "from_dask", "from_dict", "from_sql",
    "gi_frame", "cr_frame", "f_globals", "f_locals", "f_back", "tb_frame",
})

# Prefixes are kept minimal: columns may be called `read_date` or `from_city`.
DENIED_PREFIXES = ("_", "to_pandas", "to_pyarrow")


def attr_denied(name: str) -> bool:
    """True for attribute names untrusted code may never touch, on any object."""
    return name in DENIED_ATTRS or name.startswith(DENIED_PREFIXES)


# --- methods of plain Python values (str/list/...) that cannot blow up memory --------------------
_STR = {
    "upper", "lower", "strip", "lstrip", "rstrip", "startswith", "endswith", "split",
    "rsplit", "join", "title", "capitalize", "casefold", "isdigit", "isalpha", "isalnum",
    "isidentifier", "islower", "isupper", "isspace", "find", "rfind", "index", "rindex",
    "count", "replace", "removeprefix", "removesuffix", "swapcase", "partition", "rpartition",
    "splitlines", "isnumeric", "isdecimal",
}
PY_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(_STR),
    bytes: frozenset(_STR - {"isidentifier", "isnumeric", "isdecimal", "casefold"}),
    list: frozenset({"index", "count", "copy"}),
    tuple: frozenset({"index", "count"}),
    dict: frozenset({"keys", "values", "items", "get", "copy"}),
    set: frozenset({"union", "intersection", "difference", "issubset", "issuperset", "copy"}),
    frozenset: frozenset({"union", "intersection", "difference", "issubset", "issuperset"}),
    int: frozenset({"bit_length"}),
    float: frozenset({"is_integer"}),
    bool: frozenset(),
    type(None): frozenset(),
}

# --- bare names that may be called (builtins with bounded cost) ---------------------------------
SAFE_BUILTINS: dict[str, object] = {
    "int": int, "float": float, "str": str, "bool": bool, "abs": abs, "round": round,
    "min": min, "max": max, "len": len, "sorted": sorted, "list": list, "tuple": tuple,
    "dict": dict,
}
SAFE_CONSTANTS: dict[str, object] = {"True": True, "False": False, "None": None}

# --- imports that merely restate the environment (documents start with them) -------------------
ALLOWED_IMPORTS = {
    # (module, name or None for `import module`) -> what the bound name refers to
    ("ibis", None): "ibis",
    ("ibis.selectors", None): "ibis",          # `import ibis.selectors` binds `ibis`
    ("ibis", "_"): "_",
    ("ibis", "selectors"): "selectors",
    ("ibis", "deferred"): "_",
}
ALLOWED_IMPORT_AS = {("ibis.selectors", "s"), ("ibis.selectors", "selectors")}
