"""The DuckDB peer of `eddy bench query`.

Reads a JSON job from argv[1]: the NDJSON files, the devices CSV, the queries (SQL)
and how many runs each. Loads the telemetry with read_json into a native table
(timed: the ingestion peer), loads the devices, runs every query `runs` times and
prints JSON: ingest seconds, row count, and per query the run times, the number of
result rows and the first row (for the harness's answer check). Also times the same
load into a database file, checkpointed (durable on disk, as Eddy's ingestion is
when acknowledged): the durable ingestion peer.
"""

import json
import os
import sys
import time

import duckdb


def cell(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (int, str)) or v is None:
        return v
    return str(v)


LOAD = """CREATE TABLE Telemetry AS SELECT
             timestamp AS "Timestamp", deviceId AS DeviceId, temperature AS Temperature,
             humidity AS Humidity, message AS Message
           FROM read_json(?, format = 'newline_delimited', columns = {
             'timestamp': 'TIMESTAMP', 'deviceId': 'VARCHAR', 'temperature': 'DOUBLE',
             'humidity': 'DOUBLE', 'message': 'VARCHAR'})"""


def durable_load(files, path):
    """Seconds to load the files into a database file and checkpoint it."""
    con = duckdb.connect(path)
    started = time.perf_counter()
    con.execute(LOAD, [files])
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    os.remove(path)
    return seconds


def main():
    job = json.load(open(sys.argv[1]))
    files = job["files"]
    durable = durable_load(files, job["durable_path"])
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(LOAD, [files])
    ingest = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM Telemetry").fetchone()[0]
    con.execute(
        "CREATE TABLE Devices AS SELECT * FROM read_csv(?, header = true, columns = "
        "{'DeviceId': 'VARCHAR', 'Site': 'VARCHAR', 'Model': 'VARCHAR'})",
        [job["devices"]],
    )
    results = []
    for q in job["queries"]:
        times = []
        out = []
        for _ in range(job["runs"]):
            t0 = time.perf_counter()
            out = con.execute(q["sql"]).fetchall()
            times.append(time.perf_counter() - t0)
        results.append(
            {
                "name": q["name"],
                "seconds": times,
                "rows": len(out),
                "first": [cell(v) for v in out[0]] if out else None,
            }
        )
    print(
        json.dumps(
            {
                "version": duckdb.__version__,
                "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
                "ingest_seconds": ingest,
                "ingest_durable_seconds": durable,
                "rows": rows,
                "queries": results,
            }
        )
    )


main()
