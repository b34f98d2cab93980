"""azure-kusto-ingest QueuedIngestClient against Eddy with Azurite as the storage:
files and streams go through blobs and the ingestion queue, rows land, and the status
queues report successes and failures as each message asks.

Usage: python kusto_queued.py URL WORKDIR
"""
import io
import os
import sys
import time

from azure.kusto.data import KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.data_format import DataFormat
from azure.kusto.data.exceptions import KustoServiceError
from azure.kusto.ingest import IngestionProperties, IngestionStatus, QueuedIngestClient, ReportLevel
from azure.kusto.ingest.status import KustoIngestStatusQueues

url, workdir = sys.argv[1], sys.argv[2]
kcsb = KustoConnectionStringBuilder.with_no_authentication(url)
client = KustoClient(kcsb)
DB = "NetDefaultDB"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(what, fn, timeout=60):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def count(table):
    return client.execute_query(DB, f"{table} | count").primary_results[0][0]["Count"]


def resources_ready():
    try:
        return client.execute_mgmt(DB, ".get ingestion resources").primary_results[0].rows_count >= 5
    except KustoServiceError:
        return False


wait_for("queued ingestion resources", resources_ready)
client.execute_mgmt(DB, ".create table TestTable (TimeStamp: datetime, Temperature: float, Humidity: float, IoTDevice: string)")
client.execute_mgmt(
    DB,
    """.create table TestTable ingestion json mapping 'TestMapping' '[{"column":"TimeStamp","Properties":{"Path":"$.timestamp"}},{"column":"Temperature","Properties":{"Path":"$.temperature"}},{"column":"Humidity","Properties":{"Path":"$.humidity"}},{"column":"IoTDevice","Properties":{"Path":"$.iotdevice"}}]'""",
)
client.execute_mgmt(DB, """.alter table TestTable policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:01", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}'""")

ingest = QueuedIngestClient(kcsb)
status = KustoIngestStatusQueues(ingest)

path = os.path.join(workdir, "telemetry.json")
with open(path, "w") as f:
    for i in range(3):
        f.write(f'{{"timestamp": "2024-05-01T10:00:0{i}Z", "temperature": {20 + i}.5, "humidity": 40, "iotdevice": "q-{i}"}}\n')
props = IngestionProperties(
    database=DB,
    table="TestTable",
    data_format=DataFormat.JSON,
    ingestion_mapping_reference="TestMapping",
    report_level=ReportLevel.FailuresAndSuccesses,
)
result = ingest.ingest_from_file(path, props)
check(result.status == IngestionStatus.QUEUED, f"queued status {result.status}")
wait_for("three queued rows", lambda: count("TestTable") == 3)
ok = wait_for("a success status message", lambda: status.success.pop(1))
check(ok[0].Table == "TestTable" and ok[0].Database == DB, f"success message {ok[0]}")

# A CSV stream with the SDK's default report level (DoNotReport): rows land, nothing reported.
csv_props = IngestionProperties(database=DB, table="TestTable", data_format=DataFormat.CSV)
ingest.ingest_from_stream(io.BytesIO(b"2024-05-01T12:00:00Z,1.5,2.5,csv-dev\n"), csv_props)
wait_for("the csv row", lambda: count("TestTable") == 4)

# A bad blob: the failure queue says why; the good record of it still lands.
bad = b'{"timestamp": "2024-05-01T13:00:00Z", "temperature": 1, "humidity": 1, "iotdevice": "ok"}\n{not json\n'
ingest.ingest_from_stream(io.BytesIO(bad), props)
failed = wait_for("a failure status message", lambda: status.failure.pop(1))
f = failed[0]
check(f.Table == "TestTable" and f.ErrorCode and "ingestion failures" in f.Details, f"failure message {f}")
check(f.FailureStatus == "Permanent", f"failure status {f.FailureStatus}")
wait_for("the good record of the bad blob", lambda: count("TestTable") == 5)

# A blob for a table that does not exist fails with a message that names it.
missing = IngestionProperties(database=DB, table="NoSuchTable", data_format=DataFormat.CSV, report_level=ReportLevel.FailuresOnly)
ingest.ingest_from_stream(io.BytesIO(b"x\n"), missing)
failed = wait_for("a failure for the unknown table", lambda: status.failure.pop(1))
check("NoSuchTable" in failed[0].Details, f"unknown table failure {failed[0]}")
check(status.success.is_empty(), "no success messages were asked for after the first")

# An inline mapping travels in the message.
inline = IngestionProperties(
    database=DB,
    table="TestTable",
    data_format=DataFormat.JSON,
    ingestion_mapping_kind=None,
)
inline.additional_properties = {"ingestionMapping": '[{"column":"IoTDevice","Properties":{"Path":"$.d"}},{"column":"Temperature","Properties":{"Path":"$.t"}}]'}
ingest.ingest_from_stream(io.BytesIO(b'{"d": "inline-dev", "t": 7.5}\n'), inline)
wait_for("the inline-mapped row", lambda: count("TestTable") == 6)
row = client.execute_query(DB, "TestTable | where IoTDevice == 'inline-dev'").primary_results[0][0]
check(row["Temperature"] == 7.5, f"inline mapping row {row.to_list()}")
print("ok")
