//! The email about one ticket event for one recipient: a subject naming the ticket and what
//! happened, and the same body as plain text and HTML (the ticket number, its state, the
//! applicant, who acted, their reason or note, and a link to the ticket in the web client).

use common::{TicketEventKind, TicketEventMessage, TicketState};

/// The scheduler's reminders and escalations.
mod timed;

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to_email: String,
    /// The recipient's name.
    pub to_name: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// What the renderer needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The recipient's name.
    pub to_name: &'a str,
    /// The recipient's address.
    pub to_email: &'a str,
    /// Who acted.
    pub actor_name: &'a str,
    /// For a move back to GRANTED: the owner's side withdrew (else the chair declined).
    pub withdrawn: bool,
    /// The web client's address, e.g. `https://tessera.example.edu`.
    pub public_url: &'a str,
    /// The recipient's time zone (theirs, or the office's): dates are shown in it.
    pub zone: chrono_tz::Tz,
}

/// A state as people say it.
pub fn state_label(state: TicketState) -> &'static str {
    match state {
        TicketState::Initial => "Initial",
        TicketState::Granted => "Granted",
        TicketState::OfferRequested => "Offer requested",
        TicketState::OfferPending => "Offer pending",
        TicketState::OfferAccepted => "Offer accepted",
        TicketState::OfferRefused => "Offer refused",
        TicketState::Cancelled => "Cancelled",
    }
}

/// Names, notes and reasons come from users: no line breaks or other control characters in a
/// subject or a one-line field, and no bidirectional overrides (U+202A to U+202E, U+2066 to
/// U+2069), which would show a name reversed.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn applicant(event: &TicketEventMessage) -> String {
    event
        .applicant
        .as_ref()
        .map_or_else(|| "the applicant".to_string(), |a| one_line(&a.name))
}

/// What an email about an event says first: its subject and its opening sentence (also an
/// inbox item's title and summary). The same for every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// The subject line.
    pub subject: String,
    /// The sentence that opens the body.
    pub opening: String,
}

/// The headline of the email about `event` (only the actor's name and `withdrawn` of `ctx`
/// count).
pub fn headline(event: &TicketEventMessage, ctx: &Context<'_>) -> Headline {
    let (subject, opening) = wording(event, ctx);
    Headline { subject, opening }
}

/// The subject line, and the sentence that opens the body.
fn wording(event: &TicketEventMessage, ctx: &Context<'_>) -> (String, String) {
    let n = event.ticket_number;
    let who = one_line(ctx.actor_name);
    let applicant = applicant(event);
    if event.kind == TicketEventKind::NoteAdded {
        return (
            format!("Ticket #{n}: new note from {who}"),
            format!("{who} added a note to ticket #{n}."),
        );
    }
    if let Some(timed) = timed::headline(event, &applicant) {
        return timed;
    }
    if event.kind == TicketEventKind::DeadlineChanged {
        return (
            format!("Ticket #{n}: new response date for {applicant}"),
            format!("{who} changed the date {applicant} must answer the offer on ticket #{n} by."),
        );
    }
    match (event.from_state, event.to_state) {
        (Some(TicketState::Initial), Some(TicketState::Granted)) => (
            format!("Ticket #{n} granted"),
            format!("{who} granted ticket #{n}: it can now be used for an offer."),
        ),
        (Some(TicketState::OfferRequested), Some(TicketState::Granted)) if ctx.withdrawn => (
            format!("Ticket #{n}: offer request for {applicant} withdrawn"),
            format!(
                "{who} withdrew the offer request for {applicant}; ticket #{n} can be used again."
            ),
        ),
        (Some(TicketState::OfferRequested), Some(TicketState::Granted)) => (
            format!("Ticket #{n}: offer request for {applicant} declined"),
            format!(
                "{who} declined the offer request for {applicant}; ticket #{n} can be used again."
            ),
        ),
        (_, Some(TicketState::OfferRequested)) => (
            format!("Ticket #{n}: offer requested for {applicant}"),
            format!("{who} asks for an offer to {applicant} on ticket #{n}; it awaits approval."),
        ),
        (_, Some(TicketState::OfferPending)) => (
            format!("Ticket #{n}: offer approved for {applicant}"),
            format!(
                "{who} approved the offer to {applicant} on ticket #{n}: start the hiring process."
            ),
        ),
        (_, Some(TicketState::OfferAccepted)) => (
            format!("Ticket #{n}: {applicant} accepted the offer"),
            format!("{applicant} accepted the offer on ticket #{n} (recorded by {who})."),
        ),
        (_, Some(TicketState::OfferRefused)) => (
            format!("Ticket #{n}: {applicant} refused the offer"),
            format!(
                "{applicant} refused the offer on ticket #{n} (recorded by {who}); the ticket can be used again."
            ),
        ),
        (_, Some(TicketState::Cancelled)) => (
            format!("Ticket #{n} cancelled"),
            format!("{who} cancelled ticket #{n}."),
        ),
        (_, to) => {
            let state = state_label(to.unwrap_or(event.state));
            (
                format!("Ticket #{n}: {state}"),
                format!("{who} changed ticket #{n}; it is now {state}."),
            )
        }
    }
}

