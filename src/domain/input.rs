//! Checked input, the one way a request's values get into the domain: a collector that gathers
//! every violation while a request is read (keeping the first [`MAX_LISTED_VIOLATIONS`] and
//! counting the rest, so an error stays small whatever the request), and the one checked text type
//! every free-text field goes through, with the one rule for which characters free text takes.

use std::{fmt, marker::PhantomData};

/// Most violations an error lists; the rest are counted. With the caps on descriptions and field
/// paths this keeps any validation error's trailers to a few KB, far below the 16 KB beyond
/// which grpc-core clients drop trailers.
pub const MAX_LISTED_VIOLATIONS: usize = 20;
/// Longest description and field path kept, in characters.
const MAX_DESCRIPTION_CHARS: usize = 160;
const MAX_FIELD_CHARS: usize = 80;
/// Most characters of a caller's value quoted back in a description.
const MAX_QUOTED_CHARS: usize = 32;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `title` or `tags[3]`.
    pub field: String,
    /// What is wrong with it, for humans.
    pub description: String,
}

/// Why a request was refused: the first violations found, and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    pub listed: Vec<FieldViolation>,
    pub unlisted: usize,
}

impl Invalid {
    pub fn one(field: &str, description: impl fmt::Display) -> Self {
        let mut violations = Violations::default();
        violations.add(field, description);
        violations.invalid
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let described: Vec<String> = self
            .listed
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        f.write_str(&described.join("; "))?;
        if self.unlisted > 0 {
            write!(f, "; and {} more", self.unlisted)?;
        }
        Ok(())
    }
}

/// A field's path in a request, rendered only when a violation names it.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// `title`, `outcome.note`.
    Name(&'a str),
    /// `linked_record.object`.
    Part(&'a str, &'a str),
    /// `tags[3]`.
    Item(&'a str, usize),
    /// `linked_records[0].record_id`.
    ItemPart(&'a str, usize, &'a str),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(name: &'a str) -> Self {
        Field::Name(name)
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Name(name) => f.write_str(name),
            Field::Part(name, part) => write!(f, "{name}.{part}"),
            Field::Item(name, index) => write!(f, "{name}[{index}]"),
            Field::ItemPart(name, index, part) => write!(f, "{name}[{index}].{part}"),
        }
    }
}

/// Gathers the violations of one request while it is read.
#[derive(Debug, Default)]
pub struct Violations {
    invalid: Invalid,
}

impl Violations {
    pub fn add<'a>(&mut self, field: impl Into<Field<'a>>, description: impl fmt::Display) {
        if self.invalid.listed.len() >= MAX_LISTED_VIOLATIONS {
            self.invalid.unlisted += 1;
            return;
        }
        self.invalid.listed.push(FieldViolation {
            field: cut(&field.into().to_string(), MAX_FIELD_CHARS),
            description: cut(&description.to_string(), MAX_DESCRIPTION_CHARS),
        });
    }

    /// The value, or `None` with the error recorded against `field`.
    pub fn check<'a, T, E: fmt::Display>(
        &mut self,
        field: impl Into<Field<'a>>,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(field, e)).ok()
    }

    /// Every item of a repeated field, read with `read`, once the field's size is known to be
    /// within `max`: a longer list is one violation for the whole field and no item is read, so
    /// a request's cost and its error stay bounded by the limit, not by what was sent.
    pub fn each<T, R, E: fmt::Display>(
        &mut self,
        field: &str,
        items: &[R],
        max: usize,
        mut read: impl FnMut(&R) -> Result<T, E>,
    ) -> Vec<T> {
        if !self.within(field, items.len(), max) {
            return Vec::new();
        }
        let mut read_items = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            if let Some(value) = self.check(Field::Item(field, index), read(item)) {
                read_items.push(value);
            }
        }
        read_items
    }

    /// Whether a repeated field's `count` items are at most `max`; if not, that is recorded.
    pub fn within(&mut self, field: &str, count: usize, max: usize) -> bool {
        if count > max {
            self.add(field, format!("at most {max} values, not {count}"));
        }
        count <= max
    }

    pub fn is_empty(&self) -> bool {
        self.invalid.listed.is_empty()
    }

    /// Takes in the violations of a part of the request read on its own, under `prefix`
    /// (`task.title` for a template's task read as a CreateTask's).
    pub fn nest(&mut self, prefix: &str, part: Violations) {
        for violation in part.invalid.listed {
            self.add(
                format!("{prefix}.{}", violation.field).as_str(),
                violation.description,
            );
        }
        self.invalid.unlisted += part.invalid.unlisted;
    }

    /// `value` if nothing was violated.
    pub fn finish<T>(self, value: T) -> Result<T, Invalid> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self.invalid)
        }
    }
}

/// A caller's value quoted in a description, cut short.
pub fn quoted(value: &str) -> String {
    format!("{:?}", cut(value, MAX_QUOTED_CHARS))
}

/// The text, cut to `max_chars` characters (with an ellipsis) if longer.
pub fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} characters, not {actual}")]
    TooLong { max: usize, actual: usize },
    #[error("must not contain control character U+{code:04X} (at character {position})")]
    ControlCharacter { code: u32, position: usize },
}

