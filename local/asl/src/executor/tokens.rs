//! Task tokens: the registry of live and finished tokens that `.waitForTaskToken` states wait
//! on and `SendTaskSuccess` and friends answer.

use super::*;

pub(super) struct TokenEntry {
    tx: mpsc::UnboundedSender<(TokenMsg, Hold)>,
    execution: String,
}

/// Live and finished task tokens.
#[derive(Default)]
pub(crate) struct TokenRegistry {
    live: Mutex<HashMap<String, TokenEntry>>,
    finished: Mutex<HashSet<String>>,
}

/// Why a task token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not one this engine could have issued (`InvalidToken`).
    #[error("InvalidToken: Invalid token")]
    InvalidToken,
    /// No task ever had this token (`TaskDoesNotExist`).
    #[error("TaskDoesNotExist: Task does not exist")]
    TaskDoesNotExist,
    /// The task is over: it succeeded, failed, timed out or its execution stopped
    /// (`TaskTimedOut`).
    #[error("TaskTimedOut: Task Timed Out: 'Provided task does not exist anymore'")]
    TaskTimedOut,
    /// The output is not valid JSON (`InvalidOutput`).
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
}

impl TokenError {
    /// The AWS error code (`InvalidToken`, `TaskDoesNotExist`, `TaskTimedOut`, `InvalidOutput`).
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidToken => "InvalidToken",
            TokenError::TaskDoesNotExist => "TaskDoesNotExist",
            TokenError::TaskTimedOut => "TaskTimedOut",
            TokenError::InvalidOutput(_) => "InvalidOutput",
        }
    }
}

pub(super) const TOKEN_PREFIX: &str = "AQB";
pub(super) const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 64;

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenRegistry {
    pub(super) fn issue(&self, random: &dyn Random) -> String {
        let mut s = String::with_capacity(TOKEN_LEN);
        s.push_str(TOKEN_PREFIX);
        for _ in 0..4 {
            s.push_str(&format!("{:016x}", random.next_u64()));
        }
        s
    }

    pub(super) fn register(
        &self,
        token: &str,
        execution: &str,
        tx: mpsc::UnboundedSender<(TokenMsg, Hold)>,
    ) {
        lock(&self.live).insert(
            token.to_string(),
            TokenEntry {
                tx,
                execution: execution.to_string(),
            },
        );
    }

    pub(super) fn finish(&self, token: &str) {
        lock(&self.live).remove(token);
        lock(&self.finished).insert(token.to_string());
    }

    /// Marks every token of an execution as finished.
    pub(crate) fn finish_execution(&self, execution: &str) {
        let mut live = lock(&self.live);
        let gone: Vec<String> = live
            .iter()
            .filter(|(_, e)| e.execution == execution)
            .map(|(k, _)| k.clone())
            .collect();
        let mut fin = lock(&self.finished);
        for t in gone {
            live.remove(&t);
            fin.insert(t);
        }
    }

    pub(crate) fn send(&self, token: &str, msg: TokenMsg, hold: Hold) -> Result<(), TokenError> {
        if token.len() != TOKEN_LEN
            || !token.starts_with(TOKEN_PREFIX)
            || !token[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit())
        {
            return Err(TokenError::InvalidToken);
        }
        let live = lock(&self.live);
        match live.get(token) {
            Some(e) => e.tx.send((msg, hold)).map_err(|_| TokenError::TaskTimedOut),
            None => {
                if lock(&self.finished).contains(token) {
                    Err(TokenError::TaskTimedOut)
                } else {
                    Err(TokenError::TaskDoesNotExist)
                }
            }
        }
    }
}
