"""Every user-facing Discord string, in one place."""

from __future__ import annotations

from bot.view import Button

BUTTON_LABELS = {
    Button.CLAIM: "Claim",
    Button.COMPLETE: "Complete",
    Button.RESOLVE: "Resolve",
    Button.RELEASE: "Release",
    Button.REOPEN: "Reopen",
}

STATUS_LINES = {
    "received": "New, being triaged",
    "triaged": "Triaged, being routed",
    "assigned": "Suggested for {assignee}",
    "queued": "Waiting in the queue",
    "claimed": "Claimed by {assignee}",
    "completed": "Completed by {assignee}",
    "resolved": "Resolved",
}

FIELD_STATUS = "Status"
FIELD_CATEGORY = "Category"
FIELD_URGENCY = "Urgency"
FIELD_REQUESTER = "Requester"
FIELD_DUE = "Due"
FIELD_SUGGESTED_REPLY = "Suggested reply"
NEEDS_REVIEW = "needs review"
NOBODY = "nobody yet"

RECEIPT = "Ticket **{id}** created: {subject}\nWe triage it now; use `/ticket-status id:{id}` to follow it."
RECEIPT_REPEAT = "This request is already ticket **{id}**: {subject}"
NO_TEXT_IN_MESSAGE = "That message has no text to file as a ticket."
EMPTY_TICKET = "Please describe the problem: the ticket text is empty."
TICKET_NOT_FOUND = "There is no ticket **{id}**."
QUEUE_EMPTY = "The queue is empty: every ticket is claimed or closed."
QUEUE_TITLE = "Queue: {size} waiting"
QUEUE_LINE = "`{id}` {urgency} · {status} · {subject}"
QUEUE_MORE = "…and {more} more"
STILL_WORKING = "Still working on this request; please wait a moment."
UNKNOWN_INTERACTION = "Sorry, this bot does not know that command."

NOT_AN_AGENT = "Only registered agents can do that. Ask an admin to add your Discord user id to your agent profile."
ALREADY_CLAIMED = "**{id}** is already claimed by {holder}."
NOT_HOLDER = "Only {holder}, who holds **{id}**, can {action} it."
ILLEGAL = "**{id}** is {status} now, so it cannot be {done}."
DONE = {"claim": "claimed", "complete": "completed", "resolve": "resolved", "release": "released",
        "reopen": "reopened"}
AT_CAPACITY = "You are at capacity: complete or release a ticket first."
GONE = "Ticket **{id}** no longer exists."
BUSY = "**{id}** kept changing under us; please try again."

MODAL_NEW_TITLE = "New support ticket"
MODAL_SUBJECT = "Subject"
MODAL_SUBJECT_HINT = "One line: what is wrong?"
MODAL_BODY = "Details"
MODAL_BODY_HINT = "What happened, what you expected, who is affected"
MODAL_NOTE_TITLE = "Resolve {id}"
MODAL_NOTE = "Resolution note"
MODAL_NOTE_HINT = "What fixed it (optional)"

SLA_REMINDER = "⏰ **{id}** is due {due}."
SLA_ESCALATED = "🚨 **{id}** is past its due time.{lead}"
ESCALATION_LEAD = " Escalating to {lead}."
REQUESTER_CLAIMED = "Your ticket **{id}** ({subject}) is being handled by {agent}."
REQUESTER_RESOLVED = "Your ticket **{id}** ({subject}) is resolved.{note}"
REQUESTER_NOTE = "\nNote: {note}"
AUTO_UNCLAIMED = "↩️ **{id}** had no activity and went back to the queue."
FAILED = "Sorry, that did not work. Please try again in a moment."
TRY_AGAIN = "That took too long; please press the button again."
BAD_SIGNATURE = "the request signature is missing, invalid or stale"
BAD_INTERACTION = "the interaction payload is not valid"

# Application command descriptions (registered by `python -m bot discord-register` and by gateway mode).
DESCRIBE_TICKET = "Open a support ticket"
DESCRIBE_TEXT = "What is wrong? Leave empty for a form"
DESCRIBE_STATUS = "Show a ticket's status"
DESCRIBE_ID = "Ticket id, e.g. T-7K3QX9M2PD"
DESCRIBE_QUEUE = "Show the tickets waiting for an agent"
