//! Capture of a process's stdout/stderr: each line is tagged with the function
//! and the request it belongs to, sent to the host's sink, and kept in a short
//! per-invocation tail.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::Notify;

/// Longest line kept; longer ones are cut (Lambda splits log events at 256 KiB).
const MAX_LINE: usize = 256 * 1024;

/// Which stream of the process a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output (where `lambda_runtime` tasks write their JSON logs).
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line a function process wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The function's name.
    pub function: String,
    /// The invocation running when the line was read; `None` during init.
    pub request_id: Option<String>,
    /// The process that wrote it.
    pub pid: u32,
    /// stdout or stderr.
    pub stream: LogStream,
    /// When the host read it.
    pub timestamp: SystemTime,
    /// The text, without the line ending (invalid UTF-8 replaced).
    pub line: String,
}

/// Where every captured line goes, as soon as it is read. It is called from the
/// reader tasks: keep it quick (push into a channel, print).
pub type LogSink = Arc<dyn Fn(LogLine) + Send + Sync>;

struct CaptureState {
    request_id: Option<String>,
    tail: VecDeque<LogLine>,
}

/// The capture of one process.
pub(crate) struct LogCapture {
    function: String,
    pid: u32,
    sink: Option<LogSink>,
    tail_max: usize,
    state: Mutex<CaptureState>,
    /// Lines read so far: lets [`LogCapture::settle`] see when the readers are idle.
    seq: AtomicU64,
    open_streams: AtomicUsize,
    closed: Notify,
}

impl LogCapture {
    pub(crate) fn new(
        function: String,
        pid: u32,
        sink: Option<LogSink>,
        tail_max: usize,
    ) -> Arc<Self> {
        Arc::new(LogCapture {
            function,
            pid,
            sink,
            tail_max,
            state: Mutex::new(CaptureState {
                request_id: None,
                tail: VecDeque::new(),
            }),
            seq: AtomicU64::new(0),
            open_streams: AtomicUsize::new(0),
            closed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, CaptureState> {
        // A poisoned lock only means a sink panicked mid-push; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts reading one stream of the process until it closes.
    pub(crate) fn spawn_reader<R>(self: &Arc<Self>, stream: LogStream, reader: R)
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => this.push(stream, &buf),
                }
            }
            this.open_streams.fetch_sub(1, Ordering::SeqCst);
            this.closed.notify_waiters();
        });
    }

    fn push(&self, stream: LogStream, raw: &[u8]) {
        let mut raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = &raw[..raw.len().min(MAX_LINE)];
        let line = {
            let mut state = self.lock();
            let line = LogLine {
                function: self.function.clone(),
                request_id: state.request_id.clone(),
                pid: self.pid,
                stream,
                timestamp: SystemTime::now(),
                line: String::from_utf8_lossy(raw).into_owned(),
            };
            if self.tail_max > 0 {
                if state.tail.len() == self.tail_max {
                    state.tail.pop_front();
                }
                state.tail.push_back(line.clone());
            }
            line
        };
        self.seq.fetch_add(1, Ordering::SeqCst);
        if let Some(sink) = &self.sink {
            sink(line);
        }
    }

    /// Marks the start of an invocation: later lines carry its request id.
    /// `keep_tail` keeps the lines read so far (the init phase's, on a cold start).
    pub(crate) fn begin(&self, request_id: &str, keep_tail: bool) {
        let mut state = self.lock();
        state.request_id = Some(request_id.to_owned());
        if !keep_tail {
            state.tail.clear();
        }
    }

    /// The lines kept since the last [`LogCapture::begin`].
    pub(crate) fn take_tail(&self) -> Vec<LogLine> {
        self.lock().tail.drain(..).collect()
    }

    /// Gives the reader tasks the chance to read what the process wrote before it
    /// answered. The process writes its log lines before its HTTP response, so they
    /// are already in the pipe; the readers only need to be scheduled. Waits until
    /// the line count stops moving across a few yields (microseconds, no sleep).
    pub(crate) async fn settle(&self) {
        let mut quiet = 0;
        for _ in 0..64 {
            let before = self.seq.load(Ordering::SeqCst);
            tokio::task::yield_now().await;
            if self.seq.load(Ordering::SeqCst) == before {
                quiet += 1;
                if quiet == 3 {
                    return;
                }
            } else {
                quiet = 0;
            }
        }
    }

    /// After the process exited: waits (bounded) until both pipes are drained.
    pub(crate) async fn wait_closed(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let notified = self.closed.notified();
                if self.open_streams.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_tagged_and_tailed() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = Arc::clone(&seen);
        let sink: LogSink =
            Arc::new(move |l: LogLine| sink_seen.lock().unwrap_or_else(|e| e.into_inner()).push(l));
        let capture = LogCapture::new("f".into(), 7, Some(sink), 2);
        capture.push(LogStream::Stdout, b"init line\n");
        capture.begin("req-1", true);
        capture.push(LogStream::Stderr, b"one\r\n");
        capture.push(LogStream::Stdout, b"two");
        let tail = capture.take_tail();
        assert_eq!(
            tail.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(tail[0].request_id.as_deref(), Some("req-1"));
        assert_eq!(tail[0].stream, LogStream::Stderr);
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].request_id, None);
        assert_eq!(seen[0].function, "f");
        assert_eq!(seen[0].pid, 7);
    }
}
