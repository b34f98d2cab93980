//! Ingestion per format and mapping feature; malformed records go to the ingestion
//! failures while the good rows land.

use std::io::Write;

use serde_json::json;

use crate::support::Env;

async fn failures(env: &Env) -> Vec<(String, String, String, String)> {
    let r = env.run(".show ingestion failures").await;
    let col = |n: &str| r.column(n).unwrap();
    r.rows
        .iter()
        .map(|row| {
            let s = |i: usize| row[i].as_str().unwrap_or("").to_string();
            (
                s(col("ErrorCode")),
                s(col("Position")),
                s(col("RawPayload")),
                s(col("Details")),
            )
        })
        .collect()
}

#[tokio::test]
async fn json_lines_with_mapping_features_and_a_malformed_line() {
    let env = Env::new().await;
    env.run(".create table E (Device:string, Temp:real, At:datetime, Tag:string, Src:string, Line:long, Props:dynamic, First:long, Space:string)").await;
    env.run(r#".create table E ingestion json mapping 'M' '[
        {"column":"Device","Properties":{"Path":"$.device.id"}},
        {"column":"Temp","Properties":{"Path":"$.readings[0]"}},
        {"column":"At","Properties":{"Path":"$.ts","Transform":"DateTimeFromUnixSeconds"}},
        {"column":"Tag","Properties":{"ConstValue":"factory-1"}},
        {"column":"Src","Properties":{"Transform":"SourceLocation"}},
        {"column":"Line","Properties":{"Transform":"SourceLineNumber"}},
        {"column":"Props","Properties":{"Path":"$.props","Transform":"PropertyBagArrayToDictionary"}},
        {"column":"First","Properties":{"Path":"$.readings[-1]"}},
        {"column":"Space","Properties":{"Path":"$[\'a b\']"}}]'"#).await;
    let data = [
        r#"{"device":{"id":"d1"},"readings":[21.5,7],"ts":1700000000,"props":[{"Key":"k","Value":1}],"a b":"s1"}"#,
        r#"{"device":{"id":"d2"},"readings":[22.5],"ts":1700000060, "oops"#,
        r#"{"device":{"id":"d3"},"readings":["hot"],"ts":1700000120}"#,
    ]
    .join("\n");
    let r = env.run(&format!(".ingest inline into table E with (format='json', ingestionMappingReference='M') <|\n{data}")).await;
    assert_eq!(r.rows[0][r.column("HasErrors").unwrap()], json!(true));
    let rows = env
        .rows(
            "E | order by Line asc | project Device, Temp, At, Tag, Src, Line, Props, First, Space",
        )
        .await;
    assert_eq!(
        rows[0],
        vec![
            json!("d1"),
            json!(21.5),
            json!("2023-11-14T22:13:20.0000000Z"),
            json!("factory-1"),
            json!("inline"),
            json!(1),
            json!({"k": 1}),
            json!(7),
            json!("s1")
        ]
    );
    // The record with a value that does not convert still lands, with null.
    assert_eq!(rows[1][0], json!("d3"));
    assert_eq!(rows[1][1], json!(null));
    assert_eq!(rows.len(), 2);
    let f = failures(&env).await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "BadRequest_InvalidJson");
    assert_eq!(f[0].1, "line 2");
    assert!(f[0].2.contains("\"d2\""), "payload kept: {}", f[0].2);
}

#[tokio::test]
async fn json_without_mapping_matches_column_names_and_multijson() {
    let env = Env::new().await;
    env.run(".create table J (a:long, b:string)").await;
    env.run(".ingest inline into table J with (format=json) <|\n{\"a\":1,\"b\":\"x\",\"extra\":true}\n{\"B\":\"case matters\",\"a\":2}").await;
    env.run(".ingest inline into table J with (format=multijson) <|\n[{\"a\":3,\"b\":\"y\"},{\"a\":4}]\n{\"a\":5,\n \"b\":\"multi-line\"}\n7").await;
    let rows = env.rows("J | order by a asc").await;
    assert_eq!(
        rows,
        vec![
            vec![json!(1), json!("x")],
            vec![json!(2), json!("")],
            vec![json!(3), json!("y")],
            vec![json!(4), json!("")],
            vec![json!(5), json!("multi-line")],
        ]
    );
    let f = failures(&env).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1, "record 4");
}

