"""components/gcp_rest.py's paging against a server that misbehaves in ways the emulator (which
follows Google's definition) never does: a page token handed back twice, an empty last page,
an error mid-listing. The session here is a fake, named as such; the real requests go to the
emulator in test_gcp_component.py and test_gcp_contract.py."""

from __future__ import annotations

import json

import pytest
from google.api_core import exceptions

from functions_tui.components import gcp_rest


class FakeRequest:
    def __init__(self, url: str) -> None:
        self.method, self.url = "GET", url


class FakeResponse:
    def __init__(self, status: int, body: dict, url: str = "") -> None:
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}
        self.text = self.content.decode()
        self.request = FakeRequest(url)

    def json(self):
        return json.loads(self.content)


class FakeSessionScripted:
    """Answers each GET with the next scripted (status, body), recording the params asked."""

    def __init__(self, answers: list[tuple[int, dict]]) -> None:
        self.answers = list(answers)
        self.asked: list[dict] = []

    def get(self, url, params=None, headers=None, timeout=None):
        self.asked.append({"url": url, "params": dict(params or {}), "headers": dict(headers or {})})
        return FakeResponse(*self.answers.pop(0), url=url)


def _pages(session, **kwargs):
    return list(gcp_rest.list_pages(session, "http://x", "projects/p/locations/-", page_size=2, timeout=1, **kwargs))


def test_pages_follow_tokens_to_an_empty_last_page():
    session = FakeSessionScripted([(200, {"functions": [{"name": "a"}, {"name": "b"}], "nextPageToken": "t1"}),
                                   (200, {})])
    pages = _pages(session, fields="functions.name,nextPageToken")
    assert [len(p.get("functions", [])) for p in pages] == [2, 0]
    assert [a["params"].get("pageToken") for a in session.asked] == [None, "t1"]
    assert session.asked[0]["url"] == "http://x/v2/projects/p/locations/-/functions"
    assert session.asked[0]["headers"] == {"X-Goog-FieldMask": "functions.name,nextPageToken"}


def test_a_token_handed_back_twice_stops_the_listing_instead_of_looping():
    session = FakeSessionScripted([(200, {"nextPageToken": "t1"}), (200, {"nextPageToken": "t1"}),
                                   (200, {"nextPageToken": "t1"})])
    with pytest.raises(RuntimeError, match="came back twice"):
        _pages(session)


def test_an_error_page_raises_what_the_client_would():
    session = FakeSessionScripted([(200, {"functions": [{"name": "a"}], "nextPageToken": "t1"}),
                                   (503, {"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}})])
    with pytest.raises(exceptions.ServiceUnavailable, match="down"):
        _pages(session)


def test_base_url_is_formed_as_the_clients_rest_transport_forms_it():
    assert gcp_rest.base_url(None) == "https://cloudfunctions.googleapis.com"
    assert gcp_rest.base_url("http://127.0.0.1:8089/") == "http://127.0.0.1:8089"
    assert gcp_rest.base_url("europe-west1-cloudfunctions.example.com") == "https://europe-west1-cloudfunctions.example.com"
