"""Review's staff pages for roundtables over HTTP, committed on real PostgreSQL
(``clean_databases``): the list and the form that creates a roundtable or a workgroup, a
roundtable's page with its members, meetings and products; bad input shown inline (422,
nothing typed lost), who may do what, and the products on the public directory."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.review import create_app
from services.review.alliances.models import Roundtable
from services.review.roundtables import domain as roundtables
from services.review.roundtables.schemas import RoundtablePageOut
from services.review.worker import database
from tests.helpers import stored_rows
from tests.review.factories import agency_today, roundtable, signed_alliance, staff_member
from tests.shared.factories import COORDINATOR, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

TODAY = agency_today()
STARTED = TODAY - timedelta(days=200)


def long(day):
    return day.strftime("%B %-d, %Y")


def stored(roundtable_id):
    with database.transaction() as session:
        page = roundtables.roundtable_page(
            session, roundtable_id=roundtable_id, acting=COORDINATOR, today=agency_today()
        )
        return RoundtablePageOut().dump(page)


@pytest.fixture
def people():
    with database.transaction() as session:
        return {
            "coordinator": staff_member(
                "cora@agency.example", "coordinator", name="Cora Coordinator", session=session
            ),
            "reviewer": staff_member("rev@agency.example", "reviewer", session=session),
            "lee": staff_member("lee@agency.example", "liaison", session=session),
        }


@pytest.fixture
def alliances():
    """Two signed alliances that may join a roundtable."""
    signed = TODAY - timedelta(days=400)
    return {
        "roofers": signed_alliance("Roofers Guild", signing_date=signed).id,
        "glaziers": signed_alliance("Glaziers Union", signing_date=signed).id,
    }


def test_the_coordinator_creates_a_roundtable_and_a_workgroup(review_app, people):
    cora = signed_in(review_app, people["coordinator"])
    html = cora.get("/staff/roundtables").get_data(as_text=True)
    assert "<h1>Roundtables</h1>" in html
    assert "No roundtables yet." in html
    assert "Create a roundtable or add a workgroup" in html
    assert 'href="/staff/roundtables"' in html  # the staff navigation's link

    # Bad input: the form again, with the errors beside the fields and what was typed.
    refused = cora.post(
        "/staff/roundtables",
        data={"name": " ", "starts_on": "2026-13-01", "description": "Heat and shade"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "There are 2 problems" in html
    assert 'href="#roundtable-name"' in html
    assert 'id="roundtable-name-error"' in html
    assert "Give the roundtable&#39;s name." in html
    assert 'href="#roundtable-starts-on"' in html
    assert "Give a date (YYYY-MM-DD)." in html
    assert ">Heat and shade</textarea>" in html
    assert 'value="2026-13-01"' in html
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Roundtable)) == 0

    made = cora.post(
        "/staff/roundtables",
        data={"name": "Heat Roundtable", "starts_on": STARTED.isoformat(), "ends_on": ""},
    )
    assert made.status_code == 303
    with database.transaction() as session:
        heat = session.scalars(select(Roundtable)).one().id
    assert made.headers["Location"] == f"/staff/roundtables/{heat}"
    page = cora.get(made.headers["Location"]).get_data(as_text=True)
    assert f"Roundtable created: Heat Roundtable, from {long(STARTED)}." in page
    assert "<h1>Heat Roundtable</h1>" in page
    for form in ("Add a workgroup", "Add an alliance", "Record a meeting", "Record a product"):
        assert form in page

    # A workgroup that would start before its roundtable is refused beside its field.
    early = cora.post(
        f"/staff/roundtables/{heat}/workgroups",
        data={"name": "Shade Workgroup", "starts_on": (STARTED - timedelta(days=1)).isoformat()},
    )
    assert early.status_code == 422
    assert 'id="workgroup-starts-on-error"' in early.get_data(as_text=True)
    added = cora.post(
        f"/staff/roundtables/{heat}/workgroups",
        data={"name": "Shade Workgroup", "starts_on": TODAY.isoformat()},
    )
    assert (added.status_code, added.headers["Location"]) == (
        303,
        f"/staff/roundtables/{heat}#workgroups",
    )
    # The list's form makes a workgroup too, of the roundtable chosen.
    also = cora.post(
        "/staff/roundtables",
        data={"name": "Water Workgroup", "starts_on": TODAY.isoformat(), "parent_id": str(heat)},
    )
    assert also.status_code == 303
    listing = cora.get("/staff/roundtables").get_data(as_text=True)
    assert "Workgroup created: Water Workgroup" in listing  # the flashed messages first
    listing = listing.split("<tbody>")[1]
    assert listing.index("Heat Roundtable") < listing.index("Shade Workgroup")
    assert listing.index("Shade Workgroup") < listing.index("Water Workgroup")
    assert [w["name"] for w in stored(heat)["workgroups"]] == ["Shade Workgroup", "Water Workgroup"]


def test_the_coordinator_adds_and_removes_members(review_app, people, alliances):
    with database.transaction() as session:
        heat = roundtable(session, "Heat Roundtable", STARTED)
    cora = signed_in(review_app, people["coordinator"])
    page = f"/staff/roundtables/{heat}"
    html = cora.get(page).get_data(as_text=True)
    assert f'<option value="{alliances["roofers"]}">Roofers Guild (AP-' in html

    # Not chosen, and a day before the roundtable: inline, with the day kept.
    early = (STARTED - timedelta(days=1)).isoformat()
    refused = cora.post(f"{page}/members", data={"alliance_id": "", "joined_on": early})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'href="#member-alliance-id"' in html
    assert "Choose the alliance." in html
    assert f'value="{early}"' in html
    wrong_day = cora.post(
        f"{page}/members", data={"alliance_id": str(alliances["roofers"]), "joined_on": early}
    )
    assert wrong_day.status_code == 422
    assert "Heat Roundtable runs from" in wrong_day.get_data(as_text=True)

    joined = cora.post(
        f"{page}/members",
        data={"alliance_id": str(alliances["roofers"]), "joined_on": STARTED.isoformat()},
    )
    assert (joined.status_code, joined.headers["Location"]) == (303, f"{page}#members")
    html = cora.get(page).get_data(as_text=True)
    assert f"Roofers Guild is a member from {long(STARTED)}." in html
    assert "Remove Roofers Guild" in html
    # It is no longer offered; the other alliance is.
    assert f'<option value="{alliances["roofers"]}"' not in html
    assert f'<option value="{alliances["glaziers"]}"' in html
    [member] = stored(heat)["memberships"]

    # Joining twice, sent from a page shown before: the page says why (409), nothing stored.
    again = cora.post(
        f"{page}/members",
        data={"alliance_id": str(alliances["roofers"]), "joined_on": TODAY.isoformat()},
    )
    assert again.status_code == 409
    assert 'id="member-problem"' in again.get_data(as_text=True)

    leave = f"{page}/members/{member['id']}/departure"
    future = cora.post(leave, data={"left_on": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    html = future.get_data(as_text=True)
    assert f'id="leave-{member["id"]}-left-on-error"' in html
    assert "Record the departure once it has happened." in html
    left = cora.post(leave, data={"left_on": TODAY.isoformat()})
    assert left.status_code == 303
    html = cora.get(page).get_data(as_text=True)
    assert f"Roofers Guild leaves: its last day as a member is {long(TODAY)}." in html
    assert "Remove Roofers Guild" not in html
    [member] = stored(heat)["memberships"]
    assert (member["joined_on"], member["left_on"]) == (STARTED.isoformat(), TODAY.isoformat())
    unknown = f"{page}/members/{uuid.uuid4()}/departure"
    assert cora.post(unknown, data={"left_on": TODAY.isoformat()}).status_code == 404


def test_the_coordinator_records_meetings_and_products_shown_on_the_directory(review_app, people):
    with database.transaction() as session:
        heat = roundtable(session, "Heat Roundtable", STARTED)
    cora = signed_in(review_app, people["coordinator"])
    page = f"/staff/roundtables/{heat}"

    # A meeting: no topic and a day to come, each beside its field, what was typed kept.
    refused = cora.post(
        f"{page}/meetings",
        data={
            "held_on": (TODAY + timedelta(days=2)).isoformat(),
            "topic": "",
            "attendees": "Roofers Guild; Glaziers Union",
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "There is a problem" in html  # the schema's: no topic (the day comes after it)
    assert 'href="#meeting-topic"' in html
    assert "Give the meeting&#39;s topic." in html
    assert ">Roofers Guild; Glaziers Union</textarea>" in html
    later = cora.post(
        f"{page}/meetings",
        data={"held_on": (TODAY + timedelta(days=2)).isoformat(), "topic": "Shade"},
    )
    assert later.status_code == 422
    assert 'id="meeting-held-on-error"' in later.get_data(as_text=True)
    held = TODAY - timedelta(days=3)
    met = cora.post(
        f"{page}/meetings",
        data={
            "held_on": held.isoformat(),
            "topic": "Shade at work sites",
            "summary": "Pop-up tents work.",
            "attendees": "Roofers Guild",
        },
    )
    assert (met.status_code, met.headers["Location"]) == (303, f"{page}#meetings")
    html = cora.get(page).get_data(as_text=True)
    assert f"Meeting on {long(held)} recorded: Shade at work sites." in html
    assert f"{long(held)}: Shade at work sites" in html
    assert "Attended: Roofers Guild" in html
    assert "recorded by Cora Coordinator" in html

    # A product: a link that is no web address is refused inline; labels, never slugs.
    bad = {
        "kind": "toolbox_talk",
        "title": "Heat Stress: Know the Signs",
        "published_on": TODAY.isoformat(),
        "url": "javascript:alert(1)",
        "public": "1",
    }
    refused = cora.post(f"{page}/products", data=bad)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'href="#product-url"' in html
    assert 'id="product-url-error"' in html
    assert "Give a web address starting with https:// (or http://)." in html
    assert 'value="Heat Stress: Know the Signs"' in html
    assert "Toolbox talk" in html
    assert ">toolbox_talk<" not in html
    no_kind = cora.post(f"{page}/products", data={**bad, "kind": "", "url": ""})
    assert no_kind.status_code == 422
    assert "Choose what it is: fact sheet, toolbox talk" in no_kind.get_data(as_text=True)
    assert stored(heat)["products"] == []

    shown = cora.post(f"{page}/products", data={**bad, "url": "https://agency.example/heat"})
    assert (shown.status_code, shown.headers["Location"]) == (303, f"{page}#products")
    kept = cora.post(
        f"{page}/products",
        data={**bad, "kind": "webinar", "title": "Draft webinar", "url": "", "public": "0"},
    )
    assert kept.status_code == 303
    html = cora.get(page).get_data(as_text=True)
    assert "Product recorded: Draft webinar, not listed on the public directory." in html
    assert '<a class="usa-link" href="https://agency.example/heat"' in html
    assert "(toolbox talk), published" in html
    assert "Not on the public directory" in html
    listed, hidden = sorted(stored(heat)["products"], key=lambda p: p["title"])[::-1]
    assert (listed["public"], hidden["public"]) == (True, False)

    public = create_app({"TESTING": True}).test_client()
    directory = public.get("/directory").get_data(as_text=True)
    assert "Products of the roundtables" in directory
    assert 'href="https://agency.example/heat">Heat Stress: Know the Signs</a>' in directory
    assert "(Toolbox talk)" in directory
    assert f"Heat Roundtable, published {long(TODAY)}" in directory
    assert "Draft webinar" not in directory

    # Listed and taken off again; then removed: it leaves the directory.
    off = cora.post(f"{page}/products/{listed['id']}/listing", data={"public": "0"})
    assert off.status_code == 303
    assert "Heat Stress" not in public.get("/directory").get_data(as_text=True)
    on = cora.post(f"{page}/products/{hidden['id']}/listing", data={"public": "1"})
    assert on.status_code == 303
    assert "Draft webinar" in public.get("/directory").get_data(as_text=True)
    gone = cora.post(f"{page}/products/{hidden['id']}/removal", data={})
    assert gone.status_code == 303
    assert "The product is removed" in cora.get(page).get_data(as_text=True)
    assert "Draft webinar" not in public.get("/directory").get_data(as_text=True)
    assert cora.post(f"{page}/products/{hidden['id']}/removal", data={}).status_code == 404


def test_other_staff_read_the_pages_and_are_refused_every_form(review_app, people, alliances):
    with database.transaction() as session:
        heat = roundtable(session, "Heat Roundtable", STARTED)
        member = roundtables.join(
            session,
            roundtable_id=heat,
            alliance_id=alliances["roofers"],
            joined_on=STARTED,
            acting=COORDINATOR,
            today=agency_today(),
        ).membership.id
        product = roundtables.record_product(
            session,
            roundtable_id=heat,
            kind="fact_sheet",
            title="Shade",
            published_on=TODAY,
            acting=COORDINATOR,
            today=agency_today(),
        ).id
    page = f"/staff/roundtables/{heat}"
    before = stored_rows(database)
    for person in ("reviewer", "lee"):
        client = signed_in(review_app, people[person])
        html = client.get(page).get_data(as_text=True)
        assert "<h1>Heat Roundtable</h1>" in html
        assert "Roofers Guild" in html
        assert "Shade" in html
        for form in ("Add a workgroup", "Add an alliance", "Record a meeting", "Record a product"):
            assert form not in html
        assert "Remove Roofers Guild" not in html
        assert "The Coordinator keeps the roundtables" in html
        listing = client.get("/staff/roundtables").get_data(as_text=True)
        assert "Heat Roundtable" in listing
        assert "Create a roundtable" not in listing
        for url, data in (
            ("/staff/roundtables", {"name": "Mine", "starts_on": TODAY.isoformat()}),
            (f"{page}/workgroups", {"name": "Mine", "starts_on": TODAY.isoformat()}),
            (f"{page}/members", {"alliance_id": str(alliances["glaziers"])}),
            (f"{page}/members/{member}/departure", {"left_on": TODAY.isoformat()}),
            (f"{page}/meetings", {"held_on": TODAY.isoformat(), "topic": "Mine"}),
            (f"{page}/products", {"kind": "other", "title": "Mine"}),
            (f"{page}/products/{product}/listing", {"public": "0"}),
            (f"{page}/products/{product}/removal", {}),
            (f"{page}/meetings", {}),  # refused before any field is read
        ):
            assert client.post(url, data=data).status_code == 403, (person, url)
    assert stored_rows(database) == before
    reviewer = signed_in(review_app, people["reviewer"])
    assert reviewer.get(f"/staff/roundtables/{uuid.uuid4()}").status_code == 404


def test_text_no_one_can_type_is_shown_beside_its_field(review_app, people):
    with database.transaction() as session:
        heat = roundtable(session, "Heat Roundtable", STARTED)
    cora = signed_in(review_app, people["coordinator"])
    refused = cora.post(
        f"/staff/roundtables/{heat}/products",
        data={
            "kind": "fact_sheet",
            "title": "Shade\x00",
            "published_on": TODAY.isoformat(),
            "public": "1",
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="product-title-error"' in html
    assert "Remove the control character U+0000" in html
    assert stored(heat)["products"] == []
