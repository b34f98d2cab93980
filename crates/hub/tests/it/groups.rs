use eddy_common::config::{HubDefaults, HubSettings};
use eddy_common::metrics::Metrics;
use eddy_common::StatusCode;
use eddy_hub::balancer::plan;
use eddy_hub::{Checkpoint, Namespace};

#[tokio::test]
async fn groups_are_managed_and_their_state_persists() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = HubDefaults {
        max_consumer_groups: 3,
        ..Default::default()
    };
    {
        let ns = Namespace::open(dir.path(), defaults.clone(), Metrics::new()).unwrap();
        let hub = ns
            .create(&HubSettings {
                name: "h".into(),
                partitions: Some(2),
                ..Default::default()
            })
            .unwrap();
        hub.create_group("adx").unwrap();
        assert_eq!(
            hub.create_group("adx").unwrap_err().status_code(),
            StatusCode::AlreadyExists
        );
        assert_eq!(
            hub.create_group("bad/name").unwrap_err().status_code(),
            StatusCode::InvalidArgument
        );
        hub.create_group("third").unwrap();
        assert!(hub
            .create_group("fourth")
            .unwrap_err()
            .to_string()
            .contains("maximum of 3"));
        assert!(hub.delete_group("$Default").is_err());
        hub.delete_group("third").unwrap();
        let err = hub.checkpoints("nope").unwrap_err();
        assert!(err.to_string().contains("$Default, adx"), "{err}");
        hub.set_checkpoint(
            "adx",
            Checkpoint {
                partition: 1,
                sequence_number: 9,
                offset: Some(500),
                updated_ms: 1,
            },
        )
        .unwrap();
        assert!(hub
            .set_checkpoint(
                "adx",
                Checkpoint {
                    partition: 7,
                    sequence_number: 9,
                    offset: None,
                    updated_ms: 1
                }
            )
            .is_err());
        let plan_a = plan(
            2,
            &hub.ownership("adx").unwrap(),
            "a",
            eddy_hub::now_ms(),
            60_000,
        );
        assert_eq!(hub.claim_ownership("adx", &plan_a).unwrap().len(), 2);
        ns.close();
    }
    let ns = Namespace::open(dir.path(), defaults, Metrics::new()).unwrap();
    let hub = ns.get("h").unwrap();
    assert_eq!(hub.consumer_groups(), vec!["$Default", "adx"]);
    assert_eq!(hub.checkpoints("adx").unwrap()[0].sequence_number, 9);
    assert_eq!(hub.ownership("adx").unwrap().len(), 2);
    assert!(hub.ownership("$Default").unwrap().is_empty());
}
