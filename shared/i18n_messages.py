"""What a partner reads that the code says, marked for translation (shared/i18n.py).

The agency's default lists (organization types, goal categories, hazards, activities, priority
areas, divisions), the proposal form's and the report form's field names, and the messages
their checks give, by the English words the code uses: ``make translations`` extracts them
(``N_``) like the templates' ``_()``. A list the agency configures itself is shown as
configured. A message with a value in it (``PATTERNED``) is matched as a pattern and its values
kept (``translate_message``).

A test keeps ``LISTS`` the same as the lists the code holds.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks ``text`` for translation where it is defined; translated where it is shown."""
    return text


LISTS: tuple[str, ...] = (
    N_("Trade association"),
    N_("Professional organization"),
    N_("Educational institution"),
    N_("Government agency"),
    N_("Labor organization"),
    N_("Business or employer"),
    N_("Employee group"),
    N_("Raising awareness of the agency's rulemaking and enforcement initiatives"),
    N_("Training and education"),
    N_("Outreach and communication"),
    N_("Promoting the national dialogue on workplace safety and health"),
    N_("Short-term"),
    N_("Long-term"),
    N_("Falls"),
    N_("Struck-by"),
    N_("Caught-in or -between"),
    N_("Electrocution"),
    N_("Heat illness"),
    N_("Silica"),
    N_("Noise"),
    N_("Hazard communication"),
    N_("Ergonomics"),
    N_("Workplace violence"),
    N_("Trenching and excavation"),
    N_("Amputations"),
    N_("Respiratory protection"),
    N_("Provide member companies with information and guidance"),
    N_("Increase access to safety and health information and training resources"),
    N_("Use the partner's mailing lists to promote and disseminate information"),
    N_("Jointly develop training materials, safe work practices or best practices"),
    N_("Disseminate information at conferences, events, web pages, newsletters"),
    N_("Promote training programs and seminars"),
    N_("Present, exhibit or attend meetings, seminars and conferences"),
    N_("Mentor others to develop safety and health programs"),
    N_("Create learning opportunities for the agency, such as in-plant tours"),
    N_("Share best practices and technical information"),
    N_("Participate in roundtable discussions with industry-specific groups"),
    N_("Heat"),
    N_("Trenching"),
    N_("Consultation Education & Training"),
    N_("General Industry Safety & Health"),
    N_("Construction Safety & Health"),
    N_("National Office"),
    N_("Regional Office"),
    N_("Area Office"),
    N_("Organization name"),
    N_("Type of organization"),
    N_("Street address"),
    N_("City"),
    N_("State"),
    N_("ZIP code"),
    N_("Website"),
    N_("Members or employees reached"),
    N_("Industry"),
    N_("NAICS code"),
    N_("Contact name"),
    N_("Contact title"),
    N_("Phone"),
    N_("E-mail"),
    N_("Fax"),
    N_("Language for our messages"),
    N_("Hazards"),
    N_("Other hazards"),
    N_("Goals"),
    N_("Priority areas"),
    N_("Emerging issue"),
    N_("Expertise the agency lacks"),
    N_("Requested lead"),
    N_("Office"),
    N_("Existing relationship with the agency"),
    N_("category"),
    N_("short- or long-term"),
    N_("description"),
    N_("activities"),
    N_("other activities"),
    N_("measure of success"),
    # The partner's report (services/reporting/reports/content.py, submissions/forms.py).
    N_("Implementation team meetings"),
    N_("Dissemination of products"),
    N_("Outreach events and training for outside audiences"),
    N_("Training for agency staff"),
    N_("Products developed"),
    N_("Meeting date"),
    N_("Topic"),
    N_("Who attended"),
    N_("Type of product"),
    N_("Date"),
    N_("Description"),
    N_("Emphasis area"),
    N_("Number reached"),
    N_("Event"),
    N_("Audience"),
    N_("Title"),
    N_("meeting"),
    N_("dissemination"),
    N_("outreach event"),
    N_("staff training"),
    N_("product"),
    N_("Results"),
    N_("Obstacles"),
    N_("quarter"),
    N_("year"),
    # A report's status (services/reporting/figures/domain.py STATUS_LABELS).
    N_("Scheduled"),
    N_("Due soon"),
    N_("Due"),
    N_("Overdue"),
    N_("Submitted"),
    N_("Revision requested"),
    N_("Accepted"),
    N_("Cancelled"),
    # What a roundtable made, on the public directory (review's roundtables PRODUCT_KINDS).
    N_("Fact sheet"),
    N_("Toolbox talk"),
    N_("Webinar"),
    N_("Translation"),
    N_("Other"),
    # The annual evaluation's fundamental requirements and ratings, as the partner's e-mail
    # shows them (services/reporting/evaluations/domain.py REQUIREMENTS, RATINGS).
    N_("The implementation team meets regularly"),
    N_("The work plan is kept current"),
    N_("Reports are submitted on time"),
    N_("Outreach and communication goals are advanced"),
    N_("Training and education goals are advanced"),
    N_("Products are reviewed by the agency before release"),
    N_("Meets"),
    N_("Meets in part"),
    N_("Did not meet"),
    N_("Not applicable"),
    # The profile's signature closing every message (shared/config/mail.py MAIL_SIGNATURES).
    N_("The {agency} Alliance Program team"),
    N_("Consultation, Education and Training Division"),
    N_("U.S. Department of Labor"),
)

