use super::*;

fn body(input: BodyInput<'_>) -> Body {
    Body::from_input(input).expect("valid body")
}

#[test]
fn plain_text_is_kept_and_rendered() {
    let b = body(BodyInput::Plain("Call back <Ada> & co\n\nThen email"));
    assert_eq!(b.written_as, BodyFormat::Plain);
    assert_eq!(b.plain, "Call back <Ada> & co\n\nThen email");
    assert_eq!(
        b.html,
        "<p>Call back &lt;Ada&gt; &amp; co</p><p><br></p><p>Then email</p>"
    );
    assert_eq!(
        b.delta,
        r#"{"ops":[{"insert":"Call back <Ada> & co\n\nThen email\n"}]}"#
    );
    // Every rendition reads back as the same text.
    assert_eq!(body(BodyInput::Html(&b.html)).plain, b.plain);
    assert_eq!(body(BodyInput::Delta(&b.delta)).plain, b.plain);
}

#[test]
fn an_empty_body_is_empty_everywhere() {
    let b = body(BodyInput::Plain(""));
    assert_eq!(
        (b.plain.as_str(), b.html.as_str(), b.delta.as_str()),
        ("", "", r#"{"ops":[]}"#)
    );
    assert_eq!(Body::empty().delta, b.delta);
}

const FULL_DELTA: &str = r#"{"ops":[
    {"insert":"Title"},{"insert":"\n","attributes":{"header":1}},
    {"insert":"Some "},{"insert":"bold","attributes":{"bold":true}},{"insert":" and "},
    {"insert":"italic","attributes":{"italic":true}},{"insert":", "},
    {"insert":"under","attributes":{"underline":true}},{"insert":", "},
    {"insert":"gone","attributes":{"strike":true}},{"insert":", "},
    {"insert":"x","attributes":{"code":true}},{"insert":" and "},
    {"insert":"a link","attributes":{"link":"https://example.com/?a=1&b=2"}},{"insert":".\n"},
    {"insert":"one"},{"insert":"\n","attributes":{"list":"ordered"}},
    {"insert":"two"},{"insert":"\n","attributes":{"list":"ordered"}},
    {"insert":"dot"},{"insert":"\n","attributes":{"list":"bullet"}},
    {"insert":"quoted"},{"insert":"\n","attributes":{"blockquote":true}},
    {"insert":"let x = 1;"},{"insert":"\n","attributes":{"code-block":true}},
    {"insert":"let y = 2;"},{"insert":"\n","attributes":{"code-block":true}},
    {"insert":"\nend\n"}
]}"#;

const FULL_HTML: &str = "<h1>Title</h1>\
    <p>Some <strong>bold</strong> and <em>italic</em>, <u>under</u>, <s>gone</s>, <code>x</code> and \
    <a href=\"https://example.com/?a=1&amp;b=2\" rel=\"noopener noreferrer\">a link</a>.</p>\
    <ol><li>one</li><li>two</li></ol><ul><li>dot</li></ul>\
    <blockquote>quoted</blockquote><pre>let x = 1;\nlet y = 2;</pre><p><br></p><p>end</p>";

#[test]
fn delta_renders_every_supported_format_as_html() {
    let b = body(BodyInput::Delta(FULL_DELTA));
    assert_eq!(b.html, FULL_HTML);
    assert_eq!(
        b.plain,
        "Title\nSome bold and italic, under, gone, x and a link.\none\ntwo\ndot\nquoted\nlet x = 1;\nlet y = 2;\n\nend"
    );
}

#[test]
fn html_and_delta_convert_both_ways_without_loss() {
    let from_delta = body(BodyInput::Delta(FULL_DELTA));
    let (original, _) = Delta::parse(FULL_DELTA).expect("delta");

    // HTML → Delta gives back the original document.
    let from_html = body(BodyInput::Html(&from_delta.html));
    let (reparsed, _) = Delta::parse(&from_html.delta).expect("delta");
    assert_eq!(reparsed.compacted(), original.compacted());
    // And that Delta renders the same HTML again.
    assert_eq!(body(BodyInput::Delta(&from_html.delta)).html, FULL_HTML);
    assert_eq!(
        from_html.html, FULL_HTML,
        "canonical HTML survives sanitising unchanged"
    );
}

#[test]
fn html_synonyms_and_line_breaks_map_to_the_same_delta() {
    let b = body(BodyInput::Html(
        "<div><b>B</b> <i>I</i> <del>D</del><br>next line</div><p></p>  <p>\n  spaced   out\n</p>",
    ));
    assert_eq!(b.plain, "B I D\nnext line\nspaced out");
    let expected = body(BodyInput::Html(
        "<p><strong>B</strong> <em>I</em> <s>D</s></p><p>next line</p><p>spaced out</p>",
    ));
    assert_eq!(b.delta, expected.delta);
}

