"""Reporting's copy of the conflicts of interest staff declared in review: models.py
(StaffConflict), domain.py (recording ``staff.conflict_declared``; the conflicts of the acting
staff member, which ``current_acting()`` reads; ``hidden_from``, the one rule of what a conflict
hides). A conflict hides the partner from the person everywhere in reporting: a read of its
alliance is refused, a read of many leaves it out with a note, and reviewing its reports or
evaluating it is refused. This module only names the part."""
