//! Quill Deltas as documents: a list of `insert` operations whose text carries inline attributes
//! and whose newlines carry the attributes of the line they end (header, list, ...).

use html_escape::{encode_double_quoted_attribute, encode_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BodyError, safe_link};
use crate::domain::input::check_characters;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub insert: String,
    #[serde(default, skip_serializing_if = "Attributes::is_plain")]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Ordered,
    Bullet,
}

/// The attributes Docket renders. Others a Delta may carry are ignored here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    #[serde(default, skip_serializing_if = "is_false")]
    pub bold: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub italic: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub underline: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strike: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub code: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListKind>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub blockquote: bool,
    #[serde(default, rename = "code-block", skip_serializing_if = "is_false")]
    pub code_block: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Attributes {
    fn is_plain(&self) -> bool {
        *self == Attributes::default()
    }

    /// The attributes that apply to characters.
    pub fn inline(&self) -> Attributes {
        Attributes {
            bold: self.bold,
            italic: self.italic,
            underline: self.underline,
            strike: self.strike,
            code: self.code,
            link: self.link.clone(),
            ..Attributes::default()
        }
    }

    /// The attributes that apply to a whole line (carried by its newline).
    pub fn block(&self) -> Attributes {
        Attributes {
            header: self.header,
            list: self.list,
            blockquote: self.blockquote,
            code_block: self.code_block,
            ..Attributes::default()
        }
    }
}

/// A line of the document: its inline runs and its block attributes.
struct Line {
    runs: Vec<(String, Attributes)>,
    block: Attributes,
}

