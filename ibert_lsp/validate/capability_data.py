"""The derived literal of the capability allow-list (`capabilities.py` explains it): Ibis's
public documented API per class, as installed. Printed by `python tests/test_gate_capabilities.py`
and pasted between the markers after review; the test fails when Ibis grows or loses members."""

from __future__ import annotations

# ---- BEGIN DERIVED (tests/test_gate_capabilities.py::render) ----
IBIS_VERSION = "12.0.0"

CLASSES: frozenset[str] = frozenset({
    "ibis.common.deferred.Deferred", "ibis.common.selectors.All", "ibis.common.selectors.And",
    "ibis.common.selectors.Any", "ibis.common.selectors.Expandable",
    "ibis.common.selectors.Not", "ibis.common.selectors.Or", "ibis.common.selectors.Selector",
    "ibis.expr.builders.Builder", "ibis.expr.builders.LegacyWindowBuilder",
    "ibis.expr.builders.SearchedCaseBuilder", "ibis.expr.builders.SimpleCaseBuilder",
    "ibis.expr.builders.WindowBuilder", "ibis.expr.datatypes.core.Array",
    "ibis.expr.datatypes.core.Binary", "ibis.expr.datatypes.core.Boolean",
    "ibis.expr.datatypes.core.DataType", "ibis.expr.datatypes.core.Date",
    "ibis.expr.datatypes.core.Decimal", "ibis.expr.datatypes.core.Float16",
    "ibis.expr.datatypes.core.Float32", "ibis.expr.datatypes.core.Float64",
    "ibis.expr.datatypes.core.Floating", "ibis.expr.datatypes.core.GeoSpatial",
    "ibis.expr.datatypes.core.INET", "ibis.expr.datatypes.core.Int16",
    "ibis.expr.datatypes.core.Int32", "ibis.expr.datatypes.core.Int64",
    "ibis.expr.datatypes.core.Int8", "ibis.expr.datatypes.core.Integer",
    "ibis.expr.datatypes.core.Interval", "ibis.expr.datatypes.core.JSON",
    "ibis.expr.datatypes.core.LineString", "ibis.expr.datatypes.core.MACADDR",
    "ibis.expr.datatypes.core.Map", "ibis.expr.datatypes.core.MultiLineString",
    "ibis.expr.datatypes.core.MultiPoint", "ibis.expr.datatypes.core.MultiPolygon",
    "ibis.expr.datatypes.core.Null", "ibis.expr.datatypes.core.Numeric",
    "ibis.expr.datatypes.core.Parametric", "ibis.expr.datatypes.core.Point",
    "ibis.expr.datatypes.core.Polygon", "ibis.expr.datatypes.core.Primitive",
    "ibis.expr.datatypes.core.SignedInteger", "ibis.expr.datatypes.core.String",
    "ibis.expr.datatypes.core.Struct", "ibis.expr.datatypes.core.Temporal",
    "ibis.expr.datatypes.core.Time", "ibis.expr.datatypes.core.Timestamp",
    "ibis.expr.datatypes.core.UInt16", "ibis.expr.datatypes.core.UInt32",
    "ibis.expr.datatypes.core.UInt64", "ibis.expr.datatypes.core.UInt8",
    "ibis.expr.datatypes.core.UUID", "ibis.expr.datatypes.core.Unknown",
    "ibis.expr.datatypes.core.UnsignedInteger", "ibis.expr.datatypes.core.Variadic",
    "ibis.expr.schema.Schema", "ibis.expr.types.arrays.ArrayColumn",
    "ibis.expr.types.arrays.ArrayScalar", "ibis.expr.types.arrays.ArrayValue",
    "ibis.expr.types.binary.BinaryColumn", "ibis.expr.types.binary.BinaryScalar",
    "ibis.expr.types.binary.BinaryValue", "ibis.expr.types.collections.SetColumn",
    "ibis.expr.types.collections.SetScalar", "ibis.expr.types.collections.SetValue",
    "ibis.expr.types.core.Expr", "ibis.expr.types.generic.Column",
    "ibis.expr.types.generic.NullColumn", "ibis.expr.types.generic.NullScalar",
    "ibis.expr.types.generic.NullValue", "ibis.expr.types.generic.Scalar",
    "ibis.expr.types.generic.UnknownColumn", "ibis.expr.types.generic.UnknownScalar",
    "ibis.expr.types.generic.UnknownValue", "ibis.expr.types.generic.Value",
    "ibis.expr.types.geospatial.GeoSpatialColumn",
    "ibis.expr.types.geospatial.GeoSpatialScalar", "ibis.expr.types.geospatial.GeoSpatialValue",
    "ibis.expr.types.geospatial.LineStringColumn",
    "ibis.expr.types.geospatial.LineStringScalar", "ibis.expr.types.geospatial.LineStringValue",
    "ibis.expr.types.geospatial.MultiLineStringColumn",
    "ibis.expr.types.geospatial.MultiLineStringScalar",
    "ibis.expr.types.geospatial.MultiLineStringValue",
    "ibis.expr.types.geospatial.MultiPointColumn",
    "ibis.expr.types.geospatial.MultiPointScalar", "ibis.expr.types.geospatial.MultiPointValue",
    "ibis.expr.types.geospatial.MultiPolygonColumn",
    "ibis.expr.types.geospatial.MultiPolygonScalar",
    "ibis.expr.types.geospatial.MultiPolygonValue", "ibis.expr.types.geospatial.PointColumn",
    "ibis.expr.types.geospatial.PointScalar", "ibis.expr.types.geospatial.PointValue",
    "ibis.expr.types.geospatial.PolygonColumn", "ibis.expr.types.geospatial.PolygonScalar",
    "ibis.expr.types.geospatial.PolygonValue", "ibis.expr.types.groupby.GroupedTable",
    "ibis.expr.types.inet.INETColumn", "ibis.expr.types.inet.INETScalar",
    "ibis.expr.types.inet.INETValue", "ibis.expr.types.inet.MACADDRColumn",
    "ibis.expr.types.inet.MACADDRScalar", "ibis.expr.types.inet.MACADDRValue",
    "ibis.expr.types.joins.Join", "ibis.expr.types.json.JSONColumn",
    "ibis.expr.types.json.JSONScalar", "ibis.expr.types.json.JSONValue",
    "ibis.expr.types.logical.BooleanColumn", "ibis.expr.types.logical.BooleanScalar",
    "ibis.expr.types.logical.BooleanValue", "ibis.expr.types.maps.MapColumn",
    "ibis.expr.types.maps.MapScalar", "ibis.expr.types.maps.MapValue",
    "ibis.expr.types.numeric.DecimalColumn", "ibis.expr.types.numeric.DecimalScalar",
    "ibis.expr.types.numeric.DecimalValue", "ibis.expr.types.numeric.FloatingColumn",
    "ibis.expr.types.numeric.FloatingScalar", "ibis.expr.types.numeric.FloatingValue",
    "ibis.expr.types.numeric.IntegerColumn", "ibis.expr.types.numeric.IntegerScalar",
    "ibis.expr.types.numeric.IntegerValue", "ibis.expr.types.numeric.NumericColumn",
    "ibis.expr.types.numeric.NumericScalar", "ibis.expr.types.numeric.NumericValue",
    "ibis.expr.types.relations.CachedTable", "ibis.expr.types.relations.Table",
    "ibis.expr.types.strings.StringColumn", "ibis.expr.types.strings.StringScalar",
    "ibis.expr.types.strings.StringValue", "ibis.expr.types.structs.StructColumn",
    "ibis.expr.types.structs.StructScalar", "ibis.expr.types.structs.StructValue",
    "ibis.expr.types.temporal.DateColumn", "ibis.expr.types.temporal.DateScalar",
    "ibis.expr.types.temporal.DateValue", "ibis.expr.types.temporal.DayOfWeek",
    "ibis.expr.types.temporal.IntervalColumn", "ibis.expr.types.temporal.IntervalScalar",
    "ibis.expr.types.temporal.IntervalValue", "ibis.expr.types.temporal.TimeColumn",
    "ibis.expr.types.temporal.TimeScalar", "ibis.expr.types.temporal.TimeValue",
    "ibis.expr.types.temporal.TimestampColumn", "ibis.expr.types.temporal.TimestampScalar",
    "ibis.expr.types.temporal.TimestampValue", "ibis.expr.types.uuid.UUIDColumn",
    "ibis.expr.types.uuid.UUIDScalar", "ibis.expr.types.uuid.UUIDValue",
    "ibis.selectors.Across", "ibis.selectors.AllColumns", "ibis.selectors.Cols",
    "ibis.selectors.ColumnIndex", "ibis.selectors.Contains", "ibis.selectors.EndsWith",
    "ibis.selectors.First", "ibis.selectors.IfAnyAll", "ibis.selectors.Indexable",
    "ibis.selectors.Last", "ibis.selectors.Matches", "ibis.selectors.NoColumns",
    "ibis.selectors.OfType", "ibis.selectors.StartsWith", "ibis.selectors.Where"
})

