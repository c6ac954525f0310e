//! The wire schema: one social-network event per Kafka message, as UTF-8 JSON.
//!
//! ```json
//! {"usuario": "@DataFan", "texto": "proyecto sobre #Spark",
//!  "hashtag_principal": "#Spark", "timestamp": 1733940000.0}
//! ```
//!
//! The field names are Spanish because the original Python/Spark system used them and we
//! stay wire-compatible with it: `usuario` is the user, `texto` the text of the post,
//! `hashtag_principal` its main hashtag and `timestamp` the moment it was posted, in seconds
//! since the Unix epoch (a float). Extra fields are ignored.
//!
//! [`decode`] turns raw message bytes into an [`Event`] that borrows its strings from the
//! input where it can (no allocation per field), or into a [`Rejection`]: the reason the
//! message cannot be counted. Rejections are expected on a real stream; the consumer
//! counts them by reason and goes on.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest payload the decoder accepts, in bytes. Real events are ~150 B; anything this
/// big is a mistake or an attack, and is rejected before parsing.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Longest hashtag accepted, in bytes. Longer ones would wreck tables and charts.
pub const MAX_HASHTAG_BYTES: usize = 280;

/// Earliest accepted `timestamp` (seconds): the Unix epoch itself.
pub(crate) const MIN_TIMESTAMP_SECS: f64 = 0.0;

/// Latest accepted `timestamp` (seconds): 2100-01-01T00:00:00Z. A post from the far
/// future would drag an event-time watermark with it and make every later event late.
pub(crate) const MAX_TIMESTAMP_SECS: f64 = 4_102_444_800.0;

/// One decoded event. Strings borrow from the message bytes unless they held JSON escapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<'a> {
    /// Who posted (`"@DataFan"`); optional on the wire, empty when absent.
    #[serde(borrow, default)]
    pub usuario: Cow<'a, str>,
    /// The text of the post; optional on the wire, empty when absent.
    #[serde(borrow, default)]
    pub texto: Cow<'a, str>,
    /// The hashtag we count (`"#Spark"`); never empty after [`decode`].
    #[serde(borrow)]
    pub hashtag_principal: Cow<'a, str>,
    /// When it was posted, seconds since the Unix epoch; finite and in range after [`decode`].
    pub timestamp: f64,
}

/// Why a message was not counted. Each reason has its own counter in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// The payload was empty (zero bytes).
    EmptyPayload,
    /// The payload was larger than [`MAX_PAYLOAD_BYTES`].
    Oversized,
    /// The payload was not valid UTF-8.
    NotUtf8,
    /// The payload was not JSON (syntax error, truncated document, nesting too deep).
    NotJson,
    /// The payload was JSON, but not an object (an array, a number, a string...).
    NotAnObject,
    /// A known field had the wrong JSON type (e.g. `timestamp` as a string).
    WrongType,
    /// A known field appeared twice in the same object.
    DuplicateField,
    /// `hashtag_principal` was absent or null.
    MissingHashtag,
    /// `hashtag_principal` was empty or only whitespace.
    EmptyHashtag,
    /// `hashtag_principal` was longer than [`MAX_HASHTAG_BYTES`].
    HashtagTooLong,
    /// `hashtag_principal` held a control character (a newline, a tab, an escape, DEL, or
    /// one of the C1 controls U+0080..U+009F). A hashtag is one word on one line: a
    /// newline in one would start a new line in every console and notebook output that
    /// prints it, and that is how a message could smuggle commands into the notebook page.
    HashtagControlChar,
    /// `hashtag_principal` held a Unicode direction control (U+202A..U+202E, U+2066..U+2069).
    /// These invisible characters reorder the text shown around them, so a hashtag could
    /// display as another one (`#kraPS` shown as `#Spark`, the "Trojan Source" trick):
    /// what a table shows must be what was counted.
    HashtagBidiControl,
    /// `timestamp` was absent or null.
    MissingTimestamp,
    /// `timestamp` was not finite, or outside 1970..2100.
    TimestampOutOfRange,
    /// In event time, `timestamp` was further ahead of the consumer's clock than
    /// [`crate::core::config::WindowConfig::max_future`] allows (judged by the window
    /// engine, not by [`decode`]).
    TimestampInFuture,
    /// A text field (`usuario`, `texto` or `hashtag_principal`) held `EVCXR_`, in any case.
    /// evcxr, the notebook's kernel, takes any output line holding `EVCXR_BEGIN_CONTENT`
    /// (anywhere in the line) as the start of rich output, which a cell that prints stream
    /// data itself (a `DataFrame`, `{:?}` of an event) would otherwise let the stream
    /// steer. No real hashtag or post needs it.
    EvcxrMarker,
    /// `hashtag_principal` held an invisible character: a zero-width space, joiner or
    /// non-joiner, a word joiner, a soft hyphen, a byte-order mark, a Hangul filler (see
    /// [`is_invisible`]). `#Spark` and `#Sp\u{200B}ark` would show alike and count apart.
    HashtagInvisibleChar,
}