impl Delta {
    /// Checks a Delta document and returns it with the JSON to keep: the caller's JSON, minus link
    /// attributes whose targets are not http(s) or mailto.
    pub fn parse(json: &str) -> Result<(Delta, String), BodyError> {
        let invalid = |why: &str| BodyError::InvalidDelta(why.to_owned());
        let mut value: Value = serde_json::from_str(json).map_err(|e| invalid(&e.to_string()))?;
        let ops = value
            .get_mut("ops")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| invalid("expected an object with an \"ops\" array"))?;
        for (index, op) in ops.iter_mut().enumerate() {
            let object = op
                .as_object_mut()
                .ok_or_else(|| invalid(&format!("ops[{index}] is not an object")))?;
            match object.get("insert") {
                Some(Value::String(_)) => {}
                Some(_) => return Err(invalid(&format!("ops[{index}]: embeds are not supported"))),
                None => {
                    return Err(invalid(&format!(
                        "ops[{index}]: a document holds only inserts"
                    )));
                }
            }
            if let Some(attributes) = object.get_mut("attributes") {
                let attributes = attributes
                    .as_object_mut()
                    .ok_or_else(|| invalid(&format!("ops[{index}].attributes is not an object")))?;
                let unsafe_link = attributes
                    .get("link")
                    .and_then(Value::as_str)
                    .is_some_and(|href| !safe_link(href));
                if unsafe_link {
                    attributes.remove("link");
                }
            }
        }
        check_strings(&value)?;
        let kept = value.to_string();
        let delta: Delta = serde_json::from_value(value).map_err(|e| invalid(&e.to_string()))?;
        if let Some(header) = delta
            .ops
            .iter()
            .filter_map(|op| op.attributes.header)
            .find(|h| !(1..=6).contains(h))
        {
            return Err(invalid(&format!("header {header} is not 1 to 6")));
        }
        Ok((delta, kept))
    }

    /// The Delta of plain text: one insert, ending with the newline every Quill document ends with.
    pub fn from_plain(text: &str) -> Delta {
        if text.is_empty() {
            return Delta::default();
        }
        let mut insert = text.to_owned();
        if !insert.ends_with('\n') {
            insert.push('\n');
        }
        Delta {
            ops: vec![Op {
                insert,
                attributes: Attributes::default(),
            }],
        }
    }

    /// The same document with adjacent operations of equal attributes merged, as Quill compacts
    /// it; two Deltas are the same document when their compacted forms are equal.
    pub fn compacted(&self) -> Delta {
        let mut ops: Vec<Op> = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            match ops.last_mut() {
                Some(last) if last.attributes == op.attributes => last.insert.push_str(&op.insert),
                _ if op.insert.is_empty() => {}
                _ => ops.push(op.clone()),
            }
        }
        Delta { ops }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"ops":[]}"#.to_owned())
    }

    /// The text, without the document's final newline.
    pub fn to_plain(&self) -> String {
        let mut text: String = self.ops.iter().map(|op| op.insert.as_str()).collect();
        if text.ends_with('\n') {
            text.pop();
        }
        text
    }

    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut current = Line {
            runs: Vec::new(),
            block: Attributes::default(),
        };
        for op in &self.ops {
            let mut pieces = op.insert.split('\n').peekable();
            while let Some(piece) = pieces.next() {
                if !piece.is_empty() {
                    current
                        .runs
                        .push((piece.to_owned(), op.attributes.inline()));
                }
                if pieces.peek().is_some() {
                    current.block = op.attributes.block();
                    lines.push(std::mem::replace(
                        &mut current,
                        Line {
                            runs: Vec::new(),
                            block: Attributes::default(),
                        },
                    ));
                }
            }
        }
        if !current.runs.is_empty() {
            lines.push(current);
        }
        lines
    }

    /// HTML for the document (to be passed through the sanitiser like any other HTML).
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        let mut open_list: Option<ListKind> = None;
        let mut lines = self.lines().into_iter().peekable();
        while let Some(line) = lines.next() {
            if open_list.is_some() && open_list != line.block.list {
                html.push_str(if open_list == Some(ListKind::Ordered) {
                    "</ol>"
                } else {
                    "</ul>"
                });
                open_list = None;
            }
            if line.block.code_block {
                // Consecutive code lines form one <pre>.
                html.push_str("<pre>");
                html.push_str(&encode_text(&plain_runs(&line)));
                while let Some(next) = lines.next_if(|next| next.block.code_block) {
                    html.push('\n');
                    html.push_str(&encode_text(&plain_runs(&next)));
                }
                html.push_str("</pre>");
                continue;
            }
            let content = render_runs(&line.runs);
            let content = if content.is_empty() {
                "<br>".to_owned()
            } else {
                content
            };
            match (line.block.list, line.block.header) {
                (Some(kind), _) => {
                    if open_list.is_none() {
                        html.push_str(if kind == ListKind::Ordered {
                            "<ol>"
                        } else {
                            "<ul>"
                        });
                        open_list = Some(kind);
                    }
                    html.push_str(&format!("<li>{content}</li>"));
                }
                (None, Some(level)) => html.push_str(&format!("<h{level}>{content}</h{level}>")),
                (None, None) if line.block.blockquote => {
                    html.push_str(&format!("<blockquote>{content}</blockquote>"))
                }
                (None, None) => html.push_str(&format!("<p>{content}</p>")),
            }
        }
        match open_list {
            Some(ListKind::Ordered) => html.push_str("</ol>"),
            Some(ListKind::Bullet) => html.push_str("</ul>"),
            None => {}
        }
        html
    }
}

fn plain_runs(line: &Line) -> String {
    line.runs.iter().map(|(text, _)| text.as_str()).collect()
}

fn render_runs(runs: &[(String, Attributes)]) -> String {
    let mut html = String::new();
    for (text, attributes) in runs {
        let mut run = encode_text(text).into_owned();
        for (on, tag) in [
            (attributes.code, "code"),
            (attributes.strike, "s"),
            (attributes.underline, "u"),
            (attributes.italic, "em"),
            (attributes.bold, "strong"),
        ] {
            if on {
                run = format!("<{tag}>{run}</{tag}>");
            }
        }
        if let Some(href) = attributes.link.as_deref().filter(|href| safe_link(href)) {
            run = format!(
                "<a href=\"{}\">{run}</a>",
                encode_double_quoted_attribute(href)
            );
        }
        html.push_str(&run);
    }
    html
}

/// Every string of a Delta (inserts and attribute values alike) under the body's character rule:
/// JSON escapes such as `\u0000` would otherwise carry control characters past the check of the
/// written text.
fn check_strings(value: &Value) -> Result<(), BodyError> {
    match value {
        Value::String(text) => Ok(check_characters(text, true)?),
        Value::Array(items) => items.iter().try_for_each(check_strings),
        Value::Object(fields) => fields.values().try_for_each(check_strings),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}
