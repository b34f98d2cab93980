"""azure-kusto-data against Eddy: the seed's commands, typed query results, pandas,
streaming queries, render, query parameters, errors and truncation.

Usage: python kusto_query.py URL
"""
import datetime
import decimal
import sys
import uuid

from azure.kusto.data import ClientRequestProperties, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import KustoApiError, KustoMultiApiError, KustoServiceError
from azure.kusto.data.helpers import dataframe_from_result_table

url = sys.argv[1]
client = KustoClient(KustoConnectionStringBuilder.with_no_authentication(url))
DB = "NetDefaultDB"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# The seed's management commands, verbatim.
client.execute_mgmt(DB, ".create table TestTable (TimeStamp: datetime, Temperature: float, Humidity: float, IoTDevice: string)")
client.execute_mgmt(
    DB,
    """.create table TestTable ingestion json mapping 'TestMapping' '[{"column":"TimeStamp","Properties":{"Path":"$.timestamp"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}},{"column":"IoTDevice","Properties":{"Path":"$.iotdevice"}}]'""",
)
r = client.execute_mgmt(
    DB,
    """.alter table TestTable policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:30", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}'""",
)
check(len(r.primary_results) == 1, "one result table for a command")
tables = client.execute_mgmt(DB, ".show tables").primary_results[0]
check("TestTable" in [row["TableName"] for row in tables], f"TestTable listed: {tables}")

# Every type, through v2, converted by the SDK.
client.execute_mgmt(
    DB,
    ".create table Typed (ts: datetime, span: timespan, d: dynamic, n: long, x: real, b: bool, s: string, g: guid, m: decimal, i: int)",
)
client.execute_mgmt(
    DB,
    """.ingest inline into table Typed with (format='json') <|
{"ts": "2024-01-02T03:04:05.1234567Z", "span": "1.02:03:04.5", "d": {"a": [1, 2], "b": "x"}, "n": 9007199254740993, "x": 1.5, "b": true, "s": "héllo", "g": "7e3d1f0c-0000-4000-8000-000000000001", "m": "12.345", "i": 7}
{"ts": null, "span": null, "d": [1, "two"], "n": null, "x": null, "b": null, "s": null, "g": null, "m": null, "i": null}""",
)
res = client.execute_query(DB, "Typed | order by n desc nulls last")
t = res.primary_results[0]
check(t.rows_count == 2, f"two rows, got {t.rows_count}")
row = t[0]
check(row["ts"] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc), f"datetime: {row['ts']!r}")
check(row["span"] == datetime.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500), f"timespan: {row['span']!r}")
check(row["d"] == {"a": [1, 2], "b": "x"}, f"dynamic: {row['d']!r}")
check(row["n"] == 9007199254740993, f"long: {row['n']!r}")
check(row["x"] == 1.5 and row["b"] is True and row["s"] == "héllo" and row["i"] == 7, f"scalars: {row.to_list()}")
check(str(row["g"]) == "7e3d1f0c-0000-4000-8000-000000000001", f"guid: {row['g']!r}")
check(row["m"] == decimal.Decimal("12.345"), f"decimal: {row['m']!r}")
check(t[1]["d"] == [1, "two"] and t[1]["ts"] is None and t[1]["n"] is None, f"second row: {t[1].to_list()}")
check([c.column_type for c in t.columns] == ["datetime", "timespan", "dynamic", "long", "real", "bool", "string", "guid", "decimal", "int"], f"types: {[c.column_type for c in t.columns]}")

df = dataframe_from_result_table(t)
check(list(df.columns) == ["ts", "span", "d", "n", "x", "b", "s", "g", "m", "i"], f"frame columns {list(df.columns)}")
check(len(df) == 2 and str(df["ts"].dtype).startswith("datetime64"), f"frame dtypes {df.dtypes}")
check(df["span"][0] == datetime.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500), f"frame timespan {df['span'][0]!r}")

