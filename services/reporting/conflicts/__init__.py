"""Reporting's copy of the conflicts of interest staff declared in review: domain.py
(recording ``staff.conflict_declared`` as ``base.StaffConflict``), views.py (the acting staff
member of a request). Who is acting and what a conflict hides are the floor's
(services/reporting/people.py): the partner, everywhere in reporting. This module only names
the part."""