MEMBERS: dict[str, frozenset[str]] = {
    "ibis.common.collections.Mapping": frozenset({
        "get", "keys", "values"
    }),
    "ibis.common.selectors.All": frozenset({
        "expand_names"
    }),
    "ibis.common.selectors.And": frozenset({
        "expand_names"
    }),
    "ibis.common.selectors.Any": frozenset({
        "expand_names"
    }),
    "ibis.common.selectors.Expandable": frozenset({
        "expand"
    }),
    "ibis.common.selectors.Not": frozenset({
        "expand_names"
    }),
    "ibis.common.selectors.Or": frozenset({
        "expand_names"
    }),
    "ibis.common.selectors.Selector": frozenset({
        "expand", "expand_names"
    }),
    "ibis.expr.builders.SearchedCaseBuilder": frozenset({
        "else_", "end", "when"
    }),
    "ibis.expr.builders.SimpleCaseBuilder": frozenset({
        "else_", "end", "when"
    }),
    "ibis.expr.builders.WindowBuilder": frozenset({
        "between", "bind", "group_by", "order_by"
    }),
    "ibis.expr.datatypes.core.Array": frozenset({
        "length", "nullable", "value_type"
    }),
    "ibis.expr.datatypes.core.Binary": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Boolean": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.DataType": frozenset({
        "cast", "castable", "equals", "is_array", "is_binary", "is_boolean", "is_date",
        "is_decimal", "is_enum", "is_fixed_length_array", "is_float16", "is_float32",
        "is_float64", "is_floating", "is_geospatial", "is_inet", "is_int16", "is_int32",
        "is_int64", "is_int8", "is_integer", "is_interval", "is_json", "is_linestring",
        "is_macaddr", "is_map", "is_multilinestring", "is_multipoint", "is_multipolygon",
        "is_nested", "is_null", "is_numeric", "is_point", "is_polygon", "is_primitive",
        "is_signed_integer", "is_string", "is_struct", "is_temporal", "is_time", "is_timestamp",
        "is_uint16", "is_uint32", "is_uint64", "is_uint8", "is_unknown", "is_unsigned_integer",
        "is_uuid", "is_variadic", "nullable"
    }),
    "ibis.expr.datatypes.core.Date": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Decimal": frozenset({
        "nullable", "precision", "scale"
    }),
    "ibis.expr.datatypes.core.Float16": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Float32": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Float64": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Floating": frozenset({
        "nbytes", "nullable"
    }),
    "ibis.expr.datatypes.core.GeoSpatial": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.INET": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Int16": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Int32": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Int64": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Int8": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Integer": frozenset({
        "nbytes", "nullable"
    }),
    "ibis.expr.datatypes.core.Interval": frozenset({
        "nullable", "resolution", "unit"
    }),
    "ibis.expr.datatypes.core.JSON": frozenset({
        "binary", "nullable"
    }),
    "ibis.expr.datatypes.core.LineString": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.MACADDR": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Map": frozenset({
        "key_type", "nullable", "value_type"
    }),
    "ibis.expr.datatypes.core.MultiLineString": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.MultiPoint": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.MultiPolygon": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.Null": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Numeric": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Parametric": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Point": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.Polygon": frozenset({
        "geotype", "nullable", "srid"
    }),
    "ibis.expr.datatypes.core.Primitive": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.SignedInteger": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.String": frozenset({
        "length", "nullable"
    }),
    "ibis.expr.datatypes.core.Struct": frozenset({
        "fields", "names", "nullable", "types"
    }),
    "ibis.expr.datatypes.core.Temporal": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Time": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Timestamp": frozenset({
        "nullable", "scale", "timezone", "unit"
    }),
    "ibis.expr.datatypes.core.UInt16": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.UInt32": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.UInt64": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.UInt8": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.UUID": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Unknown": frozenset({
        "nullable", "raw_type"
    }),
    "ibis.expr.datatypes.core.UnsignedInteger": frozenset({
        "nullable"
    }),
    "ibis.expr.datatypes.core.Variadic": frozenset({
        "nullable"
    }),
    "ibis.expr.schema.Schema": frozenset({
        "equals", "fields", "geospatial", "name_at_position", "names", "null_fields", "types"
    }),
    "ibis.expr.types.arrays.ArrayValue": frozenset({
        "alls", "anys", "concat", "contains", "filter", "flatten", "index", "intersect", "join",
        "length", "map", "maxs", "means", "mins", "modes", "remove", "repeat", "sort", "sums",
        "union", "unique", "unnest", "zip"
    }),
    "ibis.expr.types.binary.BinaryValue": frozenset({
        "hashbytes"
    }),
    "ibis.expr.types.core.Expr": frozenset({
        "as_scalar", "as_table", "equals", "get_name", "pipe"
    }),
    "ibis.expr.types.generic.Column": frozenset({
        "approx_median", "approx_nunique", "arbitrary", "argmax", "argmin", "as_scalar",
        "as_table", "count", "cume_dist", "cummax", "cummin", "dense_rank", "first", "lag",
        "last", "lead", "max", "median", "min", "mode", "nth", "ntile", "nunique",
        "percent_rank", "quantile", "rank", "topk", "value_counts"
    }),
    "ibis.expr.types.generic.Scalar": frozenset({
        "as_scalar", "as_table"
    }),
    "ibis.expr.types.generic.Value": frozenset({
        "asc", "between", "case", "cases", "cast", "coalesce", "collect", "desc", "fill_null",
        "fillna", "group_concat", "hash", "identical_to", "isin", "isnull", "name", "notin",
        "notnull", "nullif", "over", "substitute", "try_cast", "type", "typeof"
    }),
    "ibis.expr.types.geospatial.GeoSpatialColumn": frozenset({
        "unary_union"
    }),
    "ibis.expr.types.geospatial.GeoSpatialValue": frozenset({
        "area", "as_binary", "as_ewkb", "as_ewkt", "as_text", "azimuth", "buffer", "centroid",
        "contains", "contains_properly", "convert", "covered_by", "covers", "crosses",
        "d_fully_within", "d_within", "difference", "disjoint", "distance", "end_point",
        "envelope", "flip_coordinates", "geo_equals", "geometry_n", "geometry_type",
        "intersection", "intersects", "is_valid", "length", "line_locate_point", "line_merge",
        "line_substring", "max_distance", "n_points", "n_rings", "ordering_equals", "overlaps",
        "perimeter", "point_n", "set_srid", "simplify", "srid", "start_point", "touches",
        "transform", "union", "within", "x", "x_max", "x_min", "y", "y_max", "y_min"
    }),
    "ibis.expr.types.groupby.GroupedTable": frozenset({
        "agg", "aggregate", "count", "having", "mutate", "order_by", "over", "projection",
        "select", "size"
    }),
    "ibis.expr.types.joins.Join": frozenset({
        "aggregate", "alias", "asof_join", "cast", "columns", "count", "cross_join",
        "difference", "distinct", "drop", "dropna", "fill_null", "filter", "group_by",
        "intersect", "join", "limit", "mutate", "nunique", "order_by", "sample", "schema",
        "select", "union", "view"
    }),
    "ibis.expr.types.json.JSONValue": frozenset({
        "array", "bool", "float", "int", "map", "str", "unwrap_as"
    }),
    "ibis.expr.types.logical.BooleanColumn": frozenset({
        "all", "any", "cumall", "cumany", "notall", "notany"
    }),
    "ibis.expr.types.logical.BooleanValue": frozenset({
        "ifelse", "negate"
    }),
    "ibis.expr.types.maps.MapValue": frozenset({
        "contains", "get", "keys", "length", "values"
    }),
    "ibis.expr.types.numeric.FloatingValue": frozenset({
        "isinf", "isnan"
    }),
    "ibis.expr.types.numeric.IntegerColumn": frozenset({
        "bit_and", "bit_or", "bit_xor"
    }),
    "ibis.expr.types.numeric.IntegerValue": frozenset({
        "as_interval", "as_timestamp", "convert_base"
    }),
    "ibis.expr.types.numeric.NumericColumn": frozenset({
        "approx_quantile", "bucket", "corr", "cov", "cummean", "cumsum", "histogram",
        "kurtosis", "mean", "std", "sum", "var"
    }),
    "ibis.expr.types.numeric.NumericValue": frozenset({
        "abs", "acos", "add", "asin", "atan", "atan2", "ceil", "clip", "cos", "cot", "deg2rad",
        "degrees", "div", "exp", "floor", "floordiv", "ln", "log", "log10", "log2", "mod",
        "mul", "negate", "point", "pow", "rad2deg", "radd", "radians", "rdiv", "rfloordiv",
        "rmod", "rmul", "round", "rpow", "rsub", "sign", "sin", "sqrt", "sub", "tan"
    }),
    "ibis.expr.types.relations.Table": frozenset({
        "agg", "aggregate", "alias", "anti_join", "any_inner_join", "any_left_join",
        "as_scalar", "as_table", "asof_join", "bind", "cast", "columns", "count", "cross_join",
        "describe", "difference", "distinct", "drop", "drop_null", "dropna", "fill_null",
        "fillna", "filter", "get_name", "group_by", "head", "info", "inner_join", "intersect",
        "join", "left_join", "limit", "mutate", "nunique", "order_by", "outer_join",
        "pivot_longer", "pivot_wider", "projection", "relocate", "rename", "right_join",
        "rowid", "sample", "schema", "select", "semi_join", "topk", "try_cast", "union",
        "unnest", "unpack", "value_counts", "view"
    }),
    "ibis.expr.types.strings.StringValue": frozenset({
        "as_date", "as_time", "as_timestamp", "ascii_str", "authority", "capitalize", "concat",
        "contains", "convert_base", "endswith", "file", "find", "find_in_set", "fragment",
        "hashbytes", "hexdigest", "host", "ilike", "join", "left", "length", "levenshtein",
        "like", "lower", "lpad", "lstrip", "path", "protocol", "query", "re_extract",
        "re_replace", "re_search", "re_split", "repeat", "replace", "reverse", "right", "rlike",
        "rpad", "rstrip", "split", "startswith", "strip", "substr", "translate", "upper",
        "userinfo"
    }),
    "ibis.expr.types.structs.StructValue": frozenset({
        "fields", "lift", "names", "types"
    }),
    "ibis.expr.types.temporal.DateValue": frozenset({
        "add", "delta", "epoch_days", "radd", "rsub", "strftime", "sub", "truncate"
    }),
    "ibis.expr.types.temporal.DayOfWeek": frozenset({
        "full_name", "index"
    }),
    "ibis.expr.types.temporal.IntervalValue": frozenset({
        "add", "as_unit", "days", "floordiv", "hours", "microseconds", "milliseconds",
        "minutes", "months", "mul", "nanoseconds", "negate", "quarters", "radd", "rmul", "rsub",
        "seconds", "sub", "weeks", "years"
    }),
    "ibis.expr.types.temporal.TimeValue": frozenset({
        "add", "delta", "radd", "rsub", "strftime", "sub", "truncate"
    }),
    "ibis.expr.types.temporal.TimestampValue": frozenset({
        "add", "bucket", "date", "delta", "radd", "rsub", "strftime", "sub", "truncate"
    }),
    "ibis.expr.types.temporal._DateComponentMixin": frozenset({
        "day", "day_of_week", "day_of_year", "epoch_seconds", "iso_year", "month", "quarter",
        "week_of_year", "year"
    }),
    "ibis.expr.types.temporal._TimeComponentMixin": frozenset({
        "between", "hour", "microsecond", "millisecond", "minute", "second", "time"
    }),
    "ibis.selectors.Across": frozenset({
        "expand"
    }),
    "ibis.selectors.AllColumns": frozenset({
        "expand", "expand_names"
    }),
    "ibis.selectors.Cols": frozenset({
        "expand_names"
    }),
    "ibis.selectors.ColumnIndex": frozenset({
        "expand_names"
    }),
    "ibis.selectors.Contains": frozenset({
        "expand_names"
    }),
    "ibis.selectors.EndsWith": frozenset({
        "expand_names"
    }),
    "ibis.selectors.First": frozenset({
        "expand", "expand_names"
    }),
    "ibis.selectors.IfAnyAll": frozenset({
        "expand"
    }),
    "ibis.selectors.Last": frozenset({
        "expand", "expand_names"
    }),
    "ibis.selectors.Matches": frozenset({
        "expand_names"
    }),
    "ibis.selectors.NoColumns": frozenset({
        "expand", "expand_names"
    }),
    "ibis.selectors.OfType": frozenset({
        "expand_names"
    }),
    "ibis.selectors.StartsWith": frozenset({
        "expand_names"
    }),
    "ibis.selectors.Where": frozenset({
        "expand_names"
    }),
}

