//! The spool against real files, each test in its own fresh directory under the system's temp
//! directory. Warnings are captured per thread, so tests running in parallel see only their own.

use std::cell::RefCell;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::format::{frame_len, segment_name, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::*;
use crate::error::Error;

/// A fresh directory, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        capture_warnings();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "order-kafka-spool-{}-{name}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Keeps each thread's warnings for [`warnings`].
struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            WARNINGS.with(|w| w.borrow_mut().push(record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

/// Starts capturing warnings, before a test's first open (every test makes a [`TempDir`] first).
fn capture_warnings() {
    static CAPTURE: Capture = Capture;
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
}

/// The warnings this thread logged since the last call.
fn warnings() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Entry `i`'s payload: an order-like line, of a length that varies with `i`.
fn payload(i: u64) -> Vec<u8> {
    let pad = "x".repeat((i % 7) as usize);
    format!("{{\"order_id\":\"{i}\",\"item\":\"{pad}\"}}\n").into_bytes()
}

fn small_segments() -> Options {
    Options {
        segment_bytes: 200,
        ..Options::default()
    }
}

fn open(dir: &Path, options: Options) -> Spool {
    Spool::open(dir, options).expect("the spool opens")
}

/// A spool in `dir` holding entries `0..n`, appended in batches of three.
fn filled(dir: &Path, n: u64, options: Options) -> Spool {
    let mut spool = open(dir, options);
    let all: Vec<Vec<u8>> = (0..n).map(payload).collect();
    for batch in all.chunks(3) {
        let appended = spool.append(batch).expect("the batch is appended");
        assert!(matches!(appended, Appended::Stored { .. }), "{appended:?}");
    }
    spool
}

fn read_all(spool: &Spool, from: Position) -> Vec<(u64, Vec<u8>)> {
    spool
        .reader(from)
        .expect("a reader")
        .map(|entry| {
            let entry = entry.expect("an entry");
            (entry.position.seq(), entry.payload)
        })
        .collect()
}

fn expected(range: std::ops::Range<u64>) -> Vec<(u64, Vec<u8>)> {
    range.map(|i| (i, payload(i))).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("the directory lists")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

fn last_segment(dir: &Path) -> PathBuf {
    segment_files(dir).pop().expect("a segment")
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).expect("the segment reads");
    bytes[offset as usize] ^= 0x20;
    fs::write(path, bytes).expect("the segment writes");
}

fn set_len(path: &Path, len: u64) {
    let file = OpenOptions::new().write(true).open(path).expect("opens");
    file.set_len(len).expect("truncates");
}

/// Where entry `k` of a segment holding entries `first..` starts.
fn entry_offset(first: u64, k: u64) -> u64 {
    SEGMENT_HEADER_LEN + (first..k).map(|i| frame_len(payload(i).len())).sum::<u64>()
}

#[test]
fn entries_round_trip_across_segments_and_a_reopen() {
    let dir = TempDir::new("round-trip");
    let spool = filled(dir.path(), 40, small_segments());
    assert_eq!(spool.end().seq(), 40);
    assert_eq!(spool.durable(), spool.end());
    assert_eq!(read_all(&spool, Position::START), expected(0..40));
    let files = segment_files(dir.path());
    assert!(files.len() >= 5, "{files:?}");
    let on_disk: u64 = files.iter().map(|f| fs::metadata(f).unwrap().len()).sum();
    assert_eq!(spool.bytes_used(), on_disk);
    assert_eq!(spool.pending(Position::START), 40);
    drop(spool);

    let mut spool = open(dir.path(), small_segments());
    assert_eq!(read_all(&spool, Position::START), expected(0..40));
    spool.append(&[payload(40)]).unwrap();
    assert_eq!(read_all(&spool, Position::START), expected(0..41));
    assert!(warnings().is_empty());
}

#[test]
fn a_reader_resumes_exactly_after_each_entry() {
    let dir = TempDir::new("resume");
    let spool = filled(dir.path(), 25, small_segments());
    let mut from = Position::START;
    for entry in spool.reader(Position::START).unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.position, from);
        from = entry.next();
        let rest = read_all(&spool, from);
        assert_eq!(rest, expected(from.seq()..25));
        assert_eq!(spool.pending(from), 25 - from.seq());
    }
    assert_eq!(from, spool.end());
    let past = Position::from_offset(26).unwrap();
    assert!(matches!(spool.reader(past), Err(Error::Spool { .. })));
}

#[test]
fn a_reader_extends_to_entries_appended_after_it() {
    let dir = TempDir::new("extend");
    let mut spool = filled(dir.path(), 5, small_segments());
    let mut reader = spool.reader(Position::START).unwrap();
    assert_eq!(reader.by_ref().count(), 5);
    let more: Vec<Vec<u8>> = (5..20).map(payload).collect();
    spool.append(&more).unwrap();
    assert!(reader.next().is_none(), "not past the end it was given");
    reader.extend_to(spool.durable());
    let rest: Vec<u64> = reader.map(|e| e.unwrap().position.seq()).collect();
    assert_eq!(rest, (5..20).collect::<Vec<_>>());
}

#[test]
fn a_torn_last_entry_is_cut_at_every_length() {
    let dir = TempDir::new("torn");
    drop(filled(dir.path(), 6, Options::default()));
    let segment = last_segment(dir.path());
    let full = fs::read(&segment).unwrap();
    let last_start = entry_offset(0, 5);
    assert_eq!(last_start + frame_len(payload(5).len()), full.len() as u64);
    for len in last_start..full.len() as u64 {
        fs::write(&segment, &full[..len as usize]).unwrap();
        let mut spool = open(dir.path(), Options::default());
        let warned = warnings();
        if len == last_start {
            assert!(warned.is_empty(), "{warned:?}");
        } else {
            let cut = len - last_start;
            assert_eq!(warned.len(), 1, "{len}: {warned:?}");
            let text = &warned[0];
            assert!(text.contains(&segment.display().to_string()), "{text}");
            assert!(text.contains(&format!("byte offset {last_start} ({cut} bytes cut")));
        }
        assert_eq!(fs::metadata(&segment).unwrap().len(), last_start);
        assert_eq!(read_all(&spool, Position::START), expected(0..5), "{len}");
        // The cut entry's number is free again: it was never durable, so never acknowledged.
        assert_eq!(spool.append(&[payload(5)]).unwrap(), stored(5, 6));
        assert_eq!(read_all(&spool, Position::START), expected(0..6));
    }
}

fn stored(first: u64, next: u64) -> Appended {
    Appended::Stored {
        first: Position::from_offset(first as i64).unwrap(),
        next: Position::from_offset(next as i64).unwrap(),
    }
}

#[test]
fn a_flipped_byte_in_the_last_entry_is_a_torn_tail() {
    let dir = TempDir::new("flip-last");
    drop(filled(dir.path(), 6, Options::default()));
    let segment = last_segment(dir.path());
    let full = fs::read(&segment).unwrap();
    let last_start = entry_offset(0, 5);
    // The checksum and the payload; a length made shorter leaves bytes after the entry it
    // claims, which is damage by the rule, and is checked in the next test.
    for at in (last_start + 4..full.len() as u64).step_by(5) {
        fs::write(&segment, &full).unwrap();
        flip_byte(&segment, at);
        let spool = open(dir.path(), Options::default());
        let warned = warnings();
        assert!(
            warned.len() == 1 && warned[0].contains("checksum mismatch"),
            "{warned:?}"
        );
        assert_eq!(read_all(&spool, Position::START), expected(0..5), "{at}");
    }
}

#[test]
fn a_flipped_byte_in_a_middle_entry_is_damage_named_by_file_and_offset() {
    let dir = TempDir::new("flip-middle");
    drop(filled(dir.path(), 6, Options::default()));
    let segment = last_segment(dir.path());
    let at = entry_offset(0, 2);
    flip_byte(&segment, at + FRAME_HEADER_LEN + 3);
    match Spool::open(dir.path(), Options::default()) {
        Err(Error::SpoolDamaged { file, offset, .. }) => {
            assert_eq!((file, offset), (segment.clone(), at));
        }
        other => panic!("{other:?}"),
    }
    let text = Spool::open(dir.path(), Options::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains(&format!(
        "{} is damaged at byte offset {at}",
        segment.display()
    )));
    assert!(warnings().is_empty());
}

#[test]
fn a_damaged_older_segment_stops_the_reader_at_its_file_and_offset() {
    let dir = TempDir::new("damaged-sealed");
    drop(filled(dir.path(), 30, small_segments()));
    let second = segment_files(dir.path())[1].clone();
    let first: u64 = second
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let at = entry_offset(first, first + 1);
    flip_byte(&second, at + FRAME_HEADER_LEN);
    let spool = open(dir.path(), small_segments());
    let mut reader = spool.reader(Position::START).unwrap();
    for i in 0..=first {
        assert_eq!(reader.next().unwrap().unwrap().payload, payload(i));
    }
    match reader.next() {
        Some(Err(Error::SpoolDamaged { file, offset, .. })) => {
            assert_eq!((file, offset), (second, at))
        }
        other => panic!("{other:?}"),
    }
    assert!(reader.next().is_none(), "nothing after the damage");
}

#[test]
fn a_length_of_all_ones_is_damage_and_allocates_nothing() {
    let dir = TempDir::new("huge-length");
    drop(filled(dir.path(), 6, Options::default()));
    let segment = last_segment(dir.path());
    let full = fs::read(&segment).unwrap();
    for k in [2, 5] {
        let at = entry_offset(0, k) as usize;
        let mut bytes = full.clone();
        bytes[at..at + 4].copy_from_slice(&[0xFF; 4]);
        fs::write(&segment, &bytes).unwrap();
        match Spool::open(dir.path(), Options::default()) {
            Err(Error::SpoolDamaged { offset, reason, .. }) => {
                assert_eq!(offset, at as u64);
                assert!(
                    reason.contains("impossible entry length 4294967295"),
                    "{reason}"
                );
            }
            other => panic!("entry {k}: {other:?}"),
        }
    }
}

#[test]
fn a_zero_filled_tail_is_cut() {
    let dir = TempDir::new("zeros");
    drop(filled(dir.path(), 4, Options::default()));
    let segment = last_segment(dir.path());
    let len = fs::metadata(&segment).unwrap().len();
    set_len(&segment, len + 5000);
    let spool = open(dir.path(), Options::default());
    let warned = warnings();
    assert!(
        warned.len() == 1 && warned[0].contains("5000 bytes cut"),
        "{warned:?}"
    );
    assert_eq!(read_all(&spool, Position::START), expected(0..4));
}

#[test]
fn a_segment_a_crash_left_without_its_header_gets_it_again() {
    let dir = TempDir::new("no-header");
    drop(filled(dir.path(), 30, small_segments()));
    let last = last_segment(dir.path());
    let first: u64 = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    set_len(&last, 0);
    set_len(&last, 7);
    let mut spool = open(dir.path(), small_segments());
    assert_eq!(warnings().len(), 1);
    assert_eq!(spool.end().seq(), first);
    spool.append(&[payload(first)]).unwrap();
    assert_eq!(read_all(&spool, Position::START), expected(0..first + 1));
}

#[test]
fn a_spool_of_a_newer_format_version_is_refused() {
    let dir = TempDir::new("newer");
    drop(filled(dir.path(), 3, Options::default()));
    let meta = dir.path().join("spool.meta");
    fs::write(&meta, "order-spool format 2\n").unwrap();
    let text = Spool::open(dir.path(), Options::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains(&meta.display().to_string()), "{text}");
    assert!(
        text.contains("version 2, newer than this program's version 1"),
        "{text}"
    );

    fs::write(&meta, "order-spool format 1\n").unwrap();
    let segment = last_segment(dir.path());
    let mut bytes = fs::read(&segment).unwrap();
    bytes[4] = 3;
    fs::write(&segment, bytes).unwrap();
    let text = Spool::open(dir.path(), Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("version 3, newer than this program's version 1"),
        "{text}"
    );

    fs::write(&meta, "not ours\n").unwrap();
    assert!(matches!(
        Spool::open(dir.path(), Options::default()),
        Err(Error::Spool { .. })
    ));
}

#[test]
fn a_second_open_is_refused_while_the_first_holds_the_lock() {
    let dir = TempDir::new("lock");
    let first = open(dir.path(), Options::default());
    let text = Spool::open(dir.path(), Options::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("in use") && text.contains("lock"), "{text}");
    assert!(matches!(
        quarantine(dir.path()),
        Err(Error::Spool { reason, .. }) if reason.contains("in use")
    ));
    drop(first);
    drop(open(dir.path(), Options::default()));
}

#[test]
fn a_read_only_directory_is_refused_with_words() {
    use std::os::unix::fs::PermissionsExt;
    let read_only = |dir: &Path, mode| fs::set_permissions(dir, fs::Permissions::from_mode(mode));
    let fresh = TempDir::new("read-only");
    fs::create_dir_all(fresh.path()).unwrap();
    let existing = TempDir::new("read-only-spool");
    drop(filled(existing.path(), 3, Options::default()));
    for dir in [fresh.path(), existing.path()] {
        read_only(dir, 0o555).unwrap();
        if fs::write(dir.join("probe"), "").is_ok() {
            // Root writes anywhere: the refusal is for other users (run this test as one).
            read_only(dir, 0o755).unwrap();
            return;
        }
        let result = Spool::open(dir, Options::default());
        read_only(dir, 0o755).unwrap();
        let text = result.unwrap_err().to_string();
        assert!(text.contains("must be writable"), "{text}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
    }
}

#[test]
fn a_full_spool_answers_full_and_writes_nothing() {
    let dir = TempDir::new("full");
    let options = Options {
        max_bytes: 1000,
        ..small_segments()
    };
    let mut spool = open(dir.path(), options.clone());
    let mut n = 0;
    let full = loop {
        assert!(n < 1000, "1000 bytes hold far fewer entries");
        match spool.append(&[payload(n), payload(n + 1)]).unwrap() {
            Appended::Stored { .. } => n += 2,
            full => break full,
        }
    };
    let used = spool.bytes_used();
    let needed = frame_len(payload(n).len()) + frame_len(payload(n + 1).len());
    assert!(
        matches!(full, Appended::Full { used: u, max: 1000, needed: d } if u == used && d >= needed),
        "{full:?}"
    );
    assert!(used + needed > 1000);
    assert_eq!(spool.end().seq(), n);
    let on_disk: u64 = segment_files(dir.path())
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!(on_disk, used);
    // Forwarding everything and forgetting it makes room again.
    spool.forget(spool.end()).unwrap();
    assert!(matches!(
        spool.append(&[payload(n)]).unwrap(),
        Appended::Stored { .. }
    ));
}

#[test]
fn forget_deletes_only_segments_wholly_before_the_position() {
    let dir = TempDir::new("forget");
    let mut spool = filled(dir.path(), 40, small_segments());
    let before = segment_files(dir.path());
    let third: u64 = before[2]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One entry into the third segment: the first two are done, the third is not.
    let at = Position::from_offset(third as i64 + 1).unwrap();
    assert_eq!(spool.forget(at).unwrap(), 2);
    assert_eq!(segment_files(dir.path()), before[2..].to_vec());
    assert_eq!(spool.start().seq(), third);
    assert_eq!(read_all(&spool, at), expected(at.seq()..40));
    assert_eq!(spool.pending(at), 40 - at.seq());
    assert_eq!(spool.pending(Position::START), 40 - third);
    // Up to the third segment's last entry, which is not forwarded yet: the segment stays.
    let fourth: u64 = before[3]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        spool
            .forget(Position::from_offset(fourth as i64 - 1).unwrap())
            .unwrap(),
        0
    );
    assert_eq!(
        spool
            .forget(Position::from_offset(fourth as i64).unwrap())
            .unwrap(),
        1
    );
    assert_eq!(segment_files(dir.path()), before[3..].to_vec());
    // The last segment stays, however far the position.
    spool.forget(spool.end()).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 1);
    drop(spool);
    let mut spool = open(dir.path(), small_segments());
    assert_eq!(spool.end().seq(), 40);
    assert_eq!(spool.append(&[payload(40)]).unwrap(), stored(40, 41));
    assert!(spool.forget(Position::from_offset(99).unwrap()).is_err());
}

