//! The Telegram commands the engine obeys, in the spelling Telegram sends them: `/status`,
//! or `/status@YourBot` in a group (https://core.telegram.org/bots/features#commands).

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    Positions,
    Pnl,
    /// Freeze every account: send nothing until released.
    Kill,
    /// Close every position, reduce-only, and keep them closed.
    Flatten,
    /// Release the kill switch.
    Release,
    Confirm,
    Cancel,
    Help,
    /// A slash command the engine does not know (its name, lower case).
    Unknown(String),
}

impl Command {
    /// The command's name as typed (without the slash), for replies and the audit trail.
    pub fn name(&self) -> &str {
        match self {
            Self::Status => "status",
            Self::Positions => "positions",
            Self::Pnl => "pnl",
            Self::Kill => "kill",
            Self::Flatten => "flatten",
            Self::Release => "release",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Help => "help",
            Self::Unknown(n) => n,
        }
    }
}

/// Longest command name kept: a longer "command" is somebody's paste, not a command.
const MAX_NAME: usize = 32;

/// The command in `text`, or `None` when the text is not a command (chatter in a group).
pub fn parse(text: &str) -> Option<Command> {
    let word = text.split_whitespace().next()?;
    let name = word.strip_prefix('/')?;
    // "/status@YourBot": the bot's name after the '@' is Telegram's, not the user's.
    let name = name
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    Some(match name.as_str() {
        "status" => Command::Status,
        "positions" => Command::Positions,
        "pnl" | "profit" => Command::Pnl,
        "kill" | "freeze" => Command::Kill,
        "flatten" => Command::Flatten,
        "release" => Command::Release,
        "confirm" | "yes" => Command::Confirm,
        "cancel" | "no" => Command::Cancel,
        "help" | "start" => Command::Help,
        _ => Command::Unknown(
            name.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(MAX_NAME)
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commands_in_every_spelling_telegram_sends() {
        assert_eq!(parse("/status"), Some(Command::Status));
        assert_eq!(parse("  /Positions extra words"), Some(Command::Positions));
        assert_eq!(parse("/pnl@TradeBot"), Some(Command::Pnl));
        assert_eq!(parse("/kill"), Some(Command::Kill));
        assert_eq!(parse("/flatten@x now"), Some(Command::Flatten));
        assert_eq!(parse("/release"), Some(Command::Release));
        assert_eq!(parse("/confirm"), Some(Command::Confirm));
        assert_eq!(parse("/cancel"), Some(Command::Cancel));
        assert_eq!(parse("/start"), Some(Command::Help));
        assert_eq!(parse("/rm -rf"), Some(Command::Unknown("rm".into())));
    }

    #[test]
    fn chatter_is_not_a_command() {
        assert_eq!(parse("kill it"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("/"), None);
        assert_eq!(parse("/@bot"), None);
    }

    proptest! {
        /// Any text parses without panicking, and only text starting with '/' is a command.
        #[test]
        fn any_text_is_safe(text in ".{0,200}") {
            let parsed = parse(&text);
            if parsed.is_some() {
                prop_assert!(text.trim_start().starts_with('/'));
            }
            if let Some(Command::Unknown(n)) = parsed {
                prop_assert!(n.len() <= MAX_NAME);
            }
        }
    }
}
