"""Builders of test data. Each lives beside the tests of its service, in
tests/<service>/factories.py (those every service uses in tests/shared/factories.py);
this module gathers them all for the tests of the whole system (e2e, browser, faults).

==========================  ==========================================================
what                        builders
==========================  ==========================================================
a proposal, its event       ``proposal()``, ``submitted_event()``
a proposal in review        ``queued_proposal()``
staff                       ``staff_member()`` (an account), ``acting()`` (no account),
                            ``acting_as()``, ``COORDINATOR``, ``REVIEWER``, ``LIAISON``,
                            ``OTHER_LIAISON``
signed in                   ``signed_in()`` (a test client), ``staff_session()`` (the
                            cookie), ``csrf_header()`` (for an app that checks CSRF)
decisions                   ``approval()``, ``prepared_decision()``, ``release_decisions()``
an alliance                 ``approved_alliance()`` (awaiting its signing),
                            ``signed_alliance()``, ``record_signing()``
notify                      ``held_decision_message()``, ``conflict_declared_event()``
==========================  ==========================================================

Each builder makes its thing the way the system makes it (the event catalog's schemas, the
review domain's ``receive_submitted_proposal``, ``add_account``, ``prepare`` and
``release``, notify's ``record_message``), so that a test says only what matters to it.

Where a builder writes: its keyword ``session``.

- Given a session (``rolled_back("review")``, or one the test opened): the builder writes
  into it and flushes; it never commits. The test's transaction decides what is kept.
- No session: the builder opens its service's ``database.transaction()`` and commits before
  it returns, for a test that then goes through a web request or a worker (those tests use
  ``clean_databases``).

``using(database, session)`` gives a test's own helpers the same convention.

What a builder returns: the row it made (``StaffUser``, ``QueuedProposal``,
``PreparedDecision``, ``Alliance``, ``Message``). Sessions are made with
``expire_on_commit=False``, so a row's columns stay readable after the builder's own
transaction has committed (its relationships do not: read those in a session). Builders that
write nothing return plain values: a dict, an ``Event``, an ``Acting``, a test client.

Staff who need no account (most domain-level tests) are ``acting(...)``; ``LIAISON`` and
``OTHER_LIAISON`` are liaisons without an account, known to the builders' liaison lookup
(``liaison_lookup``), which also knows every active liaison account.
"""

from tests.intake.factories import proposal, submitted_event
from tests.notify.factories import deliver_queued_mail, held_decision_message
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.review.factories import (
    DECLINED,
    LIAISON,
    OTHER_LIAISON,
    PASSWORD,
    acting_as,
    agency_today,
    alliance_change_event,
    alliance_signed_event,
    approval,
    approved_alliance,
    conflict_declared_event,
    liaison_lookup,
    prepared_decision,
    queued_proposal,
    record_signing,
    release_decisions,
    signed_alliance,
    staff_member,
)
from tests.shared.factories import (
    COORDINATOR,
    REVIEWER,
    ROOFERS,
    acting,
    csrf_header,
    signed_in,
    staff_session,
    using,
)

__all__ = [
    "COORDINATOR",
    "DECLINED",
    "LIAISON",
    "OTHER_LIAISON",
    "PASSWORD",
    "REVIEWER",
    "ROOFERS",
    "acting",
    "acting_as",
    "agency_today",
    "alliance_change_event",
    "alliance_signed_event",
    "approval",
    "approved_alliance",
    "conflict_declared_event",
    "csrf_header",
    "deliver_queued_mail",
    "held_decision_message",
    "liaison_lookup",
    "partner_submits",
    "prepared_decision",
    "proposal",
    "queued_proposal",
    "record_signing",
    "release_decisions",
    "run_reporting_task",
    "signed_alliance",
    "signed_in",
    "staff_member",
    "staff_session",
    "submitted_event",
    "using",
]