impl Rejection {
    /// Every reason, in a fixed order (the order of the metrics table).
    pub(crate) const ALL: [Rejection; 17] = [
        Rejection::EmptyPayload,
        Rejection::Oversized,
        Rejection::NotUtf8,
        Rejection::NotJson,
        Rejection::NotAnObject,
        Rejection::WrongType,
        Rejection::DuplicateField,
        Rejection::MissingHashtag,
        Rejection::EmptyHashtag,
        Rejection::HashtagTooLong,
        Rejection::HashtagControlChar,
        Rejection::HashtagBidiControl,
        Rejection::MissingTimestamp,
        Rejection::TimestampOutOfRange,
        Rejection::TimestampInFuture,
        Rejection::EvcxrMarker,
        Rejection::HashtagInvisibleChar,
    ];

    /// A short snake_case name, used as a column or label.
    pub fn name(self) -> &'static str {
        match self {
            Rejection::EmptyPayload => "empty_payload",
            Rejection::Oversized => "oversized",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::NotJson => "not_json",
            Rejection::NotAnObject => "not_an_object",
            Rejection::WrongType => "wrong_type",
            Rejection::DuplicateField => "duplicate_field",
            Rejection::MissingHashtag => "missing_hashtag",
            Rejection::EmptyHashtag => "empty_hashtag",
            Rejection::HashtagTooLong => "hashtag_too_long",
            Rejection::HashtagControlChar => "hashtag_control_char",
            Rejection::HashtagBidiControl => "hashtag_bidi_control",
            Rejection::MissingTimestamp => "missing_timestamp",
            Rejection::TimestampOutOfRange => "timestamp_out_of_range",
            Rejection::TimestampInFuture => "timestamp_in_future",
            Rejection::EvcxrMarker => "evcxr_marker",
            Rejection::HashtagInvisibleChar => "hashtag_invisible_char",
        }
    }

    /// Position of this reason in [`Rejection::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters of rejected messages, one per [`Rejection`] reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RejectionCounts(pub [u64; Rejection::ALL.len()]);

/// Reads counts saved before the newest reasons existed (a shorter list: the new reasons at
/// 0), so an older checkpoint still restores.
impl<'de> Deserialize<'de> for RejectionCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let saved = Vec::<u64>::deserialize(d)?;
        let mut counts = [0; Rejection::ALL.len()];
        if saved.len() > counts.len() {
            return Err(serde::de::Error::invalid_length(
                saved.len(),
                &"at most one count per rejection reason",
            ));
        }
        counts[..saved.len()].copy_from_slice(&saved);
        Ok(RejectionCounts(counts))
    }
}

impl RejectionCounts {
    /// Adds one message rejected for `reason`.
    pub(crate) fn add(&mut self, reason: Rejection) {
        self.0[reason.index()] += 1;
    }

    /// How many messages were rejected for `reason`.
    pub fn get(&self, reason: Rejection) -> u64 {
        self.0[reason.index()]
    }

    /// All rejected messages, whatever the reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The reasons with a non-zero count, in table order.
    pub fn nonzero(&self) -> impl Iterator<Item = (Rejection, u64)> + '_ {
        Rejection::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }
}

