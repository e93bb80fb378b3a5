//! HTML bodies: sanitising with ammonia, and reading sanitised HTML into a Delta by walking the
//! html5ever DOM that scraper builds.

use std::{collections::HashSet, sync::LazyLock};

use ego_tree::NodeRef;
use scraper::{Html, Node};

use super::{
    delta::{Attributes, Delta, ListKind, Op},
    safe_link,
};

/// Tags a body may use; everything else is removed (its text kept, except for script and style,
/// whose content goes too).
const TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "strike",
    "del",
    "code",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ol",
    "ul",
    "li",
    "blockquote",
    "pre",
];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .tags(TAGS.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(
            [("a", ["href"].into_iter().collect())]
                .into_iter()
                .collect(),
        )
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny);
    builder
});

/// HTML with only the allowed tags, `href` on links (http, https, mailto), and nothing that runs.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// The Delta of (sanitised) HTML.
pub fn to_delta(html: &str) -> Delta {
    let fragment = Html::parse_fragment(html);
    let mut builder = Builder::default();
    let context = Context::default();
    for child in fragment.root_element().children() {
        walk(child, &context, &mut builder);
    }
    builder.finish()
}

#[derive(Clone, Default)]
struct Context {
    inline: Attributes,
    block: Attributes,
    list: Option<ListKind>,
    preformatted: bool,
}

#[derive(Default)]
struct Builder {
    ops: Vec<Op>,
    line_has_content: bool,
}

impl Builder {
    fn push(&mut self, insert: &str, attributes: Attributes) {
        match self.ops.last_mut() {
            Some(last) if last.attributes == attributes => last.insert.push_str(insert),
            _ => self.ops.push(Op {
                insert: insert.to_owned(),
                attributes,
            }),
        }
    }

    fn text(&mut self, text: &str, inline: &Attributes) {
        if !text.is_empty() {
            self.push(text, inline.clone());
            self.line_has_content = true;
        }
    }

    fn newline(&mut self, block: &Attributes) {
        self.push("\n", block.clone());
        self.line_has_content = false;
    }

    /// Ends a line of flowing text: spaces before a line end are layout, not content.
    fn break_line(&mut self, block: &Attributes) {
        if let Some(last) = self.ops.last_mut().filter(|op| !op.insert.ends_with('\n')) {
            let kept = last.insert.trim_end_matches(' ').len();
            last.insert.truncate(kept);
            if last.insert.is_empty() {
                self.ops.pop();
            }
        }
        self.newline(block);
    }

    /// Ends a block element's line, unless it is already ended (an empty `<p></p>` adds nothing).
    fn end_block(&mut self, context: &Context) {
        if !self.line_has_content {
            return;
        }
        if context.preformatted {
            self.newline(&context.block);
        } else {
            self.break_line(&context.block);
        }
    }

    fn finish(mut self) -> Delta {
        self.end_block(&Context::default());
        Delta { ops: self.ops }
    }
}

fn walk(node: NodeRef<'_, Node>, context: &Context, out: &mut Builder) {
    match node.value() {
        Node::Text(text) if context.preformatted => {
            let mut lines = text.split('\n').peekable();
            while let Some(line) = lines.next() {
                out.text(line, &context.inline);
                if lines.peek().is_some() {
                    out.newline(&context.block);
                }
            }
        }
        Node::Text(text) => {
            let spaced = collapse_whitespace(text);
            // Whitespace at the start of a line is layout, not content.
            let text = if out.line_has_content {
                spaced.as_str()
            } else {
                spaced.trim_start()
            };
            out.text(text, &context.inline);
        }
        Node::Element(element) if element.name() == "br" => {
            if context.preformatted {
                out.newline(&context.block);
            } else {
                out.break_line(&context.block);
            }
        }
        Node::Element(element) => {
            let mut inner = context.clone();
            let block = formats(element, context, &mut inner);
            if block {
                // A block starts on a line of its own.
                out.end_block(context);
            }
            for child in node.children() {
                walk(child, &inner, out);
            }
            if block {
                out.end_block(&inner);
            }
        }
        _ => {
            for child in node.children() {
                walk(child, context, out);
            }
        }
    }
}

/// Runs of whitespace as one space, as a browser shows them (a text of only whitespace is one).
fn collapse_whitespace(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match (
        text.starts_with(char::is_whitespace),
        text.ends_with(char::is_whitespace),
    ) {
        _ if collapsed.is_empty() => " ".to_owned(),
        (true, true) => format!(" {collapsed} "),
        (true, false) => format!(" {collapsed}"),
        (false, true) => format!("{collapsed} "),
        (false, false) => collapsed,
    }
}

/// What an element sets for what it holds (`inner`, a copy of `context`), and whether it is a
/// block; elements Docket does not know hold their text unformatted.
fn formats(element: &scraper::node::Element, context: &Context, inner: &mut Context) -> bool {
    let name = element.name();
    match name {
        "strong" | "b" => inner.inline.bold = true,
        "em" | "i" => inner.inline.italic = true,
        "u" => inner.inline.underline = true,
        "s" | "strike" | "del" => inner.inline.strike = true,
        "code" if !context.preformatted => inner.inline.code = true,
        "a" => {
            inner.inline.link = element
                .attr("href")
                .filter(|href| safe_link(href))
                .map(str::to_owned);
        }
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => inner.block.header = name[1..].parse().ok(),
        "blockquote" => inner.block.blockquote = true,
        "pre" => {
            inner.block.code_block = true;
            inner.preformatted = true;
        }
        "ol" => inner.list = Some(ListKind::Ordered),
        "ul" => inner.list = Some(ListKind::Bullet),
        "li" => inner.block.list = Some(context.list.unwrap_or(ListKind::Bullet)),
        _ => {}
    }
    BLOCKS.contains(&name)
}

/// The elements that start and end a line of their own.
const BLOCKS: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ol",
    "ul",
    "li",
    "p",
    "div",
];
