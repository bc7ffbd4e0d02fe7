"""ListFunctions pagination, driven by botocore's Stubber: a fake, because moto answers
``list_functions`` in one page whatever MaxItems says, so page boundaries, an empty last page
or a failure between pages cannot be forced on the server.

The Stubber sits on the adapter's real lambda and tagging clients (botocore's paginator,
request validation and our fast parser's neighbours all run); only the HTTP answers are
canned. Each test checks the observation holds exactly the listed functions, each once, in
the same order however the pages were cut, and that a listing which did not finish is
incomplete (so the engine plans no prune and no delete), never a short list read as whole.
"""

from __future__ import annotations

import random

import pytest

from functions_tui.components.aws import MARK_KEY
from functions_tui.registry.plan import build_plan
from tests.test_aws_faults import (assert_nothing_destructive, config, fake_credentials,  # noqa: F401 (fixture)
                                   registry_with_bases, stubbed_component, tag_page)


def pages_of(names: list[str], size: int) -> list[list[str]]:
    return [names[i:i + size] for i in range(0, len(names), size)]


def stub_listing(lam, pages: list[list[str]], page_size: int, *, empty_last_page: bool = False) -> None:
    """Queue ListFunctions answers: each page with the NextMarker of the next, as AWS pages
    them; ``empty_last_page`` adds a final ``Functions: []`` page without a NextMarker (an
    empty account is that page alone)."""
    answers = [[config(n) for n in page] for page in pages] + ([[]] if empty_last_page or not pages else [])
    for number, functions in enumerate(answers):
        expected = {"MaxItems": page_size, **({"Marker": f"m{number}"} if number else {})}
        response = {"Functions": functions}
        if number < len(answers) - 1:
            response["NextMarker"] = f"m{number + 1}"
        lam.add_response("list_functions", response, expected)


def observe_listing(names: list[str], page_size: int, *, order: list[str] | None = None,
                    empty_last_page: bool = False, marked: list[str] | None = None):
    """Observe ``names`` served in ``page_size`` pages (in ``order``, default as given)."""
    component, lam, tagging = stubbed_component(page_size=page_size)
    stub_listing(lam, pages_of(order or names, page_size), page_size, empty_last_page=empty_last_page)
    tagging.add_response("get_resources", tag_page(names if marked is None else marked))
    observation = component.observe()
    lam.assert_no_pending_responses()
    tagging.assert_no_pending_responses()
    return observation


NAMES = [f"fn-{i:03d}" for i in range(120)]


@pytest.mark.parametrize("page_size, count", [(1, 7), (50, 120), (50, 50), (50, 1)])
def test_every_page_is_read_and_each_function_is_observed_once(fake_credentials, page_size, count):
    names = NAMES[:count]
    observation = observe_listing(names, page_size)
    assert observation.complete, observation.errors
    assert list(observation.items) == names
    assert observation.unmarked == []


def test_an_empty_last_page_ends_the_listing_and_keeps_what_came_before(fake_credentials):
    # AWS may give a NextMarker on the page that holds the last function, then an empty page.
    names = NAMES[:3]
    observation = observe_listing(names, 50, empty_last_page=True)
    assert observation.complete, observation.errors
    assert list(observation.items) == names


def test_a_lone_empty_page_is_a_complete_empty_account(fake_credentials):
    observation = observe_listing([], 50)
    assert observation.complete and observation.items == {} and observation.errors == []


def test_the_order_does_not_depend_on_page_size_or_on_the_order_pages_arrive_in(fake_credentials):
    names = NAMES[:60]
    shuffled = names[:]
    random.Random(14).shuffle(shuffled)
    unmarked = names[1::7]
    ours = [n for n in names if n not in unmarked]
    by_one = observe_listing(names, 1, marked=ours)
    by_fifty = observe_listing(names, 50, order=shuffled, marked=ours)
    assert list(by_one.items) == list(by_fifty.items) == ours
    assert by_one.unmarked == by_fifty.unmarked == unmarked


