//! One file's run on every core: a reader thread splits the CSV (and
//! un-gzips it) into batches of rows, workers parse and judge the
//! batches, and the caller's thread takes their outcomes in file order,
//! so the report and the skipped lines come out exactly as a one-thread
//! run writes them. Batches in flight are bounded and their buffers reused:
//! memory stays flat whatever the file's size.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use csv::ByteRecord;
use jiff::tz::TimeZone;
use privcall::core::decide::Decider;

use super::cdr::{self, Layout};
use super::judge::{identity, judge, Seen, Verdict};

/// Rows per batch: large enough that the hand-offs cost nothing per row,
/// small enough that a batch stays in cache.
const BATCH_ROWS: usize = 1024;

/// What the workers need, shared by all of them.
pub struct Context<'a> {
    /// The list; `None` reads and parses only (the benchmark's floor).
    pub decider: Option<&'a Decider>,
    pub layout: &'a Layout,
    pub tz: Option<&'a TimeZone>,
}

/// Rows read, with the line each starts on.
struct Batch {
    seq: u64,
    rows: Vec<ByteRecord>,
    lines: Vec<u64>,
    used: usize,
}

/// A batch judged.
pub struct Outcome {
    seq: u64,
    /// Rows read.
    pub rows: u64,
    /// Rows whose start had two readings.
    pub ambiguous: u64,
    /// Skipped rows: line and why.
    pub skips: Vec<(u64, &'static str)>,
    /// Privileged calls, with their identity (to count repeats once).
    pub privileged: Vec<(u128, Verdict)>,
}

/// Runs `reader` through the workers; `each` gets every batch's outcome
/// in order, with the calls already seen removed (`seen` spans files).
/// The reader thread keeps `row_start` at the byte where the next row
/// begins (the limit on a row's size reads it: [`cdr::open`]).
pub fn run(
    reader: csv::Reader<Box<dyn Read + Send>>,
    row_start: &AtomicU64,
    context: &Context,
    seen: &mut Seen,
    mut each: impl FnMut(Outcome, u64) -> Result<()>,
) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (work_tx, work_rx) = sync_channel::<Batch>(workers * 2);
    let (done_tx, done_rx) = sync_channel::<(Outcome, Batch)>(workers * 2);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Batch>();
    // Shared by the workers: when the last one stops, the reader's sends
    // fail and it stops too.
    let work_rx = Arc::new(Mutex::new(work_rx));
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || read(reader, row_start, &work_tx, &spare_rx));
        let working: Vec<_> = (0..workers)
            .map(|_| {
                let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
                scope.spawn(move || work(&work_rx, &done_tx, context))
            })
            .collect();
        drop((done_tx, work_rx));
        // Outcomes arrive in any order; they are taken in the file's.
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut failed = None;
        'outcomes: for (outcome, batch) in done_rx {
            let _ = spare_tx.send(batch);
            pending.insert(outcome.seq, outcome);
            while let Some(mut outcome) = pending.remove(&next) {
                next += 1;
                let before = outcome.privileged.len();
                outcome.privileged.retain(|(id, _)| seen.first(*id));
                let repeats = (before - outcome.privileged.len()) as u64;
                if let Err(e) = each(outcome, repeats) {
                    // Dropping the outcomes' receiver stops the workers.
                    failed = Some(e);
                    break 'outcomes;
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if working.into_iter().any(|w| w.join().is_err()) || !pending.is_empty() {
            return Err(anyhow!("an audit worker failed; no report was written"));
        }
        reading
            .join()
            .map_err(|_| anyhow!("the CSV reader failed; no report was written"))?
    })
}

/// The reader thread: batches of rows until the end of the file or an
/// error, which names the line.
fn read(
    mut reader: csv::Reader<Box<dyn Read + Send>>,
    row_start: &AtomicU64,
    work: &std::sync::mpsc::SyncSender<Batch>,
    spare: &Receiver<Batch>,
) -> Result<()> {
    for seq in 0.. {
        let mut batch = spare.try_recv().unwrap_or_else(|_| Batch {
            seq: 0,
            rows: Vec::with_capacity(BATCH_ROWS),
            lines: Vec::with_capacity(BATCH_ROWS),
            used: 0,
        });
        batch.seq = seq;
        batch.used = 0;
        batch.lines.clear();
        while batch.used < BATCH_ROWS {
            if batch.rows.len() == batch.used {
                batch.rows.push(ByteRecord::new());
            }
            let line = reader.position().line();
            let Some(row) = batch.rows.get_mut(batch.used) else {
                break;
            };
            let read = reader.read_byte_record(row);
            row_start.store(reader.position().byte(), Ordering::Relaxed);
            match read {
                Ok(true) => {
                    batch.lines.push(line);
                    batch.used += 1;
                }
                Ok(false) => break,
                Err(e) => return Err(anyhow!("line {line}: {}", csv_error(&e))),
            }
        }
        let last = batch.used < BATCH_ROWS;
        if batch.used > 0 && work.send(batch).is_err() {
            // The workers are gone: the caller stopped on an error.
            return Ok(());
        }
        if last {
            break;
        }
    }
    Ok(())
}

/// A CSV error without the row's contents.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "not CSV".into(),
    }
}

/// A worker thread: judges batches until there are no more.
fn work(
    work: &Mutex<Receiver<Batch>>,
    done: &std::sync::mpsc::SyncSender<(Outcome, Batch)>,
    context: &Context,
) {
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        let outcome = judge_batch(&batch, context);
        if done.send((outcome, batch)).is_err() {
            return;
        }
    }
}

/// Parses and judges one batch.
fn judge_batch(batch: &Batch, context: &Context) -> Outcome {
    let mut outcome = Outcome {
        seq: batch.seq,
        rows: batch.used as u64,
        ambiguous: 0,
        skips: Vec::new(),
        privileged: Vec::new(),
    };
    for (row, &line) in batch.rows.iter().zip(&batch.lines).take(batch.used) {
        let record = match cdr::parse(row, context.layout, context.tz) {
            Ok(r) => r,
            Err(why) => {
                outcome.skips.push((line, why));
                continue;
            }
        };
        if record.start_alt.is_some() {
            outcome.ambiguous += 1;
        }
        if let Some(verdict) = context.decider.and_then(|d| judge(d, &record)) {
            outcome.privileged.push((identity(&record), verdict));
        }
    }
    outcome
}