# NaN and infinities travel as strings and come back as floats.
t = client.execute_query(DB, "print a = real(nan), b = real(+inf), c = real(-inf), d = 1.0/0").primary_results[0]
import math
check(math.isnan(float(t[0]["a"])) and float(t[0]["b"]) == math.inf and float(t[0]["c"]) == -math.inf, f"specials {t[0].to_list()}")

# The streaming reader needs Kusto's key order in each frame.
streamed = client.execute_streaming_query(DB, "Typed | project n, s | order by n asc nulls first")
rows = [r.to_list() for r in next(streamed.iter_primary_results())]
check(rows == [[None, ""], [9007199254740993, "héllo"]], f"streamed rows {rows}")  # Kusto strings are never null

# Several results: one PrimaryResult per tabular statement, named by `as`.
res = client.execute_query(DB, "print x = 1 | as First; print y = 'two' | as Second")
check([p.table_name for p in res.primary_results] == ["First", "Second"], f"names {[p.table_name for p in res.primary_results]}")
check(res.primary_results[1][0]["y"] == "two", "second result")

# render travels as the Visualization row of @ExtendedProperties.
res = client.execute_query(DB, "Typed | summarize c = count() by b | render piechart with (title='Share')")
props = [tab for tab in res.tables if tab.table_name == "@ExtendedProperties"][0]
viz = [r for r in props if r["Key"] == "Visualization"]
check(len(viz) == 1, f"visualization row {props.raw_rows}")
import json
v = json.loads(viz[0]["Value"]) if isinstance(viz[0]["Value"], str) else viz[0]["Value"]
check(v["Visualization"] == "piechart" and v["Title"] == "Share", f"visualization {v}")

# Query parameters and request options from ClientRequestProperties.
crp = ClientRequestProperties()
crp.set_parameter("minN", "100")
crp.set_parameter("name", "héllo")
crp.set_option("servertimeout", datetime.timedelta(seconds=30))
t = client.execute_query(DB, "declare query_parameters(minN: long, name: string, unused: int = 5); Typed | where n > minN and s == name | project n, unused", crp).primary_results[0]
check([r.to_list() for r in t] == [[9007199254740993, 5]], f"parameters {t.raw_rows}")

# A syntax error raises KustoServiceError with our message: line, column, expected.
try:
    client.execute_query(DB, "Typed\n| where n >")
    raise AssertionError("a syntax error must raise")
except KustoServiceError as e:
    text = str(e)
    check("line 2" in text and "column" in text and "expected" in text, f"syntax error text: {text}")
    check(isinstance(e, KustoApiError), f"error type {type(e)}")

try:
    client.execute_query(DB, "NoSuchTable | take 1")
    raise AssertionError("an unknown table must raise")
except KustoApiError as e:
    check(e.get_api_error().permanent and "NoSuchTable" in str(e), f"unknown table: {e}")
    check(e.is_semantic_error(), "unknown table is a semantic error")

# Truncation: past the limit the SDK raises with Kusto's message; notruncation lifts it.
crp = ClientRequestProperties()
crp.set_option("truncationmaxrecords", 1)
try:
    client.execute_query(DB, "Typed", crp)
    raise AssertionError("truncation must raise")
except KustoMultiApiError as e:
    check("E_QUERY_RESULT_SET_TOO_LARGE" in str(e), f"truncation error: {e}")
t = client.execute_query(DB, "set truncationmaxrecords = 1; set notruncation; Typed").primary_results[0]
check(t.rows_count == 2, "set notruncation returns everything")
crp = ClientRequestProperties()
crp.set_option("truncationmaxrecords", 1)
crp.set_option("deferpartialqueryfailures", True)
res = client.execute_query(DB, "Typed", crp)
check(res.primary_results[0].rows_count == 1 and res.errors_count == 1, f"deferred partial failure: {res.get_exceptions()}")

print("ok")
