//! Fuzz target: any bytes read as a dump never panic, every error span lies inside the
//! input on character boundaries, and a dump that parses without errors prints back to
//! text that parses into an equal model (and prints the same again). Inputs are mutated a
//! whole line at a time as well as byte by byte (see `lines.rs`).

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use srcip_rules::parse::print::write_dump;
use srcip_rules::parse::{parse_dump, parse_text};
use srcip_rules::source::{Source, Span};

mod lines;

#[path = "../../tests/it/normal.rs"]
#[allow(dead_code)]
mod normal;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("fuzz", data.to_vec()) else {
        return;
    };
    let text = source.text();
    let parsed = parse_dump(&source);
    for error in &parsed.errors() {
        assert_span_inside(text, error.span, "span", error);
        assert_span_inside(text, error.line_span, "line span", error);
    }
    if !parsed.errors().is_empty() {
        return;
    }
    let mut printed = String::new();
    write_dump(&parsed.dump, &mut printed).expect("a parsed dump prints");
    let reparsed = parse_text(&printed);
    assert!(
        reparsed.errors().is_empty(),
        "printed dump does not parse: {:?}\ninput:\n{text}\nprinted:\n{printed}",
        reparsed.errors()
    );
    assert_eq!(
        normal::normalise(&parsed.rules()),
        normal::normalise(&reparsed.rules()),
        "print then parse changed the model\ninput:\n{text}\nprinted:\n{printed}"
    );
    let mut again = String::new();
    write_dump(&reparsed.dump, &mut again).expect("a parsed dump prints");
    assert_eq!(printed, again, "printing is not stable");
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    lines::mutate(data, size, max_size, seed)
});

fn assert_span_inside(text: &str, span: Span, what: &str, error: &impl std::fmt::Debug) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(
        start <= end && end <= text.len(),
        "{what} {span} outside the input ({} bytes): {error:?}",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what} {span} not on a char boundary: {error:?}"
    );
}
