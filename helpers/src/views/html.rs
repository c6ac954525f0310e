//! HTML for notebook cells: escaping, and the [`Html`] value that evcxr shows as rich
//! output.
//!
//! evcxr renders a cell's last value as rich output when the value has an
//! `evcxr_display(&self)` method that prints `EVCXR_BEGIN_CONTENT <mime>` ... `EVCXR_END_CONTENT`.
//! Only one rich output per MIME type per cell is shown, when the cell ends, so a view that
//! has a table and a chart puts both in one HTML fragment.

use std::fmt;

/// Escapes text for HTML element content and attribute values. Every hashtag, user name
/// or error message goes through here: a hashtag like `<script>` is shown, never run.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A fragment of HTML that a notebook cell displays as rich output, and prints as text
/// elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html {
    /// The markup (already escaped where needed).
    pub markup: String,
    /// A plain-text rendering for terminals and logs.
    pub text: String,
}

impl Html {
    /// A fragment with its plain-text twin.
    pub fn new(markup: impl Into<String>, text: impl Into<String>) -> Html {
        Html {
            markup: markup.into(),
            text: text.into(),
        }
    }

    /// Preformatted text (a log, a report), escaped, in a monospace block.
    pub fn preformatted(text: impl Into<String>) -> Html {
        let text = text.into();
        Html::new(
            format!(
                "<pre style=\"font-family:monospace\">{}</pre>",
                escape(&text)
            ),
            text,
        )
    }

    /// The same fragment with `data` attached as a JSON block named `name`
    /// (`<script type="application/json" data-stream-demo="name">`): the view's values as
    /// data, which a check can read whatever words the table says them in (another
    /// language, a rewording). A browser shows nothing of it. Every `<` in the JSON is
    /// written `\u003c`, so no string from the stream can end the block.
    pub fn with_data(mut self, name: &str, data: &serde_json::Value) -> Html {
        // `\u003c` and `\u005f` are the same characters to a JSON reader: no `</script>`
        // can end the block, and no `EVCXR_` is left for `write_evcxr` to rewrite.
        let json = data
            .to_string()
            .replace('<', "\\u003c")
            .replace("EVCXR_", "EVCXR\\u005f");
        self.markup.push_str(&format!(
            "<script type=\"application/json\" data-stream-demo=\"{}\">{json}</script>",
            escape(name)
        ));
        self
    }

    /// Joins fragments one after the other.
    pub fn concat(parts: impl IntoIterator<Item = Html>) -> Html {
        let mut markup = String::new();
        let mut text = String::new();
        for p in parts {
            markup.push_str(&p.markup);
            markup.push('\n');
            text.push_str(&p.text);
            text.push('\n');
        }
        Html { markup, text }
    }

    /// Called by evcxr to show the value as rich output.
    pub fn evcxr_display(&self) {
        let _ = self.write_evcxr(&mut std::io::stdout());
    }

    /// Writes the value to `out` the way evcxr reads rich output: a begin line, the markup,
    /// an end line. The markup cannot end the block early nor open another one: every
    /// `EVCXR_` in it is written `EVCXR&#95;`, which a browser shows as `EVCXR_` and
    /// evcxr does not recognise.
    pub fn write_evcxr(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "EVCXR_BEGIN_CONTENT text/html\n<div class=\"stream-demo\">{}</div>\nEVCXR_END_CONTENT",
            self.markup.replace("EVCXR_", "EVCXR&#95;")
        )?;
        out.flush()
    }
}

/// The plain-text twin, each line made safe to print ([`crate::views::console::line()`]):
/// a cell that prints an [`Html`] never writes evcxr's markers from data.
impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.text.split('\n').enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&crate::views::console::line(l))?;
        }
        Ok(())
    }
}

/// The health check's report in a notebook cell (the report itself is data, in
/// [`crate::lab::health`]; this is how a cell shows it).
impl crate::lab::health::HealthReport {
    /// Called by evcxr: shows the report as preformatted text.
    pub fn evcxr_display(&self) {
        Html::preformatted(self.to_string()).evcxr_display();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_blocks_cannot_be_ended_by_stream_text() {
        let hostile = serde_json::json!({
            "hashtag": "</script><script>alert(1)</script>",
            "texto": "EVCXR_BEGIN_CONTENT text/html",
        });
        let html = Html::new("<p>x</p>", "x").with_data("trending", &hostile);
        assert_eq!(
            html.markup.matches("</script>").count(),
            1,
            "{}",
            html.markup
        );
        assert!(html.markup.contains("data-stream-demo=\"trending\""));
        let start = html.markup.find("\">").unwrap() + 2;
        let json = &html.markup[start..html.markup.rfind("</script>").unwrap()];
        let back: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, hostile);
        // What evcxr is sent keeps the block's values intact too.
        let mut sent = Vec::new();
        html.write_evcxr(&mut sent).unwrap();
        let sent = String::from_utf8(sent).unwrap();
        assert!(!sent.contains("EVCXR&#95;BEGIN"), "{sent}");
        assert_eq!(sent.matches("EVCXR_BEGIN_CONTENT").count(), 1, "{sent}");
    }

    use super::*;

    #[test]
    fn hostile_text_is_escaped() {
        let cases = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("\"><img onerror=x>", "&quot;&gt;&lt;img onerror=x&gt;"),
            ("#a&b'c", "#a&amp;b&#39;c"),
            ("#مرحبا 🚀", "#مرحبا 🚀"),
        ];
        for (raw, want) in cases {
            assert_eq!(escape(raw), want);
        }
    }

    #[test]
    fn markup_cannot_end_or_open_an_evcxr_block() {
        let html = Html::new(
            "<pre>a\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/html\n</pre>",
            "",
        );
        let mut out = Vec::new();
        html.write_evcxr(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"EVCXR_BEGIN_CONTENT text/html"));
        assert_eq!(lines.last(), Some(&"EVCXR_END_CONTENT"));
        let inner = &lines[1..lines.len() - 1];
        assert!(inner.iter().all(|l| !l.contains("EVCXR_")), "{text}");
        assert!(text.contains("EVCXR&#95;END_CONTENT"));
        let printed = Html::new("", "#Spark 3\n#EVCXR_BEGIN_CONTENT text/html 2\u{1b}").to_string();
        assert_eq!(
            printed,
            "#Spark 3\n#EVCXR\\_BEGIN_CONTENT text/html 2\\u{1b}"
        );
    }
}
