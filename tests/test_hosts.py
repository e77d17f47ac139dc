"""The Host header behind the HTTPS redirect: names, IPv4, bracketed IPv6; junk refused."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.web.hosts import https_location, split_host


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("piano.local", ("piano.local", None)),
        ("Piano.Local:8080", ("piano.local", 8080)),
        ("192.168.1.20:8080", ("192.168.1.20", 8080)),
        ("[::1]:8080", ("[::1]", 8080)),
        ("[fe80::1]", ("[fe80::1]", None)),
    ],
)
def test_good_hosts(header, expected):
    assert split_host(header) == expected


@pytest.mark.parametrize(
    "header",
    ["", "[::1", "[nonsense]:80", "[fe80::1%eth0]", "a b", "evil.com/x", "x:", "x:99999",
     "x:80:80", "::1", "-a.b", "é.com", "a" * 300, "a@b", "x:+80", "[::1]x"],
)  # fmt: skip
def test_junk_is_refused(header):
    with pytest.raises(ValueError):
        split_host(header)


def test_the_location_keeps_path_and_query_and_takes_the_https_port():
    assert https_location("[::1]:8080", 8443, "/status?x=1") == "https://[::1]:8443/status?x=1"
    assert https_location("piano.local", 8443, "/") == "https://piano.local:8443/"


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_any_header_gives_a_clean_url_or_value_error(header):
    try:
        location = https_location(header, 8443, "/")
    except ValueError:
        return
    from yarl import URL

    url = URL(location)  # parses: no 500 later
    assert url.scheme == "https" and url.port == 8443 and url.path == "/"
    assert url.host is not None
