"""A capture cannot be turned against the server's own network: the address asked for, every redirect and every
resource the page loads go through the guard (casefile.capture.netguard) inside the proxy (casefile.capture.proxy)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casefile.capture.models import WebCapture
from casefile.capture.netguard import AddressRefused, Guard
from casefile.capture.proxy import GuardedProxy
from casefile.config import Settings
from casefile.db import session_scope
from casefile.jobs.models import Job

from local_servers import TestSite
from support import Account, Api, run_queued_jobs

LOOPBACK_ONLY = ("127.0.0.0/8", "::1/128")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The defaults: nothing but public addresses (the package's conftest allows loopback for the test site)."""
    return settings.with_overrides(capture_allow_networks=(), capture_ca_file=None, tsa_urls=())


@pytest.fixture
def world(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> tuple[Api, uuid.UUID]:
    api, owner = api_for("investigator")
    return api, make_case(owner, reference="TRH")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:5000/admin", "loopback"),
        ("http://localhost/", "loopback"),  # a DNS name, resolved by the system: to 127.0.0.1 and ::1
        ("http://[::1]:8080/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.20.30.40/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://[fd00:ec2::254]/", "private"),
        ("ftp://example.org/file", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("https:///nohost", "names no host"),
    ],
)
def test_addresses_that_are_not_public_are_refused_before_anything_is_queued(
    app: Flask, settings: Settings, world: tuple[Api, uuid.UUID], url: str, why: str
) -> None:
    assert settings.capture_allow_networks == ()  # the default: nothing but public addresses
    api, case_id = world
    response = api.post(f"/cases/{case_id}/captures", json={"url": url})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert why in error["message"] and "url" in error["fields"]
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(WebCapture)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_name_is_refused_if_any_address_it_resolves_to_is_not_public() -> None:
    """Every address a name resolves to is checked (a resolver seam stands in for DNS records we cannot publish)."""
    records = {"news.example": ["93.184.215.14"], "intranet.example": ["93.184.215.14", "10.1.2.3"]}
    guard = Guard(resolve=lambda host, port: records[host])
    guard.check_url("https://news.example/article")
    with pytest.raises(AddressRefused, match=r"intranet\.example is 10\.1\.2\.3, a private network address"):
        guard.check_url("https://intranet.example/")
    assert Guard(["10.0.0.0/8"], resolve=lambda host, port: records[host]).addresses_for("intranet.example", 443)
    mapped = Guard(resolve=lambda host, port: ["::ffff:127.0.0.1"])
    with pytest.raises(AddressRefused, match="loopback"):
        mapped.check_url("http://sneaky.example/")


