//! Input checks. Each returns BAD_USER_INPUT naming the field as the schema spells it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::subgraph::error::{Result, ServiceError};

/// The longest note body.
pub const NOTE_MAX: usize = 10_000;
/// The longest reason, name or other short text.
pub const SHORT_MAX: usize = 200;
/// The longest free-text reason.
pub const REASON_MAX: usize = 2_000;

/// A required text on one line: trimmed, not empty, at most `max` characters, without
/// control characters or bidirectional overrides (`clean`).
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String> {
    clean(field, value, false)?;
    sized(field, value, max)
}

/// A required text that may run over several lines (a note's body): `text`, but newlines
/// are kept.
pub fn multiline(field: &'static str, value: &str, max: usize) -> Result<String> {
    clean(field, value, true)?;
    sized(field, value, max)
}

/// Refuses control characters (C0 and C1, so NUL, CR, LF, tab and escape; `newlines`
/// allows LF) and the bidirectional embeddings, overrides and isolates (U+202A to U+202E,
/// U+2066 to U+2069): stored as given they break CSV rows and email headers, and a
/// right-to-left override shows a name reversed on screen.
fn clean(field: &'static str, value: &str, newlines: bool) -> Result<()> {
    let bad = value
        .chars()
        .find(|&c| (c.is_control() && !(newlines && c == '\n')) || is_bidi_control(c));
    match bad {
        None => Ok(()),
        Some(c) => Err(ServiceError::bad_input(
            field,
            format!(
                "{field} must not contain the control character U+{:04X}",
                u32::from(c)
            ),
        )),
    }
}

/// The characters that change the direction of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `value` trimmed, not empty and at most `max` characters.
fn sized(field: &'static str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(ServiceError::bad_input(
            field,
            format!("{field} is {len} characters long; the limit is {max}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional text: `None` or blank means absent.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn email(field: &'static str, value: &str) -> Result<String> {
    let value = value.trim();
    let bad = || ServiceError::bad_input(field, format!("`{value}` is not a valid email address"));
    if value.len() > 320
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_bidi_control(c))
    {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || !labels_ok {
        return Err(bad());
    }
    Ok(value.to_owned())
}

/// An admission cycle: exactly four digits.
pub fn cycle(field: &'static str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ServiceError::bad_input(
            field,
            format!("cycle must be four digits such as \"2027\", not `{value}`"),
        ))
    }
}

/// How long an offer gives the applicant when the approval names no date.
pub const DEFAULT_RESPONSE_DAYS: i64 = 14;
/// The furthest an applicant's response date may lie ahead.
pub const MAX_RESPONSE_DAYS: i64 = 366;

/// The date an applicant must answer an offer by: after `now`, and within
/// `MAX_RESPONSE_DAYS` of it.
pub fn response_date(
    field: &'static str,
    value: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    if value <= now {
        return Err(ServiceError::bad_input(
            field,
            format!(
                "the response date {} has already passed",
                value.to_rfc3339()
            ),
        ));
    }
    if value > now + Duration::days(MAX_RESPONSE_DAYS) {
        return Err(ServiceError::bad_input(
            field,
            format!("the response date may be at most {MAX_RESPONSE_DAYS} days ahead"),
        ));
    }
    // Kept to the microsecond, as every stored time (`db::now`).
    Ok(value
        .duration_trunc(Duration::microseconds(1))
        .unwrap_or(value))
}

/// A database id given as a GraphQL `ID` input; anything else is BAD_USER_INPUT.
pub fn id(field: &'static str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ServiceError::bad_input(field, format!("`{value}` is not a known id")))
}

/// The id of an object the caller names directly (a ticket, a note): one that does not parse
/// names nothing, so it is NOT_FOUND like a missing or invisible one.
pub fn reference(value: &str, what: &'static str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| ServiceError::NotFound(what))
}

/// A password that will be hashed.
pub fn password(field: &'static str, value: &str) -> Result<()> {
    let len = value.chars().count();
    if len < common::password::MIN_LENGTH {
        return Err(ServiceError::bad_input(
            field,
            format!(
                "the password must have at least {} characters",
                common::password::MIN_LENGTH
            ),
        ));
    }
    if len > common::password::MAX_LENGTH {
        return Err(ServiceError::bad_input(field, "the password is too long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_dates_lie_ahead_within_a_year() {
        let now = db::now();
        let ok = now + Duration::days(10);
        assert_eq!(response_date("responseDueAt", ok, now).unwrap(), ok);
        for bad in [now, now - Duration::hours(1), now + Duration::days(367)] {
            let err = response_date("responseDueAt", bad, now).unwrap_err();
            assert!(
                matches!(&err, ServiceError::BadInput { field, .. } if *field == "responseDueAt"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@dept.example.edu"] {
            assert!(email("email", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@b..co", "a@-b.co",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_count_characters_not_bytes() {
        assert!(text("body", &"é".repeat(NOTE_MAX), NOTE_MAX).is_ok());
        assert!(text("body", &"é".repeat(NOTE_MAX + 1), NOTE_MAX).is_err());
        assert!(text("body", "   ", NOTE_MAX).is_err());
    }

    #[test]
    fn control_characters_and_direction_overrides_are_refused() {
        for bad in [
            "Ann\0Admin",
            "Ann\r\nBcc: x",
            "Ann\nAdmin",
            "tab\there",
            "\u{1b}[31mred",
            "\u{85}next line",
            "Ann \u{202E}nimdA",
            "isolate \u{2067}x\u{2069}",
        ] {
            let err = format!("{:?}", text("name", bad, SHORT_MAX).unwrap_err());
            assert!(err.contains("name") && err.contains("U+"), "{bad:?}: {err}");
        }
        assert!(email("email", "a\u{202E}@b.co").is_err());
        // Note bodies keep their lines, and nothing else.
        assert_eq!(
            multiline("body", "first\nsecond", NOTE_MAX).unwrap(),
            "first\nsecond"
        );
        assert!(multiline("body", "first\r\nsecond", NOTE_MAX).is_err());
        assert!(multiline("body", "nul\0", NOTE_MAX).is_err());
        assert!(multiline("body", "\u{202E}", NOTE_MAX).is_err());
        // Scripts written right to left need no override characters.
        assert!(text("name", "שרה לוי", SHORT_MAX).is_ok());
        assert!(text("name", "Zoë Ñúñez-O'Brien", SHORT_MAX).is_ok());
    }

    #[test]
    fn cycles() {
        assert!(cycle("cycle", "2027").is_ok());
        for bad in ["27", "20277", "２０２７", "abcd"] {
            assert!(cycle("cycle", bad).is_err(), "{bad}");
        }
    }
}