/// `text` safe inside HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The link to the ticket's page in the web client.
pub fn ticket_link(public_url: &str, ticket_id: i64) -> String {
    format!("{}/tickets/{ticket_id}", public_url.trim_end_matches('/'))
}

/// Renders the email about `event` for the recipient in `ctx`.
pub fn render(event: &TicketEventMessage, ctx: &Context<'_>) -> Email {
    let Headline { subject, opening } = headline(event, ctx);
    let link = ticket_link(ctx.public_url, event.ticket_id);
    let mut fields = vec![
        ("Ticket", format!("#{}", event.ticket_number)),
        ("State", state_label(event.state).to_string()),
    ];
    if let Some(a) = &event.applicant {
        fields.push((
            "Applicant",
            format!("{} ({})", one_line(&a.name), one_line(&a.number)),
        ));
    }
    fields.push(("By", one_line(ctx.actor_name)));
    let detail_label = match event.kind {
        TicketEventKind::NoteAdded => "Note",
        TicketEventKind::DeadlineChanged
        | TicketEventKind::DeadlineReminder
        | TicketEventKind::DeadlinePassed => "Answer due by",
        TicketEventKind::WaitingReminder | TicketEventKind::WaitingEscalated => "Waiting",
        _ => "Reason",
    };
    let detail = event
        .detail
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match event.kind {
            TicketEventKind::DeadlineChanged
            | TicketEventKind::DeadlineReminder
            | TicketEventKind::DeadlinePassed => timed::local_time(d, ctx.zone),
            _ => d.to_owned(),
        });
    let detail = detail.as_deref();
    let footer = "You receive this email because of your part in this ticket. \
                  Turn these emails off under notification preferences in Tessera.";

    let mut text = format!("Hello {},\n\n{opening}\n\n", one_line(ctx.to_name));
    for (label, value) in &fields {
        text.push_str(&format!("{label}: {value}\n"));
    }
    if let Some(detail) = detail {
        text.push_str(&format!("{detail_label}:\n{detail}\n"));
    }
    text.push_str(&format!("\nOpen the ticket: {link}\n\n-- \n{footer}\n"));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\">\
         <p>Hello {},</p><p>{}</p><table>",
        escape(&one_line(ctx.to_name)),
        escape(&opening)
    );
    for (label, value) in &fields {
        html.push_str(&format!(
            "<tr><th align=\"left\">{label}</th><td>{}</td></tr>",
            escape(value)
        ));
    }
    html.push_str("</table>");
    if let Some(detail) = detail {
        html.push_str(&format!(
            "<p><strong>{detail_label}:</strong></p><blockquote style=\"white-space: pre-wrap\">{}</blockquote>",
            escape(detail)
        ));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">Open ticket #{}</a></p><hr><p style=\"color: #666\">{footer}</p></body></html>",
        escape(&link),
        event.ticket_number
    ));

    Email {
        to_email: ctx.to_email.to_string(),
        to_name: one_line(ctx.to_name),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ApplicantRef;

    fn approved() -> TicketEventMessage {
        TicketEventMessage {
            event_id: 1,
            ticket_id: 77,
            ticket_number: 1042,
            kind: TicketEventKind::StateChanged,
            actor_id: 5,
            from_state: Some(TicketState::OfferRequested),
            to_state: Some(TicketState::OfferPending),
            state: TicketState::OfferPending,
            owner_id: 2,
            supervisor_ids: vec![2],
            applicant: Some(ApplicantRef {
                number: "A-17".into(),
                name: "Ada <script>\r\nBcc: x@evil".into(),
            }),
            detail: Some("Strong file & good fit".into()),
            at: chrono::Utc::now(),
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            to_name: "Prof. Grace",
            to_email: "grace@example.edu",
            actor_name: "Chair Alan",
            withdrawn: false,
            public_url: "https://tessera.example.edu/",
            zone: chrono_tz::UTC,
        }
    }

    #[test]
    fn names_the_ticket_state_applicant_actor_and_link() {
        let email = render(&approved(), &ctx());
        assert_eq!(
            email.subject,
            "Ticket #1042: offer approved for Ada <script> Bcc: x@evil"
        );
        for needle in [
            "Hello Prof. Grace",
            "Ticket: #1042",
            "State: Offer pending",
            "Applicant: Ada <script> Bcc: x@evil (A-17)",
            "By: Chair Alan",
            "Reason:\nStrong file & good fit",
            "https://tessera.example.edu/tickets/77",
        ] {
            assert!(email.text.contains(needle), "{needle:?} in {}", email.text);
        }
        assert!(email.html.contains("Ada &lt;script&gt; Bcc: x@evil"));
        assert!(email.html.contains("Strong file &amp; good fit"));
        assert!(!email.html.contains("<script>"));
        assert!(
            email
                .html
                .contains("href=\"https://tessera.example.edu/tickets/77\"")
        );
    }

    #[test]
    fn a_return_to_granted_says_who_ended_the_request() {
        let mut event = approved();
        event.from_state = Some(TicketState::OfferRequested);
        event.to_state = Some(TicketState::Granted);
        event.state = TicketState::Granted;
        let declined = render(&event, &ctx());
        assert!(
            declined.subject.contains("declined"),
            "{}",
            declined.subject
        );
        let withdrawn = render(
            &event,
            &Context {
                withdrawn: true,
                ..ctx()
            },
        );
        assert!(
            withdrawn.subject.contains("withdrawn"),
            "{}",
            withdrawn.subject
        );
    }

    #[test]
    fn a_note_email_quotes_the_note() {
        let mut event = approved();
        event.kind = TicketEventKind::NoteAdded;
        event.from_state = None;
        event.to_state = None;
        event.detail = Some("Call her before Friday".into());
        let email = render(&event, &ctx());
        assert_eq!(email.subject, "Ticket #1042: new note from Chair Alan");
        assert!(email.text.contains("Note:\nCall her before Friday"));
    }

    #[test]
    fn a_new_response_date_says_by_when() {
        let mut event = approved();
        event.kind = TicketEventKind::DeadlineChanged;
        event.from_state = None;
        event.to_state = None;
        event.applicant = Some(ApplicantRef {
            number: "A-17".into(),
            name: "Ada Applicant".into(),
        });
        event.detail = Some("2027-04-15T23:59:59Z".into());
        let email = render(&event, &ctx());
        assert_eq!(
            email.subject,
            "Ticket #1042: new response date for Ada Applicant"
        );
        assert!(
            email
                .text
                .contains("Answer due by:\nThu 15 Apr 2027, 23:59 (UTC)"),
            "{}",
            email.text
        );
        // In the recipient's own zone: Toronto is four hours behind in April.
        let toronto = Context {
            zone: chrono_tz::America::Toronto,
            ..ctx()
        };
        assert!(
            render(&event, &toronto)
                .text
                .contains("Answer due by:\nThu 15 Apr 2027, 19:59 (America/Toronto)")
        );
    }

    /// Text a user could type: anything, with the characters that break markup and headers
    /// (and direction overrides) made likely.
    fn user_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            proptest::prelude::any::<String>(),
            "[a-z <>&\"'\\r\\n\\t\\x00\u{202E}\u{2066}\u{85}]{0,40}",
        ]
    }

    /// `text` with every character that is special in HTML replaced by a letter.
    fn defanged(text: &str) -> String {
        text.chars()
            .map(|c| if "<>&\"'".contains(c) { 'x' } else { c })
            .collect()
    }

    fn is_header_safe(text: &str) -> bool {
        !text.chars().any(|c| {
            c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(testkit::fuzz_cases(512)))]

        /// Whatever users typed and whatever happened: the subject and the recipient's name
        /// are one clean line (no header injection, no reversed names), and user text adds no
        /// markup to the HTML body: it has the same tags and quotes as the email rendered
        /// from the same text with the HTML-special characters replaced.
        #[test]
        fn user_text_never_breaks_headers_or_markup(
            to_name in user_text(),
            actor in user_text(),
            applicant_name in user_text(),
            applicant_number in user_text(),
            detail in proptest::option::of(user_text()),
            kind in proptest::sample::select(TicketEventKind::ALL),
            from in proptest::option::of(proptest::sample::select(TicketState::ALL)),
            to in proptest::option::of(proptest::sample::select(TicketState::ALL)),
            withdrawn in proptest::prelude::any::<bool>(),
            number in proptest::prelude::any::<i64>(),
        ) {
            let event = |defang: bool| {
                let f = |t: &str| if defang { defanged(t) } else { t.to_string() };
                TicketEventMessage {
                    ticket_number: number,
                    kind,
                    from_state: from,
                    to_state: to,
                    state: to.unwrap_or(TicketState::Granted),
                    applicant: Some(ApplicantRef {
                        number: f(&applicant_number),
                        name: f(&applicant_name),
                    }),
                    detail: detail.as_deref().map(f),
                    ..approved()
                }
            };
            let names = |defang: bool| {
                let f = |t: &str| if defang { defanged(t) } else { t.to_string() };
                (f(&to_name), f(&actor))
            };
            let (to_name, actor) = names(false);
            let ctx = Context { to_name: &to_name, actor_name: &actor, withdrawn, ..ctx() };
            let email = render(&event(false), &ctx);
            proptest::prop_assert!(is_header_safe(&email.subject), "{:?}", email.subject);
            proptest::prop_assert!(is_header_safe(&email.to_name), "{:?}", email.to_name);
            let (plain_to, plain_actor) = names(true);
            let plain = render(
                &event(true),
                &Context { to_name: &plain_to, actor_name: &plain_actor, ..ctx },
            );
            for special in ['<', '>', '"'] {
                proptest::prop_assert_eq!(
                    email.html.matches(special).count(),
                    plain.html.matches(special).count(),
                    "{:?} in {}", special, email.html
                );
            }
        }
    }
}