#[test]
fn a_failed_append_is_cut_back_whole() {
    let dir = TempDir::new("cut-back");
    let mut spool = filled(dir.path(), 3, small_segments());
    let before: Vec<(PathBuf, u64)> = segment_files(dir.path())
        .into_iter()
        .map(|f| (f.clone(), fs::metadata(&f).unwrap().len()))
        .collect();
    // A directory where the batch's second new segment would go: the batch fills the last
    // segment, starts one more, and fails to create the next.
    let batch: Vec<Vec<u8>> = (3..15).map(payload).collect();
    let mut second_roll = None;
    let mut len = before.last().unwrap().1;
    let mut rolls = 0;
    for (i, p) in batch.iter().enumerate() {
        if len + frame_len(p.len()) > 200 {
            rolls += 1;
            len = SEGMENT_HEADER_LEN;
            if rolls == 2 {
                second_roll = Some(3 + i as u64);
                break;
            }
        }
        len += frame_len(p.len());
    }
    let blocker = dir.path().join(segment_name(second_roll.unwrap()));
    fs::create_dir(&blocker).unwrap();
    let error = spool.append(&batch).unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error:?}");
    let after: Vec<(PathBuf, u64)> = segment_files(dir.path())
        .into_iter()
        .filter(|f| f != &blocker)
        .map(|f| (f.clone(), fs::metadata(&f).unwrap().len()))
        .collect();
    assert_eq!(after, before);
    assert_eq!(spool.end().seq(), 3);
    assert_eq!(read_all(&spool, Position::START), expected(0..3));
    fs::remove_dir(&blocker).unwrap();
    assert_eq!(spool.append(&batch).unwrap(), stored(3, 15));
    drop(spool);
    let spool = open(dir.path(), small_segments());
    assert_eq!(read_all(&spool, Position::START), expected(0..15));
}

