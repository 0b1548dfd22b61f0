"""Tracked links: tokens without personal data, UTM merging, the redirect over real HTTP, what
counts as a click, and links stored with the campaign's sends."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd
import pytest
from helpers.processes import free_port, wait_for_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.clock import ManualClock
from wamkt_nb.compliance import Policy
from wamkt_nb.ledger import create_campaign
from wamkt_nb.links import (
    UTM,
    classify,
    click_summary,
    clicks_per_send,
    find_urls,
    link_app,
    links_frame,
    tracked_links,
    with_utm,
)
from wamkt_nb.links.urls import TOKEN
from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.messages.templates import Button
from wamkt_nb.settings import SettingsError, load_settings
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.server import BackgroundServer

NOW = pd.Timestamp("2026-11-25 10:00", tz="UTC")
BASE = "https://go.shop.example"
SHOP = "https://shop.example.com/sale?ref=wa#top"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)


def audience(n=4, **extra):
    base = {
        "customer_id": [f"c{i}" for i in range(n)],
        "phone": [f"+4915100000{i:03d}" for i in range(n)],
        "name": [f"Name{i} Muster" for i in range(n)],
        "first_name": [f"Name{i}" for i in range(n)],
        "email": [f"name{i}@example.org" for i in range(n)],
        "language": ["de"] * n,
        "timezone": ["Europe/Berlin"] * n,
        "opted_in": [True] * n,
    }
    return pd.DataFrame(base | extra)


def text_spec(text="Hallo {{first_name}}, unser Sale: {{link}} - bis Sonntag!", **links):
    return MessageSpec(
        category="service", text={"*": text}, params={"first_name": Param("first_name")}, links=links or {"link": SHOP}
    )


def plan_with_links(frame, spec, store=None, **options):
    """The plan with tracked links; session text goes to customers whose service window is open."""
    own = store is None
    store = open_store(":memory:") if own else store
    store.executemany(
        "INSERT INTO service_windows (phone, last_inbound_at) VALUES (?, ?)",
        [(phone, NOW.timestamp() - 3600) for phone in frame["phone"]],
    )
    try:
        return dry_run(
            frame,
            spec,
            now=NOW,
            store=store,
            schedule="now",
            policy=Policy(daily_limit=None),
            link_base_url=BASE,
            **({"tracked_links": True} | options),
        ).plan
    finally:
        if own:
            store.close()


# -- URLs ------------------------------------------------------------------------------------------


def test_utm_parameters_are_appended_and_the_destination_keeps_its_own():
    url = with_utm(
        "https://shop.example.com/p?x=1&utm_source=newsletter#frag",
        {"utm_source": "whatsapp", "utm_medium": "message", "utm_campaign": "Herbst Sale", "utm_term": None},
    )
    parts = urlsplit(url)
    assert parts.fragment == "frag" and parts.path == "/p"
    assert parse_qsl(parts.query) == [
        ("x", "1"),
        ("utm_source", "newsletter"),
        ("utm_medium", "message"),
        ("utm_campaign", "Herbst Sale"),
    ]


def test_urls_in_text_end_before_sentence_punctuation():
    assert find_urls("Schau: https://a.example/x?y=1. Oder (https://b.example/z)!") == [
        "https://a.example/x?y=1",
        "https://b.example/z",
    ]
    assert tracked_links(f"Hier: {BASE}/l/AbCdEfGh1234, und https://other.example/x") == [f"{BASE}/l/AbCdEfGh1234"]


def test_link_base_url_setting_is_checked():
    assert load_settings(environ={"WAMKT_LINK_BASE_URL": "https://go.shop.example/"}).links_base == BASE
    assert load_settings(environ={"WAMKT_WEBHOOK_PORT": "9000"}).links_base == "http://127.0.0.1:9000"
    with pytest.raises(SettingsError, match="link base URL"):
        load_settings(environ={"WAMKT_LINK_BASE_URL": "go.shop.example"})


@pytest.mark.parametrize(
    "method, agent, expected",
    [
        ("GET", PHONE_UA, "mobile"),
        ("GET", DESKTOP_UA, "desktop"),
        ("HEAD", PHONE_UA, "head"),
        ("GET", "WhatsApp/2.23.20.0 A", "preview"),
        ("GET", "WhatsApp/2.2413.51 i", "preview"),
        ("GET", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "preview"),
        ("GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
        ("GET", "curl/8.5.0", "bot"),
        ("GET", None, "bot"),
        ("GET", "", "bot"),
    ],
)
def test_clients_are_classified(method, agent, expected):
    assert classify(method, agent) == expected


# -- the plan --------------------------------------------------------------------------------------


def test_each_recipient_gets_their_own_link_in_body_and_payload(tmp_path):
    plan = plan_with_links(audience(), text_spec())
    going = plan[plan["outcome"] != "excluded"]
    assert len(going) == 4
    tokens = []
    for body, payload, links in zip(going["body"], going["payload"], going["links"], strict=True):
        [(token, destination)] = links
        assert destination == SHOP and TOKEN.match(token)
        assert f"{BASE}/l/{token} - bis Sonntag!" in body and SHOP not in body
        assert payload["text"]["body"] == body
        tokens.append(token)
    assert len(set(tokens)) == 4
    with open_store(tmp_path / "w.db") as store:
        cid = create_campaign(store, plan, name="Herbst Sale", now=NOW.timestamp())
        stored = links_frame(store, cid)
        assert sorted(stored["token"]) == sorted(tokens)
        assert set(stored["recipient_key"]) == {f"{cid}:c{i}" for i in range(4)}
        row = store.query("SELECT utm_source, utm_medium, utm_campaign, utm_content FROM links LIMIT 1")[0]
        assert tuple(row) == ("whatsapp", "message", "Herbst Sale", "text")


def test_a_message_without_links_is_left_alone(tmp_path):
    spec = MessageSpec(
        category="service", text={"*": "Hallo {{first_name}}"}, params={"first_name": Param("first_name")}
    )
    with open_store(tmp_path / "w.db") as store:
        plan = plan_with_links(audience(), spec, store, tracked_links=None)
        assert "links" not in plan.columns and (plan["outcome"] == "send").all()
        create_campaign(store, plan, name="t", now=NOW.timestamp())
        assert store.query("SELECT COUNT(*) FROM links")[0][0] == 0


def test_template_parameters_and_url_button_carry_tracked_links(tmp_path):
    template = template_from_text(
        "sale_link",
        "de",
        "MARKETING",
        "Hallo {{first_name}}, hier geht's zum Sale: {{link}}",
        examples={"first_name": "Anna", "link": "https://shop.example.com/sale"},
        buttons=[Button("URL", "Zum Sale", url=f"{BASE}/l/{{{{1}}}}", example=f"{BASE}/l/AbCdEfGh1234")],
    )
    spec = MessageSpec(
        template={"*": template},
        params={"first_name": Param("first_name")},
        links={"link": SHOP},
        button_suffixes={0: "https://shop.example.com/app"},
    )
    plan = plan_with_links(audience(2), spec, utm=UTM(medium="broadcast", content="herbst-a"))
    for payload, links, body in zip(plan["payload"], plan["links"], plan["body"], strict=True):
        by_url = {url: token for token, url in links}
        assert set(by_url) == {SHOP, "https://shop.example.com/app"}
        components = {c["type"]: c for c in payload["template"]["components"]}
        assert components["body"]["parameters"][1]["text"] == f"{BASE}/l/{by_url[SHOP]}"
        assert components["button"]["parameters"][0]["text"] == by_url["https://shop.example.com/app"]
        assert body.endswith(f"{BASE}/l/{by_url[SHOP]}")
    with open_store(tmp_path / "w.db") as store:
        create_campaign(store, plan, name="t", now=NOW.timestamp())
        assert {tuple(r) for r in store.query("SELECT utm_medium, utm_content FROM links")} == {
            ("broadcast", "herbst-a")
        }


names = st.text(string.ascii_letters + "äöüßéÀ -'", min_size=6, max_size=20).filter(lambda s: len(s.strip()) >= 6)
phones = st.from_regex(r"\+49151[0-9]{8}", fullmatch=True)
emails = st.emails()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(names, phones, emails, st.from_regex(r"[A-Za-z0-9]{6,12}", fullmatch=True)),
        min_size=1,
        max_size=5,
        unique_by=(lambda r: r[1], lambda r: r[3]),
    )
)
def test_no_personal_data_in_a_tracked_url(rows):
    frame = audience(len(rows))
    frame["name"] = [r[0] for r in rows]
    frame["first_name"] = [r[0].split()[0] if r[0].split() else r[0] for r in rows]
    frame["phone"] = [r[1] for r in rows]
    frame["email"] = [r[2] for r in rows]
    frame["customer_id"] = [r[3] for r in rows]
    plan = plan_with_links(frame, text_spec())
    for (name, phone, email, cid), body in zip(rows, plan["body"], strict=True):
        [url] = tracked_links(body)
        token = url.rsplit("/", 1)[-1]
        assert url == f"{BASE}/l/{token}" and TOKEN.match(token)  # the base (ours) and a random token
        for secret in (phone, phone.lstrip("+"), phone[-8:], email, cid, name.strip()):  # 6+ characters each:
            assert secret not in token  # a random 12-character token holds one by chance about once in 10^10


# -- the redirect over HTTP ------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    store = open_store(tmp_path / "w.db")
    plan = plan_with_links(audience(2), text_spec())
    cid = create_campaign(store, plan, name="Herbst Sale", now=NOW.timestamp())
    clock = ManualClock(NOW.timestamp() + 60)
    with BackgroundServer(link_app(store, clock)) as server:
        yield server.url, store, cid, [links[0][0] for links in plan["links"]], clock
    store.close()


def get(url, agent=PHONE_UA, method="GET"):
    headers = {"User-Agent": agent} if agent is not None else {}
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        if agent is None:
            client.headers.pop("User-Agent", None)
        return client.request(method, url, headers=headers)


def test_redirect_sends_the_customer_to_the_destination_with_utm(served):
    url, store, cid, tokens, clock = served
    answer = get(f"{url}/l/{tokens[0]}")
    assert answer.status_code == 302 and answer.headers["cache-control"] == "no-store"
    target = urlsplit(answer.headers["location"])
    assert (target.scheme, target.netloc, target.path, target.fragment) == ("https", "shop.example.com", "/sale", "top")
    assert parse_qsl(target.query) == [
        ("ref", "wa"),
        ("utm_source", "whatsapp"),
        ("utm_medium", "message"),
        ("utm_campaign", "Herbst Sale"),
        ("utm_content", "text"),
    ]
    [row] = store.query("SELECT token, campaign_id, recipient_key, at, agent, human FROM link_clicks")
    assert tuple(row) == (tokens[0], cid, f"{cid}:c0", clock.now(), "mobile", 1)


def test_a_destination_with_umlauts_arrives_percent_encoded(tmp_path):
    with open_store(tmp_path / "w.db") as store:
        plan = plan_with_links(audience(1), text_spec(link="https://shop.example.com/schuhe/größe-42?farbe=grün"))
        create_campaign(store, plan, name="Größen", now=NOW.timestamp())
        [[(token, _)]] = plan["links"]
        with BackgroundServer(link_app(store)) as server:
            answer = get(f"{server.url}/l/{token}")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert target.path == "/schuhe/gr%C3%B6%C3%9Fe-42"
    assert (
        dict(parse_qsl(target.query))["farbe"] == "grün" and dict(parse_qsl(target.query))["utm_campaign"] == "Größen"
    )


def test_unknown_or_malformed_token_is_a_plain_404(served):
    url, store, _, tokens, _ = served
    for path in ("/l/AAAAAAAAAAAA", "/l/x", "/l/", "/l/" + tokens[0] + "%27%20OR%201=1", "/l/../webhook"):
        answer = get(url + path)
        assert answer.status_code == 404, path
        assert "location" not in answer.headers and b"not valid" in answer.content
        assert tokens[0].encode() not in answer.content
    assert get(f"{url}/l/{tokens[0]}", method="POST").status_code == 405
    assert store.query("SELECT COUNT(*) FROM link_clicks")[0][0] == 0


def test_previews_bots_and_head_are_recorded_but_not_clicks(served):
    url, store, cid, tokens, _ = served
    for agent in ("WhatsApp/2.23.20.0 A", "facebookexternalhit/1.1", "curl/8.5.0", None):
        assert get(f"{url}/l/{tokens[0]}", agent=agent).status_code == 302
    head = get(f"{url}/l/{tokens[0]}", method="HEAD")
    assert head.status_code == 302 and head.content == b""
    assert clicks_per_send(store, cid).empty
    summary = click_summary(store, cid).iloc[0]
    assert (summary["total_clicks"], summary["unique_clicks"], summary["machine_requests"]) == (0, 0, 5)
    agents = sorted(r[0] for r in store.query("SELECT agent FROM link_clicks"))
    assert agents == ["bot", "bot", "head", "preview", "preview"]


def test_unique_and_total_clicks(served):
    url, store, cid, tokens, clock = served
    for _ in range(3):
        get(f"{url}/l/{tokens[0]}")
        clock.advance(10)
    get(f"{url}/l/{tokens[0]}", agent=DESKTOP_UA)
    get(f"{url}/l/{tokens[0]}", agent="WhatsApp/2.23.20.0 A")
    summary = click_summary(store, cid).iloc[0]
    assert (summary["links"], summary["sends_with_links"]) == (2, 2)
    assert (summary["total_clicks"], summary["unique_clicks"], summary["clicking_sends"]) == (4, 1, 1)
    per_send = clicks_per_send(store, cid)
    assert per_send[["customer_id", "clicks", "links_clicked"]].values.tolist() == [["c0", 4, 1]]
    assert per_send["first_click_at"].item() == NOW.timestamp() + 60
    kinds = store.query("SELECT kind FROM flowback_interactions WHERE customer_id = 'c0'")
    assert [r[0] for r in kinds] == ["click"] * 4


def test_a_broken_store_never_gives_a_500(served):
    url, store, _, tokens, _ = served
    store.close()
    answer = get(f"{url}/l/{tokens[0]}")
    assert answer.status_code == 503 and "location" not in answer.headers


def test_wamkt_serve_answers_tracked_links(tmp_path):
    with open_store(tmp_path / "serve.db") as store:
        plan = plan_with_links(audience(1), text_spec())
        create_campaign(store, plan, name="Herbst Sale", now=NOW.timestamp())
    [[(token, _)]] = plan["links"]
    port = free_port()
    env = dict(
        os.environ,
        WAMKT_APP_SECRET="s" * 32,
        WAMKT_VERIFY_TOKEN="v" * 16,
        WAMKT_WEBHOOK_PORT=str(port),
        WAMKT_DB_PATH=str(tmp_path / "serve.db"),
        WAMKT_LINK_BASE_URL=BASE,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "wamkt_nb", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        answer = get(f"http://127.0.0.1:{port}/l/{token}")
        assert answer.status_code == 302 and answer.headers["location"].startswith("https://shop.example.com/sale?")
        assert get(f"http://127.0.0.1:{port}/l/AAAAAAAAAAAA").status_code == 404
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert f"public base: {BASE}" in out
    with open_store(tmp_path / "serve.db") as store:
        assert [tuple(r) for r in store.query("SELECT token, agent FROM link_clicks")] == [(token, "mobile")]
