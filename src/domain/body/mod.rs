//! Task bodies. A body is written as exactly one of plain text, HTML or a Quill Delta, and can be
//! read back in any of the three. All three renditions are computed once, when the body is written,
//! so reads cost nothing.
//!
//! - HTML is sanitised on the way in (ammonia): no scripts, styles, event handlers, or links other
//!   than http(s) and mailto. Written HTML is kept as sanitised; Delta and plain text are derived.
//! - A written Delta is kept as sent (minus links with unsafe schemes), so Delta readers lose
//!   nothing; HTML and plain text are derived from it.
//! - Written plain text is kept verbatim; HTML and Delta are derived.
//!
//! The Delta ↔ HTML mapping covers paragraphs, line breaks, bold, italic, underline, strike, inline
//! code, links, headers 1–6, ordered and bullet lists, block quotes and code blocks. Delta
//! attributes outside that set (colours, fonts, ...) are kept in the Delta but not rendered.
//! - Bodies are multi-line free text: tab, line feed and carriage return, and no other control
//!   character, in what is written and in every rendition (HTML entities such as `&#7;` decode to
//!   control characters too), as `super::input::check_characters` rules.

mod delta;
mod html;

pub use delta::Delta;

use crate::domain::input::{TextError, check_characters};
pub use crate::domain::vocabulary::BodyFormat;

/// The largest body accepted, in bytes of the written form.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A body as a caller writes it.
#[derive(Debug, Clone, Copy)]
pub enum BodyInput<'a> {
    Plain(&'a str),
    Html(&'a str),
    /// Quill Delta JSON: `{"ops": [{"insert": "text", "attributes": {...}}, ...]}`.
    Delta(&'a str),
}

/// A body in every format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub written_as: BodyFormat,
    pub plain: String,
    pub html: String,
    /// Delta JSON.
    pub delta: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("not a Quill Delta: {0}")]
    InvalidDelta(String),
    #[error(transparent)]
    Characters(#[from] TextError),
}

impl Body {
    pub fn empty() -> Self {
        Self {
            written_as: BodyFormat::Plain,
            plain: String::new(),
            html: String::new(),
            delta: Delta::default().to_json(),
        }
    }

    pub fn from_input(input: BodyInput<'_>) -> Result<Self, BodyError> {
        let written = match input {
            BodyInput::Plain(text) | BodyInput::Html(text) | BodyInput::Delta(text) => text,
        };
        if written.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        check_characters(written, true)?;
        let body = match input {
            BodyInput::Plain(text) => {
                let delta = Delta::from_plain(text);
                Self {
                    written_as: BodyFormat::Plain,
                    plain: text.to_owned(),
                    html: plain_html(text, &delta),
                    delta: delta.to_json(),
                }
            }
            BodyInput::Html(raw) => {
                let clean = html::sanitize(raw);
                let delta = html::to_delta(&clean);
                Self {
                    written_as: BodyFormat::Html,
                    plain: delta.to_plain(),
                    html: clean,
                    delta: delta.to_json(),
                }
            }
            BodyInput::Delta(json) => {
                let (delta, kept) = Delta::parse(json)?;
                Self {
                    written_as: BodyFormat::Delta,
                    plain: delta.to_plain(),
                    html: html::sanitize(&delta.to_html()),
                    delta: kept,
                }
            }
        };
        check_characters(&body.plain, true)?;
        check_characters(&body.html, true)?;
        Ok(body)
    }

    /// The rendition in `format`.
    pub fn rendition(&self, format: BodyFormat) -> &str {
        match format {
            BodyFormat::Plain => &self.plain,
            BodyFormat::Html => &self.html,
            BodyFormat::Delta => &self.delta,
        }
    }
}

/// The HTML of plain text. It is escaped text in `<p>` and `<br>` alone, so the sanitiser would
/// give back the same string, except where its parser and serialiser rewrite characters (a carriage
/// return becomes a line feed, a no-break space `&nbsp;`): only then does it run. Parsing and
/// serialising every plain body took a twentieth of the server's time per CreateTask.
fn plain_html(text: &str, delta: &Delta) -> String {
    let html = delta.to_html();
    if text.contains(['\r', '\u{a0}']) {
        html::sanitize(&html)
    } else {
        html
    }
}

/// Whether a link target may be kept: absolute http(s) or mailto only.
fn safe_link(href: &str) -> bool {
    let lower = href.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

#[cfg(test)]
mod tests;