#[test]
fn entries_outside_the_size_bounds_are_refused() {
    let dir = TempDir::new("bounds");
    let mut spool = open(dir.path(), Options::default());
    let empty: &[u8] = b"";
    assert!(matches!(spool.append(&[empty]), Err(Error::Spool { .. })));
    let huge = vec![b'x'; MAX_PAYLOAD as usize + 1];
    assert!(matches!(spool.append(&[huge]), Err(Error::Spool { .. })));
    let largest = vec![b'x'; MAX_PAYLOAD as usize];
    assert_eq!(spool.append(&[largest]).unwrap(), stored(0, 1));
    assert_eq!(spool.append(&[] as &[&[u8]]).unwrap(), stored(1, 1));
}

#[test]
fn with_an_interval_only_entries_below_durable_are_read() {
    let dir = TempDir::new("interval");
    let options = Options {
        fsync: Fsync::Interval(Duration::from_secs(3600)),
        ..small_segments()
    };
    let mut spool = open(dir.path(), options.clone());
    spool.append(&[payload(0), payload(1)]).unwrap();
    assert_eq!(spool.durable().seq(), 0);
    assert_eq!(
        spool.sync_if_due().unwrap().seq(),
        0,
        "the interval has not passed"
    );
    assert!(read_all(&spool, Position::START).is_empty());
    assert_eq!(spool.sync().unwrap().seq(), 2);
    assert_eq!(read_all(&spool, Position::START), expected(0..2));
    // Rolling a segment fsyncs it whole, so what came before the new segment is durable.
    let more: Vec<Vec<u8>> = (2..20).map(payload).collect();
    spool.append(&more).unwrap();
    let last = last_segment(dir.path());
    let last_first: u64 = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    assert!(last_first > 2 && last_first < 20, "{last_first}");
    assert_eq!(spool.durable().seq(), last_first);
    drop(spool);
    let spool = open(dir.path(), options);
    assert_eq!(spool.durable().seq(), 20, "closing fsyncs");
}

