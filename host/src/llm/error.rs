//! Text from a provider, shortened for errors and the event log.

/// The start of `text` (at most `max` bytes, cut at a character boundary).
pub(crate) fn preview(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_cut_at_a_character_boundary() {
        assert_eq!(preview("héllo", 2), "h…");
        assert_eq!(preview("abc", 3), "abc");
    }
}
