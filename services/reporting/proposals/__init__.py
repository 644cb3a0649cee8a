"""Reporting's copy of each proposal's status, for the Coordinator's dashboard (proposals by
status and by state): models.py (ReportingProposal: proposal id, reference, the organization's
state, status, version), domain.py (recording intake's ``proposal.submitted`` and
``proposal.resubmitted`` and review's ``proposal.changes_requested``, ``proposal.declined``
and ``proposal.approved`` idempotently; an older version changes nothing). This module only
names the part."""