def _proxy_exchange(proxy: GuardedProxy, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"200 Connection established" in answer:
                break
    return answer


def test_the_proxy_refuses_tunnels_and_requests_to_the_servers_network(site: TestSite) -> None:
    with GuardedProxy(Guard(), max_bytes=10_000_000) as proxy:
        tunnel = _proxy_exchange(proxy, b"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n")
        plain = _proxy_exchange(proxy, b"GET http://127.0.0.1:9/secret HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n")
        site_tunnel = _proxy_exchange(
            proxy, f"CONNECT localhost:{site.port} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
        )
    assert tunnel.startswith(b"HTTP/1.1 403") and b"10.0.0.1" in tunnel
    assert plain.startswith(b"HTTP/1.1 403") and b"X-Casefile-Refused: 1" in plain
    assert site_tunnel.startswith(b"HTTP/1.1 403")  # the test site is on loopback, not allowed by default
    assert len(proxy.traffic.refused) == 3 and proxy.traffic.connections == {}
    with GuardedProxy(Guard(LOOPBACK_ONLY), max_bytes=10_000_000) as allowed:
        opened = _proxy_exchange(allowed, f"CONNECT localhost:{site.port} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    assert opened.startswith(b"HTTP/1.1 200 Connection established")
    assert allowed.traffic.connections[f"localhost:{site.port}"] in ("127.0.0.1", "::1")


class TestWithTheSiteAllowed:
    @pytest.fixture
    def settings(self, settings: Settings, site: TestSite) -> Settings:
        return settings.with_overrides(capture_allow_networks=LOOPBACK_ONLY, capture_ca_file=site.ca_file, tsa_urls=())

    def test_a_redirect_to_the_metadata_endpoint_fails_the_capture(
        self, app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
    ) -> None:
        api, case_id = world
        accepted = api.post(f"/cases/{case_id}/captures", json={"url": site.url("/to-metadata")}).get_json()
        run_queued_jobs(app)
        body = api.get(f"/captures/{accepted['id']}").get_json()
        assert body["state"] == "failed" and body["web_archive"] is None
        assert "169.254.169.254" in body["error"] and "link-local" in body["error"]
        job = api.get(f"/jobs/{accepted['job']['id']}").get_json()
        assert job["state"] == "failed" and "169.254.169.254" in job["error"]

    def test_who_may_capture_and_what_they_may_link(
        self,
        app: Flask,
        world: tuple[Api, uuid.UUID],
        site: TestSite,
        api_for: Callable[..., tuple[Api, Account]],
        add_member: Callable[..., None],
        make_case: Callable[..., uuid.UUID],
    ) -> None:
        api, case_id = world
        reviewer_api, reviewer = api_for("reviewer")
        add_member(case_id, reviewer, "reviewer")
        assert reviewer_api.post(f"/cases/{case_id}/captures", json={"url": site.url("/article")}).status_code == 403
        outsider_api, _outsider = api_for("investigator")
        assert outsider_api.post(f"/cases/{case_id}/captures", json={"url": site.url("/article")}).status_code == 404
        other_api, other_owner = api_for("investigator")
        other_case = make_case(other_owner, reference="OTH")
        foreign = other_api.post(f"/cases/{other_case}/incidents", json={"title": "elsewhere"}).get_json()
        linked = api.post(
            f"/cases/{case_id}/captures", json={"url": site.url("/article"), "incident_ids": [foreign["id"]]}
        )
        assert linked.status_code in (404, 422)
        mine = api.post(f"/cases/{case_id}/captures", json={"url": site.url("/article")}).get_json()
        assert outsider_api.get(f"/captures/{mine['id']}").status_code == 404
        assert reviewer_api.get(f"/captures/{mine['id']}").status_code == 200
        assert api.post(f"/cases/{case_id}/captures", json={"url": "x" * 2001}).status_code == 422
        assert api.post(f"/cases/{case_id}/captures", json={}).status_code == 422

    def test_the_capture_page_escapes_what_users_wrote(
        self,
        app: Flask,
        client: FlaskClient,
        logged_in: Callable[..., Account],
        make_case: Callable[..., uuid.UUID],
        site: TestSite,
    ) -> None:
        owner = logged_in("investigator")
        case_id = make_case(owner, reference="TRH")
        page = client.get(f"/cases/{case_id}/captures")
        assert page.status_code == 200 and b"Trusted timestamps are off" in page.data
        posted = client.post(
            f"/cases/{case_id}/captures",
            data={"url": site.url("/article"), "note": "<script>alert('x')</script>"},
        )
        assert posted.status_code == 303
        shown = client.get(posted.headers["Location"])
        assert b"<script>alert" not in shown.data and b"&lt;script&gt;alert" in shown.data
        refused = client.post(f"/cases/{case_id}/captures", data={"url": "http://169.254.169.254/"})
        assert refused.status_code == 422 and b"link-local" in refused.data


class TestSizeLimit:
    @pytest.fixture
    def settings(self, settings: Settings, site: TestSite) -> Settings:
        return settings.with_overrides(
            capture_allow_networks=LOOPBACK_ONLY, capture_ca_file=site.ca_file, capture_max_bytes=50_000
        )

    def test_a_page_larger_than_the_limit_is_refused(
        self, app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
    ) -> None:
        api, case_id = world
        accepted = api.post(f"/cases/{case_id}/captures", json={"url": site.url("/video")}).get_json()
        run_queued_jobs(app)
        body = api.get(f"/captures/{accepted['id']}").get_json()
        assert body["state"] == "failed" and "larger than the capture limit" in body["error"]
