//! The scheduler's emails: a response date near or passed, a ticket waiting too long, and
//! its escalation. Nobody wrote them, so their subject and opening name what is due and, for
//! an escalation, the role it reached. Response dates read in the recipient's zone.

use common::{Role, TicketEventKind, TicketEventMessage};

/// A role as people say it.
fn role_label(role: Role) -> &'static str {
    match role {
        Role::Faculty => "faculty",
        Role::Fss => "faculty support staff",
        Role::BudgetDirector => "budget director",
        Role::AssociateChair => "associate chair",
        Role::GradOffice => "graduate office",
        Role::Admin => "administrator",
    }
}

/// The subject and opening of the scheduler's reminders, which nobody wrote: `None` for the
/// other kinds.
pub(super) fn headline(event: &TicketEventMessage, applicant: &str) -> Option<(String, String)> {
    let n = event.ticket_number;
    let state = super::state_label(event.state);
    Some(match event.kind {
        TicketEventKind::DeadlineReminder => (
            format!("Ticket #{n}: the answer from {applicant} is due soon"),
            format!(
                "The offer to {applicant} on ticket #{n} must be answered by the date below; no answer is recorded yet."
            ),
        ),
        TicketEventKind::DeadlinePassed => (
            format!("Ticket #{n}: the response date for {applicant} has passed"),
            format!(
                "The date {applicant} had to answer the offer on ticket #{n} by has passed, and no answer is recorded."
            ),
        ),
        TicketEventKind::WaitingReminder => (
            format!("Ticket #{n} has waited too long: {state}"),
            format!(
                "Ticket #{n} has been {state} for longer than its target; it waits for you to move it on."
            ),
        ),
        TicketEventKind::WaitingEscalated => (
            format!("Ticket #{n} escalated: {state} for too long"),
            format!(
                "Ticket #{n} has been {state} well past its target, and a reminder did not move it on: it is escalated to you as {}.",
                role_label(crate::recipients::escalated_to(event))
            ),
        ),
        _ => return None,
    })
}

/// A date the scheduler wrote (RFC 3339) as the recipient reads it: `Thu 15 Apr 2027, 19:59
/// (America/Toronto)`; anything else as it is.
pub(super) fn local_time(written: &str, zone: chrono_tz::Tz) -> String {
    match chrono::DateTime::parse_from_rfc3339(written) {
        Ok(at) => format!(
            "{} ({})",
            at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M"),
            zone.name()
        ),
        Err(_) => written.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, render};
    use common::{ApplicantRef, TicketEventKind, TicketEventMessage, TicketState};

    fn reminder() -> TicketEventMessage {
        TicketEventMessage {
            event_id: 1,
            ticket_id: 7,
            ticket_number: 1042,
            kind: TicketEventKind::DeadlineReminder,
            actor_id: 99,
            from_state: None,
            to_state: None,
            state: TicketState::OfferPending,
            owner_id: 2,
            supervisor_ids: vec![2],
            applicant: Some(ApplicantRef {
                number: "A-17".into(),
                name: "Ada Applicant".into(),
            }),
            detail: Some("2027-04-15T23:59:59Z".into()),
            at: chrono::Utc::now(),
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            to_name: "Grace Hopper",
            to_email: "grace@example.edu",
            actor_name: "Tessera",
            withdrawn: false,
            public_url: "https://tessera.example.edu",
            zone: chrono_tz::UTC,
        }
    }

    #[test]
    fn the_scheduler_s_emails_say_what_is_due_and_to_whom() {
        let mut event = reminder();
        let email = render(&event, &ctx());
        assert_eq!(
            email.subject,
            "Ticket #1042: the answer from Ada Applicant is due soon"
        );
        assert!(
            email
                .text
                .contains("Answer due by:\nThu 15 Apr 2027, 23:59 (UTC)")
        );
        event.kind = TicketEventKind::DeadlinePassed;
        assert_eq!(
            render(&event, &ctx()).subject,
            "Ticket #1042: the response date for Ada Applicant has passed"
        );
        event.state = TicketState::OfferRequested;
        event.kind = TicketEventKind::WaitingReminder;
        event.detail = Some("Waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z".into());
        let email = render(&event, &ctx());
        assert_eq!(
            email.subject,
            "Ticket #1042 has waited too long: Offer requested"
        );
        assert!(
            email
                .text
                .contains("Waiting:\nWaiting in OFFER_REQUESTED since")
        );
        event.kind = TicketEventKind::WaitingEscalated;
        event.detail = Some("ADMIN: waiting in OFFER_REQUESTED since 2027-03-01T09:00:00Z".into());
        let email = render(&event, &ctx());
        assert_eq!(
            email.subject,
            "Ticket #1042 escalated: Offer requested for too long"
        );
        assert!(email.text.contains("escalated to you as administrator."));
    }
}