MESSAGES: tuple[str, ...] = (
    N_("This field is required."),
    N_("Remove the control characters from this text."),
    N_("Not a valid choice."),
    N_("Enter a 10-digit phone number, like 517-555-0100."),
    N_("Choose a state or territory from the list (its two-letter code, like MI)."),
    N_("Choose the state."),
    N_("Enter a 5-digit ZIP code, like 48933."),
    N_("Choose the type of organization."),
    N_("Enter a number from 0 up."),
    N_("Enter a NAICS code of 2 to 6 digits."),
    N_("Enter an e-mail address, like name@example.org."),
    N_("Choose short or long."),
    N_("Choose short-term or long-term."),
    N_("Choose which part of the agency should lead."),
    N_("Add at least one outreach and communication goal: every alliance must include one."),
    N_("Choose one of the agency's offices."),
    N_("Enter the contact's e-mail address: the link to your draft goes there."),
    N_("Enter the contact's e-mail address."),
    N_("Your submission could not be accepted."),
    N_("Your session expired. Start again from the form."),
    N_("Please wait a minute and try again."),
    N_("Something is wrong with the request"),
    N_("Something went wrong"),
    N_("Please try again"),
    N_("Too many requests"),
    N_("Link expired"),
    N_("Office level"),
    # The government a site belongs to, in the banner (AGENCY_GOVERNMENT's defaults).
    N_("the United States government"),
    N_("the State of Michigan"),
    N_("Lead division"),
    N_("Choose one of the offices listed."),
    N_("annual"),
    N_("quarterly"),
    N_("Annual"),
    N_("Quarterly"),
    N_("Choose English or Spanish."),
    N_(
        "For your security, this page timed out. Everything you typed is still below: "
        "check it and choose Submit or Save draft again."
    ),
    N_(
        "We received many requests from your network in a short time. Everything you "
        "typed is still below: wait a minute, then send it again."
    ),
    N_("Draft (not sent yet)"),
    N_("Submitted: waiting for review"),
    N_("Changes requested: please edit and resubmit"),
    N_("Resubmitted: waiting for review"),
    N_("Declined"),
    N_("Approved"),
    N_("Proposal"),
    # The partner's report form (services/reporting/submissions/schemas.py, reports/).
    N_("Enter a date like 2026-03-15 (year-month-day)."),
    N_("Enter a whole number, 0 or more."),
    N_("Choose an emphasis area from the list."),
    N_("Choose a state from the list."),
    N_("Choose Save draft or Submit."),
    N_("Tick the box or leave it empty."),
    N_("Enter at least one team meeting: its date, topic and who attended."),
    N_("Describe the results of at least one goal category."),
    N_("This link to the report has expired. Ask your agency liaison for a new one."),
    N_("This link to a report is not valid. Check that you copied the whole link."),
    N_("This report was cancelled; nothing is owed."),
    N_("This report was already submitted."),
    N_("Nothing was submitted yet: submit the report to print it."),
    N_("No such report."),
    N_("No such alliance."),
    # A refusal's title (shared/web.py REFUSAL_TITLES).
    N_("Not allowed"),
    N_("Not found"),
    N_("Not possible now"),
    N_("Please correct the request"),
    N_("Not accepted"),
)

# Messages with values in them: ``{name}`` stands for the value, in both languages.
PATTERNED: tuple[str, ...] = (
    N_("Enter 1 to {max} characters."),
    N_("Keep this to {max} characters or fewer."),
    N_("Choose at most {max}."),
    N_("Choose a type of organization from the list ({choices})."),
    N_("Choose one of: {choices}."),
    N_("Keep to {max} goals or fewer."),
    N_("Not on the agency's hazard list: {items}. Describe other hazards in hazards_other."),
    N_("Not one of the agency's priority areas: {items}."),
    N_(
        "Not on the program's activity list: {items}. Describe other activities in activities_other."  # noqa: E501
    ),
    N_("Choose a division: {items}."),
    N_("Choose an office level: {items}."),
    N_("Goal {number}, {field}"),
    N_(
        "Draft saved. We e-mailed a link to {email} so you can come back to it until {when}. "
        "Nothing has been sent to the agency yet."
    ),
    N_("At most {max} rows."),
    N_("This period ends on {day}: a report sent before then covers only part of the {part}."),
    N_("Enter a date within this report's period, {start} to {end}."),
    N_("Enter a date on or before today, {day}: a report tells what already happened."),
    N_(
        "Tick the box to send the report before its period ends on {day}, or save a draft "
        "and submit it after then."
    ),
)
