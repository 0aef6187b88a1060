//! The log lines a test binary's engine and server write, captured in memory: a test reads
//! what an operator would see at the default level (INFO and above).
//!
//! One global subscriber per test binary (tracing's thread-local default does not follow the
//! runtime's worker threads), so a binary that reads logs holds one test.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

/// Every line logged since [`capture`] was first called.
#[derive(Debug, Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The lines after the first `mark` ones (a mark is `lines().len()` at some point).
    pub fn since(&self, mark: usize) -> Vec<String> {
        self.lines().into_iter().skip(mark).collect()
    }

    /// The WARN lines after `mark`.
    pub fn warnings_since(&self, mark: usize) -> Vec<String> {
        self.since(mark)
            .into_iter()
            .filter(|l| l.contains("WARN"))
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the capturing subscriber (once) and returns its lines.
pub fn capture() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .init();
        logs
    })
    .clone()
}
