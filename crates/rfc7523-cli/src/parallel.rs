//! `verify --jobs N`: the lines of standard input judged on N threads, their answers taken in
//! input order.
//!
//! Three kinds of thread:
//! - a reader (detached: it may be blocked on standard input when the run ends) splits the
//!   input with the same [`LineReader`] as one thread, drops blank lines, and hands the other
//!   lines to the main thread in chunks (at most [`CHUNK_LINES`] lines or about
//!   [`CHUNK_BYTES`]; a chunk also ends where the input would block, so no line waits for
//!   later ones), at most [`CHUNKS_PER_JOB`] chunks per worker ahead of the last one answered:
//!   memory stays bounded whatever the input;
//! - N workers do the order-free part of each line of a chunk (a validation whose replay entry
//!   is only noted, and the JSON of its answer);
//! - the main thread numbers the chunks, hands them to the workers, and finishes their results
//!   strictly in input order ([`Finish::finish`]: the replay check and the output line), so
//!   every order-sensitive step happens exactly as with one thread.
//!
//! Chunks, not lines, cross between threads: a thread hand-over costs a few microseconds of
//! waking and waiting, a tenth of a verification, and would otherwise be paid four times per
//! line. The output is flushed whenever the main thread would wait with nothing in flight: a
//! caller that writes one token and waits gets its answer, and a batch is written in large
//! blocks.

use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Mutex;
use std::thread;

use rfc7523::limits::MAX_TOKEN_LEN;

use crate::input::{Line, LineReader};
use crate::Fatal;

/// Most lines in a chunk.
pub const CHUNK_LINES: usize = 32;

/// A chunk ends once its lines hold this many bytes (so at most this plus one line of
/// `MAX_TOKEN_LEN`).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks in flight per worker: enough that a worker seldom waits for the chunk ahead of it to
/// be finished, few enough that memory stays small (about 200 KiB of input, and as much of
/// answers, per chunk at most).
pub const CHUNKS_PER_JOB: usize = 4;

/// A line for a worker.
#[derive(Debug)]
pub enum Item {
    /// The line's bytes (without its line ending).
    Text(Vec<u8>),
    /// A line longer than `MAX_TOKEN_LEN` + 1 bytes (not kept).
    TooLong,
}

/// What the main thread hears about.
enum Event<J> {
    /// The next lines from the reader.
    Lines(Vec<Item>),
    /// The input has ended (after its last line), or failed.
    End(Option<io::Error>),
    /// A worker's results for chunk number `.0`.
    Done(usize, Vec<J>),
    /// A worker stopped without a result (it panicked).
    WorkerLost,
}

/// The main thread's side of a run: what it does with each result, in input order.
pub trait Finish<J> {
    /// The order-sensitive part of a line (its replay check, its output).
    fn finish(&mut self, result: J) -> Result<(), Fatal>;
    /// Every line read so far is finished and the next must be waited for: flush the output.
    fn idle(&mut self) -> Result<(), Fatal>;
}

/// Judges every line of standard input: `work` on `jobs` threads, then `sink.finish` on this
/// one, in input order. Returns when the input has ended and every line is finished, or at
/// the first error of `sink` or of the input (after the lines read before it are finished, as
/// with one thread).
pub fn run<J, W>(jobs: usize, work: &W, sink: &mut impl Finish<J>) -> Result<(), Fatal>
where
    J: Send + 'static,
    W: Fn(Item) -> J + Sync,
{
    let jobs = jobs.max(1);
    let window = jobs.saturating_mul(CHUNKS_PER_JOB);
    let (events_tx, events) = mpsc::channel::<Event<J>>();
    let (credits_tx, credits_rx) = mpsc::sync_channel::<()>(window);
    for _ in 0..window {
        // The channel holds `window` credits; the reader takes one per line.
        let _ = credits_tx.try_send(());
    }
    let reader_events = events_tx.clone();
    thread::spawn(move || read_lines(&reader_events, &credits_rx));

    let (jobs_tx, jobs_rx) = mpsc::channel::<(usize, Vec<Item>)>();
    let jobs_rx = Mutex::new(jobs_rx);
    thread::scope(|scope| {
        for _ in 0..jobs {
            let events = events_tx.clone();
            let jobs_rx = &jobs_rx;
            scope.spawn(move || {
                let guard = LostGuard(&events);
                loop {
                    // The lock is held only to take the next chunk.
                    let next = match jobs_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((number, items)) = next else { break };
                    let results = items.into_iter().map(work).collect();
                    if events.send(Event::Done(number, results)).is_err() {
                        break;
                    }
                }
                drop(guard);
            });
        }
        drop(events_tx);
        // Returning drops `jobs_tx` (the workers stop) and `credits_tx` (so does the reader,
        // unless it is waiting for input, which ends with the process).
        order(&events, jobs_tx, credits_tx, sink)
    })
}

