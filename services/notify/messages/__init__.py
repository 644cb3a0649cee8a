"""What to say to whom: one builder per event (domain.py; assignments.py, report_links.py and
staff_accounts.py for review's and reporting's one-off links), the Jinja environment
(render.py, over services/notify/templates/email/), the report calendars attached
(calendars.py) and the partner's signed links kept out of staff's sight (links.py)."""