DEFERRED_NAMES: frozenset[str] = frozenset({
    "abs", "acos", "add", "agg", "aggregate", "alias", "all", "alls", "anti_join", "any",
    "any_inner_join", "any_left_join", "anys", "approx_median", "approx_nunique",
    "approx_quantile", "arbitrary", "area", "argmax", "argmin", "array", "as_binary", "as_date",
    "as_ewkb", "as_ewkt", "as_interval", "as_scalar", "as_table", "as_text", "as_time",
    "as_timestamp", "as_unit", "asc", "ascii_str", "asin", "asof_join", "atan", "atan2",
    "authority", "azimuth", "between", "bit_and", "bit_or", "bit_xor", "bool", "bucket",
    "buffer", "capitalize", "case", "cases", "cast", "ceil", "centroid", "clip", "coalesce",
    "collect", "concat", "contains", "contains_properly", "convert", "convert_base", "corr",
    "cos", "cot", "count", "cov", "covered_by", "covers", "cross_join", "crosses", "cumall",
    "cumany", "cume_dist", "cummax", "cummean", "cummin", "cumsum", "d_fully_within",
    "d_within", "date", "day", "day_of_week", "day_of_year", "days", "deg2rad", "degrees",
    "delta", "dense_rank", "desc", "describe", "difference", "disjoint", "distance", "distinct",
    "div", "drop", "drop_null", "dropna", "else_", "end", "end_point", "endswith", "envelope",
    "epoch_days", "epoch_seconds", "exp", "file", "fill_null", "fillna", "filter", "find",
    "find_in_set", "first", "flatten", "flip_coordinates", "float", "floor", "floordiv",
    "fragment", "geo_equals", "geometry_n", "geometry_type", "get", "group_by", "group_concat",
    "hash", "hashbytes", "having", "head", "hexdigest", "histogram", "host", "hour", "hours",
    "identical_to", "ifelse", "ilike", "index", "info", "inner_join", "int", "intersect",
    "intersection", "intersects", "is_valid", "isin", "isinf", "isnan", "isnull", "iso_year",
    "join", "keys", "kurtosis", "lag", "last", "lead", "left", "left_join", "length",
    "levenshtein", "lift", "like", "limit", "line_locate_point", "line_merge", "line_substring",
    "ln", "log", "log10", "log2", "lower", "lpad", "lstrip", "map", "max", "max_distance",
    "maxs", "mean", "means", "median", "microsecond", "microseconds", "millisecond",
    "milliseconds", "min", "mins", "minute", "minutes", "mod", "mode", "modes", "month",
    "months", "mul", "mutate", "n_points", "n_rings", "name", "nanoseconds", "negate", "notall",
    "notany", "notin", "notnull", "nth", "ntile", "nullif", "nunique", "order_by",
    "ordering_equals", "outer_join", "over", "overlaps", "path", "percent_rank", "perimeter",
    "pivot_longer", "pivot_wider", "point", "point_n", "pow", "projection", "protocol",
    "quantile", "quarter", "quarters", "rad2deg", "radd", "radians", "rank", "rdiv",
    "re_extract", "re_replace", "re_search", "re_split", "relocate", "remove", "rename",
    "repeat", "replace", "reverse", "rfloordiv", "right", "right_join", "rlike", "rmod", "rmul",
    "round", "rowid", "rpad", "rpow", "rstrip", "rsub", "sample", "second", "seconds", "select",
    "semi_join", "set_srid", "sign", "simplify", "sin", "size", "sort", "split", "sqrt", "srid",
    "start_point", "startswith", "std", "str", "strftime", "strip", "sub", "substitute",
    "substr", "sum", "sums", "tan", "time", "topk", "touches", "transform", "translate",
    "truncate", "try_cast", "typeof", "unary_union", "union", "unique", "unnest", "unpack",
    "unwrap_as", "upper", "userinfo", "value_counts", "values", "var", "view", "week_of_year",
    "weeks", "when", "within", "x", "x_max", "x_min", "y", "y_max", "y_min", "year", "years",
    "zip"
})
# ---- END DERIVED ----
