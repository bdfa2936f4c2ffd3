//! The API key: held in memory only, never printed.

/// A secret string (the provider's API key). `Debug` and `Display` print
/// `[redacted]`; the value leaves only through [`Secret::expose`], for the
/// one `Authorization` header, which is marked sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// What a secret reads as wherever it would have been printed.
pub const REDACTED: &str = "[redacted]";

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the `Authorization` header and nothing else.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the secret replaced by `[redacted]`
    /// (for error bodies or answers a misbehaving endpoint echoes it in).
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to scrub without mangling ordinary text; such a key
            // is not a real credential.
            return text.to_string();
        }
        text.replace(&self.0, REDACTED)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("sk-test-0123456789");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(
            s.redact("bad key Bearer sk-test-0123456789!"),
            "bad key Bearer [redacted]!"
        );
        assert_eq!(s.expose(), "sk-test-0123456789");
    }
}
