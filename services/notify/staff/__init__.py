"""Who the staff are, as notify knows them from review's events: the conflicts of interest
they declared (conflicts.py, also who is acting in a request) and the active Coordinators, who
get the Coordinator's mail (coordinators.py)."""
