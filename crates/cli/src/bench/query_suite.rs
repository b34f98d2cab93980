//! The queries of `eddy bench query`: each one in KQL and in the equivalent DuckDB SQL.
//!
//! The data spans one day from 2026-11-20 (see `query_data.rs`). Where Kusto's
//! aggregate is approximate (`dcount`, `percentiles`), the SQL uses DuckDB's
//! approximate one too; `has` is a whole-term match, and the text only holds "error"
//! as a whole word, so `ILIKE '%error%'` selects the same rows.

pub struct Query {
    pub name: &'static str,
    pub kql: &'static str,
    pub sql: &'static str,
    /// A one-row answer both sides must agree on (first cell compared).
    pub scalar: bool,
}

pub const QUERIES: &[Query] = &[
    Query {
        name: "filter_count",
        kql: "Telemetry | where Temperature > 30 | count",
        sql: "SELECT count(*) FROM Telemetry WHERE Temperature > 30",
        scalar: true,
    },
    Query {
        name: "summarize_bin_1m",
        kql: "Telemetry | summarize avg(Temperature), max(Humidity) by bin(Timestamp, 1m)",
        sql: "SELECT time_bucket(INTERVAL 1 minute, \"Timestamp\") AS b, avg(Temperature), max(Humidity) FROM Telemetry GROUP BY b",
        scalar: false,
    },
    Query {
        name: "summarize_by_device",
        kql: "Telemetry | summarize count(), avg(Temperature), max(Humidity) by DeviceId",
        sql: "SELECT DeviceId, count(*), avg(Temperature), max(Humidity) FROM Telemetry GROUP BY DeviceId",
        scalar: false,
    },
    Query {
        name: "summarize_device_hour",
        kql: "Telemetry | summarize avg(Temperature) by DeviceId, bin(Timestamp, 1h) | top 10 by avg_Temperature desc",
        sql: "SELECT DeviceId, time_bucket(INTERVAL 1 hour, \"Timestamp\") AS b, avg(Temperature) AS a FROM Telemetry GROUP BY DeviceId, b ORDER BY a DESC LIMIT 10",
        scalar: false,
    },
    Query {
        name: "top_10",
        kql: "Telemetry | top 10 by Temperature desc",
        sql: "SELECT * FROM Telemetry ORDER BY Temperature DESC LIMIT 10",
        scalar: false,
    },
    Query {
        name: "dcount_by_hour",
        kql: "Telemetry | summarize dcount(DeviceId) by bin(Timestamp, 1h)",
        sql: "SELECT time_bucket(INTERVAL 1 hour, \"Timestamp\") AS b, approx_count_distinct(DeviceId) FROM Telemetry GROUP BY b",
        scalar: false,
    },
    Query {
        name: "percentiles_by_hour",
        kql: "Telemetry | summarize percentiles(Temperature, 50, 95, 99) by bin(Timestamp, 1h)",
        sql: "SELECT time_bucket(INTERVAL 1 hour, \"Timestamp\") AS b, approx_quantile(Temperature, [0.5, 0.95, 0.99]) FROM Telemetry GROUP BY b",
        scalar: false,
    },
    Query {
        name: "join_devices",
        kql: "Telemetry | where Temperature > 35 | join kind=inner Devices on DeviceId | summarize count(), avg(Humidity) by Site",
        sql: "SELECT d.Site, count(*), avg(t.Humidity) FROM Telemetry t JOIN Devices d ON t.DeviceId = d.DeviceId WHERE t.Temperature > 35 GROUP BY d.Site",
        scalar: false,
    },
    Query {
        name: "has_term",
        kql: "Telemetry | where Message has 'error' | count",
        sql: "SELECT count(*) FROM Telemetry WHERE Message ILIKE '%error%'",
        scalar: true,
    },
    Query {
        name: "make_series",
        kql: "Telemetry | make-series avg(Temperature) default=0 on Timestamp from datetime(2026-11-20) to datetime(2026-11-21) step 1h by DeviceId",
        sql: "SELECT DeviceId, list(a ORDER BY b) FROM (SELECT DeviceId, time_bucket(INTERVAL 1 hour, \"Timestamp\") AS b, avg(Temperature) AS a FROM Telemetry GROUP BY DeviceId, b) GROUP BY DeviceId",
        scalar: false,
    },
    Query {
        name: "arg_max_by_device",
        kql: "Telemetry | summarize arg_max(Timestamp, Temperature, Humidity) by DeviceId",
        sql: "SELECT DeviceId, max(\"Timestamp\"), arg_max(Temperature, \"Timestamp\"), arg_max(Humidity, \"Timestamp\") FROM Telemetry GROUP BY DeviceId",
        scalar: false,
    },
    Query {
        name: "point_lookup",
        kql: "Telemetry | where DeviceId == 'dev-00042' and Timestamp between (datetime(2026-11-20 06:00) .. datetime(2026-11-20 12:00)) | summarize count(), avg(Temperature)",
        sql: "SELECT count(*), avg(Temperature) FROM Telemetry WHERE DeviceId = 'dev-00042' AND \"Timestamp\" BETWEEN TIMESTAMP '2026-11-20 06:00:00' AND TIMESTAMP '2026-11-20 12:00:00'",
        scalar: true,
    },
    Query {
        name: "extend_compute",
        kql: "Telemetry | extend F = Temperature * 9 / 5 + 32 | summarize max(F), min(F), avg(Humidity)",
        sql: "SELECT max(Temperature * 9 / 5 + 32), min(Temperature * 9 / 5 + 32), avg(Humidity) FROM Telemetry",
        scalar: true,
    },
];
