use std::io::Write;
use std::time::Duration;

use eddy_common::config::FsyncMode;
use eddy_hub::log::segment::Segment;
use eddy_hub::{EventData, LogOptions, PartitionLog, Position, PropertyValue};

fn opts(segment_bytes: u64) -> LogOptions {
    LogOptions {
        segment_bytes,
        ..Default::default()
    }
}

fn ev(i: u64) -> EventData {
    EventData::new(format!("event-{i}")).with_property("i", PropertyValue::Long(i as i64))
}

async fn fill(log: &PartitionLog, batches: u64, per_batch: u64) {
    for b in 0..batches {
        let events = (0..per_batch).map(|i| ev(b * per_batch + i)).collect();
        log.append(events).await.unwrap();
    }
}

fn segment_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn append_and_read_back_in_order_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(4096)).unwrap();
    let r = log.append(vec![ev(0), ev(1), ev(2)]).await.unwrap();
    assert_eq!((r.first_sequence_number, r.last_sequence_number), (0, 2));
    fill(&log, 200, 5).await; // sequence numbers 3.. after the first three
    let info = log.info();
    assert_eq!(info.next_sequence_number, 1003);
    assert!(info.segments > 3, "small segments roll: {}", info.segments);
    let all = log.read(0, 10_000, usize::MAX).unwrap();
    assert_eq!(all.len(), 1003);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.sequence_number, i as u64);
    }
    assert!(
        all.windows(2).all(|w| w[0].offset < w[1].offset),
        "offsets grow"
    );
    assert!(all
        .windows(2)
        .all(|w| w[0].enqueued_time_ms <= w[1].enqueued_time_ms));
    // Reads from the middle of a batch, in a later segment, bounded by count.
    let mid = log.read(517, 4, usize::MAX).unwrap();
    assert_eq!(
        mid.iter().map(|e| e.sequence_number).collect::<Vec<_>>(),
        vec![517, 518, 519, 520]
    );
    assert_eq!(mid[0].data.property("i"), Some(&PropertyValue::Long(514)));
    assert!(log.read(1003, 10, usize::MAX).unwrap().is_empty());
    let last = info.last.unwrap();
    assert_eq!(last.sequence_number, 1002);
    assert_eq!(last.offset, all[1002].offset);
}

#[tokio::test]
async fn positions_resolve_like_event_hubs() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(2048)).unwrap();
    fill(&log, 10, 3).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let later = log.append(vec![ev(30), ev(31)]).await.unwrap();
    let all = log.read(0, 100, usize::MAX).unwrap();
    assert_eq!(log.resolve(Position::Earliest).unwrap(), 0);
    assert_eq!(log.resolve(Position::Latest).unwrap(), 32);
    assert_eq!(
        log.resolve(Position::Sequence {
            seq: 7,
            inclusive: true
        })
        .unwrap(),
        7
    );
    assert_eq!(
        log.resolve(Position::Sequence {
            seq: 7,
            inclusive: false
        })
        .unwrap(),
        8
    );
    assert!(log
        .resolve(Position::Sequence {
            seq: 40,
            inclusive: true
        })
        .is_err());
    for e in &all {
        let incl = Position::Offset {
            offset: e.offset,
            inclusive: true,
        };
        let excl = Position::Offset {
            offset: e.offset,
            inclusive: false,
        };
        assert_eq!(log.resolve(incl).unwrap(), e.sequence_number);
        assert_eq!(log.resolve(excl).unwrap(), e.sequence_number + 1);
    }
    let t = later.enqueued_time_ms;
    assert_eq!(
        log.resolve(Position::EnqueuedTime {
            ms: t,
            inclusive: true
        })
        .unwrap(),
        30
    );
    assert_eq!(
        log.resolve(Position::EnqueuedTime {
            ms: t,
            inclusive: false
        })
        .unwrap(),
        32
    );
    assert_eq!(
        log.resolve(Position::EnqueuedTime {
            ms: 0,
            inclusive: false
        })
        .unwrap(),
        0
    );
    let end = log.info().size_bytes;
    assert!(log
        .resolve(Position::Offset {
            offset: end + 10,
            inclusive: true
        })
        .is_err());
}

#[tokio::test]
async fn reopen_rebuilds_state_and_ignores_a_lying_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), 0, opts(4096)).unwrap();
        fill(&log, 100, 4).await;
        log.close();
    }
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    // Corrupt one persisted index and delete another: both are rebuilt from the log.
    let idx0 = files[0].with_extension("idx");
    assert!(idx0.exists(), "sealed segments persist their index");
    std::fs::write(
        &idx0,
        b"garbage that is not an index at all, long enough to parse",
    )
    .unwrap();
    std::fs::remove_file(files[1].with_extension("idx")).unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(4096)).unwrap();
    assert_eq!(log.info().next_sequence_number, 400);
    let all = log.read(0, 1000, usize::MAX).unwrap();
    assert_eq!(all.len(), 400);
    assert_eq!(
        log.read(123, 1, usize::MAX).unwrap()[0].data.body,
        "event-123"
    );
    let next = log.append(vec![ev(400)]).await.unwrap();
    assert_eq!(
        next.first_sequence_number, 400,
        "sequence continues after restart"
    );
}

