"""The agency's profile: lists that are configuration, not code.

One deployment serves one agency, either a state plan (MIOSHA's divisions, the default) or
federal OSHA (office levels). Every list can be replaced by an environment variable holding
comma-separated ``slug=Label`` pairs, for example
``AGENCY_HAZARDS="falls=Falls,heat=Heat illness"`` (declared with the other settings in
shared/config/agency.py; ``shared.config.load_agency_profile()`` gives the profile loaded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.offices import OfficeTree, state_plan_offices

Choices = dict[str, str]

ORGANIZATION_TYPES: Choices = {
    "trade_association": "Trade association",
    "professional_organization": "Professional organization",
    "educational_institution": "Educational institution",
    "government_agency": "Government agency",
    "labor_organization": "Labor organization",
    "business": "Business or employer",
    "employee_group": "Employee group",
}

GOAL_CATEGORIES: Choices = {
    "awareness": "Raising awareness of the agency's rulemaking and enforcement initiatives",
    "training_education": "Training and education",
    "outreach_communication": "Outreach and communication",
    "national_dialogue": "Promoting the national dialogue on workplace safety and health",
}
REQUIRED_GOAL_CATEGORY = "outreach_communication"

GOAL_TERMS: Choices = {"short": "Short-term", "long": "Long-term"}

DEFAULT_HAZARDS: Choices = {
    "falls": "Falls",
    "struck_by": "Struck-by",
    "caught_in_between": "Caught-in or -between",
    "electrocution": "Electrocution",
    "heat": "Heat illness",
    "silica": "Silica",
    "noise": "Noise",
    "hazard_communication": "Hazard communication",
    "ergonomics": "Ergonomics",
    "workplace_violence": "Workplace violence",
    "trenching": "Trenching and excavation",
    "amputations": "Amputations",
    "respiratory": "Respiratory protection",
}

# The MIOSHA list of example activities, in its order.
DEFAULT_ACTIVITIES: Choices = {
    "provide_guidance": "Provide member companies with information and guidance",
    "increase_access": "Increase access to safety and health information and training resources",
    "mailing_lists": "Use the partner's mailing lists to promote and disseminate information",
    "develop_training": "Jointly develop training materials, safe work practices or best practices",
    "disseminate_information": (
        "Disseminate information at conferences, events, web pages, newsletters"
    ),
    "promote_training": "Promote training programs and seminars",
    "present_exhibit": "Present, exhibit or attend meetings, seminars and conferences",
    "mentor": "Mentor others to develop safety and health programs",
    "learning_opportunities": (
        "Create learning opportunities for the agency, such as in-plant tours"
    ),
    "share_best_practices": "Share best practices and technical information",
    "roundtables": "Participate in roundtable discussions with industry-specific groups",
}

DEFAULT_PRIORITY_AREAS: Choices = {
    "falls": "Falls",
    "heat": "Heat",
    "silica": "Silica",
    "amputations": "Amputations",
    "trenching": "Trenching",
}

STATE_PLAN_DIVISIONS: Choices = {
    "consultation_education_training": "Consultation Education & Training",
    "general_industry_safety_health": "General Industry Safety & Health",
    "construction_safety_health": "Construction Safety & Health",
}

FEDERAL_OFFICES: Choices = {
    "national_office": "National Office",
    "regional_office": "Regional Office",
    "area_office": "Area Office",
}

PROFILES = ("state_plan", "federal")

# The report schedule each profile starts from (REPORT_QUARTERLY and
# REPORT_FISCAL_YEAR_START_MONTH replace them): federal OSHA asks for no quarterly reports and
# its fiscal year starts in October.
QUARTERLY_REPORTS: dict[str, bool] = {"state_plan": True, "federal": False}
FISCAL_YEAR_START_MONTH: dict[str, int] = {"state_plan": 1, "federal": 10}


@dataclass(frozen=True)
class AgencyProfile:
    profile: str
    name: str
    hazards: Choices
    activities: Choices
    priority_areas: Choices
    divisions: Choices
    # Whose official website this is (the banner atop every page): a state plan's state.
    government: str = "the United States government"
    # Who an alliance, a proposal and a staff member belong to (shared/offices.py).
    offices: OfficeTree = field(
        default_factory=lambda: state_plan_offices("MIOSHA", STATE_PLAN_DIVISIONS)
    )

    @property
    def federal(self) -> bool:
        return self.profile == "federal"

    @property
    def offices_tell_more(self) -> bool:
        """Whether the offices say more than the divisions: not for a State Plan whose offices
        are its divisions under the agency (there, by division is by office)."""
        return {o.slug for o in self.offices if o.parent} != set(self.divisions)

    def office_of_division(self, division: str) -> str:
        """The office a proposal that names only its lead division (or office level) belongs
        to: the division's own office where the tree has one (a State Plan's divisions are its
        offices), otherwise the top office, which sees and routes everything."""
        return division if division in self.offices else self.offices.top.slug

    def division_of_office(self, office: str) -> str | None:
        """The lead division (or office level) an office stands for, None when it stands for
        none. Federal: the office's level in the tree (the National Office, a Region, an Area
        Office or anything under one); a State Plan: the office when it is a division."""
        if self.federal:
            levels = list(self.divisions)
            return levels[min(self.offices.depth(office), len(levels) - 1)] if levels else None
        return office if office in self.divisions else None

    @property
    def goal_categories(self) -> Choices:
        # Only federal OSHA has the national-dialogue category.
        if self.federal:
            return dict(GOAL_CATEGORIES)
        return {k: v for k, v in GOAL_CATEGORIES.items() if k != "national_dialogue"}
