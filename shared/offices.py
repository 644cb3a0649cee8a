"""The agency's offices, as a tree: who an alliance, a proposal or a staff member belongs to.

Federal OSHA signs alliances at its National Office, its ten Regions and their Area Offices; a
State Plan such as MIOSHA signs them with one of its divisions. A Coordinator of an office
decides and sees what belongs to that office and to the offices under it (``within``); alerts
and escalations for an office without a Coordinator go up the tree (``upward``).

The tree is configuration, like the profile's other lists: ``AGENCY_OFFICES`` replaces the
profile's default with comma-separated ``slug=Name`` items, the first the top office and each
other naming its parent office after ``>``, for example
``AGENCY_OFFICES="miosha=MIOSHA,cet=Consultation Education & Training>miosha"``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources


class OfficeTreeError(ValueError):
    """The offices do not make one tree; the message says which office and why."""


@dataclass(frozen=True)
class Office:
    slug: str
    name: str
    parent: str | None  # None for the top office


@dataclass(frozen=True)
class OfficeTree:
    """Offices in the order the profile gives them (a parent before its children), checked to
    make one tree under one top office."""

    offices: tuple[Office, ...]
    _by_slug: dict[str, Office] = field(init=False, repr=False, compare=False)
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_slug: dict[str, Office] = {}
        for office in self.offices:
            if office.slug in by_slug:
                raise OfficeTreeError(f"the office {office.slug!r} is named twice")
            by_slug[office.slug] = office
        tops = [office.slug for office in self.offices if office.parent is None]
        if len(tops) != 1:
            raise OfficeTreeError(
                f"there must be one top office, with no parent; there are {len(tops)}"
                + (f" ({', '.join(tops)})" if tops else "")
            )
        children: dict[str, list[str]] = {slug: [] for slug in by_slug}
        for office in self.offices:
            if office.parent is None:
                continue
            if office.parent not in by_slug:
                raise OfficeTreeError(
                    f"the office {office.slug!r} names {office.parent!r} as its parent, "
                    "which is not an office"
                )
            children[office.parent].append(office.slug)
        # Every office must lead up to the top one; an office that does not is in a loop.
        for office in self.offices:
            seen = {office.slug}
            parent = office.parent
            while parent is not None:
                if parent in seen:
                    raise OfficeTreeError(f"the office {office.slug!r} is its own ancestor")
                seen.add(parent)
                parent = by_slug[parent].parent
        object.__setattr__(self, "_by_slug", by_slug)
        object.__setattr__(
            self, "_children", {slug: tuple(kids) for slug, kids in children.items()}
        )

    @property
    def top(self) -> Office:
        return next(office for office in self.offices if office.parent is None)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def __iter__(self) -> Iterator[Office]:
        return iter(self.offices)

    def __len__(self) -> int:
        return len(self.offices)

    def get(self, slug: str) -> Office:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise KeyError(f"{slug!r} is not one of the agency's offices") from None

    def name(self, slug: str) -> str:
        return self.get(slug).name

    def children(self, slug: str) -> tuple[Office, ...]:
        self.get(slug)
        return tuple(self._by_slug[kid] for kid in self._children[slug])

    def upward(self, slug: str) -> tuple[Office, ...]:
        """The office, its parent, and so on up to the top office: where an alert for the
        office goes when an office has no Coordinator of its own."""
        path = [self.get(slug)]
        while path[-1].parent is not None:
            path.append(self._by_slug[path[-1].parent])
        return tuple(path)

    def within(self, slug: str) -> frozenset[str]:
        """The office and every office under it: what a Coordinator of the office sees."""
        found = {slug}
        stack = [slug]
        self.get(slug)
        while stack:
            for kid in self._children[stack.pop()]:
                found.add(kid)
                stack.append(kid)
        return frozenset(found)

    def covers(self, slug: str, other: str) -> bool:
        """Whether ``other`` is ``slug`` or under it."""
        return any(office.slug == slug for office in self.upward(other))

    def depth(self, slug: str) -> int:
        return len(self.upward(slug)) - 1

    def label(self, slug: str) -> str:
        """The office's name, followed by the office two levels up where there is one (an
        Area Office by its Region): enough to tell offices of the same name apart."""
        path = self.upward(slug)
        return path[0].name if len(path) < 3 else f"{path[0].name}, {path[-2].name}"

    def labelled_choices(self, scope: frozenset[str] | None = None) -> dict[str, str]:
        """slug → ``label``, parents before children: a form's list of every office, or of
        those in ``scope`` (``office_scope``; None: every office)."""
        return {
            office.slug: self.label(office.slug)
            for office in self.offices
            if scope is None or office.slug in scope
        }

    def subtree(self, slug: str) -> frozenset[str]:
        """``within``, for a filter: an office the tree no longer has is only itself."""
        return self.within(slug) if slug in self else frozenset({slug})

    def choices(self) -> dict[str, str]:
        """slug → name, parents before children, for a form's list."""
        return {office.slug: office.name for office in self.offices}