#[tokio::test]
async fn torn_tail_is_truncated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap();
        fill(&log, 10, 10).await;
    }
    let file = segment_files(dir.path()).pop().unwrap();
    let good_len = std::fs::metadata(&file).unwrap().len();

    // 1. Garbage after the last batch.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(&[0xAB; 100])
        .unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap();
    assert_eq!(log.info().next_sequence_number, 100);
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        good_len,
        "garbage cut off"
    );
    drop(log);

    // 2. The last batch cut in half: that batch (10 events) is gone, the rest stays.
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(good_len - 20).unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap();
    assert_eq!(log.info().next_sequence_number, 90);
    assert_eq!(log.read(0, 1000, usize::MAX).unwrap().len(), 90);
    // New appends continue the sequence without a gap.
    assert_eq!(
        log.append(vec![ev(90)])
            .await
            .unwrap()
            .first_sequence_number,
        90
    );
    drop(log);

    // 3. A flipped bit inside the last batch: checksum catches it.
    let len = std::fs::metadata(&file).unwrap().len();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[(len - 3) as usize] ^= 0xFF;
    std::fs::write(&file, &bytes).unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap();
    assert_eq!(log.info().next_sequence_number, 90);
    assert_eq!(
        log.read(85, 10, usize::MAX)
            .unwrap()
            .last()
            .unwrap()
            .sequence_number,
        89
    );
}

#[tokio::test]
async fn retention_deletes_whole_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), 0, opts(4096)).unwrap();
    fill(&log, 150, 5).await;
    let before = log.info();
    assert!(before.segments >= 4);
    // Size-based: keep at most ~2 segments' worth.
    let removed = log.enforce_retention(None, Some(8192)).unwrap();
    assert!(removed > 0);
    let after = log.info();
    assert!(after.size_bytes <= 8192 + 4096 + 1024, "{after:?}");
    assert!(after.begin_sequence_number > 0);
    assert_eq!(after.next_sequence_number, before.next_sequence_number);
    assert_eq!(segment_files(dir.path()).len(), after.segments);
    // Reading from 0 starts at the first retained event.
    let first = log.read(0, 1, usize::MAX).unwrap();
    assert_eq!(first[0].sequence_number, after.begin_sequence_number);
    assert_eq!(
        log.resolve(Position::Earliest).unwrap(),
        after.begin_sequence_number
    );
    // Time-based: with a cutoff in the future everything has expired, the active
    // segment included; an empty segment stays and the sequence goes on.
    log.enforce_retention(Some(i64::MAX), None).unwrap();
    let info = log.info();
    assert_eq!(info.segments, 1);
    assert_eq!(info.size_bytes, 0);
    assert_eq!(info.begin_sequence_number, before.next_sequence_number);
    assert!(log.read(0, 10, usize::MAX).unwrap().is_empty());
    let r = log.append(vec![ev(0)]).await.unwrap();
    assert_eq!(r.first_sequence_number, before.next_sequence_number);
    // And nothing expires with a cutoff in the past.
    assert_eq!(log.enforce_retention(Some(0), None).unwrap(), 0);
    // The state survives a restart.
    let begin = log.info().begin_sequence_number;
    drop(log);
    let log = PartitionLog::open(dir.path(), 0, opts(4096)).unwrap();
    assert_eq!(log.info().begin_sequence_number, begin);
}

#[tokio::test]
async fn concurrent_senders_share_fsyncs_and_each_batch_stays_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap());
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for b in 0..25u64 {
                let events: Vec<_> = (0..10)
                    .map(|i| EventData::new(format!("{t}-{b}-{i}")))
                    .collect();
                results.push(log.append(events).await.unwrap());
            }
            results
        }));
    }
    let mut total = 0;
    for t in tasks {
        for r in t.await.unwrap() {
            assert_eq!(r.last_sequence_number - r.first_sequence_number, 9);
            let events = log.read(r.first_sequence_number, 10, usize::MAX).unwrap();
            let prefix: Vec<_> = events
                .iter()
                .map(|e| {
                    String::from_utf8_lossy(&e.data.body)
                        .rsplit_once('-')
                        .unwrap()
                        .0
                        .to_string()
                })
                .collect();
            assert!(
                prefix.iter().all(|p| p == &prefix[0]),
                "a batch is contiguous"
            );
            total += 10;
        }
    }
    assert_eq!(log.info().next_sequence_number, total);
}

#[tokio::test]
async fn lazy_mode_flushes_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let lazy = LogOptions {
        fsync: FsyncMode::Lazy,
        lazy_flush: Duration::from_secs(3600),
        ..opts(1 << 20)
    };
    {
        let log = PartitionLog::open(dir.path(), 0, lazy.clone()).unwrap();
        fill(&log, 5, 5).await;
        log.close();
    }
    let log = PartitionLog::open(dir.path(), 0, lazy).unwrap();
    assert_eq!(log.info().next_sequence_number, 25);
}

#[tokio::test]
async fn long_poll_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(PartitionLog::open(dir.path(), 0, opts(1 << 20)).unwrap());
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            log.read_wait(0, 10, usize::MAX, Duration::from_secs(10))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    log.append(vec![ev(0)]).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1);
    // And times out empty when nothing comes.
    let none = log
        .read_wait(1, 10, usize::MAX, Duration::from_millis(50))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn segment_names_round_trip() {
    let name = Segment::file_name(12, 3456);
    assert_eq!(Segment::parse_name(&name), Some((12, 3456)));
    assert_eq!(Segment::parse_name("junk.log"), None);
}