#[tokio::test]
async fn csv_family_by_position_and_by_ordinal() {
    let env = Env::new().await;
    env.run(".create table C (a:long, b:string, c:real)").await;
    env.run(".ingest inline into table C <|\n1,\"x, with comma\",1.5\n2,too,many,fields\n3,\"say \"\"hi\"\"\",").await;
    env.run(".ingest inline into table C with (format=tsv) <|\n4\tt\t4.5")
        .await;
    env.run(
        ".ingest inline into table C with (format=psv, ignoreFirstRecord=true) <|\na|b|c\n5|p|5.5",
    )
    .await;
    env.run(".ingest inline into table C with (format=scsv) <|\n6;s;6.5")
        .await;
    env.run(".ingest inline into table C with (format=sohsv) <|\n7\u{1}o\u{1}7.5")
        .await;
    env.run(r#".create table C ingestion csv mapping 'Rev' '[{"column":"a","Properties":{"Ordinal":"2"}},{"column":"b","Properties":{"Ordinal":"0"}},{"column":"c","Properties":{"ConstValue":"9.5"}}]'"#).await;
    env.run(".ingest inline into table C with (format=csv, ingestionMappingReference='Rev') <|\nrev,ignored,8\nshort").await;
    let rows = env.rows("C | order by a asc").await;
    assert_eq!(
        rows,
        vec![
            vec![json!(1), json!("x, with comma"), json!(1.5)],
            vec![json!(3), json!("say \"hi\""), json!(null)],
            vec![json!(4), json!("t"), json!(4.5)],
            vec![json!(5), json!("p"), json!(5.5)],
            vec![json!(6), json!("s"), json!(6.5)],
            vec![json!(7), json!("o"), json!(7.5)],
            vec![json!(8), json!("rev"), json!(9.5)],
        ]
    );
    let f = failures(&env).await;
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|x| x.0 == "BadRequest_CsvFieldCount"));
    assert_eq!(f[0].1, "line 2");
    assert!(f[0].3.contains("4 fields but table has 3 columns"));
}

#[tokio::test]
async fn txt_and_raw_fill_the_first_column() {
    let env = Env::new().await;
    env.run(".create table L (line:string)").await;
    env.run(".ingest inline into table L with (format=txt) <|\nfirst line\nsecond, with comma")
        .await;
    assert_eq!(env.rows("L | count").await, vec![vec![json!(2)]]);
    env.run(".ingest inline into table L with (format=raw) <|\nall\nof it")
        .await;
    assert_eq!(
        env.rows("L | where line has 'all' | project line").await,
        vec![vec![json!("all\nof it")]]
    );
}

#[tokio::test]
async fn files_gzip_parquet_and_avro() {
    let env = Env::new().await;
    env.run(".create table F (id:long, name:string, at:datetime)")
        .await;
    let dir = env.dir.path();

    let gz = dir.join("part.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    writeln!(
        enc,
        "{{\"id\":1,\"name\":\"gz\",\"at\":\"2024-01-01T00:00:00Z\"}}"
    )
    .unwrap();
    enc.finish().unwrap();

    let pq = dir.join("part.parquet");
    {
        use datafusion::arrow::array::{Int64Array, StringArray};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
        ]));
        let batch = datafusion::arrow::record_batch::RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(StringArray::from(vec!["pq"])),
                std::sync::Arc::new(Int64Array::from(vec![2])),
            ],
        )
        .unwrap();
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq).unwrap(),
            schema,
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    let avro_path = dir.join("part.avro");
    {
        let schema = apache_avro::Schema::parse_str(
            r#"{"type":"record","name":"r","fields":[{"name":"Id","type":"long"},{"name":"Body","type":{"type":"record","name":"b","fields":[{"name":"n","type":"string"}]}}]}"#,
        )
        .unwrap();
        let mut w = apache_avro::Writer::new(&schema, std::fs::File::create(&avro_path).unwrap());
        let mut rec = apache_avro::types::Record::new(&schema).unwrap();
        rec.put("Id", 3i64);
        rec.put(
            "Body",
            apache_avro::types::Value::Record(vec![(
                "n".into(),
                apache_avro::types::Value::String("avro".into()),
            )]),
        );
        w.append(rec).unwrap();
        w.flush().unwrap();
    }
    env.run(r#".create table F ingestion avro mapping 'A' '[{"column":"id","Properties":{"Field":"Id"}},{"column":"name","Properties":{"Path":"$.Body.n"}}]'"#).await;

    env.run(&format!(
        ".ingest into table F (h'{}') with (format='json')",
        gz.display()
    ))
    .await;
    env.run(&format!(
        ".ingest into table F (h'file://{}')",
        pq.display()
    ))
    .await;
    env.run(&format!(
        ".ingest into table F (h'{}') with (format='avro', ingestionMappingReference='A')",
        avro_path.display()
    ))
    .await;
    let rows = env.rows("F | order by id asc | project id, name").await;
    assert_eq!(
        rows,
        vec![
            vec![json!(1), json!("gz")],
            vec![json!(2), json!("pq")],
            vec![json!(3), json!("avro")]
        ]
    );

    // A corrupt file is a failure record, not a crash.
    let bad = dir.join("bad.parquet");
    std::fs::write(&bad, b"not parquet").unwrap();
    env.run(&format!(".ingest into table F (h'{}')", bad.display()))
        .await;
    assert_eq!(failures(&env).await[0].0, "BadRequest_InvalidParquet");
}