def test_a_function_repeated_on_two_pages_is_observed_once(fake_credentials):
    # A listing that shifts under the cursor (a function created between two page reads) can
    # show one function twice: it is one function, listed or unmarked once, never two.
    component, lam, tagging = stubbed_component(page_size=2)
    lam.add_response("list_functions", {"Functions": [config("a"), config("b")], "NextMarker": "m1"})
    lam.add_response("list_functions", {"Functions": [config("b"), config("c")], "NextMarker": "m2"})
    lam.add_response("list_functions", {"Functions": [config("c"), config("d")]})
    tagging.add_response("get_resources", tag_page(["a", "b"]))
    observation = component.observe()
    assert observation.complete, observation.errors
    assert list(observation.items) == ["a", "b"]
    assert observation.unmarked == ["c", "d"]


@pytest.mark.parametrize("failing_page", [2, 3])
def test_an_error_on_a_middle_page_makes_the_observation_incomplete(fake_credentials, failing_page):
    names = NAMES[:5]
    component, lam, tagging = stubbed_component(page_size=1)
    for number in range(failing_page - 1):
        lam.add_response("list_functions", {"Functions": [config(names[number])], "NextMarker": f"m{number + 1}"})
    lam.add_client_error("list_functions", "ServiceException", "internal failure", http_status_code=500)
    tagging.add_response("get_resources", tag_page(names))

    observation = component.observe()
    assert observation.complete is False
    assert any(f"ListFunctions page {failing_page}" in e and "ServiceException" in e for e in observation.errors)
    # The pages before the failure are reported, nothing after it is invented.
    assert list(observation.items) == names[:failing_page - 1]
    # The functions on the unread pages are unknown, never gone: no prune, no delete.
    assert_nothing_destructive(observation, names)
    plan = build_plan(registry_with_bases(names), {"aws": observation}, policies={"aws": "component-wins"},
                      components=["aws"])
    missing = {s.function: s.state.value for s in plan.statuses if s.function in names[failing_page - 1:]}
    assert set(missing.values()) == {"unknown"}, missing


def test_an_error_on_the_first_page_is_incomplete_not_an_empty_account(fake_credentials):
    component, lam, tagging = stubbed_component(page_size=50)
    lam.add_client_error("list_functions", "ServiceException", "internal failure", http_status_code=500)
    tagging.add_response("get_resources", tag_page(["a", "b"]))
    observation = component.observe()
    assert observation.complete is False and observation.items == {}
    assert any("ListFunctions page 1" in e for e in observation.errors)
    assert_nothing_destructive(observation, ["a", "b"])


def test_a_marker_repeated_by_the_server_stops_the_listing_as_incomplete(fake_credentials):
    # A server that answers the same NextMarker again would loop forever: botocore's
    # paginator refuses it, and the adapter reports the listing as unfinished.
    component, lam, tagging = stubbed_component(page_size=1)
    lam.add_response("list_functions", {"Functions": [config("a")], "NextMarker": "m1"})
    lam.add_response("list_functions", {"Functions": [config("b")], "NextMarker": "m1"})
    tagging.add_response("get_resources", tag_page(["a", "b", "c"]))
    observation = component.observe()
    assert observation.complete is False
    assert any("ListFunctions page" in e for e in observation.errors)
    assert_nothing_destructive(observation, ["a", "b", "c"])


def test_the_tag_listing_keeps_working_beside_a_paged_function_listing(fake_credentials):
    # Marks come from the tagging API in their own pages (its last one may be empty too).
    names = NAMES[:4]
    component, lam, tagging = stubbed_component(page_size=1)
    stub_listing(lam, pages_of(names, 1), 1)
    tagging.add_response("get_resources", tag_page(names[:2], token="t1"))
    tagging.add_response("get_resources", tag_page(names[2:3], token="t2"))
    tagging.add_response("get_resources", tag_page([]))
    observation = component.observe()
    assert observation.complete, observation.errors
    assert list(observation.items) == names[:3]
    assert observation.unmarked == names[3:]
    assert observation.items["fn-000"].values["labels"] == {}
    assert all(MARK_KEY not in o.values["labels"] for o in observation.items.values())
