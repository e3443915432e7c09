//! Text helpers shared by the exporters: durations, and each format's escaping (kept here,
//! not in the formats' files, because test and benchmark reports of a format both use it).

/// Milliseconds for people: `850 ms`, `1.24 s`.
pub fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Control characters (a bell, an escape) made visible, so a message cannot beep or restyle
/// the terminal; newlines and tabs stay.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:04x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Inline text: HTML-escaped (so `<`, `&`, `|`, backticks and emphasis characters are literal)
/// and control characters made visible.
pub fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '\\' => out.push_str("&#92;"),
            '#' => out.push_str("&#35;"),
            '~' => out.push_str("&#126;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A fenced block that no content can close early: the fence is longer than any backtick run.
pub fn md_fenced(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: String = s
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    format!("{fence}text\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

/// HTML-escapes text for element content and attribute values alike; control characters
/// (not allowed in HTML) are shown as `\u{..}` like the console does.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            printable("a\u{7}b\n\tc\u{1b}[31m"),
            "a\\u{0007}b\n\tc\\u{001b}[31m"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(duration(0.25), "0.25 ms");
        assert_eq!(duration(850.0), "850 ms");
        assert_eq!(duration(1240.0), "1.24 s");
    }

    #[test]
    fn markdown_hostile_characters_stay_literal() {
        assert_eq!(
            md_inline("a|b <c> & `d` *e* _f_ \u{7}"),
            "a&#124;b &lt;c&gt; &amp; &#96;d&#96; &#42;e&#42; &#95;f&#95; \\u{0007}"
        );
        let f = md_fenced("x ``` y");
        assert!(f.starts_with("````text\n"));
        assert!(f.ends_with("\n````\n"));
    }

    #[test]
    fn html_escape_covers_the_five() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\u{0007}"
        );
    }
}