/// Which characters free text takes: no control characters (Unicode category Cc: U+0000 to U+001F
/// and U+007F to U+009F) except, in multi-line text, tab, line feed and carriage return.
/// PostgreSQL cannot store U+0000 at all, and the others would corrupt logs, terminals and
/// single-line displays.
pub fn check_characters(text: &str, multiline: bool) -> Result<(), TextError> {
    let allowed = |c: char| multiline && matches!(c, '\t' | '\n' | '\r');
    match text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !allowed(*c))
    {
        Some((position, c)) => Err(TextError::ControlCharacter {
            code: c as u32,
            position,
        }),
        None => Ok(()),
    }
}

/// What a kind of free text must be.
pub trait TextKind {
    /// Most characters (Unicode scalar values), after trimming.
    const MAX_CHARS: usize;
    /// Whether it may be empty.
    const REQUIRED: bool;
    /// Whether it takes tabs and line breaks.
    const MULTILINE: bool = false;
}

/// Free text of kind `K`, trimmed and checked: the only way text gets into a task, a user or a
/// channel, so nothing stored can hold what PostgreSQL or a reader would choke on.
pub struct Text<K>(String, PhantomData<fn() -> K>);

impl<K: TextKind> Text<K> {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = raw.trim();
        if K::REQUIRED && text.is_empty() {
            return Err(TextError::Empty);
        }
        let length = text.chars().count();
        if length > K::MAX_CHARS {
            return Err(TextError::TooLong {
                max: K::MAX_CHARS,
                actual: length,
            });
        }
        check_characters(text, K::MULTILINE)?;
        Ok(Self(text.to_owned(), PhantomData))
    }

    /// Optional text: empty (after trimming) is `None`.
    pub fn optional(raw: &str) -> Result<Option<Self>, TextError> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        Self::parse(raw).map(Some)
    }
}

impl<K> Text<K> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<K> Clone for Text<K> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<K> PartialEq for Text<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K> Eq for Text<K> {}

impl<K> std::hash::Hash for Text<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<K> fmt::Debug for Text<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<K> serde::Serialize for Text<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The `(field, description)` of an error, to read violations in tests.
#[cfg(test)]
pub(crate) fn described(invalid: &Invalid) -> Vec<(&str, &str)> {
    invalid
        .listed
        .iter()
        .map(|v| (v.field.as_str(), v.description.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Line {}
    impl TextKind for Line {
        const MAX_CHARS: usize = 5;
        const REQUIRED: bool = true;
    }
    enum Note {}
    impl TextKind for Note {
        const MAX_CHARS: usize = 20;
        const REQUIRED: bool = false;
        const MULTILINE: bool = true;
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(Text::<Line>::parse("  ab ").expect("ok").as_str(), "ab");
        assert_eq!(Text::<Line>::parse(" ").err(), Some(TextError::Empty));
        assert_eq!(
            Text::<Line>::parse("éééééé").err(),
            Some(TextError::TooLong { max: 5, actual: 6 })
        );
        for bad in [
            "a\u{0}b",
            "a\tb",
            "a\nb",
            "a\u{7f}",
            "a\u{85}b",
            "\u{1b}[0m",
        ] {
            assert!(
                matches!(
                    Text::<Line>::parse(bad),
                    Err(TextError::ControlCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(Text::<Note>::parse("a\r\n\tb").is_ok());
        assert_eq!(
            Text::<Note>::parse("a\u{0}").err(),
            Some(TextError::ControlCharacter {
                code: 0,
                position: 1
            })
        );
        assert_eq!(Text::<Note>::optional("  ").expect("ok"), None);
        assert!(Text::<Line>::parse("🎉 ✓").is_ok(), "any printable Unicode");
    }

    #[test]
    fn violations_are_capped_and_counted() {
        let mut violations = Violations::default();
        let ids: Vec<String> = (0..30).map(|i| format!("bad-{i}")).collect();
        let read = violations.each("ids", &ids, 100, |_| Err::<(), _>("must be a UUID"));
        assert!(read.is_empty());
        let invalid = violations.finish(()).expect_err("invalid");
        assert_eq!(invalid.listed.len(), MAX_LISTED_VIOLATIONS);
        assert_eq!(invalid.unlisted, 10);
        assert_eq!(described(&invalid)[3], ("ids[3]", "must be a UUID"));
        assert!(invalid.to_string().ends_with("; and 10 more"));
    }

    #[test]
    fn oversized_lists_are_one_violation_and_not_read() {
        let mut violations = Violations::default();
        let mut reads = 0;
        let items = vec![0; 1000];
        violations.each("ids", &items, 100, |_| {
            reads += 1;
            Ok::<_, String>(())
        });
        assert_eq!(reads, 0);
        let invalid = violations.finish(()).expect_err("too many");
        assert_eq!(
            described(&invalid),
            [("ids", "at most 100 values, not 1000")]
        );
    }

    #[test]
    fn descriptions_and_quotes_are_cut_short() {
        let mut violations = Violations::default();
        violations.add("f", "x".repeat(10_000));
        violations.add("g", format!("{} is unknown", quoted(&"y".repeat(10_000))));
        let invalid = violations.finish(()).expect_err("invalid");
        assert!(invalid.listed[0].description.chars().count() <= MAX_DESCRIPTION_CHARS + 1);
        assert!(invalid.listed[1].description.len() < 60);
    }
}
