//! Text made safe for one header or log line: outside text (a venue's or a broker's error, a
//! refusal's reason) can carry newlines or be arbitrarily long.

/// A one-line reason for a header or log: no control characters, at most 512 bytes.
pub fn header_safe(reason: &str) -> String {
    let mut s: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.len() > 512 {
        let mut cut = 512;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_reasons_are_one_bounded_line() {
        assert_eq!(header_safe("a\nb\r\tc"), "a b  c");
        let long = "é".repeat(400);
        let cut = header_safe(&long);
        assert!(cut.len() <= 512 && cut.chars().all(|c| c == 'é'));
    }
}