#[tokio::test]
async fn http_sources_are_fetched() {
    let env = Env::new().await;
    env.run(".create table H (a:long, b:string)").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 2048];
        let _ = sock.read(&mut buf).await;
        let body = "1,web\n2,page\n";
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).await.unwrap();
    });
    env.run(&format!(".ingest into table H (h'http://{addr}/data.csv')"))
        .await;
    assert_eq!(env.rows("H | count").await, vec![vec![json!(2)]]);
}

#[tokio::test]
async fn a_wrong_mapping_name_is_an_error_naming_the_mappings() {
    let env = Env::new().await;
    env.run(".create table W (a:long)").await;
    env.run(r#".create table W ingestion json mapping 'Good' '[{"column":"a","path":"$.a"}]'"#)
        .await;
    let err = env
        .explorer
        .execute("NetDefaultDB", ".ingest inline into table W with (format=json, ingestionMappingReference='good') <|\n{\"a\":1}")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'good' does not exist") && err.contains("'Good' (Json)"),
        "{err}"
    );
    assert_eq!(
        failures(&env).await.len(),
        1,
        "the failed ingestion is recorded too"
    );
}

#[tokio::test]
async fn values_that_do_not_convert_become_null_or_with_a_strict_table_go_to_failures() {
    let env = Env::new().await;
    env.run(".create table V (n:long, t:datetime, s:string)")
        .await;
    env.run(
        ".ingest inline into table V <|\n1,2024-01-01,a\nnot-a-number,2024-01-02,b\n3,yesterday,c",
    )
    .await;
    assert_eq!(
        env.rows("V | where isnull(n) or isnull(t) | count").await,
        vec![vec![json!(2)]]
    );
    let ops = env
        .rows(".show operations | where Operation == 'DataIngestPull' | project Status")
        .await;
    assert!(
        ops[0][0]
            .as_str()
            .unwrap()
            .contains("2 values did not convert"),
        "{ops:?}"
    );
    assert!(
        failures(&env).await.is_empty(),
        "lenient by default, as in Kusto"
    );

    env.run(r#".alter table V policy ingestionconversion '{"Strict": true}'"#)
        .await;
    env.run(".ingest inline into table V <|\n4,2024-01-04,d\nfive,2024-01-05,e")
        .await;
    assert_eq!(
        env.rows("V | where n == 4 | count").await,
        vec![vec![json!(1)]]
    );
    assert_eq!(
        env.rows("V | where s == 'e' | count").await,
        vec![vec![json!(0)]]
    );
    let f = failures(&env).await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("BadRequest_TypeConversion", "line 2")
    );
    assert!(
        f[0].3.contains("column 'n' (long) cannot hold \"five\""),
        "{}",
        f[0].3
    );
    assert!(f[0].2.contains("\"s\":\"e\""), "{}", f[0].2);
}