#[test]
fn the_transactional_id_is_made_once_and_a_given_one_is_kept() {
    let dir = TempDir::new("id");
    let made = open(dir.path(), Options::default())
        .transactional_id()
        .to_string();
    assert!(
        made.starts_with("order-spool-") && made.len() == 48,
        "{made}"
    );
    let again = open(dir.path(), Options::default());
    assert_eq!(again.transactional_id(), made);
    drop(again);
    let given = Options {
        transactional_id: Some("orders-eu-1".into()),
        ..Options::default()
    };
    assert_eq!(open(dir.path(), given).transactional_id(), "orders-eu-1");
    assert!(warnings().iter().any(|w| w.contains(&made)));
    let stored = fs::read_to_string(dir.path().join("transactional-id")).unwrap();
    assert_eq!(stored, "orders-eu-1\n");
    assert_eq!(
        open(dir.path(), Options::default()).transactional_id(),
        "orders-eu-1"
    );
    let bad = Options {
        transactional_id: Some("two words".into()),
        ..Options::default()
    };
    assert!(matches!(
        Spool::open(dir.path(), bad),
        Err(Error::Spool { .. })
    ));
}

#[test]
fn quarantine_moves_a_damaged_segment_aside_and_forwarding_goes_on() {
    let dir = TempDir::new("quarantine");
    drop(filled(dir.path(), 40, small_segments()));
    let files = segment_files(dir.path());
    let second = files[1].clone();
    let gap: u64 = second
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let after: u64 = files[2]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    flip_byte(&second, entry_offset(gap, gap) + FRAME_HEADER_LEN);
    assert!(quarantine(dir.path()).unwrap().len() == 1);
    assert!(dir
        .path()
        .join(format!("{}.damaged", segment_name(gap)))
        .exists());
    assert!(!second.exists());
    assert_eq!(
        quarantine(dir.path()).unwrap(),
        vec![],
        "nothing more to move"
    );
    let _ = warnings();

    let spool = open(dir.path(), small_segments());
    let read: Vec<u64> = read_all(&spool, Position::START)
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    let mut expect: Vec<u64> = (0..gap).collect();
    expect.extend(after..40);
    assert_eq!(read, expect);
    assert!(warnings().iter().any(|w| w.contains("not in the spool")));
    assert_eq!(spool.pending(Position::START), 40 - (after - gap));
}

#[test]
fn quarantining_the_last_segment_never_gives_its_numbers_out_again() {
    let dir = TempDir::new("quarantine-last");
    drop(filled(dir.path(), 6, Options::default()));
    let segment = last_segment(dir.path());
    flip_byte(&segment, entry_offset(0, 1) + FRAME_HEADER_LEN);
    assert!(matches!(
        Spool::open(dir.path(), Options::default()),
        Err(Error::SpoolDamaged { .. })
    ));
    let moved = quarantine(dir.path()).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].offset, entry_offset(0, 1));
    let mut spool = open(dir.path(), Options::default());
    let next = spool.end().seq();
    assert!(next >= 6, "{next}");
    assert_eq!(
        spool.append(&[payload(next)]).unwrap(),
        stored(next, next + 1)
    );
    assert_eq!(read_all(&spool, Position::START), expected(next..next + 1));
}
