"""Reporting's copy of the conflicts of interest staff declared in review: domain.py records
``staff.conflict_declared`` as ``base.StaffConflict``. Who is acting and what a conflict hides
(the partner, everywhere in reporting) are the floor's (services/reporting/people.py). This
module only names the part."""