/// A string that borrows from the input when it has no escapes. (serde borrows a `Cow`
/// only when it is a field itself, not inside an `Option`, hence this newtype.)
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// What the decoder reads: known fields only, all optional so absence is a clear reason.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    usuario: Option<Text<'a>>,
    #[serde(borrow, default)]
    texto: Option<Text<'a>>,
    #[serde(borrow, default)]
    hashtag_principal: Option<Text<'a>>,
    #[serde(default)]
    timestamp: Option<f64>,
}

/// Decodes one message payload into an [`Event`], or says why it cannot be counted.
///
/// Strings are borrowed from `payload` when they contain no JSON escapes.
pub fn decode(payload: &[u8]) -> Result<Event<'_>, Rejection> {
    if payload.is_empty() {
        return Err(Rejection::EmptyPayload);
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Rejection::Oversized);
    }
    let text = std::str::from_utf8(payload).map_err(|_| Rejection::NotUtf8)?;
    if !text.trim_start().starts_with('{') {
        // serde would accept a struct written as an array; the schema says object.
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Rejection::NotAnObject,
            Err(_) => Rejection::NotJson,
        });
    }
    let wire: Wire<'_> = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(err) => return Err(classify(&err)),
    };
    let hashtag = wire.hashtag_principal.ok_or(Rejection::MissingHashtag)?.0;
    if hashtag.trim().is_empty() {
        return Err(Rejection::EmptyHashtag);
    }
    if hashtag.len() > MAX_HASHTAG_BYTES {
        return Err(Rejection::HashtagTooLong);
    }
    if hashtag.chars().any(char::is_control) {
        return Err(Rejection::HashtagControlChar);
    }
    // Direction controls and invisible characters are all outside ASCII.
    if !hashtag.is_ascii() {
        if hashtag.chars().any(is_bidi_control) {
            return Err(Rejection::HashtagBidiControl);
        }
        if hashtag.chars().any(is_invisible) {
            return Err(Rejection::HashtagInvisibleChar);
        }
    }
    let usuario = wire.usuario.map(|t| t.0).unwrap_or_default();
    let texto = wire.texto.map(|t| t.0).unwrap_or_default();
    // One pass over the payload finds a marker written plainly; a field that had JSON
    // escapes (so was decoded into a new string) is checked again as decoded.
    let escaped = |t: &Cow<'_, str>| matches!(t, Cow::Owned(_)) && has_evcxr_marker(t);
    if has_evcxr_marker(text) || escaped(&hashtag) || escaped(&usuario) || escaped(&texto) {
        return Err(Rejection::EvcxrMarker);
    }
    let timestamp = wire.timestamp.ok_or(Rejection::MissingTimestamp)?;
    if !timestamp.is_finite() || !(MIN_TIMESTAMP_SECS..=MAX_TIMESTAMP_SECS).contains(&timestamp) {
        return Err(Rejection::TimestampOutOfRange);
    }
    Ok(Event {
        usuario,
        texto,
        hashtag_principal: hashtag,
        timestamp,
    })
}

/// Whether `text` holds `EVCXR_` in any case: the prefix of every marker of evcxr's output
/// protocol (`EVCXR_BEGIN_CONTENT`, `EVCXR_END_CONTENT`).
pub fn has_evcxr_marker(text: &str) -> bool {
    // Looks for the rare `_` first (a fast byte search), then at the five bytes before it.
    text.match_indices('_')
        .any(|(i, _)| i >= 5 && text.as_bytes()[i - 5..i].eq_ignore_ascii_case(b"EVCXR"))
}

