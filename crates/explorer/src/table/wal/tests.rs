//! The WAL on disk: records of every size come back in order, a torn or corrupt tail is
//! cut off (and only it), segments in the earlier back-to-back format are still read,
//! and a file system without `O_DIRECT` (tmpfs) gets the same format.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::segment::{self, BLOCK, MAGIC};
use super::{encode_into, segment_name, Wal};

fn batch(rows: usize, tag: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("s", DataType::Utf8, false),
    ]));
    let n = Int64Array::from_iter_values(0..rows as i64);
    let s = StringArray::from_iter_values((0..rows).map(|i| format!("{tag}-{i}")));
    RecordBatch::try_new(schema, vec![Arc::new(n), Arc::new(s)]).unwrap()
}

/// Sizes around the write chunk (4 MiB) and the block: one row, a few blocks, two
/// chunks and a bit.
fn batches() -> Vec<RecordBatch> {
    vec![
        batch(1, "a"),
        batch(300, "b"),
        batch(400_000, "c"),
        batch(0, "d"),
        batch(2, "e"),
    ]
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn roundtrip_in(dir: &Path) {
    let (mut wal, replay) = Wal::open(dir, -1).unwrap();
    assert!(replay.is_empty());
    let written = batches();
    for (i, b) in written.iter().enumerate() {
        assert_eq!(
            wal.append(std::slice::from_ref(b), &[("app".into(), i as i64)])
                .unwrap(),
            i as u64
        );
    }
    drop(wal);
    let (mut wal, replay) = Wal::open(dir, -1).unwrap();
    assert_eq!(replay.len(), written.len());
    for (i, (r, b)) in replay.iter().zip(&written).enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(&r.batches, std::slice::from_ref(b));
        assert_eq!(r.sources, vec![("app".to_string(), i as i64)]);
    }
    // Records already committed to Delta are not replayed; numbering continues.
    // Several batches in one record.
    let two = [batch(3, "f"), batch(2, "g")];
    assert_eq!(wal.append(&two, &[]).unwrap(), 5);
    drop(wal);
    let (_, replay) = Wal::open(dir, 2).unwrap();
    let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    assert_eq!(replay[2].batches, two);
}

#[test]
fn records_of_every_size_come_back() {
    let dir = tempfile::tempdir().unwrap();
    roundtrip_in(dir.path());
    // Every record starts on a block boundary of a segment that starts with the magic.
    for path in segment_files(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(MAGIC));
        assert_eq!(bytes.len() % BLOCK, 0);
    }
}

#[test]
fn tmpfs_gets_the_same_format() {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        return;
    };
    roundtrip_in(dir.path());
}

#[test]
fn a_torn_or_corrupt_tail_is_cut_off() {
    for damage in ["truncate", "flip"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), -1).unwrap();
        for b in batches() {
            wal.append(&[b], &[]).unwrap();
        }
        drop(wal);
        let path = dir.path().join(segment_name(0));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = segment::records(&bytes).0.last().unwrap().payload.as_ptr() as usize
            - bytes.as_ptr() as usize;
        match damage {
            "truncate" => bytes.truncate(last + 10),
            _ => bytes[last + 10] ^= 0xff,
        }
        std::fs::write(&path, &bytes).unwrap();
        let (mut wal, replay) = Wal::open(dir.path(), -1).unwrap();
        assert_eq!(replay.len(), 4, "{damage}");
        // The tail is gone from the file, so later records are not hidden behind it.
        let cut = std::fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(cut % BLOCK, 0);
        assert!(cut < last);
        assert_eq!(wal.append(&[batch(1, "g")], &[]).unwrap(), 4);
        drop(wal);
        let (_, replay) = Wal::open(dir.path(), -1).unwrap();
        let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4], "{damage}");
    }
}

#[test]
fn segments_in_the_earlier_format_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![];
    for (seq, b) in [(7u64, batch(2, "old")), (8, batch(1, "older"))] {
        let mut payload = vec![];
        encode_into(&[b], &mut payload).unwrap();
        let mut body = seq.to_le_bytes().to_vec();
        body.extend_from_slice(&payload);
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
    }
    // A torn record after them.
    bytes.extend_from_slice(&[9, 0, 0, 0, 1]);
    std::fs::write(dir.path().join(segment_name(7)), &bytes).unwrap();
    let (mut wal, replay) = Wal::open(dir.path(), -1).unwrap();
    assert_eq!(
        replay
            .iter()
            .map(|r| (r.seq, r.batches[0].num_rows()))
            .collect::<Vec<_>>(),
        vec![(7, 2), (8, 1)]
    );
    assert_eq!(wal.append(&[batch(1, "new")], &[]).unwrap(), 9);
}
