//! The CSV dialect Excel opens without asking (DESIGN.md, "CSV export"): UTF-8 with a
//! byte-order mark, CRLF line ends, every field quoted (RFC 4180: a quote inside is doubled),
//! a header whose first cell is not `ID` (Excel would take the file for SYLK), dates as
//! `YYYY-MM-DD HH:MM:SS` in UTC, and a `'` before any cell that starts with `=`, `+`, `-`,
//! `@`, tab, carriage return or line feed, so that Excel never runs it as a formula (OWASP
//! "CSV injection"). Control characters other than tab, CR and LF (NUL, escape) and the
//! bidirectional overrides are left out of every cell: ticket-service refuses them now, but
//! rows written before it did may hold them.
//!
//! Headers and values use the web client's words ("Funding", "Faculty member", "Offer
//! accepted"): a file and the list it was exported from read the same. `STATE_LABELS` and
//! `RESIDENCY_LABELS` are the client's tables (web/src/labels.ts), which a test holds equal.

use chrono::{DateTime, Utc};

/// The UTF-8 byte-order mark that makes Excel read the file as UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The record separator.
pub const CRLF: &str = "\r\n";

/// The header row, one cell per column of `Row`, in the words of the web client's list and
/// ticket page.
pub const HEADER: [&str; 12] = [
    "Ticket",
    "Cycle",
    "Funding",
    "State",
    "Faculty member",
    "Supervisors",
    "Applicant number",
    "Applicant name",
    "Issued (UTC)",
    "Updated (UTC)",
    "Response due (UTC)",
    "Notes",
];

/// Each state's contract name and its words on screen.
pub const STATE_LABELS: [(&str, &str); 7] = [
    ("INITIAL", "Issued"),
    ("GRANTED", "Granted"),
    ("OFFER_REQUESTED", "Offer requested"),
    ("OFFER_PENDING", "Offer pending"),
    ("OFFER_ACCEPTED", "Offer accepted"),
    ("OFFER_REFUSED", "Offer refused"),
    ("CANCELLED", "Cancelled"),
];

/// Each residency's contract name and its words on screen (the "Funding" column).
pub const RESIDENCY_LABELS: [(&str, &str); 2] =
    [("DOMESTIC", "Domestic"), ("INTERNATIONAL", "International")];

/// The words for `name` in `labels`; a name the table lacks is written as it is.
fn label<'a>(labels: &[(&str, &'a str)], name: &'a str) -> &'a str {
    labels
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, words)| words)
}

/// What separates names in the supervisors cell.
pub const NAME_SEPARATOR: &str = "; ";

/// What separates notes in the notes cell (a blank line: each note keeps its own lines).
pub const NOTE_SEPARATOR: &str = "\n\n";

/// Whether a spreadsheet would treat a cell starting with `c` as a formula.
pub fn is_formula_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\n')
}

/// Whether `c` is left out of cells: a control character other than tab, CR and LF, or a
/// bidirectional embedding, override or isolate (U+202A to U+202E, U+2066 to U+2069).
pub fn is_dropped(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Appends `text` as one quoted cell: the characters `is_dropped` names left out, `'` first
/// when what remains starts with a formula trigger, every `"` doubled, the whole in quotes.
pub fn push_cell(out: &mut String, text: &str) {
    out.push('"');
    let mut kept = text.chars().filter(|&c| !is_dropped(c)).peekable();
    if kept.peek().is_some_and(|&c| is_formula_trigger(c)) {
        out.push('\'');
    }
    for c in kept {
        if c == '"' {
            out.push_str("\"\"");
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// Appends a timestamp as `YYYY-MM-DD HH:MM:SS` (UTC, whole seconds).
pub fn push_time(out: &mut String, at: DateTime<Utc>) {
    use std::fmt::Write;
    out.push('"');
    // Writing to a String cannot fail.
    let _ = write!(out, "{}", at.format("%Y-%m-%d %H:%M:%S"));
    out.push('"');
}

/// Appends one record of `cells`, with its line end.
pub fn push_record<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell);
    }
    out.push_str(CRLF);
}

/// One ticket as the export shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The ticket number.
    pub number: i64,
    /// The admission cycle.
    pub cycle: String,
    /// DOMESTIC or INTERNATIONAL.
    pub residency: String,
    /// The state's contract name.
    pub state: String,
    /// The owner's name.
    pub owner: String,
    /// The supervisors' names.
    pub supervisors: Vec<String>,
    /// The applicant's number, when there is an applicant.
    pub applicant_number: Option<String>,
    /// The applicant's name, when there is an applicant.
    pub applicant_name: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// When the ticket is due (an offer's response date), if it is.
    pub due_at: Option<DateTime<Utc>>,
    /// Note bodies, oldest first.
    pub notes: Vec<String>,
}

