use eddy_common::config::{HubDefaults, HubSettings};
use eddy_common::metrics::Metrics;
use eddy_common::StatusCode;
use eddy_hub::hash::partition_for_key;
use eddy_hub::{EventData, Namespace, SendTarget};

fn settings(name: &str, partitions: u32) -> HubSettings {
    HubSettings {
        name: name.into(),
        partitions: Some(partitions),
        ..Default::default()
    }
}

#[tokio::test]
async fn hubs_are_created_listed_reopened_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Namespace::open(dir.path(), HubDefaults::default(), Metrics::new()).unwrap();
    ns.create(&settings("telemetry", 4)).unwrap();
    ns.create(&HubSettings {
        name: "b".into(),
        consumer_groups: vec!["adx".into()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(ns.names(), vec!["b", "telemetry"]);
    assert_eq!(
        ns.get("b").unwrap().partition_count(),
        4,
        "default partition count"
    );
    assert_eq!(
        ns.get("b").unwrap().consumer_groups(),
        vec!["$Default", "adx"]
    );
    let err = ns.create(&settings("telemetry", 2)).unwrap_err();
    assert_eq!(err.status_code(), StatusCode::AlreadyExists);
    let hub = ns.get("telemetry").unwrap();
    hub.send(vec![EventData::new("x")], SendTarget::Partition(2))
        .await
        .unwrap();
    drop(hub);
    ns.close();
    drop(ns);

    let ns = Namespace::open(dir.path(), HubDefaults::default(), Metrics::new()).unwrap();
    let hub = ns.get("telemetry").unwrap();
    let p = hub.partition_properties("2").unwrap();
    assert_eq!((p.last_enqueued_sequence_number, p.is_empty), (0, false));
    assert!(hub.partition_properties("0").unwrap().is_empty);
    assert_eq!(
        hub.partition_properties("0").unwrap().last_enqueued_offset,
        "-1"
    );
    drop(hub);
    ns.delete("telemetry").unwrap();
    assert!(!dir.path().join("hubs/telemetry").exists());
    let err = ns.get("telemetry").err().unwrap();
    assert_eq!(err.status_code(), StatusCode::NotFound);
    assert!(err.to_string().contains("existing hubs: [b]"), "{err}");
}

#[tokio::test]
async fn bad_names_and_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Namespace::open(dir.path(), HubDefaults::default(), Metrics::new()).unwrap();
    for name in ["", "../etc", "a/b", "-x", "x-", ".hidden"] {
        assert_eq!(
            ns.create(&settings(name, 1)).unwrap_err().status_code(),
            StatusCode::InvalidArgument,
            "{name}"
        );
    }
    let err = ns.create(&settings("big", 33)).unwrap_err();
    assert!(err.to_string().contains("between 1 and 32"), "{err}");
    assert!(ns.create(&settings("zero", 0)).is_err());
}

#[tokio::test]
async fn routing_by_key_round_robin_and_partition() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Namespace::open(dir.path(), HubDefaults::default(), Metrics::new()).unwrap();
    let hub = ns.create(&settings("h", 4)).unwrap();
    for key in ["7", "131", "device-1", "FWfAT"] {
        let r = hub
            .send(vec![EventData::new("k")], SendTarget::Key(key.into()))
            .await
            .unwrap();
        assert_eq!(r.partition, partition_for_key(key, 4), "{key}");
        let e = hub
            .partition_by_index(r.partition)
            .unwrap()
            .read(r.first_sequence_number, 1, usize::MAX)
            .unwrap();
        assert_eq!(e[0].data.partition_key.as_deref(), Some(key));
    }
    let parts: Vec<u32> = {
        let mut v = Vec::new();
        for _ in 0..8 {
            v.push(
                hub.send(vec![EventData::new("rr")], SendTarget::Any)
                    .await
                    .unwrap()
                    .partition,
            );
        }
        v
    };
    let mut counts = [0; 4];
    parts.iter().for_each(|p| counts[*p as usize] += 1);
    assert_eq!(
        counts,
        [2, 2, 2, 2],
        "round-robin spreads evenly: {parts:?}"
    );
    let err = hub
        .send(vec![EventData::new("x")], SendTarget::Partition(9))
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), StatusCode::NotFound);
    assert!(err.to_string().contains("0..3"), "{err}");
}

#[tokio::test]
async fn oversized_batches_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = HubDefaults {
        max_batch_bytes: 1000,
        ..Default::default()
    };
    let ns = Namespace::open(dir.path(), defaults, Metrics::new()).unwrap();
    let hub = ns.create(&settings("h", 1)).unwrap();
    let events: Vec<_> = (0..11).map(|_| EventData::new(vec![b'x'; 100])).collect();
    let err = hub
        .send(events, SendTarget::Partition(0))
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), StatusCode::PayloadTooLarge);
    assert!(err.to_string().contains("1100 bytes"), "{err}");
    assert!(
        hub.partition_properties("0").unwrap().is_empty,
        "nothing from it stored"
    );
    let ok: Vec<_> = (0..9).map(|_| EventData::new(vec![b'x'; 100])).collect();
    hub.send(ok, SendTarget::Partition(0)).await.unwrap();
}

#[tokio::test]
async fn quota_throttles_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let ns = Namespace::open(dir.path(), HubDefaults::default(), metrics.clone()).unwrap();
    let hub = ns
        .create(&HubSettings {
            name: "q".into(),
            partitions: Some(1),
            max_events_per_sec: Some(10),
            ..Default::default()
        })
        .unwrap();
    let mut busy = 0;
    for _ in 0..30 {
        match hub.send(vec![EventData::new("e")], SendTarget::Any).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.status_code(), StatusCode::ServerBusy);
                busy += 1;
            }
        }
    }
    assert!(busy >= 15, "most of 30 instant sends exceed 10/s: {busy}");
    assert!(metrics.render().contains(&format!(
        "eddy_hub_throttled_requests_total{{hub=\"q\"}} {busy}"
    )));
}

#[tokio::test]
async fn retention_runs_per_hub_settings() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = HubDefaults {
        segment_bytes: 4096,
        ..Default::default()
    };
    let ns = Namespace::open(dir.path(), defaults, Metrics::new()).unwrap();
    let hub = ns
        .create(&HubSettings {
            name: "r".into(),
            partitions: Some(1),
            retention_hours: Some(1),
            ..Default::default()
        })
        .unwrap();
    for i in 0..100 {
        hub.send(vec![EventData::new(format!("{i:0>100}"))], SendTarget::Any)
            .await
            .unwrap();
    }
    let segments = hub.partition_properties("0").unwrap().segments;
    assert!(segments > 2);
    assert_eq!(
        ns.enforce_retention(eddy_hub::now_ms()),
        0,
        "nothing is an hour old yet"
    );
    let removed = ns.enforce_retention(eddy_hub::now_ms() + 2 * 3_600_000);
    assert_eq!(
        removed, segments,
        "every segment expired, the active one included"
    );
    let p = hub.partition_properties("0").unwrap();
    assert!(p.is_empty);
    assert_eq!(p.begin_sequence_number, 100);
}
