"""azure-kusto-ingest streaming clients against Eddy: KustoStreamingIngestClient and
ManagedStreamingIngestClient, JSON with a mapping and CSV; rows are queryable at once;
bad requests raise with our message and do not fall back to queued ingestion.

Usage: python kusto_streaming.py URL WORKDIR
"""
import io
import os
import sys

from azure.kusto.data import KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.data_format import DataFormat
from azure.kusto.data.exceptions import KustoApiError
from azure.kusto.ingest import (
    IngestionProperties,
    IngestionStatus,
    KustoStreamingIngestClient,
    ManagedStreamingIngestClient,
)

url, workdir = sys.argv[1], sys.argv[2]
kcsb = KustoConnectionStringBuilder.with_no_authentication(url)
client = KustoClient(kcsb)
DB = "NetDefaultDB"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def count(table):
    return client.execute_query(DB, f"{table} | count").primary_results[0][0]["Count"]


client.execute_mgmt(DB, ".create table TestTable (TimeStamp: datetime, Temperature: float, Humidity: float, IoTDevice: string)")
client.execute_mgmt(
    DB,
    """.create table TestTable ingestion json mapping 'TestMapping' '[{"column":"TimeStamp","Properties":{"Path":"$.timestamp"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}},{"column":"IoTDevice","Properties":{"Path":"$.iotdevice"}}]'""",
)

path = os.path.join(workdir, "telemetry.json")
with open(path, "w") as f:
    for i in range(3):
        f.write(f'{{"timestamp": "2024-05-01T10:00:0{i}Z", "temperature": {20 + i}.5, "humidity": 40, "iotdevice": "dev-{i}"}}\n')

props = IngestionProperties(database=DB, table="TestTable", data_format=DataFormat.JSON, ingestion_mapping_reference="TestMapping")
streaming = KustoStreamingIngestClient(kcsb)
result = streaming.ingest_from_file(path, props)
check(result.status == IngestionStatus.SUCCESS, f"streaming status {result.status}")
check(count("TestTable") == 3, "three rows queryable right after streaming ingestion")
row = client.execute_query(DB, "TestTable | where IoTDevice == 'dev-2'").primary_results[0][0]
check(row["Temperature"] == 22.5 and row["TimeStamp"].second == 2, f"mapped row {row.to_list()}")

managed = ManagedStreamingIngestClient(kcsb, kcsb)
data = b'{"timestamp": "2024-05-01T11:00:00Z", "temperature": 30.0, "humidity": 50, "iotdevice": "m-1"}\n' * 2
result = managed.ingest_from_stream(io.BytesIO(data), props)
check(result.status == IngestionStatus.SUCCESS, f"managed streaming status {result.status}")
check(count("TestTable") == 5, "managed streaming rows queryable at once")

csv_props = IngestionProperties(database=DB, table="TestTable", data_format=DataFormat.CSV)
result = managed.ingest_from_stream(io.BytesIO(b"2024-05-01T12:00:00Z,1.5,2.5,csv-dev\n"), csv_props)
check(result.status == IngestionStatus.SUCCESS and count("TestTable") == 6, "csv by position")

# A malformed record goes to the ingestion failures; the good ones land.
bad = b'{"timestamp": "2024-05-01T13:00:00Z", "temperature": 1, "humidity": 1, "iotdevice": "ok"}\n{not json\n'
streaming.ingest_from_stream(io.BytesIO(bad), props)
check(count("TestTable") == 7, "the good record landed")
failures = client.execute_mgmt(DB, ".show ingestion failures").primary_results[0]
check(any("streaming" in str(r["IngestionSourcePath"]) for r in failures), f"failure recorded: {failures.raw_rows}")

# Permanent errors raise with our message (no silent fallback to queued ingestion).
for table, mapping, needle in [("NoSuchTable", "TestMapping", "NoSuchTable"), ("TestTable", "NoSuchMapping", "NoSuchMapping")]:
    p = IngestionProperties(database=DB, table=table, data_format=DataFormat.JSON, ingestion_mapping_reference=mapping)
    try:
        managed.ingest_from_stream(io.BytesIO(data), p)
        raise AssertionError(f"{table}/{mapping} must raise")
    except KustoApiError as e:
        check(needle in str(e) and e.get_api_error().permanent, f"error for {needle}: {e}")
check(count("TestTable") == 7, "failed requests added nothing")
print("ok")