def office_scope(office: str, tree: OfficeTree) -> frozenset[str] | None:
    """The offices a member of staff of ``office`` sees and acts for: None for every office
    (the top office, or "" for staff placed at the top), otherwise ``office`` and the offices
    under it. An office the tree no longer has sees only itself (nothing moves to it), never
    everything: a stale account must not widen."""
    if not office or office == tree.top.slug:
        return None
    if office not in tree:
        return frozenset({office})
    return tree.within(office)


def in_scope(scope: frozenset[str] | None, office: str | None) -> bool:
    """Whether something of ``office`` is in ``scope`` (None: every office; something with no
    office belongs to the top office, so only the top office sees it)."""
    return scope is None or (office is not None and office in scope)


def parse_offices(raw: str) -> OfficeTree:
    """``slug=Name`` items separated by commas: the first is the top office, every other one
    ends in ``>parent``. Raises OfficeTreeError with the reason."""
    offices: list[Office] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        slug, equals, rest = item.partition("=")
        slug = slug.strip()
        if not equals:
            raise OfficeTreeError(f"{item.strip()!r} is not slug=Name")
        if not (slug.isascii() and slug.replace("_", "").isalnum() and slug == slug.lower()):
            raise OfficeTreeError(f"{slug!r} is not a slug (lower-case letters, digits and _)")
        name, arrow, parent = rest.partition(">")
        name = name.strip()
        if not name:
            raise OfficeTreeError(f"the office {slug!r} has no name")
        if arrow and not parent.strip():
            raise OfficeTreeError(f"the office {slug!r} names no parent after '>'")
        offices.append(Office(slug, name, parent.strip() if arrow else None))
    if not offices:
        raise OfficeTreeError("it lists no office")
    return OfficeTree(tuple(offices))


def state_plan_offices(agency: str, divisions: dict[str, str]) -> OfficeTree:
    """A State Plan's default tree: the agency on top, its divisions under it (MIOSHA's three,
    or AGENCY_DIVISIONS when set)."""
    return OfficeTree(
        (
            Office("agency", agency, None),
            *(Office(slug, name, "agency") for slug, name in divisions.items()),
        )
    )


# Federal OSHA: the National Office, its ten Regions (named by number and the city of the
# regional office) and their Area Offices. The Area Offices and the region each belongs to are
# a data file beside this module (federal_area_offices.csv: slug, name, parent), from OSHA's
# published list of area offices; an agency whose offices changed replaces the whole tree
# with AGENCY_OFFICES.
_REGIONS = (
    ("I", "Boston"),
    ("II", "New York"),
    ("III", "Philadelphia"),
    ("IV", "Atlanta"),
    ("V", "Chicago"),
    ("VI", "Dallas"),
    ("VII", "Kansas City"),
    ("VIII", "Denver"),
    ("IX", "San Francisco"),
    ("X", "Seattle"),
)


def _federal_area_offices() -> tuple[Office, ...]:
    text = resources.files(__package__).joinpath("federal_area_offices.csv").read_text("utf-8")
    return tuple(
        Office(row["slug"], row["name"], row["parent"]) for row in csv.DictReader(io.StringIO(text))
    )


FEDERAL_OFFICE_TREE = OfficeTree(
    (
        Office("national_office", "National Office", None),
        *(
            Office(f"region_{number}", f"Region {roman} ({city})", "national_office")
            for number, (roman, city) in enumerate(_REGIONS, start=1)
        ),
        *_federal_area_offices(),
    )
)
