//! One file's run on every core: a reader thread splits the CSV (and
//! un-gzips it) into batches of rows, workers parse and judge the
//! batches, and the caller's thread takes their outcomes in file order,
//! so the report and the skipped lines come out exactly as a one-thread
//! run writes them. Batches in flight are bounded and their buffers reused:
//! memory stays flat whatever the file's size.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use csv::ByteRecord;
use jiff::tz::TimeZone;

use super::cdr::{self, Layout};
use super::judge::{identity, judge, ListJudge, Seen, Verdict};
use super::report::{Counted, Rendered};
use super::Format;

/// Rows per batch: large enough that the hand-offs cost nothing per row,
/// small enough that a batch stays in cache.
const BATCH_ROWS: usize = 1024;

/// What the workers need, shared by all of them.
pub struct Context<'a> {
    /// The list; `None` reads and parses only (the benchmark's floor).
    pub decider: Option<&'a ListJudge>,
    pub layout: &'a Layout,
    pub tz: Option<&'a TimeZone>,
    /// The report's format and whether it shows numbers: workers render
    /// the rows, the writer only copies them.
    pub format: Format,
    pub numbers: bool,
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
    /// Privileged calls.
    pub privileged: Vec<Privileged>,
    /// The report rows of the named calls.
    pub rendered: Rendered,
}

/// A privileged call of a batch.
pub struct Privileged {
    /// Its identity, to count repeats once.
    id: u128,
    /// Its row in the batch (where its facility is read).
    index: usize,
    pub kind: Kind,
    /// For a named one, its report row in the outcome's `rendered`.
    pub row: Range<usize>,
}

/// A batch's rows, to read a privileged call's facility without copying
/// it.
pub struct Facilities<'b> {
    rows: &'b [ByteRecord],
    layout: &'b Layout,
}

impl<'b> Facilities<'b> {
    /// The facility of `p`.
    pub fn of(&self, p: &Privileged) -> &'b str {
        self.rows
            .get(p.index)
            .map_or("", |row| self.layout.facility(row))
    }
}

/// What became of a privileged call.
pub enum Kind {
    Named(Counted),
    Unrecorded,
    AfterWindow,
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
    mut each: impl FnMut(Outcome, u64, Facilities<'_>) -> Result<()>,
) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (work_tx, work_rx) = sync_channel::<Batch>(workers * 2);
    let (done_tx, done_rx) = sync_channel::<Result<(Outcome, Batch)>>(workers * 2);
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
        'outcomes: for done in done_rx {
            let (outcome, batch) = match done {
                Ok(done) => done,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            pending.insert(outcome.seq, (outcome, batch));
            while let Some((mut outcome, batch)) = pending.remove(&next) {
                next += 1;
                let before = outcome.privileged.len();
                outcome.privileged.retain(|p| seen.first(p.id));
                let repeats = (before - outcome.privileged.len()) as u64;
                let facilities = Facilities {
                    rows: &batch.rows,
                    layout: context.layout,
                };
                let done = each(outcome, repeats, facilities);
                let _ = spare_tx.send(batch);
                if let Err(e) = done {
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
    done: &std::sync::mpsc::SyncSender<Result<(Outcome, Batch)>>,
    context: &Context,
) {
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        let outcome = judge_batch(&batch, context).map(|o| (o, batch));
        if done.send(outcome).is_err() {
            return;
        }
    }
}

/// Parses and judges one batch.
fn judge_batch(batch: &Batch, context: &Context) -> Result<Outcome> {
    let mut outcome = Outcome {
        seq: batch.seq,
        rows: batch.used as u64,
        ambiguous: 0,
        skips: Vec::new(),
        privileged: Vec::new(),
        rendered: Rendered::new(context.format, context.numbers),
    };
    for (index, (row, &line)) in batch
        .rows
        .iter()
        .zip(&batch.lines)
        .take(batch.used)
        .enumerate()
    {
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
            let (kind, row) = match &verdict {
                Verdict::Named(finding) => (
                    Kind::Named(finding.counted()),
                    outcome.rendered.add(finding)?,
                ),
                Verdict::Unrecorded => (Kind::Unrecorded, 0..0),
                Verdict::AfterWindow => (Kind::AfterWindow, 0..0),
            };
            outcome.privileged.push(Privileged {
                id: identity(&record),
                index,
                kind,
                row,
            });
        }
    }
    Ok(outcome)
}
