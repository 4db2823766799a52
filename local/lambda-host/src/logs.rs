//! Capture of a process's stdout/stderr: each line is tagged with the function
//! and the request it belongs to, sent to the host's sink, and kept in a short
//! per-invocation tail.

use std::collections::VecDeque;
use std::io::{ErrorKind as IoErrorKind, Read};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::io::Interest;
use tokio::net::UnixStream;
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

/// The host's end of one output stream of the process.
struct Watched {
    stream: LogStream,
    /// A second handle on the (non-blocking) socket: reads through it are real
    /// `read` calls, which [`LogCapture::settle`] needs (tokio's own handle may
    /// answer from cached readiness).
    handle: StdUnixStream,
    /// The bytes of a line not finished yet. The lock also makes the reader
    /// task and `settle` take turns, so lines keep their order.
    partial: Mutex<Vec<u8>>,
}

/// The capture of one process.
pub(crate) struct LogCapture {
    function: String,
    /// Set right after the spawn; lines cannot arrive before that.
    pid: AtomicU32,
    sink: Option<LogSink>,
    tail_max: usize,
    state: Mutex<CaptureState>,
    watched: Mutex<Vec<Arc<Watched>>>,
    open_streams: AtomicUsize,
    closed: Notify,
}

impl LogCapture {
    pub(crate) fn new(function: String, sink: Option<LogSink>, tail_max: usize) -> Arc<Self> {
        Arc::new(LogCapture {
            function,
            pid: AtomicU32::new(0),
            sink,
            tail_max,
            state: Mutex::new(CaptureState {
                request_id: None,
                tail: VecDeque::new(),
            }),
            watched: Mutex::new(Vec::new()),
            open_streams: AtomicUsize::new(0),
            closed: Notify::new(),
        })
    }

    /// Records the process id the lines are tagged with.
    pub(crate) fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, CaptureState> {
        // A poisoned lock only means a sink panicked mid-push; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the socket pair one output stream of the process writes to: returns
    /// the child's end, and starts reading the host's end until it closes.
    ///
    /// A socket pair rather than a pipe, because std can make a socket
    /// non-blocking, which lets [`LogCapture::settle`] drain it on the spot.
    pub(crate) fn attach(self: &Arc<Self>, stream: LogStream) -> std::io::Result<StdUnixStream> {
        let (ours, theirs) = StdUnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let watched = Arc::new(Watched {
            stream,
            handle: ours.try_clone()?,
            partial: Mutex::new(Vec::new()),
        });
        let reader = UnixStream::from_std(ours)?;
        // The child only writes.
        let _ = theirs.shutdown(std::net::Shutdown::Read);
        self.watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&watched));
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if reader.readable().await.is_err() {
                    break;
                }
                // `try_io` clears tokio's readiness when the drain ends in WouldBlock.
                match reader.try_io(Interest::READABLE, || this.drain(&watched)) {
                    Err(e) if e.kind() == IoErrorKind::WouldBlock => continue,
                    // End of stream, or a broken one.
                    _ => break,
                }
            }
            this.open_streams.fetch_sub(1, Ordering::SeqCst);
            this.closed.notify_waiters();
        });
        Ok(theirs)
    }

    /// Reads everything available now and pushes the complete lines. `Ok` at the
    /// end of the stream, `WouldBlock` once nothing more is waiting.
    fn drain(&self, watched: &Watched) -> std::io::Result<()> {
        let mut partial = watched.partial.lock().unwrap_or_else(|e| e.into_inner());
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            match (&watched.handle).read(&mut chunk) {
                Ok(0) => {
                    if !partial.is_empty() {
                        self.push(watched.stream, &partial);
                        partial.clear();
                    }
                    return Ok(());
                }
                Ok(n) => {
                    for &byte in &chunk[..n] {
                        if byte == b'\n' {
                            self.push(watched.stream, &partial);
                            partial.clear();
                        } else if partial.len() < MAX_LINE {
                            partial.push(byte);
                        }
                    }
                }
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn push(&self, stream: LogStream, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = {
            let mut state = self.lock();
            let line = LogLine {
                function: self.function.clone(),
                request_id: state.request_id.clone(),
                pid: self.pid.load(Ordering::SeqCst),
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

    /// Turns everything the process wrote so far into lines, on the spot. The
    /// process writes its log lines before its HTTP answer, so once the answer
    /// is in, they are waiting in the sockets: draining them here (instead of
    /// waiting for the reader tasks to be scheduled) makes the invocation's tail
    /// complete and keeps late lines from being tagged with the next request.
    pub(crate) fn settle(&self) {
        let watched: Vec<Arc<Watched>> = self
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for watched in watched {
            let _ = self.drain(&watched);
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
        let capture = LogCapture::new("f".into(), Some(sink), 2);
        capture.set_pid(7);
        capture.push(LogStream::Stdout, b"init line");
        capture.begin("req-1", true);
        capture.push(LogStream::Stderr, b"one\r");
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
