//! Hiding secrets before anything is shown: `config show`, log lines, error messages. A secret
//! is a URL's password (`postgres://user:***@host`), a NATS URL's bare token
//! (`nats://***@host`), a URL query parameter named like a secret, and any value whose key is
//! named like one (`secret`, `token`, `password`, `passphrase`, `api_key`, …). Keys ending in
//! `_env` name an environment variable, not a value, and are shown.

/// Placeholder shown instead of a secret.
pub const HIDDEN: &str = "***";

/// Whether a key (of a config table or a URL query) holds a secret by its name.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.ends_with("_env") || k.ends_with("_var") {
        return false;
    }
    [
        "secret",
        "token",
        "password",
        "passwd",
        "passphrase",
        "api_key",
        "apikey",
        "private_key",
        "credential_value",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// A URL (or a comma-separated list of URLs, as NATS takes) with every secret hidden.
pub fn redact_url(url: &str) -> String {
    url.split(',').map(redact_one).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_query(url);
    };
    let scheme = url[..scheme_end].trim().to_ascii_lowercase();
    let after = &url[scheme_end + 3..];
    // Userinfo is what precedes the last '@' before the query: a password may hold '/' or '@'
    // (hiding too much is the safe side).
    let query_at = after.find(['?', '#']).unwrap_or(after.len());
    let (userinfo, host_on) = match after[..query_at].rfind('@') {
        Some(at) => (Some(&after[..at]), &after[at..]),
        None => (None, after),
    };
    let shown_userinfo = match userinfo {
        None => String::new(),
        Some(u) => match u.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}"),
            // A bare userinfo is a token for NATS (and any scheme whose `user@` is not a
            // database's or a broker's user name).
            None if bare_userinfo_is_a_user(&scheme) => u.to_string(),
            None => HIDDEN.to_string(),
        },
    };
    format!(
        "{}{shown_userinfo}{}",
        &url[..scheme_end + 3],
        redact_query(host_on)
    )
}

/// Schemes whose `user@host` is a user name (shown), not a token.
fn bare_userinfo_is_a_user(scheme: &str) -> bool {
    matches!(
        scheme,
        "postgres" | "postgresql" | "amqp" | "amqps" | "sqlite" | "mysql" | "redis" | "rediss"
    )
}

/// Hides the values of secret-named query parameters (`?sslpassword=…&token=…`).
fn redact_query(s: &str) -> String {
    let Some((head, query)) = s.split_once('?') else {
        return s.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}={HIDDEN}"),
            _ => p.to_string(),
        })
        .collect();
    let mut out = format!("{head}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Hides every secret in a configuration tree (as `config show` prints it): values of
/// secret-named keys, and secrets inside any URL-looking string.
pub fn redact_tree(value: &mut toml::Value) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                if is_secret_key(k) && !matches!(v, toml::Value::Array(_) | toml::Value::Table(_)) {
                    *v = toml::Value::String(HIDDEN.into());
                } else {
                    redact_tree(v);
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(redact_tree),
        toml::Value::String(s) if s.contains("://") => *s = redact_url(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_tokens_are_hidden_user_names_are_not() {
        assert_eq!(
            redact_url("postgres://trader:hunter2@db:5432/te"),
            "postgres://trader:***@db:5432/te"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact_url("nats://alice:s3cr3t@n1:4222, nats://tok3n@n2:4222"),
            "nats://alice:***@n1:4222, nats://***@n2:4222"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&sslpassword=p4ss"),
            "postgres://u@h/db?sslmode=require&sslpassword=***"
        );
        assert_eq!(
            redact_url("sqlite:///srv/te/tradeengine.sqlite"),
            "sqlite:///srv/te/tradeengine.sqlite"
        );
        // A password holding '@' and '/' is hidden whole.
        assert_eq!(
            redact_url("amqp://u:p@s/s@broker:5672/%2f"),
            "amqp://u:***@broker:5672/%2f"
        );
    }

    #[test]
    fn secret_keys_are_hidden_variable_names_are_not() {
        let mut v: toml::Value = toml::from_str(
            r#"
[engine]
database_url = "postgres://te:dbpass-1@db/te"
[sources.tv.settings]
secret = "tv-secret-2"
secret_env = "TRADEENGINE_TV_SECRET"
[sources.bus.settings]
url = "nats://n:natspass-3@127.0.0.1:4222"
api_key = "key-4"
[sources.tv.settings.aliases]
secret = ["secret", "passphrase"]
"#,
        )
        .unwrap();
        redact_tree(&mut v);
        let shown = toml::to_string(&v).unwrap();
        for s in ["dbpass-1", "tv-secret-2", "natspass-3", "key-4"] {
            assert!(!shown.contains(s), "{s} in {shown}");
        }
        assert!(shown.contains("TRADEENGINE_TV_SECRET"), "{shown}");
        assert!(shown.contains("passphrase"), "{shown}");
        assert!(shown.contains("postgres://te:***@db/te"), "{shown}");
    }
}
