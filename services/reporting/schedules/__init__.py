"""Report schedules: which reports each term of an alliance owes, when each is due, when its
reminders go out, and how conclusion, termination and Ambassador designation cut them short.

``domain`` holds the rules as pure functions (SPEC "Report schedule: the rules"); storage,
the deadline sweep, the command and the API build on them.
"""