/// The main thread's loop: hands chunks to the workers and finishes results in input order.
fn order<J>(
    events: &Receiver<Event<J>>,
    jobs_tx: Sender<(usize, Vec<Item>)>,
    credits_tx: SyncSender<()>,
    sink: &mut impl Finish<J>,
) -> Result<(), Fatal> {
    let mut handed = 0usize;
    let mut finished = 0usize;
    let mut ended: Option<Option<io::Error>> = None;
    // Results that came before those of earlier chunks: at most `window` chunks.
    let mut early: BTreeMap<usize, Vec<J>> = BTreeMap::new();
    loop {
        if finished == handed {
            if let Some(error) = ended.take() {
                return error.map_or(Ok(()), |e| Err(Fatal::input(&e)));
            }
        }
        let event = match events.try_recv() {
            Ok(event) => event,
            Err(TryRecvError::Empty) => {
                if finished == handed {
                    // Nothing in flight: everything read so far is answered.
                    sink.idle()?;
                }
                events.recv().map_err(|_| lost())?
            }
            Err(TryRecvError::Disconnected) => return Err(lost()),
        };
        match event {
            Event::Lines(items) => {
                jobs_tx.send((handed, items)).map_err(|_| lost())?;
                handed += 1;
            }
            Event::End(error) => ended = Some(error),
            Event::Done(number, results) => {
                early.insert(number, results);
                while let Some(results) = early.remove(&finished) {
                    for result in results {
                        sink.finish(result)?;
                    }
                    finished += 1;
                    // The reader may have stopped (at the end of the input): no one to tell.
                    let _ = credits_tx.try_send(());
                }
            }
            Event::WorkerLost => return Err(lost()),
        }
    }
}

/// The error of a run whose worker or reader went away without its result (a bug).
fn lost() -> Fatal {
    Fatal::usage("internal error: a verification thread stopped")
}

/// The reader thread: standard input's lines in chunks, each chunk after taking a credit
/// (one per chunk in flight), then the end of the input (or its error, after the lines read
/// before it).
fn read_lines<J>(events: &Sender<Event<J>>, credits: &Receiver<()>) {
    // One byte more than a token may have, for the `\r` of a CRLF line.
    let mut lines = LineReader::new(io::stdin().lock(), MAX_TOKEN_LEN + 1);
    let mut chunk = Vec::new();
    let mut bytes = 0;
    // No credit: the main thread has returned, nothing more is wanted.
    let send = |chunk: &mut Vec<Item>| {
        credits.recv().is_ok() && events.send(Event::Lines(std::mem::take(chunk))).is_ok()
    };
    let end = loop {
        if !chunk.is_empty()
            && (chunk.len() == CHUNK_LINES || bytes >= CHUNK_BYTES || lines.would_block())
        {
            if !send(&mut chunk) {
                return;
            }
            bytes = 0;
        }
        match lines.next_line() {
            Ok(None) => break None,
            Ok(Some(Line::Blank)) => {}
            Ok(Some(Line::Text(text))) => {
                bytes += text.len();
                chunk.push(Item::Text(text.to_vec()));
            }
            Ok(Some(Line::TooLong)) => chunk.push(Item::TooLong),
            Err(e) => break Some(e),
        }
    };
    if !chunk.is_empty() && !send(&mut chunk) {
        return;
    }
    let _ = events.send(Event::End(end));
}

/// Tells the main thread when a worker unwinds (a panic), so that it does not wait forever
/// for that worker's line.
struct LostGuard<'a, J>(&'a Sender<Event<J>>);

impl<J> Drop for LostGuard<'_, J> {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.0.send(Event::WorkerLost);
        }
    }
}