/// Appends `row` as one record, cells in `HEADER` order, states and residencies in words.
pub fn push_row(out: &mut String, row: &Row) {
    push_cell(out, &row.number.to_string());
    for text in [
        row.cycle.as_str(),
        label(&RESIDENCY_LABELS, &row.residency),
        label(&STATE_LABELS, &row.state),
        row.owner.as_str(),
    ] {
        out.push(',');
        push_cell(out, text);
    }
    out.push(',');
    push_cell(out, &row.supervisors.join(NAME_SEPARATOR));
    for text in [&row.applicant_number, &row.applicant_name] {
        out.push(',');
        push_cell(out, text.as_deref().unwrap_or_default());
    }
    out.push(',');
    push_time(out, row.created_at);
    out.push(',');
    push_time(out, row.updated_at);
    out.push(',');
    match row.due_at {
        Some(at) => push_time(out, at),
        None => push_cell(out, ""),
    }
    out.push(',');
    push_cell(out, &row.notes.join(NOTE_SEPARATOR));
    out.push_str(CRLF);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cell(text: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, text);
        out
    }

    #[test]
    fn every_cell_is_quoted_and_quotes_are_doubled() {
        assert_eq!(cell(""), "\"\"");
        assert_eq!(cell("plain"), "\"plain\"");
        assert_eq!(
            cell("say \"hi\", then\r\nleave"),
            "\"say \"\"hi\"\", then\r\nleave\""
        );
    }

    #[test]
    fn control_characters_and_direction_overrides_are_left_out() {
        assert_eq!(cell("Ann\0 Admin"), "\"Ann Admin\"");
        assert_eq!(cell("\u{1b}[31mred\u{7f}"), "\"[31mred\"");
        assert_eq!(cell("Ann \u{202E}nimdA"), "\"Ann nimdA\"");
        // A formula hidden behind a dropped character is still caught.
        assert_eq!(cell("\0=1+1"), "\"'=1+1\"");
        assert_eq!(cell("line\r\nbreak\ttab"), "\"line\r\nbreak\ttab\"");
    }

    #[test]
    fn formula_triggers_are_prefixed_only_at_the_start() {
        for trigger in ["=", "+", "-", "@", "\t", "\r", "\n"] {
            assert_eq!(cell(&format!("{trigger}1+1")), format!("\"'{trigger}1+1\""));
        }
        assert_eq!(cell("1+1=2"), "\"1+1=2\"");
        assert_eq!(cell("'quoted"), "\"'quoted\"");
    }

    #[test]
    fn a_row_has_the_header_shape() {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 9, 5, 7).unwrap();
        let row = Row {
            number: 42,
            cycle: "2027".into(),
            residency: "DOMESTIC".into(),
            state: "OFFER_PENDING".into(),
            owner: "Alice".into(),
            supervisors: vec!["Alice".into(), "Bob".into()],
            applicant_number: Some("U-1".into()),
            applicant_name: Some("=Pat".into()),
            created_at: at,
            updated_at: at,
            due_at: Some(at + chrono::Duration::days(14)),
            notes: vec!["first".into(), "second".into()],
        };
        let mut out = String::new();
        push_row(&mut out, &row);
        assert_eq!(
            out,
            "\"42\",\"2027\",\"Domestic\",\"Offer pending\",\"Alice\",\"Alice; Bob\",\"U-1\",\"'=Pat\",\"2026-11-28 09:05:07\",\"2026-11-28 09:05:07\",\"2026-12-12 09:05:07\",\"first\n\nsecond\"\r\n"
        );
        assert_eq!(read_back(&out).len(), HEADER.len());
        let mut undated = String::new();
        push_row(
            &mut undated,
            &Row {
                due_at: None,
                ..row
            },
        );
        assert_eq!(read_back(&undated)[10], "");
        let mut header = String::new();
        push_record(&mut header, HEADER);
        assert!(header.starts_with("\"Ticket\",") && header.ends_with("\"Notes\"\r\n"));
    }

    #[test]
    fn states_and_residencies_read_as_on_screen() {
        use common::model::{Residency, TicketState};
        // Every contract name has words, the web client's own (one vocabulary).
        let web = include_str!("../../web/src/labels.ts");
        let states: Vec<&str> = TicketState::ALL.iter().map(|s| s.as_str()).collect();
        let residencies: Vec<&str> = Residency::ALL.iter().map(|r| r.as_str()).collect();
        for (labels, names) in [
            (&STATE_LABELS[..], states),
            (&RESIDENCY_LABELS[..], residencies),
        ] {
            assert_eq!(labels.iter().map(|(n, _)| *n).collect::<Vec<_>>(), names);
            for (name, words) in labels {
                assert!(
                    web.contains(&format!("{name}: \"{words}\"")),
                    "web/src/labels.ts does not call {name} \"{words}\""
                );
            }
        }
        assert_eq!(label(&STATE_LABELS, "OFFER_ACCEPTED"), "Offer accepted");
        assert_eq!(label(&STATE_LABELS, "SOMETHING_NEW"), "SOMETHING_NEW");
    }

    /// Reads one record back with the csv crate's reader.
    fn read_back(record: &str) -> Vec<String> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .terminator(::csv::Terminator::CRLF)
            .from_reader(record.as_bytes());
        let record = reader
            .records()
            .next()
            .expect("a record")
            .expect("well formed");
        record.iter().map(str::to_owned).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(testkit::fuzz_cases(1024)))]

        /// Any text in: a cell that reads back to the same text (less the characters left
        /// out, after the `'` the writer adds before a formula trigger), never starts with a
        /// trigger, and holds no control character but tab, CR and LF.
        #[test]
        fn any_text_reads_back_and_never_starts_a_formula(
            text in proptest::prelude::any::<String>(),
            before in "[a-z\\r\\n\",=+@\\t\\x00\\x1b\u{202E}\u{2066}-]{0,6}",
        ) {
            for text in [text.clone(), format!("{before}{text}")] {
                let mut record = String::new();
                push_record(&mut record, [text.as_str(), "next"]);
                let cells = read_back(&record);
                proptest::prop_assert_eq!(cells.len(), 2);
                let cell = &cells[0];
                proptest::prop_assert!(!cell.starts_with(is_formula_trigger), "{:?}", cell);
                proptest::prop_assert!(!cell.chars().any(is_dropped), "{:?}", cell);
                let kept: String = text.chars().filter(|&c| !is_dropped(c)).collect();
                let expected = if kept.starts_with(is_formula_trigger) {
                    format!("'{kept}")
                } else {
                    kept
                };
                proptest::prop_assert_eq!(cell, &expected);
                proptest::prop_assert_eq!(&cells[1], "next");
            }
        }
    }
}
