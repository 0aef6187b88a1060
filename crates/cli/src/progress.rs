//! Progress bars and spinners (`indicatif`) for commands that take a while or walk many items.
//! They draw on stderr and only when stdout is a terminal: piped or scripted output (and tests)
//! stays exactly the command's result, with no escape codes in it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress should be drawn: stdout is a terminal.
fn visible() -> bool {
    std::io::stdout().is_terminal()
}

/// A bar over `len` items, labelled `message` (`set_message` names the current item); hidden when stdout is not a terminal.
pub fn bar(len: u64, message: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(message.to_string());
    bar
}

/// A spinner for one long step of unknown length (a download, a key derivation); hidden when
/// stdout is not a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}
