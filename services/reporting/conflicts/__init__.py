"""Reporting's copy of the conflicts of interest staff declared in review: models.py
(StaffConflict), domain.py (recording ``staff.conflict_declared``; the acting staff member with
their conflicts). A conflict leaves an alliance's reports readable but refuses reviewing them
and evaluating the alliance. This module only names the part."""