#[test]
fn script_event_handler_and_javascript_payloads_come_back_inert() {
    let attack = r#"<p onclick="steal()">Hi<script>alert(1)</script><img src=x onerror="alert(2)">
        <a href="javascript:alert(3)">click</a><a href="JaVaScRiPt:alert(4)">me</a>
        <iframe src="https://evil.example"></iframe><style>p{display:none}</style></p>"#;
    let b = body(BodyInput::Html(attack));
    let lower = b.html.to_lowercase();
    for needle in [
        "script",
        "onclick",
        "onerror",
        "javascript:",
        "<img",
        "<iframe",
        "<style",
        "alert",
    ] {
        assert!(!lower.contains(needle), "{needle:?} survived: {}", b.html);
    }
    assert!(
        b.plain.contains("Hi") && b.plain.contains("click") && b.plain.contains("me"),
        "{}",
        b.plain
    );
    assert!(!b.delta.contains("javascript"), "{}", b.delta);
}

#[test]
fn unsafe_delta_links_are_dropped_but_the_text_stays() {
    let delta = r#"{"ops":[{"insert":"bad","attributes":{"link":"javascript:alert(1)","bold":true}},{"insert":" good","attributes":{"link":"mailto:a@example.com"}},{"insert":"\n"}]}"#;
    let b = body(BodyInput::Delta(delta));
    assert!(!b.delta.contains("javascript"), "{}", b.delta);
    assert!(
        b.delta.contains(r#""bold":true"#),
        "other attributes are kept: {}",
        b.delta
    );
    assert_eq!(
        b.html,
        "<p><strong>bad</strong><a href=\"mailto:a@example.com\" rel=\"noopener noreferrer\"> good</a></p>"
    );
}

#[test]
fn deltas_keep_attributes_docket_does_not_render() {
    let delta = r##"{"ops":[{"insert":"red","attributes":{"color":"#ff0000"}},{"insert":"\n"}]}"##;
    let b = body(BodyInput::Delta(delta));
    assert!(
        b.delta.contains("#ff0000"),
        "the written Delta loses nothing: {}",
        b.delta
    );
    assert_eq!(b.html, "<p>red</p>");
}

#[test]
fn malformed_deltas_are_refused() {
    for bad in [
        "not json",
        r#"[{"insert":"x"}]"#,
        r#"{"ops":{}}"#,
        r#"{"ops":[{"insert":{"image":"https://example.com/a.png"}}]}"#,
        r#"{"ops":[{"retain":3}]}"#,
        r#"{"ops":[{"insert":"x","attributes":"bold"}]}"#,
        r#"{"ops":[{"insert":"x\n","attributes":{"header":7}}]}"#,
    ] {
        assert!(
            matches!(
                Body::from_input(BodyInput::Delta(bad)),
                Err(BodyError::InvalidDelta(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn bodies_are_bounded() {
    let big = "x".repeat(MAX_BODY_BYTES + 1);
    assert_eq!(
        Body::from_input(BodyInput::Plain(&big)),
        Err(BodyError::TooLarge)
    );
    assert!(Body::from_input(BodyInput::Plain(&big[1..])).is_ok());
}

#[test]
fn plain_html_is_what_the_sanitiser_makes_of_it() {
    // Written out (with the two characters that take the sanitiser), then every string of up to
    // four characters from an alphabet of what HTML treats specially: markup, references,
    // quotes, whitespace, non-ASCII.
    let mut texts: Vec<String> = [
        "Call back <Ada> & co",
        "<script>alert(1)</script>",
        "&amp; &lt;b&gt; &#60; &nbsp; &copy",
        "<!-- not a comment --> <![CDATA[x]]> <?xml?>",
        "line one\nline two\n\n\nafter blank lines\n",
        "tab\tand \"double\" 'single' `back` quotes = / ?",
        "a\r\nwindows\rline ends",
        "no\u{a0}break\u{a0}spaces",
        "🙂 ünïcødé 中文 \u{200b}\u{feff}\u{2028}\u{fffe}",
        "</p><p onclick=x>",
    ]
    .map(String::from)
    .to_vec();
    let alphabet = [
        'a', '<', '>', '&', '"', '\'', '\n', '\t', ' ', '/', '=', '#', ';', 'é',
    ];
    let mut current = vec![String::new()];
    for _ in 0..4 {
        current = current
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        texts.extend(current.iter().cloned());
    }
    for text in texts {
        let delta = Delta::from_plain(&text);
        assert_eq!(
            plain_html(&text, &delta),
            html::sanitize(&delta.to_html()),
            "{text:?}"
        );
    }
}