/// Whether `c` shows as nothing, so a hashtag holding it looks like one without it: zero
/// width space and non-joiner U+200B, U+200C (the zero width joiner U+200D is allowed: emoji
/// sequences need it); left-to-right and right-to-left marks U+200E, U+200F; word joiner and invisible operators
/// U+2060..U+2064; deprecated format characters U+206A..U+206F; soft hyphen U+00AD; Arabic
/// letter mark U+061C; Mongolian vowel separator U+180E; Hangul fillers U+115F, U+1160,
/// U+3164, U+FFA0; Khmer inherent vowels U+17B4, U+17B5; byte-order mark U+FEFF.
/// Look-alike letters (a Cyrillic `а` for a Latin `a`) are not refused: they are letters of
/// real hashtags; a table shows what was counted, and a student can compare the bytes.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Whether `c` is a Unicode direction embedding, override or isolate (U+202A..U+202E,
/// U+2066..U+2069): invisible characters that reorder the text displayed around them.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Turns a serde_json error into the reason a student can act on.
fn classify(err: &serde_json::Error) -> Rejection {
    use serde_json::error::Category;
    match err.classify() {
        Category::Io | Category::Syntax | Category::Eof => Rejection::NotJson,
        Category::Data => {
            if err.to_string().starts_with("duplicate field") {
                Rejection::DuplicateField
            } else {
                Rejection::WrongType
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = concat!(
        r##"{"usuario": "@DataFan", "texto": "proyecto sobre #Spark", "##,
        r##""hashtag_principal": "#Spark", "timestamp": 1733940000.0}"##
    );

    #[test]
    fn decodes_the_original_schema_and_borrows() {
        let ev = decode(GOOD.as_bytes()).unwrap();
        assert_eq!(ev.usuario, "@DataFan");
        assert_eq!(ev.texto, "proyecto sobre #Spark");
        assert_eq!(ev.hashtag_principal, "#Spark");
        assert_eq!(ev.timestamp, 1733940000.0);
        assert!(matches!(ev.hashtag_principal, Cow::Borrowed(_)));
        assert!(matches!(ev.usuario, Cow::Borrowed(_)));
    }

    #[test]
    fn round_trips_through_json() {
        let ev = decode(GOOD.as_bytes()).unwrap();
        let bytes = serde_json::to_vec(&ev).unwrap();
        assert_eq!(decode(&bytes).unwrap(), ev);
    }

    #[test]
    fn escaped_strings_are_owned_and_unescaped() {
        let ev = decode(br##"{"hashtag_principal": "#Caf\u00e9 \"x\"", "timestamp": 1}"##).unwrap();
        assert_eq!(ev.hashtag_principal, "#Café \"x\"");
        assert_eq!(ev.timestamp, 1.0);
    }

    #[test]
    fn integer_timestamps_and_extra_fields_are_accepted() {
        let ev = decode(
            br##"{"hashtag_principal": "#IA", "timestamp": 1733940000,
                 "likes": [1, {"a": null}], "usuario": "@x"}"##,
        )
        .unwrap();
        assert_eq!(ev.timestamp, 1733940000.0);
        assert_eq!(ev.texto, "");
    }

    #[test]
    fn every_rejection_reason() {
        let long_tag = format!(
            r##"{{"hashtag_principal": "#{}", "timestamp": 1}}"##,
            "a".repeat(MAX_HASHTAG_BYTES)
        );
        let oversized = format!(
            r##"{{"hashtag_principal": "#a", "timestamp": 1, "pad": "{}"}}"##,
            "x".repeat(MAX_PAYLOAD_BYTES)
        );
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        // Valid, deeply nested JSON is skipped without recursion: no crash, just no hashtag.
        let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(1000), "}".repeat(1000));
        let deep_broken = format!("{}{}", r#"{"a":"#.repeat(1000), "}".repeat(1000));
        let cases: Vec<(&[u8], Rejection)> = vec![
            (b"", Rejection::EmptyPayload),
            (oversized.as_bytes(), Rejection::Oversized),
            (
                b"{\"hashtag_principal\": \"#\xff\", \"timestamp\": 1}",
                Rejection::NotUtf8,
            ),
            (b"\xc3\x28", Rejection::NotUtf8),
            (b"not json", Rejection::NotJson),
            (
                br##"{"hashtag_principal": "#Spark", "timest"##,
                Rejection::NotJson,
            ),
            (b"{", Rejection::NotJson),
            (b"   ", Rejection::NotJson),
            // Valid JSON, however deep, is parsed without recursion: not a crash.
            (deep.as_bytes(), Rejection::NotAnObject),
            (deep_objects.as_bytes(), Rejection::MissingHashtag),
            (deep_broken.as_bytes(), Rejection::NotJson),
            (b"[1, 2]", Rejection::NotAnObject),
            (b"42", Rejection::NotAnObject),
            (b"\"#Spark\"", Rejection::NotAnObject),
            (b"null", Rejection::NotAnObject),
            (br##"["@u", "t", "#Spark", 1.0]"##, Rejection::NotAnObject),
            (
                br##"{"hashtag_principal": "#a", "timestamp": "1733940000"}"##,
                Rejection::WrongType,
            ),
            (
                br#"{"hashtag_principal": 7, "timestamp": 1}"#,
                Rejection::WrongType,
            ),
            (
                br##"{"hashtag_principal": "#a", "usuario": 3, "timestamp": 1}"##,
                Rejection::WrongType,
            ),
            (
                br##"{"hashtag_principal": "#a", "hashtag_principal": "#b", "timestamp": 1}"##,
                Rejection::DuplicateField,
            ),
            (br#"{"timestamp": 1}"#, Rejection::MissingHashtag),
            (
                br#"{"hashtag_principal": null, "timestamp": 1}"#,
                Rejection::MissingHashtag,
            ),
            (
                br#"{"hashtag_principal": "", "timestamp": 1}"#,
                Rejection::EmptyHashtag,
            ),
            (
                br#"{"hashtag_principal": "  ", "timestamp": 1}"#,
                Rejection::EmptyHashtag,
            ),
            (long_tag.as_bytes(), Rejection::HashtagTooLong),
            (
                br##"{"hashtag_principal": "#x\nEVCXR_BEGIN_CONTENT text/html", "timestamp": 1}"##,
                Rejection::HashtagControlChar,
            ),
            (
                br##"{"hashtag_principal": "#a\u001b[31m", "timestamp": 1}"##,
                Rejection::HashtagControlChar,
            ),
            (
                "{\"hashtag_principal\": \"#a\u{7f}\", \"timestamp\": 1}".as_bytes(),
                Rejection::HashtagControlChar,
            ),
            (
                br##"{"hashtag_principal": "#a\u0085b", "timestamp": 1}"##,
                Rejection::HashtagControlChar,
            ),
            (
                br##"{"hashtag_principal": "#a\tb", "timestamp": 1}"##,
                Rejection::HashtagControlChar,
            ),
            (
                br##"{"hashtag_principal": "#\u202ekrapS", "timestamp": 1}"##,
                Rejection::HashtagBidiControl,
            ),
            (
                "{\"hashtag_principal\": \"#a\u{2066}b\u{2069}\", \"timestamp\": 1}".as_bytes(),
                Rejection::HashtagBidiControl,
            ),
            (
                br##"{"hashtag_principal": "#a"}"##,
                Rejection::MissingTimestamp,
            ),
            (
                br##"{"hashtag_principal": "#a", "timestamp": null}"##,
                Rejection::MissingTimestamp,
            ),
            (
                br##"{"hashtag_principal": "#a", "timestamp": -1.5}"##,
                Rejection::TimestampOutOfRange,
            ),
            (
                br##"{"hashtag_principal": "#a", "timestamp": 32503680000.0}"##,
                Rejection::TimestampOutOfRange,
            ),
            (
                br##"{"hashtag_principal": "#a", "timestamp": 1e400}"##,
                Rejection::NotJson,
            ),
            (
                br##"{"hashtag_principal": "#a", "timestamp": NaN}"##,
                Rejection::NotJson,
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                decode(payload).err(),
                Some(want),
                "payload {:?}",
                String::from_utf8_lossy(&payload[..payload.len().min(80)])
            );
        }
    }

    #[test]
    fn control_characters_only_matter_in_the_hashtag() {
        // A post's text may span lines; only the counted, displayed hashtag is checked.
        let ev = decode(
            br##"{"texto": "line 1\nline 2\u202e", "hashtag_principal": "#IA", "timestamp": 1}"##,
        )
        .unwrap();
        assert_eq!(ev.texto, "line 1\nline 2\u{202e}");
        // Right-to-left scripts, emoji and marks that are not controls are welcome.
        for tag in [
            "#مرحبا",
            "#🚀Rust",
            "#Café",
            "#👩\u{200d}💻",
            "#日本",
            "#Spаrk",
        ] {
            let json = serde_json::json!({"hashtag_principal": tag, "timestamp": 1});
            let bytes = serde_json::to_vec(&json).unwrap();
            assert_eq!(decode(&bytes).unwrap().hashtag_principal, tag);
        }
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            assert!(is_bidi_control(c));
        }
        for c in ['\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}', 'a'] {
            assert!(!is_bidi_control(c));
        }
    }

    #[test]
    fn evcxr_markers_and_invisible_characters_have_their_own_reasons() {
        // evcxr starts rich output at any line holding EVCXR_BEGIN_CONTENT: no field a cell
        // could print may carry it, in any case.
        for (field, value) in [
            ("hashtag_principal", "#EVCXR_BEGIN_CONTENT"),
            ("usuario", "@x EVCXR_BEGIN_CONTENT text/html"),
            ("texto", "hola evcxr_end_content"),
        ] {
            let mut json = serde_json::json!({"hashtag_principal": "#a", "timestamp": 1});
            json[field] = value.into();
            let bytes = serde_json::to_vec(&json).unwrap();
            assert_eq!(
                decode(&bytes).unwrap_err(),
                Rejection::EvcxrMarker,
                "{field}"
            );
        }
        // Written with JSON escapes, the marker is found in the decoded field.
        for raw in [
            br##"{"texto": "\u0045VCXR_BEGIN_CONTENT", "hashtag_principal": "#a", "timestamp": 1}"##.as_slice(),
            br##"{"hashtag_principal": "#\u0045vcxr\u005fx", "timestamp": 1}"##.as_slice(),
        ] {
            assert_eq!(decode(raw).unwrap_err(), Rejection::EvcxrMarker);
        }
        // Invisible characters: #Sp\u{200B}ark would show as #Spark and count apart.
        for c in [
            '\u{200b}', '\u{200c}', '\u{200e}', '\u{200f}', '\u{2060}', '\u{feff}', '\u{00ad}',
            '\u{3164}',
        ] {
            let tag = format!("#Sp{c}ark");
            let json = serde_json::json!({"hashtag_principal": tag, "timestamp": 1});
            let bytes = serde_json::to_vec(&json).unwrap();
            assert_eq!(
                decode(&bytes).unwrap_err(),
                Rejection::HashtagInvisibleChar,
                "{c:?}"
            );
        }
        assert_eq!(Rejection::EvcxrMarker.name(), "evcxr_marker");
        // Counts saved before these reasons existed still read (the new ones at 0).
        let old: RejectionCounts = serde_json::from_str(&format!("{:?}", [1u64; 15])).unwrap();
        assert_eq!((old.total(), old.get(Rejection::EvcxrMarker)), (15, 0));
    }

    #[test]
    fn deep_extra_fields_are_ignored_not_fatal() {
        let deep_in_object = format!(
            r##"{{"hashtag_principal": "#a", "timestamp": 1, "x": {}{}}}"##,
            "[".repeat(30_000),
            "]".repeat(30_000)
        );
        assert_eq!(
            decode(deep_in_object.as_bytes()).map(|e| e.hashtag_principal),
            Ok(Cow::Borrowed("#a"))
        );
    }

    #[test]
    fn every_reason_is_listed_once_in_order() {
        for (i, r) in Rejection::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut c = RejectionCounts::default();
        c.add(Rejection::NotJson);
        c.add(Rejection::NotJson);
        c.add(Rejection::EmptyHashtag);
        assert_eq!(c.total(), 3);
        assert_eq!(
            c.nonzero().collect::<Vec<_>>(),
            vec![(Rejection::NotJson, 2), (Rejection::EmptyHashtag, 1)]
        );
    }
}
